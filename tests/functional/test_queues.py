"""Queues over HTTP, as the OpenAPI description says (``/v2/queues...``)."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from .conftest import ClientFactory
from .helpers import PROJECT_B
from .helpers import follow_pages
from .helpers import patch_queue
from .helpers import post_messages

DEFAULTS = {
    '_max_messages_post_size': 262144,
    '_default_message_ttl': 3600,
    '_default_message_delay': 0,
    '_dead_letter_queue': None,
    '_dead_letter_queue_messages_ttl': None,
    '_max_claim_count': None,
    '_enable_encrypt_messages': False,
}


# Create, read, delete


def test_put_creates_then_reports_existing(client: falcon.testing.TestClient) -> None:
    """201 then 204, both with a relative Location."""
    first = client.simulate_put('/v2/queues/fresh', json={'colour': 'red'})
    assert first.status_code == 201
    assert first.headers['location'] == '/v2/queues/fresh'
    assert first.content == b''
    again = client.simulate_put('/v2/queues/fresh', json={'colour': 'blue'})
    assert again.status_code == 204
    assert again.headers['location'] == '/v2/queues/fresh'
    assert client.simulate_get('/v2/queues/fresh').json == {
        'colour': 'red',
        **DEFAULTS,
    }


def test_put_without_body_creates_an_empty_queue(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_put('/v2/queues/plain').status_code == 201
    assert client.simulate_get('/v2/queues/plain').json == DEFAULTS


def test_get_of_a_missing_queue_returns_the_defaults(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: GET /v2/queues/{queue_name}"""
    result = client.simulate_get('/v2/queues/ghost')
    assert result.status_code == 200
    assert result.json == DEFAULTS


def test_get_merges_falsy_reserved_values_with_defaults(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put(
        '/v2/queues/mixed',
        json={'_default_message_delay': 0, '_max_claim_count': 2, 'k': [1]},
    )
    assert client.simulate_get('/v2/queues/mixed').json == {
        **DEFAULTS,
        '_max_claim_count': 2,
        'k': [1],
    }


def test_head_tells_whether_the_queue_exists(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_head('/v2/queues/maybe').status_code == 404
    client.simulate_put('/v2/queues/maybe')
    result = client.simulate_head('/v2/queues/maybe')
    assert result.status_code == 204
    assert result.content == b''


def test_delete_is_idempotent_and_removes_messages(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: DELETE /v2/queues/{queue_name}"""
    post_messages(client, 'doomed', 'a', 'b')
    assert client.simulate_delete('/v2/queues/doomed').status_code == 204
    assert client.simulate_delete('/v2/queues/doomed').status_code == 204
    assert client.simulate_head('/v2/queues/doomed').status_code == 404
    stats = client.simulate_get('/v2/queues/doomed/stats').json
    assert stats == {'messages': {'free': 0, 'claimed': 0, 'total': 0}}


@pytest.mark.parametrize(
    ('body', 'title', 'description'),
    [
        ('[1, 2]', 'Invalid request body', 'Document type not supported.'),
        ('{"a": ', 'Invalid request body', 'Request body could not be parsed.'),
        ('"text"', 'Invalid request body', 'Request body could not be parsed.'),
        (
            '{"a": 99999999999999999999}',
            'Invalid request body',
            'JSON contains integer that is too large.',
        ),
        (
            '{"_default_message_ttl": 30}',
            'Invalid API request',
            '_default_message_ttl can not exceed 1209600 seconds, and must be at '
            'least 60 seconds long.',
        ),
        (
            '{"_max_messages_post_size": "big"}',
            'Invalid API request',
            '_max_messages_post_size must be integer.',
        ),
        (
            '{"_enable_encrypt_messages": 1}',
            'Invalid API request',
            '_enable_encrypt_messages must be boolean.',
        ),
        (
            '{"_enable_encrypt_messages": true}',
            'Invalid API request',
            'Message encryption is not supported by this server; '
            '_enable_encrypt_messages must be false.',
        ),
    ],
)
def test_put_refuses_bad_bodies(
    client: falcon.testing.TestClient, body: str, title: str, description: str
) -> None:
    result = client.simulate_put('/v2/queues/picky', body=body)
    assert result.status_code == 400
    assert result.json == {'title': title, 'description': description}
    assert client.simulate_head('/v2/queues/picky').status_code == 404


def test_put_refuses_metadata_over_the_size_limit(
    client: falcon.testing.TestClient,
) -> None:
    body = json.dumps({'blob': 'x' * 65536})
    result = client.simulate_put('/v2/queues/huge', body=body)
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid API request',
        'description': 'Queue metadata is too large. Max size: 65536',
    }


def test_put_refuses_bad_utf8(client: falcon.testing.TestClient) -> None:
    result = client.simulate_put('/v2/queues/bytes', body=b'{"a": "\xff"}')
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid request body'


# Listing


def test_empty_listing_has_no_links(client: falcon.testing.TestClient) -> None:
    """200 with an empty links list (doc/http-api.md, "Paging")."""
    result = client.simulate_get('/v2/queues')
    assert result.status_code == 200
    assert result.json == {'queues': [], 'links': []}


def test_listing_pages_by_name_until_an_empty_page(
    client: falcon.testing.TestClient,
) -> None:
    names = [f'q{index:02d}' for index in range(7)]
    for name in reversed(names):
        client.simulate_put(f'/v2/queues/{name}')
    pages = follow_pages(client, '/v2/queues', 'queues', limit=3)
    assert [[queue['name'] for queue in page] for page in pages] == [
        names[0:3],
        names[3:6],
        names[6:7],
    ]
    assert pages[0][0] == {'name': 'q00', 'href': '/v2/queues/q00'}


def test_listing_next_link_repeats_the_paging_parameters(
    client: falcon.testing.TestClient,
) -> None:
    for name in ('a1', 'a2', 'b1'):
        client.simulate_put(f'/v2/queues/{name}')
    result = client.simulate_get(
        '/v2/queues', params={'limit': 1, 'detailed': 'True', 'name': 'a'}
    )
    assert result.json['links'] == [
        {'rel': 'next', 'href': '/v2/queues?detailed=true&limit=1&marker=a1&name=a'}
    ]


def test_default_page_holds_ten_queues(client: falcon.testing.TestClient) -> None:
    for index in range(12):
        client.simulate_put(f'/v2/queues/q{index:02d}')
    assert len(client.simulate_get('/v2/queues').json['queues']) == 10


def test_detailed_listing_includes_metadata_with_defaults(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/meta', json={'colour': 'red'})
    plain = client.simulate_get('/v2/queues').json['queues'][0]
    assert 'metadata' not in plain
    detailed = client.simulate_get('/v2/queues', params={'detailed': 'true'})
    assert detailed.json['queues'][0]['metadata'] == {'colour': 'red', **DEFAULTS}


def test_listing_filters_by_name_and_metadata(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/billing-1', json={'team': 'ops', 'tier': 1})
    client.simulate_put('/v2/queues/billing-2', json={'team': 'dev', 'tier': 1})
    client.simulate_put('/v2/queues/other', json={'team': 'ops', 'tier': 2})

    def names(**params: object) -> list[str]:
        result = client.simulate_get('/v2/queues', params=params)
        return [queue['name'] for queue in result.json['queues']]

    assert names(name='billing') == ['billing-1', 'billing-2']
    assert names(team='ops') == ['billing-1', 'other']
    assert names(tier='1') == ['billing-1', 'billing-2']
    assert names(team='ops', name='bill') == ['billing-1']


def test_listing_next_link_keeps_metadata_filters(
    client: falcon.testing.TestClient,
) -> None:
    """deliberate choice, differences.md, Queue listing"""
    for index in range(3):
        client.simulate_put(f'/v2/queues/ops{index}', json={'team': 'ops'})
        client.simulate_put(f'/v2/queues/dev{index}', json={'team': 'dev'})
    pages = follow_pages(client, '/v2/queues', 'queues', limit=2, team='ops')
    assert [[queue['name'] for queue in page] for page in pages] == [
        ['ops0', 'ops1'],
        ['ops2'],
    ]


def test_with_count_reports_every_queue_of_the_project(
    client: falcon.testing.TestClient,
) -> None:
    assert (
        'count'
        not in client.simulate_get('/v2/queues', params={'with_count': 'true'}).json
    )
    for name in ('c1', 'c2', 'c3'):
        client.simulate_put(f'/v2/queues/{name}')
    result = client.simulate_get('/v2/queues', params={'with_count': 'yes', 'limit': 1})
    assert result.json['count'] == 3
    assert len(result.json['queues']) == 1
    assert 'count' not in client.simulate_get('/v2/queues').json


@pytest.mark.parametrize(
    ('query', 'title', 'description_part'),
    [
        ('limit=0', 'Invalid API request', 'Limit must be at least 1 and no greater'),
        ('limit=21', 'Invalid API request', 'no greater than 20.'),
        ('limit=abc', 'Invalid parameter', 'limit'),
        ('limit=1.5', 'Invalid parameter', 'limit'),
        ('detailed=TRUE', 'Invalid parameter', 'detailed'),
        ('with_count=maybe', 'Invalid parameter', 'with_count'),
    ],
)
def test_listing_refuses_bad_query_parameters(
    client: falcon.testing.TestClient, query: str, title: str, description_part: str
) -> None:
    result = client.simulate_get('/v2/queues', query_string=query)
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description_part in result.json['description']


def test_blank_query_values_are_ignored(client: falcon.testing.TestClient) -> None:
    """http-api.md, Query strings"""
    client.simulate_put('/v2/queues/blank')
    result = client.simulate_get('/v2/queues', query_string='limit=&detailed=&x=')
    assert result.status_code == 200
    assert result.json['queues'] == [{'name': 'blank', 'href': '/v2/queues/blank'}]


# PATCH


def test_patch_applies_add_replace_remove_and_returns_everything(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: PATCH /v2/queues/{queue_name}"""
    client.simulate_put('/v2/queues/p', json={'a': 1, 'b': 2})
    result = patch_queue(
        client,
        'p',
        [
            {'op': 'add', 'path': '/metadata/c', 'value': {'deep': True}},
            {'op': 'replace', 'path': '/metadata/a', 'value': 10},
            {'op': 'remove', 'path': '/metadata/b'},
            {'op': 'replace', 'path': '/metadata/_default_message_ttl', 'value': 120},
        ],
    )
    assert result.status_code == 200
    expected = {**DEFAULTS, 'a': 10, 'c': {'deep': True}, '_default_message_ttl': 120}
    assert result.json == expected
    assert client.simulate_get('/v2/queues/p').json == expected


def test_patch_accepts_removal_of_reserved_keys_never_stored(
    client: falcon.testing.TestClient,
) -> None:
    """python-zaqarclient removes every key it saw.

    See doc/http-api.md, "Client compatibility".
    """
    client.simulate_put('/v2/queues/zc', json={'old': 1})
    current = client.simulate_get('/v2/queues/zc').json
    new_meta = {'fresh': 'yes', '_default_message_ttl': 300}
    changes = []
    for key, value in new_meta.items():
        op = 'replace' if current.get(key) is not None else 'add'
        changes.append({'op': op, 'path': f'/metadata/{key}', 'value': value})
    for key in current:
        if key not in new_meta:
            changes.append({'op': 'remove', 'path': f'/metadata/{key}'})
    result = patch_queue(client, 'zc', changes)
    assert result.status_code == 200
    assert result.json == {**DEFAULTS, 'fresh': 'yes', '_default_message_ttl': 300}


def test_patch_conflicts_on_absent_keys(client: falcon.testing.TestClient) -> None:
    client.simulate_put('/v2/queues/c')
    replace = patch_queue(
        client, 'c', [{'op': 'replace', 'path': '/metadata/nope', 'value': 1}]
    )
    assert replace.status_code == 409
    assert replace.json == {
        'title': 'Resource conflict',
        'description': "Can't replace non-existent object nope.",
    }
    remove = patch_queue(client, 'c', [{'op': 'remove', 'path': '/metadata/nope'}])
    assert remove.status_code == 409
    assert remove.json['description'] == "Can't remove non-existent object nope."


def test_patch_of_a_missing_queue_is_404(client: falcon.testing.TestClient) -> None:
    result = patch_queue(
        client, 'absent', [{'op': 'add', 'path': '/metadata/a', 'value': 1}]
    )
    assert result.status_code == 404
    assert result.json == {
        'title': 'Not found',
        'description': 'Queue absent does not exist for project project-a',
    }
    assert client.simulate_head('/v2/queues/absent').status_code == 404


@pytest.mark.parametrize(
    'content_type',
    [None, 'application/json', 'application/json-patch+json', 'text/plain'],
)
def test_patch_needs_the_zaqar_json_patch_media_type(
    client: falcon.testing.TestClient, content_type: str | None
) -> None:
    client.simulate_put('/v2/queues/typed')
    extra = {'Content-Type': content_type} if content_type else {}
    result = client.simulate_patch(
        '/v2/queues/typed',
        body='[{"op": "add", "path": "/metadata/a", "value": 1}]',
        headers=extra,
    )
    assert result.status_code == 415
    assert result.json['title'] == '415 Unsupported Media Type'
    assert (
        'application/openstack-messaging-v2.0-json-patch' in result.json['description']
    )


def test_patch_size_is_checked_before_the_media_type(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/big')
    result = client.simulate_patch(
        '/v2/queues/big',
        body='[' + ' ' * 70000 + ']',
        headers={'Content-Type': 'text/plain'},
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid request body',
        'description': 'Queue metadata is too large. Max size: 65536',
    }


@pytest.mark.parametrize(
    ('body', 'description'),
    [
        ('', 'PATCH body could not be empty for update.'),
        ('{"op": "add"}', 'Document type not supported.'),
        ('[1]', 'Operations must be JSON objects.'),
        ('[{"op": "copy", "path": "/metadata/a"}]', 'Invalid operation: `copy`'),
        ('[{"op": "add", "path": "/metadata/a"}]', 'requires a member named "value"'),
        ('[{"op": "add", "path": "/other/a", "value": 1}]', 'root of path must be'),
        ('[{"op": "add", "path": "metadata/a", "value": 1}]', 'does not start with'),
        ('[{"op": "add", "path": "/metadata", "value": 1}]', 'Invalid JSON pointer'),
        ('[{"op": "add", "path": 3, "value": 1}]', 'must be a string'),
        ('[not json', 'Request body could not be parsed.'),
        (
            '[{"op": "add", "path": "/metadata/_default_message_delay", "value": 901}]',
            'The TTL can not exceed 900 seconds',
        ),
    ],
)
def test_patch_refuses_bad_documents(
    client: falcon.testing.TestClient, body: str, description: str
) -> None:
    client.simulate_put('/v2/queues/strict', json={'keep': 1})
    result = client.simulate_patch(
        '/v2/queues/strict',
        body=body,
        headers={'Content-Type': 'application/openstack-messaging-v2.0-json-patch'},
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid request body'
    assert description in result.json['description']
    assert client.simulate_get('/v2/queues/strict').json == {'keep': 1, **DEFAULTS}


# Tenancy


def test_queues_are_scoped_by_project(make_client: ClientFactory) -> None:
    """http-api.md, Projects"""
    alice = make_client()
    bob = make_client(PROJECT_B)
    alice.simulate_put('/v2/queues/same', json={'owner': 'alice'})
    assert bob.simulate_get('/v2/queues').json == {'queues': [], 'links': []}
    assert bob.simulate_head('/v2/queues/same').status_code == 404
    assert bob.simulate_get('/v2/queues/same').json == DEFAULTS
    assert bob.simulate_put('/v2/queues/same', json={'owner': 'bob'}).status_code == 201
    assert alice.simulate_get('/v2/queues/same').json['owner'] == 'alice'
    assert bob.simulate_get('/v2/queues/same').json['owner'] == 'bob'
    bob.simulate_delete('/v2/queues/same')
    assert alice.simulate_head('/v2/queues/same').status_code == 204
    patch = patch_queue(bob, 'same', [{'op': 'add', 'path': '/metadata/x', 'value': 1}])
    assert patch.status_code == 404
