"""Helpers shared by the SQLite driver: base class, rows, the writer lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
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
    """Makes the writers of every process using one database queue up.

    SQLite lets one writer in at a time; the others wait in its busy
    handler, which sleeps in steps growing to 100 ms and checks again. Under
    steady concurrent writes a writer can lose that race many times, and
    requests then take hundreds of milliseconds. Instead, the threads of a
    process wait on a lock (woken as soon as it is free), and one thread per
    process then takes an exclusive ``flock`` on a file beside the database,
    polling every millisecond or so, so that when it asks SQLite for the
    write lock it is free. The kernel releases a dead process's ``flock``.

    Args:
        path: The lock file (created if missing).
        timeout: Seconds to wait at most, as SQLite's busy timeout.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
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
            fd = self._file()
            self._lock_file(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int:
        # NOTE: one open file per process: a flock belongs to the open file,
        # and a descriptor inherited across fork would be shared with the
        # parent.
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as ex:
                raise errors.StorageUnavailable(
                    f'SQLite writer lock file {self._path}: {ex.strerror}'
                ) from ex
            self._pid = os.getpid()
        return self._fd

    def _lock_file(self, fd: int) -> None:
        deadline = time.monotonic() + self._timeout
        pause = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            if time.monotonic() >= deadline:
                raise errors.StorageUnavailable(
                    f'SQLite writer lock not acquired within {self._timeout:g} s'
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
