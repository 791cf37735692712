"""Helpers shared by the SQLite driver: base class, rows, the writer lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

from zaqar.storage import errors
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata

if TYPE_CHECKING:
    from zaqar.storage.sqlite.driver import SqliteDriver

MESSAGE_COLUMNS = 'id, marker, ttl, created, body, claim_id, claim_expires, claim_count'

# SQL conditions; each takes ``now`` as its one parameter.
LIVE = 'expires > ?'
UNCLAIMED = '(claim_id IS NULL OR claim_expires <= ?)'
VISIBLE = 'visible_at <= ?'


class Controller:
    """Base of the SQLite controllers: holds the driver."""

    def __init__(self, driver: SqliteDriver) -> None:
        self._driver = driver

    def _now(self) -> float:
        return self._driver.clock.now()


def message_from_row(row: sqlite3.Row | tuple[Any, ...], now: float) -> Message:
    """Build a Message from a row selected with MESSAGE_COLUMNS."""
    message_id, marker, ttl, created, body, claim_id, claim_expires, count = row
    return Message(
        id=message_id,
        marker=marker,
        ttl=ttl,
        age=max(0, int(now - created)),
        body=json.loads(body),
        created=created,
        claim_id=claim_id if claim_expires > now else None,
        claim_count=count,
    )


def ensure_queue(connection: sqlite3.Connection, name: str, project: str) -> bool:
    """Create the queue with empty metadata if missing; True if created."""
    cursor = connection.execute(
        'INSERT INTO queues (project, name, metadata) VALUES (?, ?, ?) '
        'ON CONFLICT DO NOTHING',
        (project, name, dump_metadata({})),
    )
    return cursor.rowcount == 1


def reserve_markers(
    connection: sqlite3.Connection, queue: str, project: str, count: int
) -> int:
    """Advance the queue's counter by ``count``; return the first new value.

    Must run inside a write transaction, which makes the reservation atomic
    with the inserts that use it.
    """
    (last,) = connection.execute(
        'INSERT INTO counters (project, queue, value) VALUES (?, ?, ?) '
        'ON CONFLICT (project, queue) DO UPDATE SET value = value + excluded.value '
        'RETURNING value',
        (project, queue, count),
    ).fetchone()
    return int(last) - count + 1


def load_metadata(text: str | None) -> Metadata:
    """Decode stored queue metadata; a missing queue has none."""
    metadata: Metadata = json.loads(text) if text else {}
    return metadata


def dump_metadata(metadata: Metadata) -> str:
    """Encode queue metadata for storing.

    The one encoding every write uses, so that a checked post can compare
    texts: equal dicts are not enough, as 120 == 120.0 in Python while only
    an integer is a TTL default.
    """
    return json.dumps(metadata)


def select_metadata(
    connection: sqlite3.Connection, name: str, project: str
) -> str | None:
    """The stored metadata text of a queue; None if the queue is missing."""
    row = connection.execute(
        'SELECT metadata FROM queues WHERE project = ? AND name = ?', (project, name)
    ).fetchone()
    return None if row is None else row[0]


class WriterLock:
    """Makes the writers of every process using one database take turns.

    SQLite lets one writer in at a time; the others wait in its busy
    handler, which sleeps in steps growing to 100 ms and checks again. Under
    steady concurrent writes a writer can lose that race many times, and
    requests then take hundreds of milliseconds. Instead, the threads of a
    process wait on a lock (woken as soon as it is free), and one thread per
    process then takes an exclusive ``flock`` on a file beside the database,
    polling every millisecond or so, so that when it asks SQLite for the
    write lock it is free. The kernel releases a dead process's ``flock``.

    Processes take turns: one that polls for the lock holds a shared
    ``flock`` on a second file while it does, and a process about to take
    the lock again first waits until nobody holds that one. Without turns
    the process that just released the lock, whose next writer is already
    queued, takes it again at once, while the other polls in vain: with
    writers in two processes, one process's requests waited for the other's
    whole queue (p99 11 times the median).

    Args:
        path: The lock file (created if missing); the turn file is beside
            it, named after it.
        timeout: Seconds to wait at most, as SQLite's busy timeout.
    """

    # Seconds between polls, first and at most.
    FIRST_PAUSE = 0.0002
    LONGEST_PAUSE = 0.001

    def __init__(self, path: str, timeout: float) -> None:
        self._paths = (path, f'{path}.turn')
        self._timeout = timeout
        self._threads = threading.Lock()
        self._fds: tuple[int, int] | None = None
        self._pid: int | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the writer lock for a block.

        Raises:
            StorageUnavailable: It could not be had within the timeout.
        """
        if not self._threads.acquire(timeout=self._timeout):
            raise errors.StorageUnavailable(
                f'SQLite writer lock not acquired within {self._timeout:g} s'
            )
        try:
            lock, turn = self._files()
            self._lock_file(lock, turn)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _files(self) -> tuple[int, int]:
        # NOTE: open files per process: a flock belongs to the open file,
        # and a descriptor inherited across fork would be shared with the
        # parent.
        if self._fds is None or self._pid != os.getpid():
            try:
                lock, turn = (
                    os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._paths
                )
            except OSError as ex:
                raise errors.StorageUnavailable(
                    f'SQLite writer lock file {ex.filename}: {ex.strerror}'
                ) from ex
            self._fds = (lock, turn)
            self._pid = os.getpid()
        return self._fds

    def _lock_file(self, lock: int, turn: int) -> None:
        deadline = time.monotonic() + self._timeout
        self._let_waiting_processes_first(turn, deadline)
        if _try_flock(lock, fcntl.LOCK_EX):
            return
        # Say this process waits (a shared lock: any number may wait).
        fcntl.flock(turn, fcntl.LOCK_SH)
        try:
            self._poll(lambda: _try_flock(lock, fcntl.LOCK_EX), deadline)
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)

    def _let_waiting_processes_first(self, turn: int, deadline: float) -> None:
        """Wait while another process waits for the lock (then it is theirs).

        Gives up waiting at the deadline and competes as before: a turn is
        a courtesy, never a reason to fail.
        """

        def nobody_waits() -> bool:
            if not _try_flock(turn, fcntl.LOCK_EX):
                return False
            fcntl.flock(turn, fcntl.LOCK_UN)
            return True

        try:
            self._poll(nobody_waits, deadline)
        except errors.StorageUnavailable:
            pass

    def _poll(self, attempt: Callable[[], bool], deadline: float) -> None:
        pause = self.FIRST_PAUSE
        while not attempt():
            if time.monotonic() >= deadline:
                raise errors.StorageUnavailable(
                    f'SQLite writer lock not acquired within {self._timeout:g} s'
                )
            time.sleep(pause)
            pause = min(pause * 2, self.LONGEST_PAUSE)


def _try_flock(fd: int, operation: int) -> bool:
    """Take a flock without waiting; tell whether it was had."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
