"""Tenant isolation against real servers, notifications included.

The matrix of ``tests/functional/isolation.py`` (every operation of the
OpenAPI description, sent by other projects with the owner's names and
ids) runs here over HTTP against a real ``zaqar-server`` on SQLite and on
Redis, with the notifier stage on, admin mode (``/v2/health``) and a
signing secret (``/share``). Subscribers are a real loopback webhook
receiver, so the module also checks where notifications go: a project's
subscription on its own queue of the same name never gets the owner's
messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

import pytest
import requests

from tests.functional import isolation
from tests.functional.isolation import Reply
from tests.server import receivers
from tests.server.conftest import Config
from tests.server.conftest import Server
from tests.server.conftest import start_server
from tests.server.conftest import store_config
from tests.server.receivers import WebhookReceiver
from zaqar.transport import openapi

NOTIFIER = 'zaqar.notification.notifier'
SECRET = 'isolation-secret'


@pytest.fixture(scope='module')
def receiver() -> Iterator[WebhookReceiver]:
    """One webhook receiver for every subscription of the module."""
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope='module')
def owner_markers() -> set[str]:
    """The markers of the owners' worlds the module built."""
    return set()


@pytest.fixture(scope='module')
def isolated(
    tmp_path_factory: pytest.TempPathFactory, store_name: str
) -> Iterator[Server]:
    """A server serving every route (health, share) and notifying."""
    config: Config = {
        **store_config(store_name),
        'DEFAULT': {'admin_mode': True},
        'signed_url': {'secret_key': SECRET},
        'storage': {'message_pipeline': NOTIFIER},
    }
    running = start_server(tmp_path_factory.mktemp('isolation'), config)
    yield running
    running.stop()


@pytest.fixture
def send(isolated: Server) -> Iterator[isolation.Send]:
    session = requests.Session()

    def send(
        method: str,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes | None,
    ) -> Reply:
        response = session.request(
            method,
            isolated.url + path,
            params=dict(query),
            headers=dict(headers),
            data=body,
            timeout=receivers.PATIENCE,
        )
        return Reply(response.status_code, response.headers, response.content)

    yield send
    session.close()


@pytest.mark.parametrize('mode', ['fresh', 'twin'])
def test_no_project_sees_or_touches_anothers_data_on_any_route(
    send: isolation.Send,
    receiver: WebhookReceiver,
    isolated: Server,
    owner_markers: set[str],
    mode: str,
) -> None:
    name = f'shared-{uuid.uuid4().hex[:8]}'
    owner = isolation.build_world(
        send, f'owner-{name}', name, receiver.url, isolation.A_MESSAGES, share=True
    )
    owner_markers.add(owner.marker)
    description = openapi.load_v2()
    outcome = isolation.run_matrix(
        send, description, owner, mode, receiver.url, share=True
    )
    assert outcome.problems == []
    assert outcome.operations == isolation.described_operations(description)
    assert isolation.COUNTING_READS <= outcome.answered(200)
    assert outcome.sent >= 80
    assert 'Traceback' not in isolated.output()


def _bodies(receiver: WebhookReceiver, path: str) -> list[Any]:
    return [document.get('body') for document in receiver.documents(path)]


def test_a_same_name_subscription_of_another_project_never_gets_the_owners_posts(
    send: isolation.Send, receiver: WebhookReceiver, owner_markers: set[str]
) -> None:
    name = f'notified-{uuid.uuid4().hex[:8]}'
    owner = isolation.World(f'owner-{name}', name, f'a-{uuid.uuid4().hex}', 'c')
    other = isolation.World(f'other-{name}', name, f'b-{uuid.uuid4().hex}', 'c')
    owner.client_id = other.client_id = str(uuid.uuid4())
    paths: dict[tuple[str, str], str] = {}
    for world in (owner, other):
        for collection in ('queues', 'topics'):
            path = f'/{world.project}/{collection}'
            paths[world.project, collection] = path
            subscribed = isolation.call(
                send,
                'POST',
                f'/v2/{collection}/{name}/subscriptions',
                world.headers(),
                document={'subscriber': receiver.url + path, 'ttl': 3600},
            )
            isolation.expect(subscribed, 201, f'{world.project} subscribes')

    def post(world: isolation.World, collection: str, count: int) -> None:
        messages = [{'body': f'{world.marker}-{n}', 'ttl': 600} for n in range(count)]
        posted = isolation.call(
            send,
            'POST',
            f'/v2/{collection}/{name}/messages',
            world.headers(),
            document={'messages': messages},
        )
        isolation.expect(posted, 201, f'{world.project} posts')

    def arrived(world: isolation.World, count: int) -> bool:
        return all(
            len(receiver.documents(paths[world.project, collection])) >= count
            for collection in ('queues', 'topics')
        )

    # The owner posts first, and its deliveries arrive; only then does the
    # other project post, so that a misdelivery of the owner's messages
    # would be there by the time the other project's own arrive.
    for collection in ('queues', 'topics'):
        post(owner, collection, 3)
    receiver.wait_for(lambda _: arrived(owner, 3))
    for collection in ('queues', 'topics'):
        post(other, collection, 1)
    receiver.wait_for(lambda _: arrived(other, 1))

    for collection in ('queues', 'topics'):
        assert _bodies(receiver, paths[other.project, collection]) == [
            f'{other.marker}-0'
        ]
        assert sorted(_bodies(receiver, paths[owner.project, collection])) == [
            f'{owner.marker}-{n}' for n in range(3)
        ]
    # Whatever else the module sent (the matrix's worlds subscribe at
    # .../<collection>/<their marker> and post bodies holding it): a
    # delivery holding a marker goes to that marker's subscriber only, and
    # an owner's subscriber gets the owner's bodies only.
    for item in receiver.received:
        marker = item.path.rsplit('/', 1)[1]
        body = item.document.get('body')
        if isinstance(body, dict) and 'secret' in body:
            assert body['secret'] == marker, item
        if marker in owner_markers:
            assert isinstance(body, dict) and body.get('secret') == marker, item
