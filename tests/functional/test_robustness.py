"""Client mistakes never become server errors (brief: no 500 for bad input)."""

from __future__ import annotations

import itertools
import json
import tracemalloc

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.storage.base import DataDriver
from zaqar.transport import json_body
from zaqar.transport.wsgi.app import create_app

from .helpers import JSON_PATCH
from .helpers import headers as identity_headers
from .helpers import post_messages

PATHS = [
    '/v2/queues',
    '/v2/queues/q',
    '/v2/queues/q/stats',
    '/v2/queues/q/purge',
    '/v2/queues/q/messages',
    '/v2/queues/q/messages/abc',
    '/v2/queues/q/claims',
    '/v2/queues/q/claims/abc',
]

QUERIES = [
    '',
    'limit=%FF',
    'marker=%FF%FE',
    'ids=%FF,,%00',
    'limit=' + '9' * 5000,
    'pop=' + '9' * 30,
    'marker=' + '9' * 40,
    'claim_id=%00',
    'tier=99999999999999999999999',
    'limit=1&limit=2',
]

BODIES = [
    b'\xff\xfe',
    b'null',
    b'[]',
    b'{"messages": null}',
    b'{"messages": [null, {"body": 1, "ttl": []}]}',
    b'{"ttl": {}, "grace": "x"}',
    b'{"resource_types": null}',
    b'[{"op": null, "path": null}]',
    b'[{"op": "add", "path": "/metadata/\xc3\xa9", "value": [1e308]}]',
    json.dumps(
        {'messages': [{'body': 1, 'ttl': 2**63 - 1, 'delay': -(2**63)}]}
    ).encode(),
    b'{"_dead_letter_queue": {"a": 1}, "_max_claim_count": 1.5}',
    b'{"ttl": 60, "grace": 9223372036854775807}',
]

HEADERS = [
    {},
    {'Content-Type': JSON_PATCH},
    {'Accept': 'garbage;;q=x'},
    {'Client-ID': '\u00e9' * 40},
    {'X-Project-ID': '\u00e9' * 300},
]


def test_nasty_requests_never_get_a_5xx(client: falcon.testing.TestClient) -> None:
    post_messages(client, 'q', 'seed')
    failures = []
    combinations = itertools.product(
        ('GET', 'PUT', 'POST', 'PATCH', 'DELETE'), PATHS, QUERIES, BODIES, HEADERS
    )
    for index, (method, path, query, body, headers) in enumerate(combinations):
        # NOTE: a deterministic subsample keeps the test fast yet varied.
        if index % 7:
            continue
        result = client.simulate_request(
            method, path, query_string=query, body=body, headers=headers
        )
        if result.status_code >= 500:
            failures.append((method, path, query[:40], body[:40], headers, result.text))
    assert failures == []


@pytest.mark.parametrize(
    ('method', 'path', 'body'),
    [
        ('POST', '/v2/queues/s/messages', '{"messages": [{"body": "\\ud800"}]}'),
        ('POST', '/v2/queues/s/messages', '{"messages": [{"body": {"\\udfff": 1}}]}'),
        ('PUT', '/v2/queues/s', '{"k": "\\udfff"}'),
    ],
)
def test_unpaired_surrogate_escapes_are_refused_before_anything_is_stored(
    client: falcon.testing.TestClient, method: str, path: str, body: str
) -> None:
    """Python's json accepts them, but no UTF-8 answer could carry them back."""
    result = client.simulate_request(method, path, body=body)
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid request body'
    assert client.simulate_head('/v2/queues/s').status_code == 404


def test_non_ascii_bodies_round_trip(client: falcon.testing.TestClient) -> None:
    body = {'text': 'café 😀 ✓', 'pair': '\U0001f600'}
    raw = '{"messages": [{"body": {"text": "café 😀 ✓", "pair": "\\ud83d\\ude00"}}]}'
    posted = client.simulate_post('/v2/queues/u/messages', body=raw.encode())
    assert posted.status_code == 201
    listed = client.simulate_get('/v2/queues/u/messages', params={'echo': 'true'})
    assert [message['body'] for message in listed.json['messages']] == [body]


def _nest(depth: int) -> str:
    return '[' * depth + ']' * depth


@pytest.mark.parametrize(
    ('method', 'path', 'body', 'content_type'),
    [
        # The envelope takes 3 levels: the body may nest 61 more.
        ('POST', '/v2/queues/n/messages', '{"messages": [{"body": %s}]}', None),
        ('PUT', '/v2/queues/n', '{"k": %s}', None),
        (
            'PATCH',
            '/v2/queues/n',
            '[{"op": "add", "path": "/metadata/k", "value": %s}]',
            JSON_PATCH,
        ),
        ('POST', '/v2/queues/n/claims', '{"ttl": 60, "x": %s}', None),
    ],
    ids=['message', 'metadata', 'patch', 'claim'],
)
def test_json_nested_deeper_than_the_bound_is_refused_on_every_body(
    client: falcon.testing.TestClient,
    method: str,
    path: str,
    body: str,
    content_type: str | None,
) -> None:
    """doc/http-api.md, "Bodies": at most 64 levels, the top level counting."""
    headers = {'Content-Type': content_type} if content_type else {}
    envelope = body.count('[') + body.count('{')
    for depth in (json_body.MAX_DEPTH - envelope + 1, 20_000):
        refused = client.simulate_request(
            method, path, body=body % _nest(depth), headers=headers
        )
        assert refused.status_code == 400
        assert refused.json == {
            'title': 'Invalid request body',
            'description': json_body.TOO_DEEP,
        }
    assert client.simulate_head('/v2/queues/n').status_code == 404
    if method == 'POST' and path.endswith('/messages'):
        deepest = json.loads(_nest(json_body.MAX_DEPTH - envelope))
        post_messages(client, 'n', deepest)
        listed = client.simulate_get('/v2/queues/n/messages', params={'echo': 'true'})
        assert [message['body'] for message in listed.json['messages']] == [deepest]


def test_json_with_more_elements_than_the_bound_is_refused(
    client: falcon.testing.TestClient,
) -> None:
    """The envelope's 3 elements count: the body may hold the rest."""
    envelope = '{"messages": [{"body": [%s]}]}'
    most = json_body.MAX_ELEMENTS - 3
    refused = client.simulate_post(
        '/v2/queues/e/messages', body=envelope % ','.join(['0'] * (most + 1))
    )
    assert refused.status_code == 400
    assert refused.json['description'] == json_body.TOO_MANY_ELEMENTS
    assert client.simulate_head('/v2/queues/e').status_code == 404

    accepted = client.simulate_post(
        '/v2/queues/e/messages', body=envelope % ','.join(['0'] * most)
    )
    assert accepted.status_code == 201, accepted.text
    # Commas and brackets inside strings are text.
    post_messages(client, 'e', '[{,' * (json_body.MAX_ELEMENTS // 2))


@pytest.fixture
def roomy_conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    conf.set_override('max_messages_post_size', 4 * 1024 * 1024, group='transport')
    return conf


def _peak_bytes(client: falcon.testing.TestClient, body: bytes) -> tuple[int, int]:
    """The status and the allocation peak of posting ``body``."""
    tracemalloc.start()
    try:
        result = client.simulate_post('/v2/queues/bomb/messages', body=body)
        return result.status_code, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    'item', [b'0,', b'{},', b'[],'], ids=['numbers', 'objects', 'arrays']
)
def test_an_element_bomb_costs_no_more_memory_than_its_bytes(
    roomy_conf: cfg.ConfigOpts, storage: DataDriver, item: bytes
) -> None:
    """Whatever the size limit, a body is refused before it becomes objects.

    Measured against a body of the same size that is refused as
    unparseable (an unterminated string): reading it costs the same copies
    of its bytes. Parsing a bomb of millions of values would cost a
    hundred times its size.
    """
    client = falcon.testing.TestClient(
        create_app(roomy_conf, storage=storage), headers=identity_headers()
    )
    size = 4 * 1024 * 1024 - 1024
    bomb = b'{"messages": [{"body": [' + item * (size // len(item)) + b'0]}]}'
    unterminated = b'{"messages": [{"body": "' + b'x' * len(bomb)
    status, baseline = _peak_bytes(client, unterminated)
    assert status == 400
    status, peak = _peak_bytes(client, bomb)
    assert status == 400
    assert peak - baseline < 2 * len(bomb)


@pytest.mark.parametrize(
    'subscriber', ['http://[::1', 'http://a]b', 'http://[abc]/', 'http://\u2100/']
)
def test_a_subscriber_urlsplit_refuses_is_answered_400(
    client: falcon.testing.TestClient, subscriber: str
) -> None:
    """urllib raises ValueError on these URLs; the client gets a 400."""
    assert client.simulate_put('/v2/queues/q').status_code == 201
    created = client.simulate_post(
        '/v2/queues/q/subscriptions', json={'subscriber': 'http://example.com'}
    )
    subscription_id = created.json['subscription_id']
    for method, path in (
        ('POST', '/v2/queues/q/subscriptions'),
        ('PATCH', f'/v2/queues/q/subscriptions/{subscription_id}'),
    ):
        result = client.simulate_request(method, path, json={'subscriber': subscriber})
        assert result.status_code == 400, (method, result.text)
        assert result.json['title'] == 'Invalid API request'
