"""Message operations: posting with queue metadata, listing rules, deletes."""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock
from zaqar.operations import Operations
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import NotFound
from zaqar.operations.errors import ValidationFailed
from zaqar.storage import errors as storage_errors

from .conftest import CLIENT
from .conftest import OTHER_CLIENT
from .conftest import PROJECT


def post(ops: Operations, queue: str, *bodies: object, **fields: int) -> list[str]:
    target = ops.messages.target(queue, PROJECT)
    document = {'messages': [{'body': body, **fields} for body in bodies]}
    return ops.messages.post(target, document, CLIENT)


def test_a_post_target_carries_the_queue_limits(ops: Operations) -> None:
    assert ops.messages.target('q', PROJECT).body_limit.size == 262144
    ops.queues.create('q', PROJECT, {'_max_messages_post_size': 100})
    limit = ops.messages.target('q', PROJECT).body_limit
    assert limit.size == 100
    refusal = limit.refusal()
    assert isinstance(refusal, ValidationFailed)
    assert str(refusal) == 'Message collection size is too large. Max size 100'


def test_posted_messages_take_the_queue_defaults(ops: Operations) -> None:
    ops.queues.create('q', PROJECT, {'_default_message_ttl': 120})
    (message_id,) = post(ops, 'q', {'a': 1})
    message = ops.messages.get('q', PROJECT, message_id)
    assert message.ttl == 120
    assert message.body == {'a': 1}


@pytest.mark.parametrize(
    ('document', 'error'),
    [
        ({}, ValidationFailed),
        ({'messages': {}}, InvalidBody),
        ({'messages': [{'ttl': 60}]}, InvalidBody),
        ({'messages': [{'body': 1, 'ttl': 10}]}, ValidationFailed),
    ],
)
def test_bad_posts_store_nothing(
    ops: Operations, document: object, error: type[Exception]
) -> None:
    target = ops.messages.target('q', PROJECT)
    with pytest.raises(error):
        ops.messages.post(target, document, CLIENT)
    assert ops.queues.stats('q', PROJECT).total == 0


def test_only_delay_queues_hide_delayed_messages(
    ops: Operations, clock: ManualClock
) -> None:
    ops.queues.create('plain', PROJECT)
    post(ops, 'plain', 'ignored delay', delay=60)
    page = ops.messages.list('plain', PROJECT, OTHER_CLIENT)
    assert [message.body for message in page.items] == ['ignored delay']
    # The next page's query says what the listing did.
    assert page.next_query is not None
    assert page.next_query['include_delayed'] is True

    ops.queues.create('delayed', PROJECT, {'_default_message_delay': 30})
    post(ops, 'delayed', 'later')
    assert ops.messages.list('delayed', PROJECT, OTHER_CLIENT).items == []
    shown = ops.messages.list('delayed', PROJECT, OTHER_CLIENT, include_delayed=True)
    assert [message.body for message in shown.items] == ['later']
    clock.advance(31)
    assert len(ops.messages.list('delayed', PROJECT, OTHER_CLIENT).items) == 1


def test_listing_pages_by_marker_and_hides_own_messages(ops: Operations) -> None:
    post(ops, 'q', 1, 2, 3)
    assert ops.messages.list('q', PROJECT, CLIENT).items == []
    first = ops.messages.list('q', PROJECT, CLIENT, limit=2, echo=True)
    assert [message.body for message in first.items] == [1, 2]
    assert first.next_query is not None
    marker = str(first.next_query['marker'])
    rest = ops.messages.list('q', PROJECT, CLIENT, marker=marker, echo=True)
    assert [message.body for message in rest.items] == [3]


@pytest.mark.parametrize('marker', ['abc', '-1', '99999999999999999999'])
def test_a_marker_no_message_can_have_lists_nothing(
    ops: Operations, marker: str
) -> None:
    post(ops, 'q', 1)
    page = ops.messages.list('q', PROJECT, OTHER_CLIENT, marker=marker)
    assert page.items == [] and page.next_query is None


def test_get_many_skips_unknown_ids_and_needs_one(ops: Operations) -> None:
    ids = post(ops, 'q', 'a', 'b')
    found = ops.messages.get_many('q', PROJECT, [ids[1], 'f' * 32])
    assert [message.body for message in found] == ['b']
    with pytest.raises(NotFound, match='No messages with IDs'):
        ops.messages.get_many('q', PROJECT, ['f' * 32])
    with pytest.raises(ValidationFailed):
        ops.messages.get_many('q', PROJECT, ['x'] * 21)


def test_delete_many_by_ids_or_pop(ops: Operations) -> None:
    ids = post(ops, 'q', 1, 2, 3)
    assert ops.messages.delete_many('q', PROJECT, ids=[ids[0]]) is None
    popped = ops.messages.delete_many('q', PROJECT, pop=1)
    assert popped is not None
    assert [message.body for message in popped] == [2]
    with pytest.raises(ValidationFailed, match='cannot be present together'):
        ops.messages.delete_many('q', PROJECT, ids=[ids[2]], pop=1)
    with pytest.raises(ValidationFailed, match='either "ids" or "pop"'):
        ops.messages.delete_many('q', PROJECT)
    assert ops.queues.stats('q', PROJECT).total == 1


def test_a_claimed_message_is_deleted_only_with_its_claim(ops: Operations) -> None:
    (message_id,) = post(ops, 'q', 1)
    claim = ops.claims.create('q', PROJECT)
    assert claim is not None
    with pytest.raises(storage_errors.MessageIsClaimed):
        ops.messages.delete('q', PROJECT, message_id)
    ops.messages.delete('q', PROJECT, message_id, claim_id=claim.id)
    with pytest.raises(storage_errors.MessageDoesNotExist):
        ops.messages.get('q', PROJECT, message_id)
