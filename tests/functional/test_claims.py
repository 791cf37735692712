"""Claims over HTTP.

The routes are described in the OpenAPI description (``.../claims``), the
semantics in doc/http-api.md, "Message lifecycle".
"""

from __future__ import annotations

import uuid

import falcon.testing
import pytest

from zaqar.common.clock import ManualClock

from .conftest import ClientFactory
from .helpers import PROJECT_B
from .helpers import bodies
from .helpers import claim
from .helpers import post_messages


def test_claim_answers_201_with_claimed_messages(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: POST .../claims: Location and ?claim_id= hrefs; own messages too."""
    ids = post_messages(client, 'work', 'a', 'b', 'c')
    result = client.simulate_post(
        '/v2/queues/work/claims', params={'limit': 2}, json={'ttl': 120, 'grace': 60}
    )
    assert result.status_code == 201
    location = result.headers['location']
    assert location.startswith('/v2/queues/work/claims/')
    claim_id = location.rsplit('/', 1)[1]
    assert '=' not in claim_id
    messages = result.json['messages']
    assert list(result.json) == ['messages']
    assert bodies(messages) == ['a', 'b']
    assert [message['id'] for message in messages] == ids[:2]
    for message in messages:
        assert message['href'] == (
            f'/v2/queues/work/messages/{message["id"]}?claim_id={claim_id}'
        )
        assert set(message) == {'id', 'href', 'ttl', 'age', 'body'}


def test_claim_uses_defaults_for_missing_body_and_null_values(
    client: falcon.testing.TestClient,
) -> None:
    """python-zaqarclient sends nulls for omitted values.

    See doc/http-api.md, "Client compatibility".
    """
    post_messages(client, 'defaults', 1, 2)
    for body in (None, {'ttl': None, 'grace': None}):
        result = client.simulate_post(
            '/v2/queues/defaults/claims', json=body, params={'limit': 1}
        )
        assert result.status_code == 201
        claim_id = result.headers['location'].rsplit('/', 1)[1]
        details = client.simulate_get(f'/v2/queues/defaults/claims/{claim_id}').json
        assert details['ttl'] == 300


def test_claim_default_limit_is_ten(client: falcon.testing.TestClient) -> None:
    post_messages(client, 'many', *range(12))
    _, messages = claim(client, 'many')
    assert bodies(messages) == list(range(10))


def test_nothing_to_claim_is_204_without_location(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_post('/v2/queues/void/claims')
    assert result.status_code == 204
    assert result.content == b''
    assert 'location' not in result.headers
    post_messages(client, 'busy', 'x')
    claim(client, 'busy')
    again = client.simulate_post('/v2/queues/busy/claims')
    assert again.status_code == 204


@pytest.mark.parametrize(
    ('query', 'body', 'title', 'description'),
    [
        ('limit=0', None, 'Invalid API request', 'Limit must be at least 1'),
        ('limit=21', None, 'Invalid API request', 'may not be greater than 20.'),
        ('limit=x', None, 'Invalid parameter', 'limit'),
        ('', '[]', 'Invalid request body', 'Document type not supported.'),
        ('', '"ttl"', 'Invalid request body', 'Request body could not be parsed.'),
        ('', '{"ttl": "60"}', 'Invalid request body', '"ttl" field must be a int'),
        ('', '{"grace": true}', 'Invalid request body', '"grace" field must be'),
        ('', '{"ttl": 1.5}', 'Invalid request body', '"ttl" field must be a int'),
        (
            '',
            '{"ttl": 59}',
            'Invalid API request',
            'The TTL for a claim may not exceed 43200 seconds, and must be at '
            'least 60 seconds long.',
        ),
        (
            '',
            '{"ttl": 60, "grace": 43201}',
            'Invalid API request',
            'The grace for a claim may not exceed 43200 seconds, and must be at '
            'least 60 seconds long.',
        ),
        ('', '{"ttl": 100000000000000000000}', 'Invalid request body', 'too large'),
    ],
)
def test_claim_refuses_bad_requests(
    client: falcon.testing.TestClient,
    query: str,
    body: str | None,
    title: str,
    description: str,
) -> None:
    post_messages(client, 'strict', 'x')
    result = client.simulate_post(
        '/v2/queues/strict/claims', query_string=query, body=body
    )
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description in result.json['description']
    stats = client.simulate_get('/v2/queues/strict/stats').json['messages']
    assert stats['claimed'] == 0


def test_claim_get_reports_age_ttl_and_messages(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    """OpenAPI: GET .../claims/{claim_id}"""
    post_messages(client, 'look', 'a', 'b')
    claim_id, _ = claim(client, 'look', ttl=200)
    clock.advance(15)
    result = client.simulate_get(f'/v2/queues/look/claims/{claim_id}')
    assert result.status_code == 200
    document = result.json
    assert set(document) == {'age', 'ttl', 'href', 'messages'}
    assert document['age'] == 15
    assert document['ttl'] == 200
    assert document['href'] == f'/v2/queues/look/claims/{claim_id}'
    assert bodies(document['messages']) == ['a', 'b']
    assert all(
        message['href'].endswith(f'?claim_id={claim_id}')
        for message in document['messages']
    )


def test_unknown_expired_or_released_claims_are_404(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    post_messages(client, 'gone', 'a', 'b')
    for claim_id in (uuid.uuid4().hex, 'bad-shape'):
        result = client.simulate_get(f'/v2/queues/gone/claims/{claim_id}')
        assert result.status_code == 404
        assert result.json['title'] == 'Not found'
    missing = uuid.uuid4().hex
    assert (
        client.simulate_get(f'/v2/queues/gone/claims/{missing}').json['description']
        == f'Claim {missing} does not exist in queue gone for project project-a'
    )

    released, _ = claim(client, 'gone', limit=1)
    client.simulate_delete(f'/v2/queues/gone/claims/{released}')
    assert client.simulate_get(f'/v2/queues/gone/claims/{released}').status_code == 404

    expiring, _ = claim(client, 'gone', limit=1, ttl=60)
    clock.advance(61)
    assert client.simulate_get(f'/v2/queues/gone/claims/{expiring}').status_code == 404
    renew = client.simulate_patch(
        f'/v2/queues/gone/claims/{expiring}', json={'ttl': 100}
    )
    assert renew.status_code == 404


def test_claim_disappears_once_its_messages_are_deleted(
    client: falcon.testing.TestClient,
) -> None:
    post_messages(client, 'done', 'a')
    claim_id, [message] = claim(client, 'done')
    assert client.simulate_delete(message['href']).status_code == 204
    assert client.simulate_get(f'/v2/queues/done/claims/{claim_id}').status_code == 404


def test_expired_claim_releases_its_messages(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    post_messages(client, 'lease', 'a')
    claim_id, _ = claim(client, 'lease', ttl=60)
    assert claim(client, 'lease')[0] is None
    clock.advance(61)
    second_id, messages = claim(client, 'lease')
    assert second_id not in (None, claim_id)
    assert bodies(messages) == ['a']


def test_release_makes_messages_claimable_and_is_idempotent(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: DELETE .../claims/{claim_id}"""
    post_messages(client, 'release', 'a')
    claim_id, _ = claim(client, 'release')
    path = f'/v2/queues/release/claims/{claim_id}'
    result = client.simulate_delete(path)
    assert result.status_code == 204
    assert result.content == b''
    assert client.simulate_delete(path).status_code == 204
    assert (
        client.simulate_delete('/v2/queues/release/claims/whatever').status_code == 204
    )
    _, messages = claim(client, 'release')
    assert bodies(messages) == ['a']


def test_renewal_resets_age_and_sets_the_new_ttl(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    """OpenAPI: PATCH .../claims/{claim_id}"""
    post_messages(client, 'renew', 'a', ttl=3600)
    claim_id, _ = claim(client, 'renew', ttl=60)
    path = f'/v2/queues/renew/claims/{claim_id}'
    clock.advance(50)
    result = client.simulate_patch(path, json={'ttl': 120, 'grace': 60})
    assert result.status_code == 204
    assert result.content == b''
    document = client.simulate_get(path).json
    assert (document['age'], document['ttl']) == (0, 120)
    clock.advance(100)
    assert client.simulate_get(path).status_code == 200
    assert claim(client, 'renew')[0] is None


@pytest.mark.parametrize(
    ('body', 'title', 'description'),
    [
        (None, 'Invalid request body', 'Request body can not be empty'),
        ('[]', 'Invalid request body', 'Document type not supported.'),
        ('{"ttl": "x"}', 'Invalid request body', '"ttl" field must be a int'),
        ('{"ttl": 43201}', 'Invalid API request', 'The TTL for a claim'),
        ('{"ttl": 30}', 'Invalid API request', 'The TTL for a claim'),
        # Null is a default only on creation (python-zaqarclient's quirk).
        ('{"ttl": null}', 'Invalid request body', '"ttl" field must be a int'),
        ('{"grace": null}', 'Invalid request body', '"grace" field must be a int'),
    ],
)
def test_renewal_refuses_bad_bodies(
    client: falcon.testing.TestClient,
    body: str | None,
    title: str,
    description: str,
) -> None:
    post_messages(client, 'renewbad', 'a')
    claim_id, _ = claim(client, 'renewbad')
    result = client.simulate_patch(f'/v2/queues/renewbad/claims/{claim_id}', body=body)
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description in result.json['description']


def test_renewal_with_empty_object_uses_defaults(
    client: falcon.testing.TestClient,
) -> None:
    post_messages(client, 'renewdef', 'a')
    claim_id, _ = claim(client, 'renewdef', ttl=60)
    path = f'/v2/queues/renewdef/claims/{claim_id}'
    assert client.simulate_patch(path, json={}).status_code == 204
    assert client.simulate_get(path).json['ttl'] == 300


def test_claim_extends_short_lived_messages_by_ttl_plus_grace(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    """http-api.md, Message lifecycle"""
    [short_id] = post_messages(client, 'extend', 'short', ttl=60)
    [long_id] = post_messages(client, 'extend', 'long', ttl=3600)
    claim_id, messages = claim(client, 'extend', ttl=120, grace=90)
    ttls = {message['body']: message['ttl'] for message in messages}
    assert ttls == {'short': 210, 'long': 3600}
    clock.advance(200)
    survivor = client.simulate_get(f'/v2/queues/extend/messages/{short_id}')
    assert survivor.status_code == 200
    assert survivor.json['age'] == 200
    clock.advance(11)
    assert (
        client.simulate_get(f'/v2/queues/extend/messages/{short_id}').status_code == 404
    )
    assert (
        client.simulate_get(f'/v2/queues/extend/messages/{long_id}').status_code == 200
    )
    assert claim_id is not None


def test_dead_letter_queue_receives_messages_past_max_claim_count(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    """Delivered at most _max_claim_count times, then moved.

    See doc/http-api.md, "Message lifecycle".
    """
    client.simulate_put(
        '/v2/queues/jobs',
        json={
            '_max_claim_count': 2,
            '_dead_letter_queue': 'jobs.dlq',
            '_dead_letter_queue_messages_ttl': 600,
        },
    )
    post_messages(client, 'jobs', 'poison', ttl=3600)
    for _ in range(2):
        claim_id, messages = claim(client, 'jobs', ttl=60)
        assert bodies(messages) == ['poison']
        client.simulate_delete(f'/v2/queues/jobs/claims/{claim_id}')
    assert claim(client, 'jobs') == (None, [])

    source = client.simulate_get('/v2/queues/jobs/stats').json['messages']
    assert source['total'] == 0
    dead = client.simulate_get(
        '/v2/queues/jobs.dlq/messages', params={'echo': 'true'}
    ).json['messages']
    assert bodies(dead) == ['poison']
    assert dead[0]['ttl'] == 600
    assert '?claim_id=' not in dead[0]['href']
    assert client.simulate_head('/v2/queues/jobs.dlq').status_code == 204
    _, revived = claim(client, 'jobs.dlq')
    assert bodies(revived) == ['poison']


def test_claims_are_scoped_by_project(make_client: ClientFactory) -> None:
    """http-api.md, Projects: B cannot claim, read, renew or release A's claims."""
    alice = make_client()
    bob = make_client(PROJECT_B)
    [message_id] = post_messages(alice, 'jobs', 'secret')
    assert claim(bob, 'jobs') == (None, [])
    claim_id, _ = claim(alice, 'jobs')
    path = f'/v2/queues/jobs/claims/{claim_id}'
    assert bob.simulate_get(path).status_code == 404
    assert bob.simulate_patch(path, json={'ttl': 100}).status_code == 404
    assert bob.simulate_delete(path).status_code == 204
    assert alice.simulate_get(path).status_code == 200
    assert claim(alice, 'jobs') == (None, [])
    delete = bob.simulate_delete(
        f'/v2/queues/jobs/messages/{message_id}', params={'claim_id': claim_id}
    )
    assert delete.status_code == 204
    assert (
        alice.simulate_get(f'/v2/queues/jobs/messages/{message_id}').status_code == 200
    )
