"""Queue stats and purge (OpenAPI: GET .../stats; OpenAPI: POST .../purge)."""

from __future__ import annotations

import datetime

import falcon.testing
import pytest

from zaqar.common.clock import ManualClock

from .conftest import ClientFactory
from .helpers import PROJECT_B
from .helpers import claim
from .helpers import post_messages


def iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_stats_of_a_missing_queue_are_zero(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get('/v2/queues/nothing/stats')
    assert result.status_code == 200
    assert result.json == {'messages': {'free': 0, 'claimed': 0, 'total': 0}}


def test_stats_count_free_and_claimed_with_oldest_and_newest(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    start = clock.now()
    [oldest, *_] = post_messages(client, 'counted', 'a', 'b')
    clock.advance(30)
    [newest] = post_messages(client, 'counted', 'c')
    clock.advance(10)
    claim(client, 'counted', limit=2)
    result = client.simulate_get('/v2/queues/counted/stats')
    assert result.json == {
        'messages': {
            'free': 1,
            'claimed': 2,
            'total': 3,
            'oldest': {
                'href': f'/v2/queues/counted/messages/{oldest}',
                'age': 40,
                'created': iso(start),
            },
            'newest': {
                'href': f'/v2/queues/counted/messages/{newest}',
                'age': 10,
                'created': iso(start + 30),
            },
        }
    }


def test_stats_forget_expired_messages_and_claims(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    post_messages(client, 'fading', 'short', ttl=60)
    post_messages(client, 'fading', 'long', ttl=600)
    claim(client, 'fading', limit=1, ttl=120, grace=60)
    stats = client.simulate_get('/v2/queues/fading/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (1, 1, 2)
    clock.advance(121)
    stats = client.simulate_get('/v2/queues/fading/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (2, 0, 2)
    clock.advance(60)
    stats = client.simulate_get('/v2/queues/fading/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (1, 0, 1)


def test_purge_without_body_removes_all_messages_claimed_or_not(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/purged', json={'keep': 'me'})
    post_messages(client, 'purged', 'a', 'b', 'c')
    claim(client, 'purged', limit=1)
    result = client.simulate_post('/v2/queues/purged/purge')
    assert result.status_code == 204
    assert result.content == b''
    stats = client.simulate_get('/v2/queues/purged/stats').json
    assert stats == {'messages': {'free': 0, 'claimed': 0, 'total': 0}}
    assert client.simulate_get('/v2/queues/purged').json['keep'] == 'me'


@pytest.mark.parametrize('types', [['messages'], ['messages', 'subscriptions']])
def test_purge_of_messages_by_resource_type(
    client: falcon.testing.TestClient, types: list[str]
) -> None:
    post_messages(client, 'typed', 'a')
    result = client.simulate_post(
        '/v2/queues/typed/purge', json={'resource_types': types}
    )
    assert result.status_code == 204
    assert client.simulate_get('/v2/queues/typed/stats').json['messages']['total'] == 0


def test_purge_of_subscriptions_only_keeps_messages(
    client: falcon.testing.TestClient,
) -> None:
    post_messages(client, 'subs', 'a')
    result = client.simulate_post(
        '/v2/queues/subs/purge', json={'resource_types': ['subscriptions']}
    )
    assert result.status_code == 204
    assert client.simulate_get('/v2/queues/subs/stats').json['messages']['total'] == 1


@pytest.mark.parametrize(
    ('body', 'title', 'description'),
    [
        ('{}', 'Invalid API request', 'Post body must contain key "resource_types".'),
        ('[]', 'Invalid API request', 'Post body must contain key "resource_types".'),
        (
            '{"resource_types": ["queues"]}',
            'Invalid API request',
            "Resource types must be a sub set of ['messages', 'subscriptions'].",
        ),
        ('{"resource_types": "messages"}', 'Invalid API request', 'sub set of'),
        ('{"resource_types": [1]}', 'Invalid API request', 'sub set of'),
        ('{"resource_types": ', 'Invalid request body', 'could not be parsed'),
    ],
)
def test_purge_refuses_bad_bodies(
    client: falcon.testing.TestClient, body: str, title: str, description: str
) -> None:
    post_messages(client, 'kept', 'a')
    result = client.simulate_post('/v2/queues/kept/purge', body=body)
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description in result.json['description']
    assert client.simulate_get('/v2/queues/kept/stats').json['messages']['total'] == 1


def test_stats_and_purge_are_scoped_by_project(make_client: ClientFactory) -> None:
    alice = make_client()
    bob = make_client(PROJECT_B)
    post_messages(alice, 'q', 'a', 'b')
    assert bob.simulate_get('/v2/queues/q/stats').json['messages']['total'] == 0
    assert bob.simulate_post('/v2/queues/q/purge').status_code == 204
    assert alice.simulate_get('/v2/queues/q/stats').json['messages']['total'] == 2
