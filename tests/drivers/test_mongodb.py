"""What only the MongoDB driver promises: its marker protocol, its repair of a
crashed writer, its indexes, its errors and its configuration.

Runs on mongomock (as adapted by ``tests/mongomock_stand_in.py``), and also
on the real server named by ``ZAQAR_TEST_MONGODB_URL`` when that is set.
Writers that crash or stall are simulated by writing what they would have
left behind, or by hooking the driver between two of its steps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import bson
import pymongo
import pytest

from tests import mongomock_stand_in
from tests import services
from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.common.queue_metadata import DEAD_LETTER_QUEUE
from zaqar.common.queue_metadata import MAX_CLAIM_COUNT
from zaqar.storage import errors
from zaqar.storage import loader
from zaqar.storage.models import Claim
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueStats
from zaqar.storage.mongodb import counters as counters_module
from zaqar.storage.mongodb import driver as mongodb_driver
from zaqar.storage.mongodb import messages as messages_module
from zaqar.storage.mongodb import queues as queues_module
from zaqar.storage.mongodb import schema
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.driver import MongoDriver
from zaqar.storage.mongodb.driver import create_driver

PROJECT = 'p'
QUEUE = 'q'
CLIENT = 'c'
REPAIR_DELAY = 5.0
GROUP = 'drivers:message_store:mongodb'

BACKENDS = ['mongomock'] + (['mongodb'] if services.mongodb_url() else [])


@pytest.fixture
def clock() -> ManualClock:
    """Starts at the real time: mongomock and servers expire by their clock."""
    return ManualClock(start=float(int(time.time())))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An empty database on mongomock or on the real test server."""
    if request.param == 'mongomock':
        yield mongomock_stand_in.new_database()
        return
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        services.mongodb_url(), serverSelectionTimeoutMS=5000
    )
    try:
        client.admin.command('ping')
    except pymongo.errors.PyMongoError as ex:
        client.close()
        services.unavailable('MongoDB server', str(ex))
    name = f'zaqar_test_{uuid.uuid4().hex}'
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def driver(database: Any, clock: ManualClock) -> Iterator[MongoDriver]:
    storage = MongoDriver(
        database,
        clock,
        max_attempts=5,
        max_retry_sleep=0.001,
        repair_delay=REPAIR_DELAY,
    )
    yield storage
    storage.close()


class ProcessDied(BaseException):
    """Stands for the death of the process at the point it is raised.

    A BaseException, so that no ``except Exception`` clean-up of the driver
    runs, as none would in a process that died.
    """


def post(driver: MongoDriver, *bodies: object, queue: str = QUEUE) -> list[str]:
    messages = [NewMessage(body=body, ttl=300) for body in bodies]
    return driver.messages.post(queue, messages, PROJECT, CLIENT)


def listed(driver: MongoDriver, queue: str = QUEUE) -> list[object]:
    found = driver.messages.list(
        queue,
        PROJECT,
        CLIENT,
        limit=100,
        echo=True,
        include_claimed=True,
        include_delayed=True,
    )
    return [message.body for message in found]


def stored(driver: MongoDriver, **query: object) -> list[dict[str, Any]]:
    """The raw message documents, in marker order."""
    messages = driver.collections().messages
    return list(messages.find(query, sort=[('k', pymongo.ASCENDING)]))


def leave_pending(driver: MongoDriver, *bodies: object, first: int = 1) -> bytes:
    """Do what a post does up to its insert, then "crash": return its token."""
    snapshot = driver.counters.read(PROJECT, QUEUE)
    assert snapshot is not None
    token = os.urandom(8)
    now = driver.clock.now()
    documents = [
        {
            '_id': uuid.uuid4().bytes,
            'p': PROJECT,
            'q': QUEUE,
            'b': f'"{body}"',
            't': 300,
            'c': now,
            'e': to_date(now + 300),
            'u': CLIENT,
            **snapshot.stamp(token, first - 1 + offset, now),
        }
        for offset, body in enumerate(bodies)
    ]
    driver.collections().messages.insert_many(documents)
    return token


def test_nothing_is_sent_before_the_first_request(database: Any) -> None:
    MongoDriver(database, ManualClock())

    assert 'messages' not in database.list_collection_names()


def test_stored_field_names_never_change() -> None:
    """Renaming a stored field would need a migration of every database."""
    stored_names = {
        schema.QueueField: {'PROJECT': 'p', 'NAME': 'n', 'METADATA': 'm'},
        schema.CounterField: {
            'PROJECT': 'p',
            'QUEUE': 'q',
            'VALUE': 'v',
            'REVISION': 'r',
            'WRITER': 'w',
            'BASE': 'b',
            'CHANGED': 't',
            'KEY': 'i',
        },
        schema.MessageField: {
            'PROJECT': 'p',
            'QUEUE': 'q',
            'MARKER': 'k',
            'BODY': 'b',
            'TTL': 't',
            'CREATED': 'c',
            'EXPIRES': 'e',
            'DELAYED_UNTIL': 'd',
            'CLIENT_ID': 'u',
            'CLAIM_ID': 'ci',
            'CLAIM_EXPIRES': 'ce',
            'CLAIM_COUNT': 'cc',
            'PENDING_REVISION': 'pr',
            'PENDING_WRITER': 'pw',
            'PENDING_SINCE': 'pt',
            'ORIGIN_QUEUE': 'oq',
            'ORIGIN_MARKER': 'ok',
        },
        schema.ClaimField: {
            'PROJECT': 'p',
            'QUEUE': 'q',
            'TTL': 't',
            'GRACE': 'g',
            'UPDATED': 'u',
            'EXPIRES': 'e',
        },
        schema.SubscriptionField: {
            'PROJECT': 'p',
            'SOURCE': 's',
            'SUBSCRIBER': 'u',
            'TTL': 't',
            'UPDATED': 'c',
            'EXPIRES': 'e',
            'OPTIONS': 'o',
            'CONFIRMED': 'k',
        },
        schema.IdempotencyField: {
            'PROJECT': 'p',
            'QUEUE': 'q',
            'KEY': 'k',
            'FINGERPRINT': 'f',
            'IDS': 'i',
            'EXPIRES': 'e',
            'DONE': 'd',
            'WRITER': 'w',
            'STAMPED': 't',
        },
    }
    for fields, names in stored_names.items():
        declared = {
            name: value for name, value in vars(fields).items() if name.isupper()
        }
        assert declared == names, fields.__name__


def test_the_driver_describes_its_database_and_hosts(driver: MongoDriver) -> None:
    description = driver.describe()

    assert description.startswith(f'mongodb (database {driver._database.name} on ')


# The next two hold on a server and on mongomock alike: they check that
# tests/mongomock_stand_in.py answers as a server does where the driver
# relies on it.


def test_a_hint_must_name_an_existing_index(database: Any) -> None:
    things = database['things']
    things.create_indexes([pymongo.IndexModel([('a', pymongo.ASCENDING)], name='a')])
    things.insert_one({'a': 1})

    assert [d['a'] for d in things.find({'a': 1}, hint='a')] == [1]
    with pytest.raises(pymongo.errors.OperationFailure):
        list(things.find({'a': 1}, hint='no-such-index'))


def test_grouping_no_documents_makes_no_group(database: Any) -> None:
    things = database['things']
    things.insert_one({'a': 1})
    group = {'$group': {'_id': None, 'n': {'$sum': 1}, 'a': {'$first': '$a'}}}

    assert list(things.aggregate([{'$match': {'a': 2}}, group])) == []
    assert list(things.aggregate([{'$match': {'a': 1}}, group])) == [
        {'_id': None, 'n': 1, 'a': 1}
    ]


def test_indexes_are_created_on_first_use_with_ttl_backstops(
    driver: MongoDriver, database: Any
) -> None:
    driver.queues.count(PROJECT)

    messages = database['messages'].index_information()
    assert messages['marker']['unique'] is True
    assert [key for key, _ in messages['claimable']['key']] == ['p', 'q', 'ce', 'k']
    assert messages['claim']['sparse'] is True
    for collection in ('messages', 'claims', 'subscriptions', 'idempotency'):
        expiry = database[collection].index_information()['expiry']
        assert expiry['expireAfterSeconds'] == 0
    key = database['idempotency'].index_information()['key']
    assert [name for name, _ in key['key']] == ['p', 'q', 'k']
    assert key['unique'] is True
    subscriber = database['subscriptions'].index_information()['subscriber']
    assert [key for key, _ in subscriber['key']] == ['p', 's', 'u']
    assert subscriber['unique'] is True
    assert database['counters'].index_information()['queue']['unique'] is True
    assert database['queues'].index_information()['queue']['unique'] is True


def test_posts_take_markers_from_the_counter_and_finalize_the_previous_batch(
    driver: MongoDriver,
) -> None:
    post(driver, 'a', 'b')
    post(driver, 'c')

    documents = stored(driver)
    snapshot = driver.counters.read(PROJECT, QUEUE)
    assert snapshot is not None
    assert [d['k'] for d in documents] == [1, 2, 3]
    assert (snapshot.value, snapshot.base) == (3, 2)
    assert ['pw' in d for d in documents] == [False, False, True]
    assert documents[2]['pw'] == snapshot.writer


def test_message_documents_are_compact(driver: MongoDriver) -> None:
    (message_id,) = post(driver, {'$key.with.dots': 2**70})

    (document,) = stored(driver)
    assert document['_id'] == bytes.fromhex(message_id)
    assert document['b'] == '{"$key.with.dots":1180591620717411303424}'
    assert 'd' not in document and 'ci' not in document and 'cc' not in document
    assert listed(driver) == [{'$key.with.dots': 2**70}]


def test_json_that_bson_strings_cannot_hold_round_trips(driver: MongoDriver) -> None:
    lone_surrogate = {'text': '\ud800 ünïcode'}
    driver.queues.create(QUEUE, {'m': lone_surrogate}, PROJECT)

    post(driver, lone_surrogate)

    assert listed(driver) == [lone_surrogate]
    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'m': lone_surrogate}
    # What a server would be sent encodes (mongomock never encodes BSON).
    collections = driver.collections()
    for document in [*collections.messages.find(), *collections.queues.find()]:
        bson.encode(document)


def test_the_counter_survives_queue_deletion(driver: MongoDriver) -> None:
    post(driver, 'a', 'b')
    driver.queues.delete(QUEUE, PROJECT)

    post(driver, 'c')

    assert [d['k'] for d in stored(driver)] == [3]


def test_a_crashed_writer_blocks_posts_until_the_repair_delay_then_is_cleared(
    driver: MongoDriver, clock: ManualClock
) -> None:
    post(driver, 'committed')
    leave_pending(driver, 'lost-1', 'lost-2')

    with pytest.raises(errors.StorageUnavailable, match='Too many concurrent'):
        post(driver, 'blocked')
    assert listed(driver) == ['committed']

    clock.advance(REPAIR_DELAY)
    post(driver, 'after')

    assert listed(driver) == ['committed', 'after']
    assert [d['k'] for d in stored(driver)] == [1, 2]


def test_a_partially_inserted_batch_is_never_seen(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(driver, 'committed')
    leave_pending(driver, 'in-the-way', first=2)
    seen: list[object] = []
    discard = counters_module.Counters._discard

    def look_then_discard(*args: Any) -> None:
        # The post has inserted 'x' at marker 2 and collided at marker 3.
        assert [d['b'] for d in stored(driver, k=2)] == ['"x"']
        if not seen:
            claim = driver.claims.create(QUEUE, PROJECT, 60, 60, 10)
            assert claim is not None
            seen.append([message.body for message in claim.messages])
            seen.append(listed(driver))
            seen.append(driver.queues.stats(QUEUE, PROJECT).total)
        discard(*args)

    monkeypatch.setattr(
        counters_module.Counters, '_discard', staticmethod(look_then_discard)
    )
    with pytest.raises(errors.StorageUnavailable):
        post(driver, 'x', 'y')

    assert seen == [['committed'], ['committed'], 1]
    assert [d['b'] for d in stored(driver, k=2)] == []


def test_a_stale_writer_at_consumed_markers_stays_invisible(
    driver: MongoDriver,
) -> None:
    post(driver, 'a', 'b', 'c')
    driver.messages.pop(QUEUE, 3, PROJECT)
    snapshot = driver.counters.read(PROJECT, QUEUE)
    assert snapshot is not None
    # A post that read the counter before 'a', 'b', 'c' were committed, and
    # inserts only now that their markers are free again.
    stale = counters_module.Snapshot(PROJECT, QUEUE, 0, 0, None, 0, 0.0)
    documents = [
        {
            '_id': uuid.uuid4().bytes,
            'p': PROJECT,
            'q': QUEUE,
            'b': '"stale"',
            't': 300,
            'c': 0.0,
            'e': to_date(driver.clock.now() + 300),
            'u': CLIENT,
            **stale.stamp(os.urandom(8), offset, 0.0),
        }
        for offset in range(2)
    ]
    driver.collections().messages.insert_many(documents)

    assert listed(driver) == []
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()
    assert driver.claims.create(QUEUE, PROJECT, 60, 60, 10) is None
    assert driver.messages.pop(QUEUE, 10, PROJECT) == []


def test_a_slow_writer_fenced_off_by_a_repair_retries_and_loses_nothing(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(driver, 'a')
    commit = counters_module.Counters._compare_and_set
    repairs: list[int] = []

    def stall_then_commit(
        self: Any, collections: Any, snapshot: Any, *rest: Any
    ) -> Any:
        if not repairs:
            # Another process gives up waiting for this post and repairs.
            clock.advance(REPAIR_DELAY)
            self._repair_if_stuck(collections, snapshot)
            repairs.append(1)
        return commit(self, collections, snapshot, *rest)

    monkeypatch.setattr(counters_module.Counters, '_compare_and_set', stall_then_commit)
    post(driver, 'b', 'c')

    assert listed(driver) == ['a', 'b', 'c']
    assert [d['k'] for d in stored(driver)] == [1, 2, 3]


def test_an_abandoned_dead_letter_move_returns_to_its_queue(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    metadata = {MAX_CLAIM_COUNT: 0, DEAD_LETTER_QUEUE: 'dlq'}
    driver.queues.create(QUEUE, metadata, PROJECT)
    post(driver, 'dead')
    post(driver, 'x', queue='dlq')

    def crash(*args: Any) -> bool:
        raise ProcessDied('claimer died before committing the move')

    with monkeypatch.context() as patched:
        patched.setattr(counters_module.Counters, '_compare_and_set', crash)
        with pytest.raises(ProcessDied):
            driver.claims.create(QUEUE, PROJECT, 60, 60, 10)
    assert listed(driver) == [] and listed(driver, 'dlq') == ['x']

    clock.advance(REPAIR_DELAY)
    post(driver, 'y', queue='dlq')

    assert listed(driver) == ['dead']
    assert listed(driver, 'dlq') == ['x', 'y']
    assert driver.claims.create(QUEUE, PROJECT, 60, 60, 10) is None
    assert listed(driver, 'dlq') == ['x', 'y', 'dead']


def dead_letter_setup(driver: MongoDriver) -> None:
    """A queue whose every message is moved to 'dlq' at its next claim."""
    metadata = {MAX_CLAIM_COUNT: 0, DEAD_LETTER_QUEUE: 'dlq'}
    driver.queues.create(QUEUE, metadata, PROJECT)
    post(driver, 'dead')
    post(driver, 'x', queue='dlq')


def crash_a_dead_letter_move(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim whose process dies before the move's commit."""

    def crash(*args: Any) -> bool:
        raise ProcessDied('claimer died before committing the move')

    with monkeypatch.context() as patched:
        patched.setattr(counters_module.Counters, '_compare_and_set', crash)
        with pytest.raises(ProcessDied):
            driver.claims.create(QUEUE, PROJECT, 60, 60, 10)
    assert listed(driver) == [] and listed(driver, 'dlq') == ['x']


def test_a_dead_letter_move_that_fails_is_put_back_at_once(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter_setup(driver)
    commit = counters_module.Counters._compare_and_set

    def fail_on_the_dlq(self: Any, collections: Any, snapshot: Any, *rest: Any) -> Any:
        if snapshot.queue == 'dlq':
            raise pymongo.errors.AutoReconnect('primary stepped down')
        return commit(self, collections, snapshot, *rest)

    with monkeypatch.context() as patched:
        patched.setattr(counters_module.Counters, '_compare_and_set', fail_on_the_dlq)
        with pytest.raises(errors.StorageUnavailable, match='AutoReconnect'):
            driver.claims.create(QUEUE, PROJECT, 60, 60, 10)

    # No post to the DLQ, no gc, no waiting: it is back where it was.
    assert listed(driver) == ['dead']
    assert listed(driver, 'dlq') == ['x']
    assert stored(driver, oq={'$exists': True}) == []
    assert driver.claims.create(QUEUE, PROJECT, 60, 60, 10) is None
    assert listed(driver, 'dlq') == ['x', 'dead']


def test_gc_returns_an_abandoned_move_without_any_post(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter_setup(driver)
    crash_a_dead_letter_move(driver, monkeypatch)

    driver.gc()
    assert listed(driver) == []  # too early: the mover may only be slow

    clock.advance(REPAIR_DELAY)
    driver.gc()

    assert listed(driver) == ['dead']
    assert listed(driver, 'dlq') == ['x']
    post(driver, 'y', queue='dlq')  # at once: nothing left in the way
    assert listed(driver, 'dlq') == ['x', 'y']


def test_gc_clears_a_crashed_post_and_finalizes_an_idle_queue(
    driver: MongoDriver, clock: ManualClock
) -> None:
    post(driver, 'a', 'b', 'c')
    driver.messages.pop(QUEUE, 1, PROJECT)
    leave_pending(driver, 'lost-1', 'lost-2')
    # A stale post's document at the consumed marker 1.
    stale = counters_module.Snapshot(PROJECT, QUEUE, 0, 0, None, 0, 0.0)
    stale_document = {
        '_id': uuid.uuid4().bytes,
        'p': PROJECT,
        'q': QUEUE,
        'b': '"stale"',
        't': 300,
        'c': clock.now(),
        'e': to_date(clock.now() + 300),
        'u': CLIENT,
        **stale.stamp(os.urandom(8), 0, clock.now()),
    }
    driver.collections().messages.insert_one(stale_document)

    driver.gc()
    assert len(stored(driver, pw={'$exists': True})) == 5  # too early

    clock.advance(REPAIR_DELAY)
    driver.gc()

    assert stored(driver, pw={'$exists': True}) == []
    assert [(d['k'], d['b']) for d in stored(driver)] == [(2, '"b"'), (3, '"c"')]
    assert listed(driver) == ['b', 'c']
    post(driver, 'd')  # at once: nothing left in the way
    assert listed(driver) == ['b', 'c', 'd']


def test_an_abandoned_move_whose_old_marker_is_taken_is_completed(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter_setup(driver)
    crash_a_dead_letter_move(driver, monkeypatch)
    # A stale post's uncommitted document now sits at the old marker, 1.
    stale = counters_module.Snapshot(PROJECT, QUEUE, 0, 0, None, 0, 0.0)
    driver.collections().messages.insert_one(
        {
            '_id': uuid.uuid4().bytes,
            'p': PROJECT,
            'q': QUEUE,
            'b': '"stale"',
            't': 300,
            'c': clock.now(),
            'e': to_date(clock.now() + 300),
            'u': CLIENT,
            **stale.stamp(os.urandom(8), 0, clock.now()),
        }
    )

    clock.advance(REPAIR_DELAY)
    post(driver, 'y', queue='dlq')  # collides with the move, repairs

    assert listed(driver) == []
    assert listed(driver, 'dlq') == ['x', 'dead', 'y']


def test_an_abandoned_move_whose_queue_was_deleted_is_completed(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter_setup(driver)
    crash_a_dead_letter_move(driver, monkeypatch)
    driver.queues.delete(QUEUE, PROJECT)

    clock.advance(REPAIR_DELAY)
    driver.gc()

    assert stored(driver, q=QUEUE) == []  # nothing left in a deleted queue
    assert not driver.queues.exists(QUEUE, PROJECT)
    assert listed(driver, 'dlq') == ['x', 'dead']


def test_an_abandoned_move_whose_queue_is_deleted_while_it_returns_moves_on(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter_setup(driver)
    crash_a_dead_letter_move(driver, monkeypatch)
    exists = counters_module.queue_exists
    checks: list[bool] = []

    def deleted_after_the_first_check(*args: Any) -> bool:
        checks.append(exists(*args))
        if len(checks) == 1:
            driver.queues.delete(QUEUE, PROJECT)
        return checks[-1]

    monkeypatch.setattr(counters_module, 'queue_exists', deleted_after_the_first_check)
    clock.advance(REPAIR_DELAY)
    driver.gc()

    assert checks == [True, False]
    assert stored(driver, q=QUEUE) == []
    assert listed(driver, 'dlq') == ['x', 'dead']


def test_a_pop_that_stalls_past_its_hold_returns_only_what_it_deleted(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(driver, 'a', 'b')
    messages = driver.collections().messages
    update_many = messages.update_many
    claims: list[Any] = []
    stalled: list[bool] = []

    def stall_after_the_hold(*args: Any, **kwargs: Any) -> Any:
        result = update_many(*args, **kwargs)
        if not stalled:
            # The pop holds both, then stalls past its hold: a worker claims.
            stalled.append(True)
            clock.advance(messages_module.POP_HOLD_SECONDS + 1)
            claims.append(driver.claims.create(QUEUE, PROJECT, 60, 0, 1))
        return result

    monkeypatch.setattr(messages, 'update_many', stall_after_the_hold)
    popped = driver.messages.pop(QUEUE, 10, PROJECT)

    (claim,) = claims
    assert [m.body for m in claim.messages] == ['a']
    assert [m.body for m in popped] == ['b']
    assert [d['b'] for d in stored(driver)] == ['"a"']


@pytest.mark.parametrize('clear', ['purge', 'delete the queue'])
def test_clearing_a_queue_during_a_post_removes_all_of_it_or_none(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch, clear: str
) -> None:
    post(driver, 'old-1', 'old-2')
    messages = driver.collections().messages
    insert_many = messages.insert_many
    cleared: list[bool] = []

    def interleaved(documents: list[Any], ordered: bool = True) -> None:
        # A server may run the clear between two documents of the insert.
        messages.insert_one(documents[0])
        if not cleared:
            if clear == 'purge':
                driver.messages.purge(QUEUE, PROJECT)
            else:
                driver.queues.delete(QUEUE, PROJECT)
            cleared.append(True)
        if documents[1:]:
            insert_many(documents[1:], ordered=ordered)

    monkeypatch.setattr(messages, 'insert_many', interleaved)
    posted = post(driver, 'new-1', 'new-2', 'new-3')

    assert listed(driver) == ['new-1', 'new-2', 'new-3']
    assert len(driver.messages.get_many(QUEUE, posted, PROJECT)) == 3
    assert driver.queues.exists(QUEUE, PROJECT)


def test_a_queue_deleted_during_a_post_is_created_again(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_queue = messages_module.ensure_queue

    def ensure_then_delete(*args: Any) -> bool:
        created = ensure_queue(*args)
        driver.queues.delete(QUEUE, PROJECT)  # a concurrent delete, here
        return created

    monkeypatch.setattr(messages_module, 'ensure_queue', ensure_then_delete)
    post(driver, 'a', 'b')

    assert listed(driver) == ['a', 'b']
    assert driver.queues.exists(QUEUE, PROJECT)
    assert [q.name for q in driver.queues.list(PROJECT)] == [QUEUE]


def test_a_reader_never_skips_a_lapsed_claim_released_between_its_two_scans(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(driver, 'a', 'b', 'c')
    claim = driver.claims.create(QUEUE, PROJECT, 60, 0, 1)
    assert claim is not None
    clock.advance(61)  # 'a' is claimable again, its lapsed claim unreleased
    messages = driver.collections().messages
    find = messages.find
    scans: list[object] = []

    def release_after_the_first_scan(*args: Any, **kwargs: Any) -> Any:
        found = list(find(*args, **kwargs))
        scans.append(args[0].get('ce'))
        if len(scans) == 1:
            driver.claims.delete(QUEUE, claim.id, PROJECT)
        return found

    monkeypatch.setattr(messages, 'find', release_after_the_first_scan)
    page = driver.messages.list(QUEUE, PROJECT, CLIENT, echo=True)

    assert len(scans) == 2
    assert [m.body for m in page] == ['a', 'b', 'c']


def test_a_claim_checked_delete_never_deletes_a_message_claimed_after_its_check(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MessageController.delete_many: the delete checks each claim again."""
    ids = post(driver, 'a', 'b')
    lapsed = driver.claims.create(QUEUE, PROJECT, 60, 60, 2)
    assert lapsed is not None
    clock.advance(61)  # both still record the lapsed claim: deletable with it
    messages = driver.collections().messages
    delete_many = messages.delete_many
    taken: list[Claim | None] = []

    def claim_then_delete(*args: Any, **kwargs: Any) -> Any:
        if not taken:
            # Another consumer claims 'a' between the check and the delete.
            taken.append(driver.claims.create(QUEUE, PROJECT, 60, 60, 1))
        return delete_many(*args, **kwargs)

    monkeypatch.setattr(messages, 'delete_many', claim_then_delete)
    with pytest.raises(errors.MessageIsClaimed):
        driver.messages.delete_many(QUEUE, ids, PROJECT, claim_ids=[lapsed.id])

    (claim,) = taken
    assert claim is not None and [m.body for m in claim.messages] == ['a']
    assert listed(driver) == ['a']


@pytest.mark.parametrize('failing', ['claim document', 'later dead-letter move'])
def test_a_claim_that_fails_after_holding_messages_releases_them(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    driver.queues.create(QUEUE, {MAX_CLAIM_COUNT: 1, DEAD_LETTER_QUEUE: 'dlq'}, PROJECT)
    post(driver, 'kept', 'dead-1', 'dead-2')
    # 'dead-1' and 'dead-2' have been claimed once: the next claim moves them.
    driver.collections().messages.update_many(
        {'b': {'$ne': '"kept"'}}, {'$set': {'cc': 1}}
    )
    network_error = pymongo.errors.AutoReconnect('connection reset')
    if failing == 'claim document':
        claims = driver.collections().claims

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise network_error

        monkeypatch.setattr(claims, 'insert_one', fail)
    else:
        # Round 1 holds 'kept' and moves 'dead-1'; round 2's move fails.
        commit = counters_module.Counters._compare_and_set
        moves: list[int] = []

        def second_move_fails(
            self: Any, collections: Any, snapshot: Any, *rest: Any
        ) -> Any:
            if snapshot.queue == 'dlq':
                moves.append(1)
                if len(moves) == 2:
                    raise network_error
            return commit(self, collections, snapshot, *rest)

        monkeypatch.setattr(
            counters_module.Counters, '_compare_and_set', second_move_fails
        )

    with pytest.raises(errors.StorageUnavailable, match='AutoReconnect'):
        driver.claims.create(QUEUE, PROJECT, 3600, 60, 2)
    monkeypatch.undo()

    kept = stored(driver, b='"kept"')[0]
    assert 'ci' not in kept and 'ce' not in kept and kept.get('cc', 0) == 0
    assert driver.queues.stats(QUEUE, PROJECT).claimed == 0
    assert driver.collections().claims.count_documents({}) == 0
    claim = driver.claims.create(QUEUE, PROJECT, 60, 0, 1)
    assert claim is not None
    assert [(m.body, m.claim_count) for m in claim.messages] == [('kept', 1)]


def test_set_metadata_with_expected_loses_to_a_concurrent_write(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver.queues.create(QUEUE, {'v': 1}, PROJECT)
    load = queues_module.load_document

    def load_then_interleave(text: str) -> Any:
        monkeypatch.setattr(queues_module, 'load_document', load)
        driver.queues.set_metadata(QUEUE, {'v': 'other'}, PROJECT)
        return load(text)

    monkeypatch.setattr(queues_module, 'load_document', load_then_interleave)
    with pytest.raises(errors.MetadataConflict):
        driver.queues.set_metadata(QUEUE, {'v': 2}, PROJECT, expected={'v': 1})

    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'v': 'other'}


def test_gc_deletes_in_bounded_batches(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mongodb_driver, 'GC_BATCH', 2)
    driver.messages.post(QUEUE, [NewMessage('old', ttl=60)] * 5, PROJECT, CLIENT)
    post(driver, 'new')
    clock.advance(61)

    assert driver.gc().messages == 5
    assert [d['b'] for d in stored(driver)] == ['"new"']


def test_a_huge_marker_lists_nothing(driver: MongoDriver) -> None:
    post(driver, 'a')

    assert driver.messages.list(QUEUE, PROJECT, CLIENT, marker=2**70) == []


def test_a_stored_message_with_a_1_kib_body_takes_about_1_2_kib() -> None:
    """The figure quoted in the driver's documentation (BSON only)."""
    document = {
        '_id': uuid.uuid4().bytes,
        'p': '3b4cc9e39cf44b8fbe1ce9e5d0ab3ab1',
        'q': 'a-queue-name',
        'k': 123456,
        'b': 'x' * 1024,
        't': 3600,
        'c': 1_700_000_000.123,
        'e': to_date(1_700_003_600.123),
        'u': '3381af92-2b9e-11e3-b191-71861300734c',
    }
    assert 1150 < len(bson.encode(document)) < 1250


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_means_storage_unavailable_never_a_crash(
    clock: ManualClock,
) -> None:
    port = closed_port()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        f'mongodb://127.0.0.1:{port}', serverSelectionTimeoutMS=100, connect=False
    )
    storage = MongoDriver(client['zaqar'], clock)
    try:
        assert storage.is_alive() is False
        with pytest.raises(errors.StorageUnavailable, match='ServerSelectionTimeout'):
            post(storage, 'a')
        with pytest.raises(errors.StorageUnavailable):
            storage.queues.list(PROJECT)
        with pytest.raises(errors.StorageUnavailable):
            storage.gc()
        assert storage.describe() == f'mongodb (database zaqar on 127.0.0.1:{port})'
    finally:
        storage.close()


@pytest.fixture
def conf() -> Any:
    return zaqar_conf.new_conf([], default_config_files=[])


def test_the_factory_builds_an_unconnected_client_from_the_options(
    conf: Any, clock: ManualClock
) -> None:
    conf.set_override('uri', 'mongodb://zaqar:s3cret@db.invalid:27018', group=GROUP)
    conf.set_override('database', 'queues', group=GROUP)
    conf.set_override('write_concern', '2', group=GROUP)
    conf.set_override('journal', False, group=GROUP)
    conf.set_override('operation_timeout', 0.5, group=GROUP)
    conf.set_override('max_attempts', 7, group=GROUP)

    storage = create_driver(conf, clock)
    try:
        client = storage._database.client
        assert client.write_concern.document == {'w': 2, 'j': False}
        assert client.options.timeout == 0.5
        assert client.read_preference == pymongo.ReadPreference.PRIMARY
        assert storage.max_attempts == 7
        assert storage.describe() == 'mongodb (database queues on db.invalid:27018)'
    finally:
        storage.close()


def test_the_entry_point_builds_the_driver(conf: Any, clock: ManualClock) -> None:
    conf.set_override('message_store', 'mongodb', group='drivers')

    storage = loader.load_driver(conf, clock)

    assert isinstance(storage, MongoDriver)
    storage.close()


@pytest.mark.parametrize(
    ('option', 'value', 'expected'),
    [
        ('uri', 'http://zaqar:s3cret@db', 'uri: Invalid URI scheme'),
        ('uri', 'mongodb://zaqar:s3cret@db:99999', 'uri: Port must be'),
        # pymongo only warns about these and would go on without them.
        ('uri', 'mongodb://zaqar:s3cret@db/?tls=maybe', 'uri: The value of tls'),
        ('uri', 'mongodb://zaqar:s3cret@db/?colour=blue', 'uri: Unknown option'),
    ],
)
def test_bad_options_are_configuration_errors_naming_the_option(
    conf: Any, clock: ManualClock, option: str, value: str, expected: str
) -> None:
    conf.set_override(option, value, group=GROUP)

    with pytest.raises(errors.ConfigurationError) as raised:
        create_driver(conf, clock)

    assert str(raised.value).startswith(f'[{GROUP}] {expected}')
    assert 's3cret' not in str(raised.value)


def test_a_post_that_fails_before_committing_cleans_up_after_itself(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    post(driver, 'a')

    def lose_connection(*args: Any) -> None:
        raise pymongo.errors.AutoReconnect('connection reset')

    with monkeypatch.context() as patched:
        patched.setattr(
            counters_module.Counters,
            '_finalize_previous',
            staticmethod(lose_connection),
        )
        with pytest.raises(errors.StorageUnavailable, match='AutoReconnect'):
            post(driver, 'b', 'c')
    assert [d['b'] for d in stored(driver)] == ['"a"']

    post(driver, 'd')  # at once: nothing left in the way, no repair needed

    assert listed(driver) == ['a', 'd']


def test_the_factory_bounds_every_operation_with_a_timeout(
    conf: Any, clock: ManualClock
) -> None:
    storage = create_driver(conf, clock)
    try:
        assert storage._database.client.options.timeout == 5.0
    finally:
        storage.close()
    conf.set_override('operation_timeout', 2.5, group=GROUP)
    # The driver's options win over the same options in the URI.
    conf.set_override('uri', 'mongodb://db.invalid/?timeoutMS=0&w=1', group=GROUP)

    storage = create_driver(conf, clock)
    try:
        client = storage._database.client
        assert client.options.timeout == 2.5
        assert client.write_concern.document['w'] == 'majority'
    finally:
        storage.close()


def _read_exactly(connection: socket.socket, size: int) -> bytes | None:
    data = b''
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _command_of(opcode: int, body: bytes) -> dict[str, Any]:
    """The command document of an OP_QUERY (handshake) or OP_MSG request."""
    if opcode == 2004:  # OP_QUERY: flags, collection name, skip, limit, query
        rest = body[4:]
        rest = rest[rest.index(b'\0') + 1 + 8 :]
    else:  # OP_MSG: flags, then a kind-0 section holding the command
        rest = body[5:]
    (size,) = struct.unpack('<i', rest[:4])
    return bson.decode(rest[:size])


def _reply(opcode: int, request_id: int, document: dict[str, Any]) -> bytes:
    encoded = bson.encode(document)
    if opcode == 2004:  # OP_REPLY: flags, cursor id, starting from, count
        reply_opcode, payload = 1, struct.pack('<iqii', 0, 0, 0, 1) + encoded
    else:
        reply_opcode, payload = 2013, struct.pack('<I', 0) + b'\0' + encoded
    header = struct.pack('<iiii', 16 + len(payload), 0, request_id, reply_opcode)
    return header + payload


@contextlib.contextmanager
def hung_server() -> Iterator[int]:
    """A MongoDB stand-in that completes handshakes, then never answers.

    It lets go of a connection after ``HUNG_FOR`` seconds, so that a client
    without a timeout fails the test instead of hanging it.
    """
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen()
    listener.settimeout(0.05)
    done = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            while True:
                header = _read_exactly(connection, 16)
                if header is None:
                    return
                length, request_id, _, opcode = struct.unpack('<iiii', header)
                body = _read_exactly(connection, length - 16)
                if body is None:
                    return
                command = _command_of(opcode, body)
                if not {'hello', 'isMaster', 'ismaster'} & set(command):
                    done.wait(HUNG_FOR)  # the hang
                    return
                hello = {
                    'ok': 1.0,
                    'isWritablePrimary': True,
                    'ismaster': True,
                    'helloOk': True,
                    'minWireVersion': 0,
                    'maxWireVersion': 21,
                    'maxBsonObjectSize': 16 * 1024 * 1024,
                    'maxMessageSizeBytes': 48_000_000,
                    'maxWriteBatchSize': 100_000,
                    'logicalSessionTimeoutMinutes': 30,
                    'connectionId': 1,
                }
                connection.sendall(_reply(opcode, request_id, hello))

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue  # look at ``done`` again
            connection.settimeout(None)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        acceptor.join()
        listener.close()


HUNG_FOR = 10.0


def test_a_server_that_stops_answering_means_storage_unavailable_not_a_hang(
    conf: Any, clock: ManualClock
) -> None:
    with hung_server() as port:
        conf.set_override(
            'uri', f'mongodb://127.0.0.1:{port}/?directConnection=true', group=GROUP
        )
        conf.set_override('operation_timeout', 0.3, group=GROUP)
        storage = create_driver(conf, clock)
        try:
            started = time.monotonic()
            with pytest.raises(errors.StorageUnavailable, match='timed out|Timeout'):
                storage.queues.count(PROJECT)
            assert time.monotonic() - started < HUNG_FOR / 2
        finally:
            storage.close()


def test_claimable_scans_are_told_which_index_to_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        'mongodb://db.invalid', connect=False
    )
    collection = client['zaqar']['messages']
    scans: list[tuple[dict[str, Any], str | None]] = []

    def record(self: Any, query: dict[str, Any], **kwargs: Any) -> list[Any]:
        scans.append((query, kwargs.get('hint')))
        return []

    monkeypatch.setattr(pymongo.collection.Collection, 'find', record)
    try:
        now = to_date(time.time())
        messages_module.find_in_marker_order(
            collection, {'p': PROJECT, 'q': QUEUE}, 10, now, unclaimed_only=True
        )
    finally:
        client.close()

    # Lapsed claims: the partial index of claimed messages, in marker order,
    # which the query can use because it repeats the index's filter.
    (lapsed, lapsed_hint), (unclaimed, unclaimed_hint) = scans
    assert lapsed['ce'] == {'$exists': True, '$lte': now}
    assert (lapsed_hint, unclaimed_hint) == ('held', 'claimable')
    assert unclaimed['ce'] is None
    indexes = {
        index.document['name']: index.document for index in schema.INDEXES['messages']
    }
    assert list(indexes['held']['key']) == ['p', 'q', 'k', 'ce']
    assert indexes['held']['partialFilterExpression'] == {'ce': {'$exists': True}}
    assert list(indexes['claimable']['key']) == ['p', 'q', 'ce', 'k']


def test_an_unreachable_server_is_logged_with_the_reason(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        f'mongodb://127.0.0.1:{closed_port()}',
        serverSelectionTimeoutMS=100,
        connect=False,
    )
    storage = MongoDriver(client['zaqar'], clock)
    try:
        with caplog.at_level(logging.ERROR, logger='zaqar.storage.mongodb'):
            assert storage.is_alive() is False
    finally:
        storage.close()
    assert 'ServerSelectionTimeoutError' in caplog.text


# Subscriptions

HOOK = 'http://example.com/hook'


def subscribe(driver: MongoDriver, subscriber: str = HOOK, ttl: int = 60) -> str:
    return driver.subscriptions.create(QUEUE, subscriber, ttl, {'$a.b': 1}, PROJECT)


def test_a_subscription_document_is_as_the_schema_says(
    driver: MongoDriver, clock: ManualClock
) -> None:
    subscription_id = subscribe(driver)

    (document,) = driver.collections().subscriptions.find({})

    assert document == {
        '_id': subscription_id,
        'p': PROJECT,
        's': QUEUE,
        'u': HOOK,
        't': 60,
        'c': clock.now(),
        'e': to_date(clock.now() + 60),
        'o': '{"$a.b":1}',
        'k': False,
    }


def test_a_second_document_for_one_subscriber_is_refused_by_the_server(
    driver: MongoDriver,
) -> None:
    """The unique index holds whatever a writer in another process does."""
    subscribe(driver)
    (document,) = driver.collections().subscriptions.find({})

    with pytest.raises(pymongo.errors.DuplicateKeyError):
        driver.collections().subscriptions.insert_one({**document, '_id': 'other'})


def test_an_expired_holder_is_replaced_by_a_new_document(
    driver: MongoDriver, clock: ManualClock
) -> None:
    old = subscribe(driver)
    clock.advance(61)

    new = subscribe(driver)

    stored_ids = [d['_id'] for d in driver.collections().subscriptions.find({})]
    assert stored_ids == [new] and new != old


def test_a_create_whose_rival_is_deleted_after_refusing_it_tries_again(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival = subscribe(driver)
    subscriptions = driver.collections().subscriptions
    find_one = subscriptions.find_one

    def rival_deleted_first(*args: Any, **kwargs: Any) -> Any:
        driver.subscriptions.delete(QUEUE, rival, PROJECT)
        return find_one(*args, **kwargs)

    monkeypatch.setattr(subscriptions, 'find_one', rival_deleted_first)
    created = subscribe(driver)
    monkeypatch.undo()

    assert [s.id for s in driver.subscriptions.list(QUEUE, PROJECT)] == [created]


def test_a_create_that_keeps_losing_gives_up_with_storage_unavailable(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions = driver.collections().subscriptions

    def always_taken(document: Any) -> None:
        raise pymongo.errors.DuplicateKeyError('E11000 duplicate key error')

    monkeypatch.setattr(subscriptions, 'insert_one', always_taken)

    with pytest.raises(errors.StorageUnavailable, match='keeps changing'):
        subscribe(driver)


def test_gc_deletes_subscriptions_in_bounded_batches(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mongodb_driver, 'GC_BATCH', 2)
    for number in range(5):
        subscribe(driver, f'{HOOK}/{number}')
    kept = subscribe(driver, ttl=600)
    clock.advance(61)

    assert driver.gc().subscriptions == 5

    stored_ids = [d['_id'] for d in driver.collections().subscriptions.find({})]
    assert stored_ids == [kept]


# Idempotency keys ------------------------------------------------------------

FINGERPRINT = b'f' * 32
KEY = 'the-key'


def post_once(
    driver: MongoDriver, *bodies: object, fingerprint: bytes = FINGERPRINT
) -> list[str]:
    messages = [NewMessage(body=body, ttl=300) for body in bodies]
    key = IdempotencyKey(KEY, fingerprint, window=600)
    return driver.messages.post_once(QUEUE, messages, PROJECT, CLIENT, key)


def key_document(driver: MongoDriver) -> dict[str, Any]:
    found = driver.collections().idempotency.find_one({'k': KEY})
    assert found is not None
    return found


def test_a_keyed_post_leaves_a_done_key_named_by_the_counter(
    driver: MongoDriver, clock: ManualClock
) -> None:
    posted = post_once(driver, 'a', 'b')

    document = key_document(driver)
    assert document['d'] is True
    assert 'w' not in document and 't' not in document
    assert document['i'] == b''.join(bytes.fromhex(i) for i in posted)
    assert (document['p'], document['q'], document['f']) == (
        PROJECT,
        QUEUE,
        FINGERPRINT,
    )
    assert document['e'] == to_date(clock.now() + 600)
    snapshot = driver.counters.read(PROJECT, QUEUE)
    assert snapshot is not None and snapshot.key == document['_id']
    post(driver, 'c')  # an unkeyed commit names no key
    snapshot = driver.counters.read(PROJECT, QUEUE)
    assert snapshot is not None and snapshot.key is None


def test_a_repeat_during_the_first_post_is_in_flight(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = counters_module.Counters._compare_and_set
    repeats: list[object] = []

    def repeat_then_commit(self: Any, *args: Any) -> Any:
        if not repeats:
            with pytest.raises(errors.IdempotencyKeyInFlight) as raised:
                post_once(driver, 'a')
            repeats.append(raised.value)
        return commit(self, *args)

    monkeypatch.setattr(
        counters_module.Counters, '_compare_and_set', repeat_then_commit
    )
    posted = post_once(driver, 'a')

    assert QUEUE in str(repeats[0])
    assert post_once(driver, 'a') == posted
    assert listed(driver) == ['a']


def test_another_fingerprint_is_refused_even_while_in_flight(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = counters_module.Counters._compare_and_set
    refused: list[bool] = []

    def reuse_then_commit(self: Any, *args: Any) -> Any:
        if not refused:
            with pytest.raises(errors.IdempotencyKeyReused):
                post_once(driver, 'b', fingerprint=b'other')
            refused.append(True)
        return commit(self, *args)

    monkeypatch.setattr(counters_module.Counters, '_compare_and_set', reuse_then_commit)
    post_once(driver, 'a')

    assert refused == [True]
    assert listed(driver) == ['a']


def test_a_post_that_dies_after_committing_is_answered_at_once(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(*args: Any, **kwargs: Any) -> None:
        raise ProcessDied('died right after the commit')

    with monkeypatch.context() as patched:
        patched.setattr(counters_module, 'mark_key_done', die)
        with pytest.raises(ProcessDied):
            post_once(driver, 'a', 'b')
    assert 'd' not in key_document(driver)
    assert listed(driver) == ['a', 'b']

    # Its stamp is the counter's writer: committed, so no wait, no repost.
    posted = post_once(driver, 'a', 'b')

    assert [document['_id'].hex() for document in stored(driver)] == posted
    assert key_document(driver)['d'] is True


def test_the_next_commit_marks_a_dead_posts_key_done(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(*args: Any, **kwargs: Any) -> None:
        raise ProcessDied('died right after the commit')

    with monkeypatch.context() as patched:
        patched.setattr(counters_module, 'mark_key_done', die)
        with pytest.raises(ProcessDied):
            post_once(driver, 'a')

    post(driver, 'b')  # step 3 finalizes the last commit, its key included

    assert key_document(driver)['d'] is True
    assert post_once(driver, 'a') == [stored(driver)[0]['_id'].hex()]
    assert listed(driver) == ['a', 'b']


@pytest.mark.parametrize('dies', ['before stamping', 'before committing'])
def test_the_key_of_a_post_that_died_is_taken_over_after_the_repair_delay(
    driver: MongoDriver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    dies: str,
) -> None:
    post(driver, 'before')

    def die(*args: Any, **kwargs: Any) -> None:
        raise ProcessDied(f'died {dies}')

    with monkeypatch.context() as patched:
        if dies == 'before stamping':
            patched.setattr(counters_module, '_stamp_key', die)
        else:
            patched.setattr(counters_module.Counters, '_compare_and_set', die)
        with pytest.raises(ProcessDied):
            post_once(driver, 'lost')
    assert listed(driver) == ['before']

    with pytest.raises(errors.IdempotencyKeyInFlight):
        post_once(driver, 'lost')
    clock.advance(REPAIR_DELAY)
    posted = post_once(driver, 'lost')

    assert listed(driver) == ['before', 'lost']
    assert post_once(driver, 'lost') == posted
    assert key_document(driver)['d'] is True
    driver.gc()  # clears what the dead post inserted, if anything
    assert [d['b'] for d in stored(driver)] == ['"before"', '"lost"']


def test_a_slow_post_whose_key_is_taken_over_stores_nothing_and_answers(
    driver: MongoDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = counters_module.Counters._compare_and_set
    taken: list[list[str]] = []
    stalled: list[bool] = []

    def stall_then_commit(self: Any, *args: Any) -> Any:
        if not stalled:
            stalled.append(True)
            # Another request gives up waiting for this post and takes over.
            clock.advance(REPAIR_DELAY)
            taken.append(post_once(driver, 'x'))
        return commit(self, *args)

    monkeypatch.setattr(counters_module.Counters, '_compare_and_set', stall_then_commit)
    posted = post_once(driver, 'x')

    assert posted == taken[0]
    assert listed(driver) == ['x']
    assert [d['_id'].hex() for d in stored(driver)] == posted


def test_a_commit_whose_answer_is_lost_is_answered_by_the_repeat(
    driver: MongoDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = counters_module.Counters._compare_and_set

    def commit_then_lose_the_answer(self: Any, *args: Any) -> Any:
        commit(self, *args)
        raise pymongo.errors.AutoReconnect('connection reset')

    with monkeypatch.context() as patched:
        patched.setattr(
            counters_module.Counters, '_compare_and_set', commit_then_lose_the_answer
        )
        with pytest.raises(errors.StorageUnavailable):
            post_once(driver, 'a')

    posted = post_once(driver, 'a')

    assert listed(driver) == ['a']
    assert [d['_id'].hex() for d in stored(driver)] == posted


def test_an_expired_key_in_the_way_is_replaced(
    driver: MongoDriver, clock: ManualClock
) -> None:
    first = post_once(driver, 'a')
    clock.advance(600)

    second = post_once(driver, 'a')

    assert second != first
    documents = list(driver.collections().idempotency.find({'k': KEY}))
    assert [document['i'].hex() for document in documents] == second


def test_checked_posts_are_refused_so_posts_read_metadata_first(
    driver: MongoDriver,
) -> None:
    # Comparing the metadata cannot be made atomic with a post made of
    # several writes; callers fall back to reading it (operations layer).
    message = NewMessage(body='a', ttl=300)
    with pytest.raises(errors.Unsupported, match='metadata-checked posts'):
        driver.messages.post_checked(QUEUE, [message], PROJECT, CLIENT, {})
    assert listed(driver) == []
