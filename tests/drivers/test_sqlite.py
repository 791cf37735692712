"""What only the SQLite driver promises: files, locking, cleanup in passing."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.models import GCReport
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import NewMessage
from zaqar.storage.sqlite import driver as sqlite_driver
from zaqar.storage.sqlite import schema
from zaqar.storage.sqlite.common import WriterLock
from zaqar.storage.sqlite.driver import SqliteDriver

PROJECT = 'p'


def rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(f'SELECT COUNT(*) FROM {table}').fetchone()[0]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / 'zaqar.db'


@pytest.fixture
def driver(database: Path, clock: ManualClock) -> Iterator[SqliteDriver]:
    storage = SqliteDriver(str(database), clock, busy_timeout=0.2)
    yield storage
    storage.close()


def test_nothing_touches_the_file_before_the_first_query(
    database: Path, driver: SqliteDriver
) -> None:
    assert not database.exists()
    assert driver.is_alive()
    assert database.exists()


def test_the_database_runs_in_wal_mode(database: Path, driver: SqliteDriver) -> None:
    driver.queues.create('q', {}, PROJECT)
    with sqlite3.connect(database) as connection:
        assert connection.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'


def test_posting_sweeps_expired_messages_without_a_collector(
    database: Path, driver: SqliteDriver, clock: ManualClock
) -> None:
    driver.messages.post('q', [NewMessage('old', ttl=60)] * 3, PROJECT, 'c')
    clock.advance(61)
    driver.messages.post('q', [NewMessage('new', ttl=60)], PROJECT, 'c')
    assert rows(database, 'messages') == 1


def test_sweeping_in_passing_is_bounded_and_throttled(
    database: Path,
    driver: SqliteDriver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_driver, 'SWEEP_BATCH', 2)

    def post(body: str, ttl: int = 600) -> int:
        driver.messages.post('q', [NewMessage(body, ttl=ttl)], PROJECT, 'c')
        return rows(database, 'messages')

    driver.messages.post('q', [NewMessage('old', ttl=60)] * 3, PROJECT, 'c')
    clock.advance(61)
    assert post('a') == 2  # 3 expired, a full batch of 2 swept, 1 added
    assert post('b') == 2  # backlog: swept again right away
    assert post('expiring', ttl=60) == 3  # no backlog: throttled
    clock.advance(55)
    assert post('c') == 4  # sweeps (55 s since the last), nothing expired yet
    clock.advance(7)  # 'expiring' has expired, 7 s after the last sweep
    assert post('d') == 5  # throttled: within SWEEP_INTERVAL
    clock.advance(sqlite_driver.SWEEP_INTERVAL)
    assert post('e') == 5  # sweeps: 'expiring' removed, 'e' added


def test_expired_rows_do_not_accumulate_under_a_steady_stream(
    database: Path, driver: SqliteDriver, clock: ManualClock
) -> None:
    """100 messages a second living 60 s: rows stay near the live set."""
    batch = [NewMessage('m', ttl=60)] * 10
    for _ in range(6000):  # ten minutes of clock, ten posts a second
        driver.messages.post('q', batch, PROJECT, 'c')
        clock.advance(0.1)
    live = driver.queues.stats('q', PROJECT).total
    assert live == 6000
    assert rows(database, 'messages') <= live + sqlite_driver.SWEEP_BATCH


def test_a_writer_held_up_by_another_process_gets_storage_unavailable(
    database: Path, driver: SqliteDriver
) -> None:
    driver.queues.create('q', {}, PROJECT)
    other = sqlite3.connect(database, isolation_level=None)
    other.execute('BEGIN IMMEDIATE')
    try:
        with pytest.raises(errors.StorageUnavailable, match='locked'):
            driver.messages.post('q', [NewMessage('x', ttl=60)], PROJECT, 'c')
        # Readers are not blocked by a writer in WAL mode.
        assert driver.queues.exists('q', PROJECT)
    finally:
        other.rollback()
        other.close()
    driver.messages.post('q', [NewMessage('x', ttl=60)], PROJECT, 'c')
    assert driver.queues.stats('q', PROJECT).total == 1


def test_a_failed_write_leaves_nothing_behind(
    database: Path, driver: SqliteDriver
) -> None:
    unserializable = NewMessage(object(), ttl=60)
    with pytest.raises(TypeError):
        driver.messages.post(
            'q', [NewMessage('ok', ttl=60), unserializable], PROJECT, 'c'
        )
    assert not driver.queues.exists('q', PROJECT)
    assert driver.messages.post('q', [NewMessage('ok', ttl=60)], PROJECT, 'c')


def test_an_unreadable_database_is_not_alive(
    tmp_path: Path, clock: ManualClock
) -> None:
    garbage = tmp_path / 'garbage.db'
    garbage.write_bytes(b'this is not a database' * 100)
    storage = SqliteDriver(str(garbage), clock)
    try:
        assert storage.is_alive() is False
        with pytest.raises(errors.StorageUnavailable):
            storage.queues.count(PROJECT)
    finally:
        storage.close()


def test_describe_names_the_database_file(database: Path, driver: SqliteDriver) -> None:
    assert driver.describe() == f'sqlite ({database})'


def test_gc_works_through_a_backlog_in_bounded_batches(
    database: Path,
    driver: SqliteDriver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_driver, 'GC_BATCH', 3)
    driver.messages.post('q', [NewMessage('old', ttl=60)] * 10, PROJECT, 'c')
    driver.messages.post('q', [NewMessage('new', ttl=600)], PROJECT, 'c')
    clock.advance(61)
    assert driver.gc().messages == 10
    assert rows(database, 'messages') == 1


def test_gc_works_through_a_backlog_of_subscriptions_in_bounded_batches(
    database: Path,
    driver: SqliteDriver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_driver, 'GC_BATCH', 3)
    for number in range(10):
        driver.subscriptions.create('q', f'http://h/{number}', 60, {}, PROJECT)
    driver.subscriptions.create('q', 'http://h/kept', 600, {}, PROJECT)
    clock.advance(61)

    assert driver.gc() == GCReport(subscriptions=10)

    assert rows(database, 'subscriptions') == 1


def test_a_second_row_for_one_subscriber_is_refused_by_the_database(
    database: Path, driver: SqliteDriver
) -> None:
    """The unique index holds whatever a writer in another process does."""
    driver.subscriptions.create('q', 'http://h', 60, {}, PROJECT)

    with sqlite3.connect(database) as connection:
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(
                'INSERT INTO subscriptions (id, project, source, subscriber, ttl, '
                "updated, expires, options) VALUES ('x', ?, 'q', 'http://h', 60, "
                "0, 60, '{}')",
                (PROJECT,),
            )


def test_an_expired_subscription_in_the_way_is_deleted_by_the_create(
    database: Path, driver: SqliteDriver, clock: ManualClock
) -> None:
    old = driver.subscriptions.create('q', 'http://h', 60, {}, PROJECT)
    clock.advance(61)

    new = driver.subscriptions.create('q', 'http://h', 60, {}, PROJECT)

    with sqlite3.connect(database) as connection:
        stored = connection.execute('SELECT id FROM subscriptions').fetchall()
    assert stored == [(new,)] and new != old


def test_a_database_made_before_subscriptions_keeps_its_data_and_gains_them(
    database: Path, clock: ManualClock
) -> None:
    earlier = [s for s in schema.STATEMENTS if 'subscriptions' not in s]
    with sqlite3.connect(database) as connection:
        for statement in earlier:
            connection.execute(statement)
        connection.execute(
            'INSERT INTO queues (project, name, metadata) VALUES (?, ?, ?)',
            (PROJECT, 'q', '{"a": 1}'),
        )
    storage = SqliteDriver(str(database), clock)
    try:
        assert storage.queues.get_metadata('q', PROJECT) == {'a': 1}
        created = storage.subscriptions.create('q', 'http://h', 60, {}, PROJECT)
        assert storage.subscriptions.get('q', created, PROJECT).subscriber == (
            'http://h'
        )
    finally:
        storage.close()


# Idempotency keys ------------------------------------------------------------

KEY = IdempotencyKey('k', b'f' * 32, window=600)


def test_a_key_that_cannot_be_recorded_leaves_no_message(
    database: Path, driver: SqliteDriver
) -> None:
    driver.queues.exists('q', PROJECT)  # creates the schema
    with sqlite3.connect(database) as connection:
        connection.execute(
            'CREATE TRIGGER refuse BEFORE INSERT ON idempotency_keys '
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )

    with pytest.raises(errors.StorageUnavailable, match='disk full'):
        driver.messages.post_once('q', [NewMessage('a', ttl=60)], PROJECT, 'c', KEY)

    assert not driver.queues.exists('q', PROJECT)
    assert rows(database, 'messages') == 0
    with sqlite3.connect(database) as connection:
        connection.execute('DROP TRIGGER refuse')
    posted = driver.messages.post_once(
        'q', [NewMessage('a', ttl=60)], PROJECT, 'c', KEY
    )
    assert [m.id for m in driver.messages.list('q', PROJECT, 'c', echo=True)] == (
        posted
    )


def test_drivers_sharing_a_file_store_a_keyed_post_once(
    database: Path, clock: ManualClock
) -> None:
    # One driver per thread stands for one process each: separate
    # connections, nothing shared but the file.
    storages = [SqliteDriver(str(database), clock, busy_timeout=10) for _ in range(4)]
    barrier = threading.Barrier(len(storages))
    results: list[list[str]] = []

    def post_once(storage: SqliteDriver) -> None:
        barrier.wait()
        results.append(
            storage.messages.post_once(
                'q', [NewMessage('a', ttl=60)], PROJECT, 'c', KEY
            )
        )

    threads = [threading.Thread(target=post_once, args=(s,)) for s in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert rows(database, 'messages') == 1
        assert len(results) == 4 and all(r == results[0] for r in results)
    finally:
        for storage in storages:
            storage.close()


def test_a_database_made_before_idempotency_keys_gains_them(
    database: Path, clock: ManualClock
) -> None:
    earlier = [s for s in schema.STATEMENTS if 'idempotency_keys' not in s]
    with sqlite3.connect(database) as connection:
        for statement in earlier:
            connection.execute(statement)
        connection.execute(
            'INSERT INTO queues (project, name, metadata) VALUES (?, ?, ?)',
            (PROJECT, 'q', '{"a": 1}'),
        )
    storage = SqliteDriver(str(database), clock)
    try:
        assert storage.queues.get_metadata('q', PROJECT) == {'a': 1}
        posted = storage.messages.post_once(
            'q', [NewMessage('a', ttl=60)], PROJECT, 'c', KEY
        )
        assert (
            storage.messages.post_once(
                'q', [NewMessage('a', ttl=60)], PROJECT, 'c', KEY
            )
            == posted
        )
    finally:
        storage.close()


def test_posting_sweeps_expired_keys_without_a_collector(
    database: Path, driver: SqliteDriver, clock: ManualClock
) -> None:
    short = IdempotencyKey('short', b'f', window=60)
    driver.messages.post_once('q', [NewMessage('a', ttl=600)], PROJECT, 'c', short)
    clock.advance(sqlite_driver.SWEEP_INTERVAL + 60)

    driver.messages.post('q', [NewMessage('b', ttl=600)], PROJECT, 'c')

    assert rows(database, 'idempotency_keys') == 0


def test_messages_named_by_id_are_found_by_primary_key(
    database: Path, driver: SqliteDriver
) -> None:
    # For more than a few ids SQLite's planner prefers the queue's marker
    # index, which reads the whole queue: a bulk delete took 7 ms on a
    # queue of 20k messages instead of 0.3 ms.
    ids = driver.messages.post(
        'q', [NewMessage(body=n, ttl=300) for n in range(20)], 'p', 'c'
    )
    claim = driver.claims.create('q', 'p', 300, 60, 20)
    assert claim is not None
    statements: list[str] = []
    with driver.read() as connection:
        connection.set_trace_callback(statements.append)
    try:
        driver.messages.get_many('q', ids, 'p')
        driver.messages.delete_many('q', ids[:10], 'p', claim_ids=[claim.id])
        driver.messages.delete_many('q', ids[10:], 'p')
    finally:
        with driver.read() as connection:
            connection.set_trace_callback(None)

    by_id = [sql for sql in statements if 'FROM messages' in sql and ' id IN (' in sql]
    assert len(by_id) >= 3
    inspector = sqlite3.connect(database)
    try:
        for sql in by_id:
            plan = inspector.execute(f'EXPLAIN QUERY PLAN {sql}').fetchall()
            details = ' '.join(str(step[-1]) for step in plan)
            assert 'messages_by_marker' not in details, (sql, details)
    finally:
        inspector.close()


def _take_writer_lock_once(path: str, ready: Any, rounds: Any, seen: Any) -> None:
    """In another process: wait for the writer lock, note the round it came."""
    lock = WriterLock(path, timeout=10)
    ready.set()
    with lock.held():
        seen.value = rounds.value


def test_a_process_waiting_for_the_writer_lock_gets_the_next_turn(
    tmp_path: Path,
) -> None:
    context = multiprocessing.get_context('fork')
    path = str(tmp_path / 'writer.lock')
    ready, rounds, seen = context.Event(), context.Value('i', 0), context.Value('i', -1)
    lock = WriterLock(path, timeout=10)
    other = context.Process(
        target=_take_writer_lock_once, args=(path, ready, rounds, seen)
    )
    with lock.held():
        other.start()
        assert ready.wait(10)
        time.sleep(0.05)  # the other process is polling for the lock now
    # This process's writers keep coming, back to back, as under load.
    for _ in range(200):
        with lock.held():
            rounds.value += 1
            time.sleep(0.001)
        if seen.value >= 0:
            break
    other.join(10)

    # Its turn came at once, not after this process ran out of writers.
    assert 0 <= seen.value <= 2
