"""python-zaqarclient 4.x, unchanged, against a real zaqar-server."""

from __future__ import annotations

import uuid

import pytest
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.transport import errors as client_errors

from tests.server.conftest import Server


def make_client(server: Server, project: str) -> zaqar_client.Client:
    return zaqar_client.Client(
        server.url,
        version=2,
        conf={
            'auth_opts': {'backend': 'noauth', 'options': {'os_project_id': project}},
            'client_uuid': str(uuid.uuid4()),
        },
    )


def test_client_drives_a_queue_through_its_whole_life(server: Server) -> None:
    client = make_client(server, 'client-scenario')
    assert client.ping() is True

    queue = client.queue('jobs', force_create=True)
    queues, _ = client.queues()
    assert 'jobs' in [q.name for q in queues]

    metadata = queue.metadata(
        new_meta={'owner': 'billing', '_default_message_ttl': 120}
    )
    assert metadata['owner'] == 'billing'
    assert metadata['_default_message_ttl'] == 120
    assert queue.metadata(force_reload=True)['owner'] == 'billing'

    posted = queue.post([{'body': {'n': n}, 'ttl': 300} for n in range(5)])
    assert len(posted['resources']) == 5

    # The client's own messages are hidden unless it asks for echo.
    assert [m.body['n'] for m in queue.messages(echo=True)] == [0, 1, 2, 3, 4]

    claim = queue.claim(ttl=120, grace=60, limit=3)
    claimed = list(claim)
    assert [m.body['n'] for m in claimed] == [0, 1, 2]
    assert all(m.claim_id == claim.id for m in claimed)
    assert claim.ttl == 120

    stats = queue.stats
    assert stats['messages']['claimed'] == 3
    assert stats['messages']['free'] == 2
    assert stats['messages']['total'] == 5

    for message in claimed:
        message.delete()
    assert queue.stats['messages']['total'] == 2

    remaining = list(queue.messages(echo=True))
    assert [m.body['n'] for m in remaining] == [3, 4]
    assert [m.body['n'] for m in queue.messages(*[m.id for m in remaining])] == [3, 4]
    assert queue.message(remaining[0].id).body == {'n': 3}
    queue.delete_messages(remaining[0].id)
    popped = queue.pop(5)
    assert [m.body['n'] for m in popped] == [4]

    queue.delete()
    queues, _ = client.queues()
    assert 'jobs' not in [q.name for q in queues]


def test_client_sees_an_empty_claim_as_no_messages(server: Server) -> None:
    queue = make_client(server, 'client-empty').queue('idle', force_create=True)
    assert list(queue.claim(ttl=60, grace=60)) == []


def test_client_renews_and_releases_claims(server: Server) -> None:
    queue = make_client(server, 'client-claims').queue('work', force_create=True)
    queue.post([{'body': 'a', 'ttl': 600}])
    claim = queue.claim()  # the library sends null ttl/grace: defaults apply
    assert [m.body for m in claim] == ['a']
    claim.update(ttl=200, grace=100)
    assert queue.claim(id=claim.id).ttl == 200
    claim.delete()
    assert [m.body for m in queue.claim(ttl=60, grace=60)] == ['a']


def test_client_reports_server_errors_as_exceptions(server: Server) -> None:
    queue = make_client(server, 'client-errors').queue('q', force_create=True)
    with pytest.raises(client_errors.ResourceNotFound):
        queue.message('f' * 32)
    with pytest.raises(client_errors.MalformedRequest):
        queue.post([{'body': 'x', 'ttl': 10}])


def test_client_shares_a_queue_through_a_pre_signed_url(server_factory) -> None:
    server: Server = server_factory({'signed_url': {'secret_key': 'shh'}})
    owner = make_client(server, 'client-share')
    queue = owner.queue('shared', force_create=True)
    queue.post([{'body': 'for the holder', 'ttl': 300}])

    grant = queue.signed_url(
        paths=['messages'], ttl_seconds=600, methods=['GET', 'POST']
    )
    assert grant['paths'] == ['/v2/queues/shared/messages']
    assert grant['methods'] == ['GET', 'POST']
    assert grant['project'] == 'client-share'

    holder = zaqar_client.Client(
        server.url,
        version=2,
        conf={
            'auth_opts': {
                'backend': 'signed-url',
                'options': {
                    'signature': grant['signature'],
                    'expires': grant['expires'],
                    'methods': grant['methods'],
                    'paths': grant['paths'],
                    'os_project_id': grant['project'],
                },
            }
        },
    )
    shared = holder.queue('shared')
    assert [m.body for m in shared.messages()] == ['for the holder']
    shared.post([{'body': 'reply', 'ttl': 300}])
    assert [m.body for m in queue.messages(echo=True)] == ['for the holder', 'reply']
    # The grant covers only the messages of this queue.
    with pytest.raises(client_errors.ResourceNotFound):
        holder.queue('elsewhere').post([{'body': 'nope', 'ttl': 300}])


def test_client_manages_subscriptions(server: Server) -> None:
    client = make_client(server, 'client-subscriptions')
    created = client.subscription(
        'alerts',
        subscriber='http://127.0.0.1:9/hook',
        ttl=3600,
        options={'post_headers': {'X-Team': 'ops'}},
    )
    assert created.id
    assert created.subscriber == 'http://127.0.0.1:9/hook'
    assert created.ttl == 3600
    assert created.options == {'post_headers': {'X-Team': 'ops'}}
    assert created.confirmed is False
    client.subscription('alerts', subscriber='mailto:ops@example.com', ttl=600)

    listed = list(client.subscriptions('alerts'))
    assert [item.subscriber for item in listed] == [
        'http://127.0.0.1:9/hook',
        'mailto:ops@example.com',
    ]
    assert listed[0].id == created.id
    assert listed[0].queue_name == 'alerts'

    created.update({'ttl': 7200, 'options': {}})
    reread = client.subscription('alerts', id=created.id, auto_create=True)
    assert reread.ttl == 7200
    assert reread.options == {}

    created.delete()
    assert [item.subscriber for item in client.subscriptions('alerts')] == [
        'mailto:ops@example.com'
    ]
    with pytest.raises(client_errors.ResourceNotFound):
        client.subscription('alerts', id=created.id, auto_create=True)
