"""``Idempotency-Key`` on message posts (http-api.md, "Idempotent posts").

Every answer is checked against the OpenAPI description by the conftest,
the 409 and 422 included.
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.testing
import pytest
from oslo_config import cfg

from zaqar import pipeline
from zaqar.common.clock import ManualClock
from zaqar.notification.outbox import INTERNAL_PROJECT
from zaqar.notification.outbox import OUTBOX
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.transport import openapi
from zaqar.transport.wsgi.app import create_app

from .conftest import ClientFactory
from .helpers import PROJECT_B
from .helpers import headers

KEY = '8e03978e-40d5-43e8-bc93-6894a57f9324'
BODY = {'messages': [{'body': {'event': 'paid', 'n': 1}, 'ttl': 600}, {'body': 2}]}


def keyed_post(
    client: falcon.testing.TestClient,
    document: object = BODY,
    key: str | None = KEY,
    path: str = '/v2/queues/orders/messages',
    raw: bytes | None = None,
) -> falcon.testing.Result:
    extra = {} if key is None else {'Idempotency-Key': key}
    if raw is not None:
        return client.simulate_post(
            path,
            body=raw,
            headers={**extra, 'Content-Type': 'application/json'},
        )
    return client.simulate_post(path, json=document, headers=extra)


def total(client: falcon.testing.TestClient, path: str = '/v2/queues/orders') -> int:
    result = client.simulate_get(f'{path}/stats')
    assert result.status_code == 200, result.text
    count: int = result.json['messages']['total']
    return count


def answer(result: falcon.testing.Result) -> tuple[int, str | None, Any]:
    return result.status_code, result.headers.get('location'), result.json


def test_a_repeat_gets_the_first_answer_and_stores_nothing(
    client: falcon.testing.TestClient,
) -> None:
    first = keyed_post(client)
    assert first.status_code == 201

    repeat = keyed_post(client)

    assert answer(repeat) == answer(first)
    assert total(client) == 2
    listed = client.simulate_get(
        '/v2/queues/orders/messages', params={'echo': 'true'}
    ).json['messages']
    assert [item['href'] for item in listed] == first.json['resources']


def test_a_repeat_from_another_client_id_gets_the_first_answer(
    client: falcon.testing.TestClient, make_client: ClientFactory
) -> None:
    first = keyed_post(client)

    assert answer(keyed_post(make_client())) == answer(first)
    assert total(client) == 2


def test_the_same_request_spelt_differently_is_a_repeat(
    client: falcon.testing.TestClient,
) -> None:
    first = keyed_post(client)
    respelt = (
        b'{ "ignored": 1, "messages" : [ {"ttl":600, "body": {"n":1, '
        b'"event":"p\\u0061id"}}, {"body":2, "extra": true} ] }'
    )

    assert answer(keyed_post(client, raw=respelt)) == answer(first)
    assert total(client) == 2


def test_a_quoted_key_and_a_bare_key_are_one_key(
    client: falcon.testing.TestClient,
) -> None:
    first = keyed_post(client, key='abc "quoted" \\ key')

    repeat = keyed_post(client, key='"abc \\"quoted\\" \\\\ key"')

    assert answer(repeat) == answer(first)


def test_another_body_under_the_key_is_422_and_stores_nothing(
    client: falcon.testing.TestClient,
) -> None:
    keyed_post(client)

    refused = keyed_post(client, {'messages': [{'body': 'something else'}]})

    assert refused.status_code == 422
    assert refused.json == {
        'title': 'Unprocessable entity',
        'description': (
            'The idempotency key was already used for a different request to '
            'queue orders; a different request needs a new key.'
        ),
    }
    assert total(client) == 2


def test_a_post_in_flight_under_the_key_is_409_with_retry_after(
    client: falcon.testing.TestClient,
    storage: DataDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def in_flight(queue: str, *args: Any) -> list[str]:
        raise storage_errors.IdempotencyKeyInFlight(queue)

    monkeypatch.setattr(storage.messages, 'post_once', in_flight)

    refused = keyed_post(client)

    assert refused.status_code == 409
    assert refused.headers['Retry-After'] == '1'
    assert refused.json['title'] == 'Resource conflict'
    assert 'still being processed' in refused.json['description']


@pytest.mark.parametrize(
    'key', ['', 'x' * 256, 'tab\tinside', '""'], ids=['empty', 'long', 'tab', 'quoted']
)
def test_a_malformed_key_is_400_and_stores_nothing(
    client: falcon.testing.TestClient, key: str
) -> None:
    refused = keyed_post(client, key=key)

    assert refused.status_code == 400
    assert refused.json == {
        'title': 'Invalid API request',
        'description': 'An idempotency key must be 1 to 255 printable ASCII '
        'characters.',
    }
    assert client.simulate_head('/v2/queues/orders').status_code == 404


def test_a_key_of_255_characters_is_accepted(client: falcon.testing.TestClient) -> None:
    key = ''.join(chr(32 + n % 95) for n in range(255)).strip()
    first = keyed_post(client, key=key)
    assert first.status_code == 201
    assert answer(keyed_post(client, key=key)) == answer(first)


def test_a_driver_without_keys_refuses_keyed_posts_only(
    client: falcon.testing.TestClient,
    storage: DataDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unsupported(*args: Any) -> list[str]:
        raise storage_errors.Unsupported('idempotency keys', 'OldDriver')

    monkeypatch.setattr(storage.messages, 'post_once', unsupported)

    refused = keyed_post(client)
    assert refused.status_code == 400
    assert refused.json['description'] == (
        'The storage driver of this server (OldDriver) does not support '
        'idempotency keys.'
    )
    assert keyed_post(client, key=None).status_code == 201


def test_keys_belong_to_a_queue_and_a_project(
    client: falcon.testing.TestClient, make_client: ClientFactory
) -> None:
    first = keyed_post(client)

    elsewhere = keyed_post(client, path='/v2/queues/other/messages')
    topic = keyed_post(client, path='/v2/topics/orders/messages')
    other_project = keyed_post(make_client(PROJECT_B))

    locations = {
        result.headers['location']
        for result in (first, elsewhere, topic, other_project)
    }
    assert len(locations) == 4
    assert all(
        result.status_code == 201 for result in (elsewhere, topic, other_project)
    )
    assert topic.headers['location'].startswith('/v2/topics/orders/messages?ids=')


def test_a_topic_repeat_gets_the_first_answer(
    client: falcon.testing.TestClient,
) -> None:
    path = '/v2/topics/news/messages'
    first = keyed_post(client, path=path)

    assert answer(keyed_post(client, path=path)) == answer(first)
    refused = keyed_post(client, {'messages': [{'body': 'x'}]}, path=path)
    assert refused.status_code == 422
    assert 'to topic news;' in refused.json['description']
    assert total(client, '/v2/topics/news') == 2


def test_the_key_is_forgotten_after_the_window(
    conf: cfg.ConfigOpts, storage: DataDriver, clock: ManualClock
) -> None:
    conf.set_override('idempotency_window', 60, group='transport')
    client = falcon.testing.TestClient(
        create_app(conf, storage=storage), headers=headers()
    )
    first = keyed_post(client)
    clock.advance(59)
    assert answer(keyed_post(client)) == answer(first)

    clock.advance(1)
    again = keyed_post(client)

    assert again.status_code == 201
    assert again.headers['location'] != first.headers['location']
    assert total(client) == 4


def test_the_window_option_is_at_least_a_minute(conf: cfg.ConfigOpts) -> None:
    with pytest.raises(ValueError):
        conf.set_override('idempotency_window', 59, group='transport')


def notifying_client(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> falcon.testing.TestClient:
    """A client of an app whose message posts notify subscribers."""
    conf.set_override(
        'message_pipeline', ['zaqar.notification.notifier'], group='storage'
    )
    stack = pipeline.wrap(storage, pipeline.load_pipelines(conf))
    return falcon.testing.TestClient(create_app(conf, storage=stack), headers=headers())


def test_a_repeat_notifies_no_subscriber_again(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    client = notifying_client(conf, storage)
    path = '/v2/topics/news'
    for hook in ('http://example.com/a', 'http://example.com/b'):
        created = client.simulate_post(
            f'{path}/subscriptions', json={'subscriber': hook}
        )
        assert created.status_code == 201, created.text

    first = keyed_post(client, path=f'{path}/messages')
    repeat = keyed_post(client, path=f'{path}/messages')

    assert answer(repeat) == answer(first)
    # Two messages, two subscribers: four deliveries, recorded once.
    assert storage.queues.stats(OUTBOX, INTERNAL_PROJECT).total == 4
    unkeyed = keyed_post(client, key=None, path=f'{path}/messages')
    assert unkeyed.status_code == 201
    assert storage.queues.stats(OUTBOX, INTERNAL_PROJECT).total == 8


def test_deliveries_lost_by_the_first_post_are_recorded_by_the_repeat(
    conf: cfg.ConfigOpts, storage: DataDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = notifying_client(conf, storage)
    path = '/v2/queues/orders'
    created = client.simulate_post(
        f'{path}/subscriptions', json={'subscriber': 'http://example.com/a'}
    )
    assert created.status_code == 201, created.text
    post_once = storage.messages.post_once

    def outbox_down(queue: str, *args: Any) -> list[str]:
        if queue == OUTBOX:
            raise storage_errors.StorageUnavailable('outbox write failed')
        return post_once(queue, *args)

    with monkeypatch.context() as patched:
        patched.setattr(storage.messages, 'post_once', outbox_down)
        failed = keyed_post(client)
    assert failed.status_code == 503
    assert storage.queues.stats(OUTBOX, INTERNAL_PROJECT).total == 0

    repeat = keyed_post(client)

    assert repeat.status_code == 201
    assert total(client) == 2
    assert storage.queues.stats(OUTBOX, INTERNAL_PROJECT).total == 2
    assert answer(keyed_post(client)) == answer(repeat)
    assert storage.queues.stats(OUTBOX, INTERNAL_PROJECT).total == 2


def test_the_description_names_the_header_on_both_posts() -> None:
    document = openapi.load_v2()
    for path in (
        '/v2/queues/{queue_name}/messages',
        '/v2/topics/{topic_name}/messages',
    ):
        post = document['paths'][path]['post']
        assert {'$ref': '#/components/parameters/IdempotencyKey'} in post['parameters']
        assert {'409', '422'} <= set(post['responses'])
