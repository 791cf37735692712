"""Client mistakes never become server errors (brief: no 500 for bad input)."""

from __future__ import annotations

import itertools
import json

import falcon.testing
import pytest

from .helpers import JSON_PATCH
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
