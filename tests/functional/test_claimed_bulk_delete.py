"""Claim-checked bulk deletes: ``DELETE .../messages?ids=...&claim_ids=...``.

http-api.md, "Message lifecycle", and the ``[transport]
message_delete_with_claim_id`` option. Every answer is checked against the
OpenAPI description by the conftest.
"""

from __future__ import annotations

import uuid
from typing import Any

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from .helpers import bodies
from .helpers import claim
from .helpers import headers
from .helpers import post_messages

PATH = '/v2/queues/work/messages'

CLAIMED = {
    'title': 'Unable to delete',
    'description': 'This message is claimed; it cannot be deleted without a '
    'valid claim ID.',
}
NOT_CLAIMED = {
    'title': 'Unable to delete',
    'description': 'A claim was specified, but the message is not currently claimed.',
}
MALFORMED = {
    'title': 'Unable to delete',
    'description': 'The specified claim does not exist or has expired.',
}
REQUIRED = (
    'The request should have both "ids" and "claim_ids" parameter in the '
    'request when message_delete_with_claim_id is True.'
)


def bulk_delete(
    client: falcon.testing.TestClient, query: str, path: str = PATH
) -> falcon.testing.Result:
    return client.simulate_delete(path, query_string=query)


def left(client: falcon.testing.TestClient, path: str = PATH) -> list[Any]:
    listed = client.simulate_get(
        path, params={'echo': 'true', 'include_claimed': 'true'}
    )
    return bodies(listed.json['messages'])


def claim_id(client: falcon.testing.TestClient, limit: int, **body: Any) -> str:
    taken, _ = claim(client, 'work', limit=limit, **body)
    assert taken is not None
    return taken


@pytest.mark.parametrize('form', ['comma', 'repeated'])
def test_messages_held_by_the_given_claims_are_deleted(
    client: falcon.testing.TestClient, form: str
) -> None:
    ids = post_messages(client, 'work', 'a', 'b', 'c', 'd')
    first, second = claim_id(client, 2), claim_id(client, 1)
    claims = [second, first]
    if form == 'comma':
        query = f'ids={",".join(ids[:3])}&claim_ids={",".join(claims)}'
    else:
        query = '&'.join(
            [*(f'ids={i}' for i in ids[:3]), *(f'claim_ids={c}' for c in claims)]
        )

    result = bulk_delete(client, query)

    assert result.status_code == 204
    assert result.content == b''
    assert left(client) == ['d']
    gone = client.simulate_get(f'/v2/queues/work/claims/{first}')
    assert gone.status_code == 404


def test_a_message_under_another_claim_refuses_the_whole_delete(
    client: falcon.testing.TestClient,
) -> None:
    ids = post_messages(client, 'work', 'a', 'b')
    mine = claim_id(client, 1)
    claim_id(client, 1)

    result = bulk_delete(client, f'ids={",".join(ids)}&claim_ids={mine}')

    assert result.status_code == 403
    assert result.json == CLAIMED
    assert left(client) == ['a', 'b']


def test_an_unclaimed_message_refuses_the_whole_delete(
    client: falcon.testing.TestClient,
) -> None:
    ids = post_messages(client, 'work', 'a', 'b')
    mine = claim_id(client, 1)

    result = bulk_delete(client, f'ids={",".join(ids)}&claim_ids={mine}')

    assert result.status_code == 400
    assert result.json == NOT_CLAIMED
    assert left(client) == ['a', 'b']


def test_an_expired_claim_still_recorded_deletes_and_unknown_ids_are_skipped(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    ids = post_messages(client, 'work', 'a', 'b', ttl=3600)
    lapsed = claim_id(client, 1, ttl=60)
    clock.advance(61)
    listed = [ids[0], uuid.uuid4().hex, 'junk']

    result = bulk_delete(client, f'ids={",".join(listed)}&claim_ids={lapsed}')

    assert result.status_code == 204
    assert left(client) == ['b']


def test_a_malformed_claim_id_is_refused_as_in_a_single_delete(
    client: falcon.testing.TestClient,
) -> None:
    ids = post_messages(client, 'work', 'a')
    mine = claim_id(client, 1)

    result = bulk_delete(client, f'ids={ids[0]}&claim_ids={mine}&claim_ids=not-one')

    assert result.status_code == 400
    assert result.json == MALFORMED
    assert left(client) == ['a']


@pytest.mark.parametrize(
    ('query', 'description'),
    [
        (f'claim_ids={"c" * 32}', 'claim_ids can only be given together with ids'),
        (
            f'pop=1&claim_ids={"c" * 32}',
            'claim_ids can only be given together with ids',
        ),
        (f'ids={"a" * 32}&claim_ids=,', 'claim_ids parameter should have at least 1'),
        (
            f'ids={"a" * 32}&claim_ids=' + ','.join(f'{n:032x}' for n in range(21)),
            'claim_ids parameter should have at least 1 and not greater than 20 '
            'distinct values.',
        ),
    ],
    ids=['alone', 'with-pop', 'empty', 'too-many'],
)
def test_claim_ids_that_cannot_be_used_are_refused(
    client: falcon.testing.TestClient, query: str, description: str
) -> None:
    result = bulk_delete(client, query)

    assert result.status_code == 400
    assert result.json['title'] == 'Invalid API request'
    assert description in result.json['description']


def test_topic_messages_are_never_claimed(client: falcon.testing.TestClient) -> None:
    path = '/v2/topics/news/messages'
    result = client.simulate_post(path, json={'messages': [{'body': 'a'}]})
    message_id = result.json['resources'][0].rsplit('/', 1)[1]
    any_claim = uuid.uuid4().hex

    refused = bulk_delete(client, f'ids={message_id}&claim_ids={any_claim}', path)
    unknown = bulk_delete(client, f'ids={uuid.uuid4().hex}&claim_ids={any_claim}', path)

    assert (refused.status_code, refused.json) == (400, NOT_CLAIMED)
    assert unknown.status_code == 204
    assert left(client, path) == ['a']


# [transport] message_delete_with_claim_id


@pytest.fixture
def strict(conf: cfg.ConfigOpts, storage: DataDriver) -> falcon.testing.TestClient:
    conf.set_override('message_delete_with_claim_id', True, group='transport')
    return falcon.testing.TestClient(
        create_app(conf, storage=storage), headers=headers()
    )


@pytest.mark.parametrize(
    'query',
    [f'ids={"a" * 32}', f'claim_ids={"c" * 32}', f'pop=1&claim_ids={"c" * 32}'],
    ids=['ids-alone', 'claim-ids-alone', 'claim-ids-with-pop'],
)
def test_with_the_option_ids_and_claim_ids_go_together(
    strict: falcon.testing.TestClient, query: str
) -> None:
    result = bulk_delete(strict, query)

    assert result.status_code == 400
    assert result.json == {'title': 'Invalid API request', 'description': REQUIRED}


def test_with_the_option_checked_deletes_and_pops_are_served(
    strict: falcon.testing.TestClient,
) -> None:
    ids = post_messages(strict, 'work', 'a', 'b', 'c')
    mine = claim_id(strict, 1)

    deleted = bulk_delete(strict, f'ids={ids[0]}&claim_ids={mine}')
    popped = bulk_delete(strict, 'pop=1')

    assert deleted.status_code == 204
    assert bodies(popped.json['messages']) == ['b']
    assert left(strict) == ['c']


def test_the_description_offers_claim_ids_on_both_bulk_deletes(
    client: falcon.testing.TestClient,
) -> None:
    """What tools/bench reads to pick its bulk delete mode."""
    document = client.simulate_get('/v2/openapi.json').json
    for path in (
        '/v2/queues/{queue_name}/messages',
        '/v2/topics/{topic_name}/messages',
    ):
        item = document['paths'][path]
        names = {
            resolve(document, parameter)['name']
            for parameter in [*item['parameters'], *item['delete']['parameters']]
        }
        assert {'ids', 'pop', 'claim_ids'} <= names, path


def resolve(document: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    """The parameter object, following a ``$ref`` into the components."""
    if '$ref' not in parameter:
        return parameter
    node: Any = document
    for part in parameter['$ref'].removeprefix('#/').split('/'):
        node = node[part]
    return dict(node)
