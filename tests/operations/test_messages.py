"""Message operations: posting with queue metadata, listing rules, deletes."""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock
from zaqar.common.limits import Limits
from zaqar.operations import Operations
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import NotFound
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.kinds import Kind
from zaqar.storage import errors as storage_errors
from zaqar.storage.sqlite.driver import SqliteDriver

from .conftest import CLIENT
from .conftest import OTHER_CLIENT
from .conftest import PROJECT


def post(ops: Operations, queue: str, *bodies: object, **fields: int) -> list[str]:
    target = ops.messages.target(queue, PROJECT)
    document = {'messages': [{'body': body, **fields} for body in bodies]}
    return ops.messages.post(target, document, CLIENT)


def test_a_post_target_carries_the_queue_limits(ops: Operations) -> None:
    assert ops.messages.target('other', PROJECT).body_limit.size == 262144
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


def test_delete_many_with_claim_ids_deletes_all_held_or_none(
    ops: Operations,
) -> None:
    ids = post(ops, 'q', 1, 2, 3)
    claim = ops.claims.create('q', PROJECT, limit=2)
    assert claim is not None
    with pytest.raises(storage_errors.MessageNotClaimed):
        ops.messages.delete_many('q', PROJECT, ids=ids, claim_ids=[claim.id])
    assert ops.queues.stats('q', PROJECT).total == 3

    ops.messages.delete_many('q', PROJECT, ids=ids[:2], claim_ids=[claim.id] * 2)

    assert ops.queues.stats('q', PROJECT).total == 1


@pytest.mark.parametrize(
    ('ids', 'pop', 'claim_ids', 'refusal'),
    [
        (None, None, ['c' * 32], 'claim_ids can only be given together with ids'),
        (None, 1, ['c' * 32], 'claim_ids can only be given together with ids'),
        (['a'], None, [], 'claim_ids parameter should have at least 1'),
        (['a'], None, [f'{n:032x}' for n in range(21)], 'not greater than 20'),
    ],
    ids=['alone', 'with-pop', 'empty', 'too-many'],
)
def test_delete_many_refuses_claim_ids_it_cannot_use(
    ops: Operations,
    ids: list[str] | None,
    pop: int | None,
    claim_ids: list[str],
    refusal: str,
) -> None:
    with pytest.raises(ValidationFailed, match=refusal):
        ops.messages.delete_many('q', PROJECT, ids=ids, pop=pop, claim_ids=claim_ids)


REQUIRED = (
    'The request should have both "ids" and "claim_ids" parameter in the '
    'request when message_delete_with_claim_id is True.'
)


@pytest.mark.parametrize(
    ('ids', 'pop', 'claim_ids'),
    [(['a'], None, None), (None, None, ['c' * 32]), (None, 1, ['c' * 32])],
    ids=['ids-alone', 'claim-ids-alone', 'claim-ids-with-pop'],
)
def test_with_the_option_ids_and_claim_ids_go_together(
    storage: SqliteDriver,
    ids: list[str] | None,
    pop: int | None,
    claim_ids: list[str] | None,
) -> None:
    ops = Operations.build(storage, Limits(message_delete_with_claim_id=True))

    with pytest.raises(ValidationFailed) as refused:
        ops.messages.delete_many('q', PROJECT, ids=ids, pop=pop, claim_ids=claim_ids)

    assert str(refused.value) == REQUIRED


def test_with_the_option_pops_and_claim_checked_deletes_still_work(
    storage: SqliteDriver,
) -> None:
    ops = Operations.build(storage, Limits(message_delete_with_claim_id=True))
    ids = post(ops, 'q', 1, 2, 3)
    claim = ops.claims.create('q', PROJECT, limit=1)
    assert claim is not None

    ops.messages.delete_many('q', PROJECT, ids=ids[:1], claim_ids=[claim.id])
    popped = ops.messages.delete_many('q', PROJECT, pop=1)

    assert popped is not None and [message.body for message in popped] == [2]
    assert ops.queues.stats('q', PROJECT).total == 1


# Idempotency keys ------------------------------------------------------------


def post_keyed(
    ops: Operations,
    document: object,
    key: str = 'key-1',
    queue: str = 'q',
    kind: Kind = Kind.QUEUE,
) -> list[str]:
    messages = ops.of(kind).messages
    return messages.post(messages.target(queue, PROJECT), document, CLIENT, key)


def test_a_keyed_repeat_answers_the_first_ids_and_stores_nothing(
    ops: Operations,
) -> None:
    document = {'messages': [{'body': 1}, {'body': 2, 'ttl': 120}]}
    posted = post_keyed(ops, document)

    assert post_keyed(ops, document) == posted
    assert ops.queues.stats('q', PROJECT).total == 2


def test_the_fingerprint_covers_what_was_sent_not_its_spelling(
    ops: Operations,
) -> None:
    posted = post_keyed(ops, {'messages': [{'body': {'a': 1, 'b': 2}, 'ttl': 120}]})
    # Key order, fields the server drops and other top-level keys differ.
    same = {'extra': True, 'messages': [{'ttl': 120, 'body': {'b': 2, 'a': 1}, 'x': 1}]}

    assert post_keyed(ops, same) == posted


@pytest.mark.parametrize(
    'changed',
    [
        {'messages': [{'body': {'a': 2}, 'ttl': 120}]},
        {'messages': [{'body': {'a': 1}, 'ttl': 121}]},
        {'messages': [{'body': {'a': 1}}]},
        {'messages': [{'body': {'a': 1}, 'ttl': 120, 'delay': 0}]},
        {'messages': [{'body': {'a': 1}, 'ttl': 120}, {'body': {'a': 1}, 'ttl': 120}]},
    ],
)
def test_another_request_under_a_key_is_refused(
    ops: Operations, changed: dict[str, object]
) -> None:
    post_keyed(ops, {'messages': [{'body': {'a': 1}, 'ttl': 120}]})

    with pytest.raises(storage_errors.IdempotencyKeyReused):
        post_keyed(ops, changed)
    assert ops.queues.stats('q', PROJECT).total == 1


def test_defaults_from_the_queue_metadata_are_not_fingerprinted(
    ops: Operations,
) -> None:
    document = {'messages': [{'body': 1}]}
    posted = post_keyed(ops, document)
    ops.queues.create('q', PROJECT, {})
    patch = [{'op': 'add', 'path': '/metadata/_default_message_ttl', 'value': 120}]
    ops.queues.patch('q', PROJECT, patch)

    assert post_keyed(ops, document) == posted


@pytest.mark.parametrize('key', ['', 'x' * 256, 'tab\there', 'caf\u00e9', '\x7f'])
def test_a_malformed_key_is_refused_before_anything(ops: Operations, key: str) -> None:
    with pytest.raises(ValidationFailed, match='idempotency key'):
        post_keyed(ops, {'messages': [{'body': 1}]}, key=key)
    assert not ops.queues.exists('q', PROJECT)


def test_a_key_of_255_printable_characters_is_accepted(ops: Operations) -> None:
    key = ''.join(chr(32 + n % 95) for n in range(255))
    posted = post_keyed(ops, {'messages': [{'body': 1}]}, key=key)
    assert post_keyed(ops, {'messages': [{'body': 1}]}, key=key) == posted


def test_keys_of_queues_and_topics_are_apart(ops: Operations) -> None:
    document = {'messages': [{'body': 1}]}
    queued = post_keyed(ops, document)
    topical = post_keyed(ops, document, kind=Kind.TOPIC)

    assert queued != topical
    with pytest.raises(storage_errors.IdempotencyKeyReused, match='topic q;'):
        post_keyed(ops, {'messages': [{'body': 2}]}, kind=Kind.TOPIC)


def test_the_window_is_the_configured_one(
    storage: SqliteDriver, clock: ManualClock
) -> None:
    ops = Operations.build(storage, Limits(idempotency_window=60))
    document = {'messages': [{'body': 1, 'ttl': 600}]}
    posted = post_keyed(ops, document)
    clock.advance(59)
    assert post_keyed(ops, document) == posted
    clock.advance(1)
    assert post_keyed(ops, document) != posted


def test_without_a_key_the_driver_is_asked_for_a_plain_post(
    ops: Operations, storage: SqliteDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A driver that knows nothing of keys serves unkeyed posts as before.
    def refuse(*args: object) -> list[str]:
        raise storage_errors.Unsupported('idempotency keys', 'OldDriver')

    monkeypatch.setattr(storage.messages, 'post_once', refuse)
    post(ops, 'q', 1)

    with pytest.raises(storage_errors.Unsupported, match='OldDriver'):
        post_keyed(ops, {'messages': [{'body': 1}]})
    assert ops.queues.stats('q', PROJECT).total == 1
