"""Topics over HTTP: ``/v2/topics...``, queues in a namespace of their own.

The routes are the queue routes minus claims and sharing, served by the
same code; these tests check what differs (paths, hrefs, the metadata a
topic reports) and that a topic and a queue of one name never meet.
Subscriptions of topics are in test_subscriptions.py.
"""

from __future__ import annotations

import json
from typing import Any

import falcon.testing
import pytest

from .conftest import ClientFactory
from .helpers import JSON_PATCH
from .helpers import PROJECT_A
from .helpers import PROJECT_B
from .helpers import follow_pages
from .helpers import post_messages

# What GET answers for a topic without metadata: only these three.
TOPIC_DEFAULTS = {
    '_max_messages_post_size': 262144,
    '_default_message_ttl': 3600,
    '_default_message_delay': 0,
}

BAD_NAME = {
    'title': 'Invalid topic identification',
    'description': 'The format of the submitted topic name or project id is not valid.',
}
NOT_ROUTED = {'title': '404 Not Found'}


def publish(client: falcon.testing.TestClient, topic: str, *bodies: Any) -> list[str]:
    """Post one message per body to a topic; return the new ids."""
    result = client.simulate_post(
        f'/v2/topics/{topic}/messages',
        json={'messages': [{'body': body} for body in bodies]},
    )
    assert result.status_code == 201, result.text
    return [href.rsplit('/', 1)[1] for href in result.json['resources']]


def patch_topic(
    client: falcon.testing.TestClient, topic: str, changes: Any
) -> falcon.testing.Result:
    return client.simulate_patch(
        f'/v2/topics/{topic}',
        body=json.dumps(changes),
        headers={'Content-Type': JSON_PATCH},
    )


def total(client: falcon.testing.TestClient, path: str) -> int:
    count: int = client.simulate_get(f'{path}/stats').json['messages']['total']
    return count


# Create, read, update, delete


def test_put_creates_then_reports_existing(
    client: falcon.testing.TestClient,
) -> None:
    first = client.simulate_put('/v2/topics/fresh', json={'colour': 'red'})
    assert first.status_code == 201
    assert first.headers['location'] == '/v2/topics/fresh'
    assert first.content == b''
    again = client.simulate_put('/v2/topics/fresh', json={'colour': 'blue'})
    assert again.status_code == 204
    assert again.headers['location'] == '/v2/topics/fresh'
    assert client.simulate_get('/v2/topics/fresh').json == {
        'colour': 'red',
        **TOPIC_DEFAULTS,
    }


def test_get_reports_three_reserved_defaults(
    client: falcon.testing.TestClient,
) -> None:
    """Claim-related keys are reported only when stored."""
    assert client.simulate_get('/v2/topics/ghost').json == TOPIC_DEFAULTS
    client.simulate_put(
        '/v2/topics/set',
        json={'_default_message_ttl': 600, '_max_claim_count': 2, 'k': [1]},
    )
    assert client.simulate_get('/v2/topics/set').json == {
        **TOPIC_DEFAULTS,
        '_default_message_ttl': 600,
        '_max_claim_count': 2,
        'k': [1],
    }


def test_head_tells_whether_the_topic_exists(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_head('/v2/topics/maybe').status_code == 404
    client.simulate_put('/v2/topics/maybe')
    result = client.simulate_head('/v2/topics/maybe')
    assert result.status_code == 204
    assert result.content == b''


def test_patch_changes_the_metadata(client: falcon.testing.TestClient) -> None:
    client.simulate_put('/v2/topics/t', json={'old': 1, 'keep': True})
    result = patch_topic(
        client,
        't',
        [
            {'op': 'add', 'path': '/metadata/team', 'value': 'ops'},
            {'op': 'replace', 'path': '/metadata/_default_message_ttl', 'value': 120},
            {'op': 'remove', 'path': '/metadata/old'},
        ],
    )
    assert result.status_code == 200
    expected = {**TOPIC_DEFAULTS, 'keep': True, 'team': 'ops'}
    expected['_default_message_ttl'] = 120
    assert result.json == expected
    assert client.simulate_get('/v2/topics/t').json == expected


def test_patch_of_a_missing_topic_is_404(client: falcon.testing.TestClient) -> None:
    result = patch_topic(
        client, 'ghost', [{'op': 'add', 'path': '/metadata/a', 'value': 1}]
    )
    assert result.status_code == 404
    assert result.json == {
        'title': 'Not found',
        'description': f'Topic ghost does not exist for project {PROJECT_A}',
    }


def test_patch_needs_the_json_patch_media_type(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/topics/t')
    result = client.simulate_patch('/v2/topics/t', json=[])
    assert result.status_code == 415
    assert result.headers['accept-patch'] == JSON_PATCH


def test_patch_keeps_the_metadata_rules(client: falcon.testing.TestClient) -> None:
    client.simulate_put('/v2/topics/t')
    result = patch_topic(
        client,
        't',
        [{'op': 'add', 'path': '/metadata/_default_message_ttl', 'value': 30}],
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid request body'
    assert client.simulate_get('/v2/topics/t').json == TOPIC_DEFAULTS


@pytest.mark.parametrize(
    ('body', 'description'),
    [
        (
            '{"_default_message_ttl": 30}',
            '_default_message_ttl can not exceed 1209600 seconds, and must be at '
            'least 60 seconds long.',
        ),
        ('{"_retry_policy": "fast"}', 'retry_policy must be a dict.'),
        (
            '{"_retry_policy": {"minimum_delay": 40}}',
            'minimum_delay must less than maximum_delay.',
        ),
        (
            json.dumps({'big': 'x' * 65536}),
            'Topic metadata is too large. Max size: 65536',
        ),
    ],
)
def test_put_keeps_the_metadata_rules(
    client: falcon.testing.TestClient, body: str, description: str
) -> None:
    result = client.simulate_put('/v2/topics/t', body=body)
    assert result.status_code == 400
    assert result.json == {'title': 'Invalid API request', 'description': description}
    assert client.simulate_head('/v2/topics/t').status_code == 404


@pytest.mark.parametrize('collection', ['queues', 'topics'])
def test_a_retry_policy_is_kept_in_the_metadata(
    client: falcon.testing.TestClient, collection: str
) -> None:
    policy = {'minimum_delay': 2, 'maximum_delay': 60, 'custom': 'kept'}
    path = f'/v2/{collection}/notified'
    assert client.simulate_put(path, json={'_retry_policy': policy}).status_code == 201
    assert client.simulate_get(path).json['_retry_policy'] == policy


def test_delete_is_idempotent_and_removes_messages(
    client: falcon.testing.TestClient,
) -> None:
    publish(client, 'doomed', 'a', 'b')
    for _ in range(2):
        assert client.simulate_delete('/v2/topics/doomed').status_code == 204
    assert client.simulate_head('/v2/topics/doomed').status_code == 404
    assert total(client, '/v2/topics/doomed') == 0


# Listing


def test_listing_uses_the_topics_key_and_topic_hrefs(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_get('/v2/topics').json == {'topics': [], 'links': []}
    for name in ('b', 'a', 'c'):
        client.simulate_put(f'/v2/topics/{name}')
    result = client.simulate_get('/v2/topics')
    assert result.status_code == 200
    assert result.json['topics'] == [
        {'name': name, 'href': f'/v2/topics/{name}'} for name in ('a', 'b', 'c')
    ]
    assert result.json['links'] == [{'rel': 'next', 'href': '/v2/topics?marker=c'}]


def test_listing_pages_by_name(client: falcon.testing.TestClient) -> None:
    names = [f't{number:02}' for number in range(5)]
    for name in names:
        client.simulate_put(f'/v2/topics/{name}')
    pages = follow_pages(client, '/v2/topics', 'topics', limit=2)
    assert [[item['name'] for item in page] for page in pages] == [
        names[:2],
        names[2:4],
        names[4:],
    ]


def test_detailed_listing_reports_the_metadata_as_get_does(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/topics/t', json={'team': 'ops'})
    result = client.simulate_get('/v2/topics', params={'detailed': True})
    assert result.json['topics'] == [
        {
            'name': 't',
            'href': '/v2/topics/t',
            'metadata': {**TOPIC_DEFAULTS, 'team': 'ops'},
        }
    ]


def test_listing_filters_and_counts(client: falcon.testing.TestClient) -> None:
    client.simulate_put('/v2/topics/alpha', json={'team': 'ops'})
    client.simulate_put('/v2/topics/beta', json={'team': 'dev'})
    client.simulate_put('/v2/topics/alphabet', json={'team': 'dev'})
    by_name = client.simulate_get('/v2/topics', params={'name': 'alpha'}).json
    assert [item['name'] for item in by_name['topics']] == ['alpha', 'alphabet']
    by_team = client.simulate_get('/v2/topics', params={'team': 'dev'}).json
    assert [item['name'] for item in by_team['topics']] == ['alphabet', 'beta']
    counted = client.simulate_get(
        '/v2/topics', params={'with_count': True, 'limit': 1}
    ).json
    assert (len(counted['topics']), counted['count']) == (1, 3)


@pytest.mark.parametrize('limit', ['0', '21'])
def test_listing_limit_bounds(client: falcon.testing.TestClient, limit: str) -> None:
    result = client.simulate_get('/v2/topics', params={'limit': limit})
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid API request',
        'description': 'Limit must be at least 1 and no greater than 20.',
    }


# Messages


def test_posted_messages_are_answered_under_the_topic(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_post(
        '/v2/topics/news/messages',
        json={'messages': [{'body': 'a'}, {'body': {'b': 2}, 'ttl': 120}]},
    )
    assert result.status_code == 201
    hrefs = result.json['resources']
    ids = [href.rsplit('/', 1)[1] for href in hrefs]
    assert hrefs == [f'/v2/topics/news/messages/{message_id}' for message_id in ids]
    assert result.headers['location'] == (
        f'/v2/topics/news/messages?ids={",".join(ids)}'
    )
    assert client.simulate_head('/v2/topics/news').status_code == 204


def test_messages_are_listed_and_read_under_the_topic(
    client: falcon.testing.TestClient,
) -> None:
    first, second = publish(client, 'news', 'a', 'b')
    listing = client.simulate_get('/v2/topics/news/messages', params={'echo': True})
    assert listing.status_code == 200
    assert [item['href'] for item in listing.json['messages']] == [
        f'/v2/topics/news/messages/{first}',
        f'/v2/topics/news/messages/{second}',
    ]
    [link] = listing.json['links']
    assert link['href'].startswith('/v2/topics/news/messages?')
    one = client.simulate_get(f'/v2/topics/news/messages/{second}')
    assert one.status_code == 200
    assert one.json == {
        'id': second,
        'href': f'/v2/topics/news/messages/{second}',
        'ttl': 3600,
        'age': 0,
        'body': 'b',
    }
    by_ids = client.simulate_get(
        '/v2/topics/news/messages', params={'ids': f'{first},{second}'}
    )
    assert [item['body'] for item in by_ids.json['messages']] == ['a', 'b']


def test_listing_hides_the_callers_own_messages_unless_echo(
    make_client: ClientFactory,
) -> None:
    publisher = make_client()
    reader = make_client()
    publish(publisher, 'news', 'a')
    own = publisher.simulate_get('/v2/topics/news/messages').json
    assert own == {'messages': [], 'links': []}
    other = reader.simulate_get('/v2/topics/news/messages').json
    assert [item['body'] for item in other['messages']] == ['a']


def test_missing_messages_of_a_topic_are_404(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = publish(client, 'news', 'a')
    client.simulate_delete(f'/v2/topics/news/messages/{message_id}')
    one = client.simulate_get(f'/v2/topics/news/messages/{message_id}')
    assert one.status_code == 404
    assert one.json['title'] == 'Not found'
    assert 'topic news' in one.json['description']
    many = client.simulate_get('/v2/topics/news/messages', params={'ids': message_id})
    assert many.status_code == 404
    assert many.json == {
        'title': 'Not found',
        'description': f'No messages with IDs: {message_id} found in the topic '
        f'news for project {PROJECT_A}.',
    }


def test_messages_are_deleted_by_id_by_ids_or_popped(
    client: falcon.testing.TestClient,
) -> None:
    ids = publish(client, 'news', 1, 2, 3, 4, 5)
    result = client.simulate_delete(f'/v2/topics/news/messages/{ids[0]}')
    assert result.status_code == 204
    result = client.simulate_delete(
        '/v2/topics/news/messages', params={'ids': ','.join(ids[1:3])}
    )
    assert result.status_code == 204
    popped = client.simulate_delete('/v2/topics/news/messages', params={'pop': 1})
    assert popped.status_code == 200
    assert [item['body'] for item in popped.json['messages']] == [4]
    assert total(client, '/v2/topics/news') == 1
    # Deleting is idempotent.
    result = client.simulate_delete(f'/v2/topics/news/messages/{ids[0]}')
    assert result.status_code == 204


def test_a_claim_id_cannot_delete_a_topic_message(
    client: falcon.testing.TestClient,
) -> None:
    """Topics have no claims, so no claim id names one."""
    [message_id] = publish(client, 'news', 'a')
    result = client.simulate_delete(
        f'/v2/topics/news/messages/{message_id}', params={'claim_id': 'c' * 24}
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Unable to delete'
    assert total(client, '/v2/topics/news') == 1


def test_message_rules_are_the_queue_rules(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post(
        '/v2/topics/news/messages', json={'messages': [{'body': 1, 'ttl': 30}]}
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid API request'
    assert client.simulate_head('/v2/topics/news').status_code == 404


def test_a_topics_metadata_governs_its_messages(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/topics/short', json={'_default_message_ttl': 90})
    [message_id] = publish(client, 'short', 'a')
    found = client.simulate_get(f'/v2/topics/short/messages/{message_id}').json
    assert found['ttl'] == 90


# Stats and purge


def test_stats_count_and_name_messages_under_the_topic(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_get('/v2/topics/news/stats').json == {
        'messages': {'free': 0, 'claimed': 0, 'total': 0}
    }
    first, second = publish(client, 'news', 'a', 'b')
    stats = client.simulate_get('/v2/topics/news/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (2, 0, 2)
    assert stats['oldest']['href'] == f'/v2/topics/news/messages/{first}'
    assert stats['newest']['href'] == f'/v2/topics/news/messages/{second}'


def test_purge_removes_the_messages_and_keeps_the_topic(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/topics/news', json={'keep': 'me'})
    publish(client, 'news', 'a', 'b')
    result = client.simulate_post(
        '/v2/topics/news/purge', json={'resource_types': ['messages']}
    )
    assert result.status_code == 204
    assert total(client, '/v2/topics/news') == 0
    assert client.simulate_get('/v2/topics/news').json['keep'] == 'me'


def test_purge_refuses_bad_bodies(client: falcon.testing.TestClient) -> None:
    publish(client, 'news', 'a')
    result = client.simulate_post(
        '/v2/topics/news/purge', json={'resource_types': ['claims']}
    )
    assert result.status_code == 400
    assert total(client, '/v2/topics/news') == 1


# A topic and a queue of one name are unrelated


def test_a_topic_and_a_queue_of_one_name_never_meet(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/t', json={'kind': 'queue'})
    client.simulate_put('/v2/topics/t', json={'kind': 'topic'})
    queue_ids = post_messages(client, 't', 'q1', 'q2')
    [topic_id] = publish(client, 't', 't1')

    assert client.simulate_get('/v2/queues/t').json['kind'] == 'queue'
    assert client.simulate_get('/v2/topics/t').json['kind'] == 'topic'
    assert total(client, '/v2/queues/t') == 2
    assert total(client, '/v2/topics/t') == 1
    # A message id of one is not found through the other.
    result = client.simulate_get(f'/v2/topics/t/messages/{queue_ids[0]}')
    assert result.status_code == 404
    result = client.simulate_get(f'/v2/queues/t/messages/{topic_id}')
    assert result.status_code == 404
    client.simulate_delete(f'/v2/topics/t/messages/{queue_ids[0]}')
    assert total(client, '/v2/queues/t') == 2

    patch_topic(client, 't', [{'op': 'add', 'path': '/metadata/extra', 'value': 1}])
    assert 'extra' not in client.simulate_get('/v2/queues/t').json

    client.simulate_post('/v2/topics/t/purge')
    assert total(client, '/v2/queues/t') == 2
    client.simulate_delete('/v2/topics/t')
    assert client.simulate_head('/v2/queues/t').status_code == 204
    assert client.simulate_head('/v2/topics/t').status_code == 404
    client.simulate_delete('/v2/queues/t')
    assert client.simulate_head('/v2/queues/t').status_code == 404


def test_topics_and_queues_are_listed_apart(client: falcon.testing.TestClient) -> None:
    client.simulate_put('/v2/queues/only-queue')
    client.simulate_put('/v2/topics/only-topic')
    topics = client.simulate_get('/v2/topics', params={'with_count': True}).json
    queues = client.simulate_get('/v2/queues', params={'with_count': True}).json
    assert [item['name'] for item in topics['topics']] == ['only-topic']
    assert [item['name'] for item in queues['queues']] == ['only-queue']
    assert (topics['count'], queues['count']) == (1, 1)


def test_projects_never_see_each_others_topics(make_client: ClientFactory) -> None:
    alice = make_client(PROJECT_A)
    bob = make_client(PROJECT_B)
    alice.simulate_put('/v2/topics/t', json={'owner': 'alice'})
    publish(alice, 't', 'a')
    assert bob.simulate_head('/v2/topics/t').status_code == 404
    assert bob.simulate_get('/v2/topics').json == {'topics': [], 'links': []}
    assert total(bob, '/v2/topics/t') == 0
    bob.simulate_delete('/v2/topics/t')
    assert alice.simulate_get('/v2/topics/t').json['owner'] == 'alice'
    assert total(alice, '/v2/topics/t') == 1


# Names and routes


@pytest.mark.parametrize(
    ('method', 'path'),
    [
        ('PUT', '/v2/topics/a%20b'),
        ('GET', '/v2/topics/a%21b'),
        ('HEAD', '/v2/topics/a%21b'),
        ('GET', f'/v2/topics/{"x" * 65}/stats'),
        ('POST', '/v2/topics/a%2Bb/purge'),
        ('POST', '/v2/topics/a%2Bb/messages'),
        ('GET', '/v2/topics/a%2Bb/messages/m'),
        ('GET', '/v2/topics/a%2Bb/subscriptions'),
        ('DELETE', '/v2/topics/a%2Bb/subscriptions/s'),
        ('PUT', '/v2/topics/a%2Bb/subscriptions/s/confirm'),
    ],
)
def test_a_bad_topic_name_is_refused(
    client: falcon.testing.TestClient, method: str, path: str
) -> None:
    result = client.simulate_request(method, path)
    assert result.status_code == 400
    if method != 'HEAD':
        assert result.json == BAD_NAME


def test_a_topic_name_of_64_characters_is_fine(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_put(f'/v2/topics/{"x" * 64}').status_code == 201


def test_a_project_id_over_256_characters_is_refused_on_topic_routes(
    make_client: ClientFactory,
) -> None:
    result = make_client('p' * 257).simulate_get('/v2/topics/t')
    assert result.status_code == 400
    assert result.json == BAD_NAME


@pytest.mark.parametrize(
    ('method', 'path'),
    [
        ('POST', '/v2/topics/t/claims'),
        ('GET', '/v2/topics/t/claims/c'),
        ('PATCH', '/v2/topics/t/claims/c'),
        ('DELETE', '/v2/topics/t/claims/c'),
        ('POST', '/v2/topics/t/share'),
    ],
)
def test_topics_have_no_claims_and_no_sharing(
    client: falcon.testing.TestClient, method: str, path: str
) -> None:
    publish(client, 't', 'a')
    result = client.simulate_request(method, path, json={})
    assert result.status_code == 404
    assert result.json == NOT_ROUTED
    assert total(client, '/v2/topics/t') == 1


@pytest.mark.parametrize(
    ('path', 'allowed'),
    [
        ('/v2/topics', 'GET'),
        ('/v2/topics/t', 'DELETE, GET, HEAD, PATCH, PUT'),
        ('/v2/topics/t/messages/m', 'DELETE, GET'),
        ('/v2/topics/t/subscriptions/s/confirm', 'PUT'),
    ],
)
def test_unserved_methods_answer_405(
    client: falcon.testing.TestClient, path: str, allowed: str
) -> None:
    result = client.simulate_post(path)
    assert result.status_code == 405
    methods = {name.strip() for name in result.headers['allow'].split(',')}
    assert methods - {'OPTIONS'} == set(allowed.split(', '))
