"""Posting, listing, reading and deleting messages.

The routes are described in the OpenAPI description (``.../messages``), the
semantics in doc/http-api.md, "Message lifecycle".
"""

from __future__ import annotations

import hashlib
import json
import uuid

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from .conftest import ClientFactory
from .helpers import bodies
from .helpers import claim
from .helpers import follow_pages
from .helpers import headers
from .helpers import post_messages

MESSAGE_KEYS = {'id', 'href', 'ttl', 'age', 'body'}


@pytest.fixture
def reader(make_client: ClientFactory) -> falcon.testing.TestClient:
    """Another client of project A, so listings show what ``client`` posts."""
    return make_client()


# Posting


def test_post_answers_201_with_resources_in_order(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: POST .../messages"""
    result = client.simulate_post(
        '/v2/queues/posts/messages',
        json={'messages': [{'body': 'first', 'ttl': 300}, {'body': {'n': 2}}]},
    )
    assert result.status_code == 201
    resources = result.json['resources']
    assert list(result.json) == ['resources']
    assert len(resources) == 2
    assert all(href.startswith('/v2/queues/posts/messages/') for href in resources)
    ids = [href.rsplit('/', 1)[1] for href in resources]
    assert result.headers['location'] == (
        f'/v2/queues/posts/messages?ids={ids[0]},{ids[1]}'
    )
    first = client.simulate_get(resources[0]).json
    assert first == {
        'id': ids[0],
        'href': resources[0],
        'ttl': 300,
        'age': 0,
        'body': 'first',
    }
    assert client.simulate_get(resources[1]).json['ttl'] == 3600


def test_post_creates_the_queue_lazily(client: falcon.testing.TestClient) -> None:
    assert client.simulate_head('/v2/queues/lazy').status_code == 404
    post_messages(client, 'lazy', 1)
    assert client.simulate_head('/v2/queues/lazy').status_code == 204


def test_any_json_body_round_trips(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    values = [None, 0, -1.5, 'caf\u00e9 \u2603', [1, [2]], {'z': 1, 'a': {}}, True]
    post_messages(client, 'bodies', *values)
    listed = reader.simulate_get('/v2/queues/bodies/messages', params={'limit': 20})
    assert bodies(listed.json['messages']) == values


def test_message_ttl_defaults_to_the_queue_default(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/ttlq', json={'_default_message_ttl': 120})
    [message_id] = post_messages(client, 'ttlq', 'x')
    assert (
        client.simulate_get(f'/v2/queues/ttlq/messages/{message_id}').json['ttl'] == 120
    )


def test_messages_expire_after_their_ttl(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    [message_id] = post_messages(client, 'expiring', 'x', ttl=60)
    clock.advance(59)
    result = client.simulate_get(f'/v2/queues/expiring/messages/{message_id}')
    assert result.json['age'] == 59
    clock.advance(2)
    gone = client.simulate_get(f'/v2/queues/expiring/messages/{message_id}')
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ('document', 'title', 'description'),
    [
        ({}, 'Invalid API request', 'No messages were found in the request body.'),
        ([{'body': 1}], 'Invalid API request', 'No messages were found'),
        ({'messages': {'body': 1}}, 'Invalid request body', 'Document type not'),
        ({'messages': 'x'}, 'Invalid request body', 'Document type not supported.'),
        ({'messages': []}, 'Invalid API request', 'No messages to enqueue.'),
        ({'messages': [1]}, 'Invalid request body', 'Document type not supported.'),
        ({'messages': [[]]}, 'Invalid request body', 'Document type not supported.'),
        ({'messages': [{'ttl': 60}]}, 'Invalid request body', 'Missing "body" field.'),
        (
            {'messages': [{'body': 1, 'ttl': '60'}]},
            'Invalid request body',
            'The value of the "ttl" field must be a int.',
        ),
        ({'messages': [{'body': 1, 'ttl': True}]}, 'Invalid request body', '"ttl"'),
        ({'messages': [{'body': 1, 'ttl': None}]}, 'Invalid request body', '"ttl"'),
        ({'messages': [{'body': 1, 'ttl': 90.0}]}, 'Invalid request body', '"ttl"'),
        (
            {'messages': [{'body': 1, 'ttl': 59}]},
            'Invalid API request',
            'The TTL for a message may not exceed 1209600 seconds, and must be at '
            'least 60 seconds long.',
        ),
        ({'messages': [{'body': 1, 'ttl': 2**63 - 1}]}, 'Invalid API request', 'TTL'),
        (
            {'messages': [{'body': 1}, {'body': 2, 'ttl': 5}]},
            'Invalid API request',
            'TTL',
        ),
    ],
)
def test_post_refuses_bad_documents_without_storing_anything(
    client: falcon.testing.TestClient, document: object, title: str, description: str
) -> None:
    result = client.simulate_post('/v2/queues/strict/messages', json=document)
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description in result.json['description']
    stats = client.simulate_get('/v2/queues/strict/stats').json
    assert stats['messages']['total'] == 0


@pytest.mark.parametrize(
    ('body', 'description'),
    [
        (b'{"messages": [{"body": 1}', 'Request body could not be parsed.'),
        (b'{"messages": [{"body": NaN}]}', 'Request body could not be parsed.'),
        (b'{"messages": [{"body": 1e400}]}', 'Request body could not be parsed.'),
        (b'{"messages": [{"body": "\xff"}]}', 'Request body could not be parsed.'),
        (
            b'{"messages": [{"body": 18446744073709551616}]}',
            'JSON contains integer that is too large.',
        ),
        (
            b'[' * 50000 + b']' * 50000,
            'Request body could not be parsed: arrays and objects may not be '
            'nested more than 64 levels deep.',
        ),
    ],
)
def test_post_refuses_unparseable_bodies(
    client: falcon.testing.TestClient, body: bytes, description: str
) -> None:
    result = client.simulate_post('/v2/queues/raw/messages', body=body)
    assert result.status_code == 400
    assert result.json == {'title': 'Invalid request body', 'description': description}


def test_post_refuses_an_empty_body(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post('/v2/queues/empty/messages')
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid request body',
        'description': 'Request body can not be empty',
    }


def test_post_size_is_checked_against_the_config_limit(
    client: falcon.testing.TestClient,
) -> None:
    body = json.dumps({'messages': [{'body': 'x' * 262144}]})
    result = client.simulate_post('/v2/queues/big/messages', body=body)
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid API request',
        'description': 'Message collection size is too large. Max size 262144',
    }


def test_post_size_honours_the_smaller_queue_limit(
    client: falcon.testing.TestClient,
) -> None:
    client.simulate_put('/v2/queues/small', json={'_max_messages_post_size': 100})
    ok = json.dumps({'messages': [{'body': 'x' * 50}]})
    assert client.simulate_post('/v2/queues/small/messages', body=ok).status_code == 201
    big = json.dumps({'messages': [{'body': 'x' * 100}]})
    result = client.simulate_post('/v2/queues/small/messages', body=big)
    assert result.status_code == 400
    assert result.json['description'] == (
        'Message collection size is too large. Max size 100'
    )


def test_chunked_post_without_length_is_read_bounded(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    """A body with no Content-Length, on a server that terminates input."""
    client.simulate_put('/v2/queues/chunked', json={'_max_messages_post_size': 200})
    small = json.dumps({'messages': [{'body': 'hello'}]})
    terminated = {'wsgi.input_terminated': True}
    result = client.simulate_post(
        '/v2/queues/chunked/messages',
        body=small,
        headers={'Content-Length': ''},
        extras=terminated,
    )
    assert result.status_code == 201
    large = json.dumps({'messages': [{'body': 'x' * 500}]})
    result = client.simulate_post(
        '/v2/queues/chunked/messages',
        body=large,
        headers={'Content-Length': ''},
        extras=terminated,
    )
    assert result.status_code == 400
    assert 'Max size 200' in result.json['description']
    assert bodies(
        reader.simulate_get('/v2/queues/chunked/messages').json['messages']
    ) == ['hello']


# Listing


def test_listing_hides_own_messages_unless_echo(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    """http-api.md, Headers; OpenAPI: GET .../messages"""
    post_messages(client, 'echo', 'from-client')
    post_messages(reader, 'echo', 'from-reader')
    own = client.simulate_get('/v2/queues/echo/messages')
    assert bodies(own.json['messages']) == ['from-reader']
    everything = client.simulate_get(
        '/v2/queues/echo/messages', params={'echo': 'true'}
    )
    assert bodies(everything.json['messages']) == ['from-client', 'from-reader']


def test_listing_of_a_missing_queue_is_an_empty_page(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_get('/v2/queues/none/messages')
    assert result.status_code == 200
    assert result.json == {'messages': [], 'links': []}


def test_listing_pages_in_fifo_order_until_an_empty_page(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    """http-api.md, Paging; http-api.md, Markers and ordering"""
    post_messages(client, 'paged', *range(5))
    post_messages(client, 'paged', *range(5, 7))
    pages = follow_pages(reader, '/v2/queues/paged/messages', 'messages', limit=3)
    assert [bodies(page) for page in pages] == [[0, 1, 2], [3, 4, 5], [6]]
    for page in pages:
        for message in page:
            assert set(message) == MESSAGE_KEYS


def test_listing_next_link_carries_the_parameters(
    client: falcon.testing.TestClient,
) -> None:
    post_messages(client, 'linked', 'a', 'b')
    result = client.simulate_get(
        '/v2/queues/linked/messages', params={'limit': 1, 'echo': 'yes'}
    )
    [link] = result.json['links']
    path, _, query = link['href'].partition('?')
    assert path == '/v2/queues/linked/messages'
    params = dict(part.split('=') for part in query.split('&'))
    assert params.keys() == {'limit', 'echo', 'include_delayed', 'marker'}
    assert params['echo'] == 'true'
    assert params['include_delayed'] == 'true'
    assert params['limit'] == '1'
    assert params['marker'].isdigit()
    second = client.simulate_get(path, query_string=query)
    assert bodies(second.json['messages']) == ['b']


def test_default_listing_page_holds_ten_messages(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    post_messages(client, 'ten', *range(15))
    result = reader.simulate_get('/v2/queues/ten/messages')
    assert bodies(result.json['messages']) == list(range(10))


@pytest.mark.parametrize('marker', ['abc', '-1', '1.5', '99999999999999999999999'])
def test_unusable_markers_give_an_empty_page(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient, marker: str
) -> None:
    post_messages(client, 'marked', 'x')
    result = reader.simulate_get(
        '/v2/queues/marked/messages', params={'marker': marker}
    )
    assert result.status_code == 200
    assert result.json == {'messages': [], 'links': []}


@pytest.mark.parametrize(
    ('query', 'title'),
    [
        ('limit=0', 'Invalid API request'),
        ('limit=21', 'Invalid API request'),
        ('limit=ten', 'Invalid parameter'),
        ('echo=TRUE', 'Invalid parameter'),
        ('include_claimed=2', 'Invalid parameter'),
        ('include_delayed=nope', 'Invalid parameter'),
    ],
)
def test_listing_refuses_bad_parameters(
    client: falcon.testing.TestClient, query: str, title: str
) -> None:
    result = client.simulate_get('/v2/queues/q/messages', query_string=query)
    assert result.status_code == 400
    assert result.json['title'] == title


def test_listing_limit_error_text(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get('/v2/queues/q/messages', params={'limit': 21})
    assert result.json['description'] == (
        'Limit must be at least 1 and may not be greater than 20.'
    )


def test_claimed_messages_are_listed_only_with_include_claimed(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    post_messages(client, 'lc', 'a', 'b')
    claim_id, _ = claim(client, 'lc', limit=1)
    unclaimed = reader.simulate_get('/v2/queues/lc/messages')
    assert bodies(unclaimed.json['messages']) == ['b']
    assert '?claim_id=' not in unclaimed.json['messages'][0]['href']
    result = reader.simulate_get(
        '/v2/queues/lc/messages', params={'include_claimed': 'true'}
    )
    first, second = result.json['messages']
    assert first['href'].endswith(f'?claim_id={claim_id}')
    assert second['href'] == f'/v2/queues/lc/messages/{second["id"]}'


# Delayed messages


def test_delay_is_ignored_on_a_queue_without_default_delay(
    client: falcon.testing.TestClient, reader: falcon.testing.TestClient
) -> None:
    """http-api.md, Message lifecycle: non-delay queues drop "delay"."""
    post_messages(client, 'nodelay', 'now', delay=300)
    listed = reader.simulate_get('/v2/queues/nodelay/messages')
    assert bodies(listed.json['messages']) == ['now']
    claim_id, messages = claim(reader, 'nodelay')
    assert claim_id is not None
    assert bodies(messages) == ['now']


def test_delay_queue_hides_messages_until_their_delay_passes(
    client: falcon.testing.TestClient,
    reader: falcon.testing.TestClient,
    clock: ManualClock,
) -> None:
    client.simulate_put('/v2/queues/delayed', json={'_default_message_delay': 30})
    [default_id] = post_messages(client, 'delayed', 'default')
    post_messages(client, 'delayed', 'explicit', delay=100)
    post_messages(client, 'delayed', 'immediate', delay=0)

    listed = reader.simulate_get('/v2/queues/delayed/messages')
    assert bodies(listed.json['messages']) == ['immediate']
    shown = reader.simulate_get(
        '/v2/queues/delayed/messages', params={'include_delayed': 'true'}
    )
    assert bodies(shown.json['messages']) == ['default', 'explicit', 'immediate']
    assert (
        client.simulate_get(f'/v2/queues/delayed/messages/{default_id}').status_code
        == 200
    )
    stats = client.simulate_get('/v2/queues/delayed/stats').json['messages']
    assert stats['free'] == 3

    _, claimed = claim(reader, 'delayed')
    assert bodies(claimed) == ['immediate']
    clock.advance(30)
    _, claimed = claim(reader, 'delayed')
    assert bodies(claimed) == ['default']
    clock.advance(70)
    _, claimed = claim(reader, 'delayed')
    assert bodies(claimed) == ['explicit']


def test_delay_is_validated_on_delay_queues(client: falcon.testing.TestClient) -> None:
    client.simulate_put('/v2/queues/dq', json={'_default_message_delay': 10})
    too_long = client.simulate_post(
        '/v2/queues/dq/messages', json={'messages': [{'body': 1, 'delay': 901}]}
    )
    assert too_long.status_code == 400
    assert too_long.json['description'] == (
        'The Delay for a message may not exceed 900 seconds, and must be at least '
        '0 seconds long.'
    )
    wrong_type = client.simulate_post(
        '/v2/queues/dq/messages', json={'messages': [{'body': 1, 'delay': '5'}]}
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json['title'] == 'Invalid request body'


# Reading one or several


def test_get_of_a_missing_or_malformed_message_is_404(
    client: falcon.testing.TestClient,
) -> None:
    post_messages(client, 'one', 'x')
    for message_id in (uuid.uuid4().hex, 'not-an-id', 'x' * 300):
        result = client.simulate_get(f'/v2/queues/one/messages/{message_id}')
        assert result.status_code == 404
        assert result.json['title'] == 'Not found'
    missing = uuid.uuid4().hex
    result = client.simulate_get(f'/v2/queues/one/messages/{missing}')
    assert result.json['description'] == (
        f'Message {missing} does not exist in queue one for project project-a'
    )


def test_get_shows_a_claimed_message_with_its_claim(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = post_messages(client, 'seen', 'x')
    claim_id, _ = claim(client, 'seen')
    result = client.simulate_get(f'/v2/queues/seen/messages/{message_id}')
    assert result.json['href'] == (
        f'/v2/queues/seen/messages/{message_id}?claim_id={claim_id}'
    )


@pytest.mark.parametrize('form', ['comma', 'repeated'])
def test_get_many_accepts_both_id_list_forms(
    client: falcon.testing.TestClient, form: str
) -> None:
    """http-api.md, Query strings; OpenAPI: GET .../messages?ids="""
    ids = post_messages(client, 'many', 'a', 'b', 'c')
    wanted = [ids[0], ids[2], uuid.uuid4().hex, 'junk']
    if form == 'comma':
        query = 'ids=' + ','.join(wanted)
    else:
        query = '&'.join(f'ids={message_id}' for message_id in wanted)
    result = client.simulate_get('/v2/queues/many/messages', query_string=query)
    assert result.status_code == 200
    assert list(result.json) == ['messages']
    assert sorted(bodies(result.json['messages'])) == ['a', 'c']


def test_get_many_with_nothing_found_is_404(client: falcon.testing.TestClient) -> None:
    post_messages(client, 'few', 'a')
    missing = uuid.uuid4().hex
    result = client.simulate_get('/v2/queues/few/messages', params={'ids': missing})
    assert result.status_code == 404
    assert result.json == {
        'title': 'Not found',
        'description': f'No messages with IDs: {missing} found in the queue few '
        'for project project-a.',
    }


def test_get_many_limits_the_number_of_ids(client: falcon.testing.TestClient) -> None:
    ids = ','.join(uuid.uuid4().hex for _ in range(21))
    result = client.simulate_get('/v2/queues/q/messages', query_string=f'ids={ids}')
    assert result.status_code == 400
    assert result.json['description'] == (
        'Limit must be at least 1 and may not be greater than 20.'
    )
    commas = client.simulate_get('/v2/queues/q/messages', query_string='ids=,,')
    assert commas.status_code == 400


# Bulk delete and pop


@pytest.mark.parametrize('form', ['comma', 'repeated'])
def test_bulk_delete_removes_listed_messages_even_claimed(
    client: falcon.testing.TestClient, form: str
) -> None:
    """OpenAPI: DELETE .../messages; http-api.md, Message lifecycle"""
    ids = post_messages(client, 'bulk', 'a', 'b', 'c')
    claim(client, 'bulk', limit=1)
    doomed = [ids[0], ids[1], uuid.uuid4().hex, 'junk']
    if form == 'comma':
        query = 'ids=' + ','.join(doomed)
    else:
        query = '&'.join(f'ids={message_id}' for message_id in doomed)
    result = client.simulate_delete('/v2/queues/bulk/messages', query_string=query)
    assert result.status_code == 204
    assert result.content == b''
    left = client.simulate_get('/v2/queues/bulk/messages', params={'echo': 'true'})
    assert bodies(left.json['messages']) == ['c']


@pytest.mark.parametrize(
    ('query', 'description'),
    [
        ('', 'The request should have either "ids" or "pop" parameter'),
        ('ids=', 'The request should have either "ids" or "pop" parameter'),
        ('ids=a&pop=1', 'pop and id params cannot be present together'),
        ('ids=,', 'ids parameter should have at least 1 and not greater than 20'),
        ('pop=0', 'Pop value must be at least 1 and may not be greater than 20.'),
        ('pop=21', 'Pop value must be at least 1'),
    ],
)
def test_bulk_delete_refuses_bad_parameters(
    client: falcon.testing.TestClient, query: str, description: str
) -> None:
    result = client.simulate_delete('/v2/queues/q/messages', query_string=query)
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid API request'
    assert description in result.json['description']


def test_pop_with_a_non_integer_is_invalid_parameter(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_delete('/v2/queues/q/messages', query_string='pop=x')
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid parameter'


def test_pop_removes_unclaimed_messages_oldest_first(
    client: falcon.testing.TestClient,
) -> None:
    """OpenAPI: DELETE .../messages: raw shape, claimed messages skipped."""
    post_messages(client, 'pops', 'a', 'b', 'c', 'd')
    claim(client, 'pops', limit=1)
    result = client.simulate_delete('/v2/queues/pops/messages', params={'pop': 2})
    assert result.status_code == 200
    popped = result.json['messages']
    assert bodies(popped) == ['b', 'c']
    assert set(popped[0]) == {'id', 'age', 'ttl', 'claim_count', 'body', 'claim_id'}
    assert popped[0]['claim_count'] == 0
    assert popped[0]['claim_id'] is None
    for message in popped:
        gone = client.simulate_get(f'/v2/queues/pops/messages/{message["id"]}')
        assert gone.status_code == 404
    rest = client.simulate_delete('/v2/queues/pops/messages', params={'pop': 5})
    assert bodies(rest.json['messages']) == ['d']
    empty = client.simulate_delete('/v2/queues/pops/messages', params={'pop': 5})
    assert empty.status_code == 200
    assert empty.json == {'messages': []}


# Single delete and claims (http-api.md, Message lifecycle)


def test_delete_of_unclaimed_message_without_claim_id(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = post_messages(client, 'del', 'x')
    path = f'/v2/queues/del/messages/{message_id}'
    assert client.simulate_delete(path).status_code == 204
    assert client.simulate_get(path).status_code == 404
    assert client.simulate_delete(path).status_code == 204


def test_delete_of_missing_or_malformed_message_is_204(
    client: falcon.testing.TestClient,
) -> None:
    post_messages(client, 'del', 'x')
    for message_id in (uuid.uuid4().hex, 'nonsense'):
        path = f'/v2/queues/del/messages/{message_id}'
        assert client.simulate_delete(path).status_code == 204
        with_claim = client.simulate_delete(path, params={'claim_id': uuid.uuid4().hex})
        assert with_claim.status_code == 204
    assert (
        client.simulate_delete(
            f'/v2/queues/nowhere/messages/{uuid.uuid4().hex}'
        ).status_code
        == 204
    )


def test_delete_of_claimed_message_needs_its_claim_id(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = post_messages(client, 'held', 'x')
    claim_id, _ = claim(client, 'held')
    path = f'/v2/queues/held/messages/{message_id}'
    forbidden = {
        'title': 'Unable to delete',
        'description': 'This message is claimed; it cannot be deleted without a '
        'valid claim ID.',
    }
    result = client.simulate_delete(path)
    assert result.status_code == 403
    assert result.json == forbidden
    other = client.simulate_delete(path, params={'claim_id': uuid.uuid4().hex})
    assert other.status_code == 403
    assert other.json == forbidden
    assert (
        client.simulate_delete(path, params={'claim_id': claim_id}).status_code == 204
    )
    assert client.simulate_get(path).status_code == 404


def test_delete_with_malformed_claim_id_is_400(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = post_messages(client, 'shape', 'x')
    expected = {
        'title': 'Unable to delete',
        'description': 'The specified claim does not exist or has expired.',
    }
    for target in (message_id, uuid.uuid4().hex):
        result = client.simulate_delete(
            f'/v2/queues/shape/messages/{target}', params={'claim_id': 'not=valid'}
        )
        assert result.status_code == 400
        assert result.json == expected


def test_delete_with_claim_id_of_unclaimed_message_is_400(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = post_messages(client, 'free', 'x')
    result = client.simulate_delete(
        f'/v2/queues/free/messages/{message_id}',
        params={'claim_id': uuid.uuid4().hex},
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Unable to delete',
        'description': 'A claim was specified, but the message is not currently '
        'claimed.',
    }


def test_delete_with_released_claim_id_is_400(
    client: falcon.testing.TestClient,
) -> None:
    [message_id] = post_messages(client, 'rel', 'x')
    claim_id, _ = claim(client, 'rel')
    client.simulate_delete(f'/v2/queues/rel/claims/{claim_id}')
    result = client.simulate_delete(
        f'/v2/queues/rel/messages/{message_id}', params={'claim_id': claim_id}
    )
    assert result.status_code == 400
    assert result.json['description'] == (
        'A claim was specified, but the message is not currently claimed.'
    )


def test_delete_with_expired_claim_id_still_recorded_is_204(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    [message_id] = post_messages(client, 'exp', 'x', ttl=3600)
    claim_id, _ = claim(client, 'exp', ttl=60)
    clock.advance(61)
    path = f'/v2/queues/exp/messages/{message_id}'
    assert '?claim_id=' not in client.simulate_get(path).json['href']
    assert (
        client.simulate_delete(path, params={'claim_id': claim_id}).status_code == 204
    )
    assert client.simulate_get(path).status_code == 404


def test_delete_of_expired_claim_message_without_claim_id(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    [message_id] = post_messages(client, 'exp2', 'x', ttl=3600)
    claim(client, 'exp2', ttl=60)
    clock.advance(61)
    path = f'/v2/queues/exp2/messages/{message_id}'
    assert client.simulate_delete(path).status_code == 204


# Checksum and tenancy


def test_checksum_is_added_when_enabled(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    """OpenAPI: .../messages; http-api.md, Client compatibility"""
    conf.set_override('enable_checksum', True)
    client = falcon.testing.TestClient(
        create_app(conf, storage=storage), headers=headers()
    )
    body = {'b': 1, 'a': ['\u00e9']}
    [message_id, null_id] = post_messages(client, 'sums', body, None)
    result = client.simulate_get(f'/v2/queues/sums/messages/{message_id}')
    digest = hashlib.md5(json.dumps(body).encode()).hexdigest()
    assert result.json['checksum'] == f'MD5:{digest}'
    assert (
        'checksum'
        not in client.simulate_get(f'/v2/queues/sums/messages/{null_id}').json
    )
    _, claimed = claim(client, 'sums')
    assert claimed[0]['checksum'] == f'MD5:{digest}'


def test_checksum_is_absent_by_default(client: falcon.testing.TestClient) -> None:
    [message_id] = post_messages(client, 'nosum', {'a': 1})
    result = client.simulate_get(f'/v2/queues/nosum/messages/{message_id}')
    assert set(result.json) == MESSAGE_KEYS


def test_messages_are_scoped_by_project(make_client: ClientFactory) -> None:
    """http-api.md, Projects: B can neither see nor delete nor pop A's messages."""
    alice = make_client()
    bob = make_client('project-b')
    ids = post_messages(alice, 'shared', 'a1', 'a2', 'a3')
    post_messages(bob, 'shared', 'b1')

    listed = bob.simulate_get('/v2/queues/shared/messages', params={'echo': 'true'})
    assert bodies(listed.json['messages']) == ['b1']
    assert bob.simulate_get(f'/v2/queues/shared/messages/{ids[0]}').status_code == 404
    many = bob.simulate_get('/v2/queues/shared/messages', params={'ids': ids[0]})
    assert many.status_code == 404
    assert (
        bob.simulate_delete(f'/v2/queues/shared/messages/{ids[0]}').status_code == 204
    )
    bob.simulate_delete('/v2/queues/shared/messages', params={'ids': ids[1]})
    popped = bob.simulate_delete('/v2/queues/shared/messages', params={'pop': 5})
    assert bodies(popped.json['messages']) == ['b1']
    bob.simulate_post('/v2/queues/shared/purge')
    bob.simulate_delete('/v2/queues/shared')

    mine = alice.simulate_get('/v2/queues/shared/messages', params={'echo': 'true'})
    assert bodies(mine.json['messages']) == ['a1', 'a2', 'a3']
