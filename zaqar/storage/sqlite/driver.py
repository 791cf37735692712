"""The SQLite data driver: connections, transactions and housekeeping."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator

from oslo_config import cfg

from zaqar.common.clock import Clock
from zaqar.conf import sqlite as sqlite_conf
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport
from zaqar.storage.sqlite import schema
from zaqar.storage.sqlite.claims import ClaimController
from zaqar.storage.sqlite.common import WriterLock
from zaqar.storage.sqlite.messages import MessageController
from zaqar.storage.sqlite.queues import QueueController
from zaqar.storage.sqlite.subscriptions import SubscriptionController

LOG = logging.getLogger(__name__)

# Message posts remove up to SWEEP_BATCH expired rows of each kind in
# passing: once per SWEEP_INTERVAL seconds, or on every post while the last
# sweep found a full batch (a backlog). Expired rows are thus removed at
# least as fast as posts add rows, even where no garbage collector runs,
# while no single write holds the lock for long.
SWEEP_BATCH = 500
SWEEP_INTERVAL = 10.0
# gc() deletes in transactions of at most this many rows of each kind, so
# that a large backlog never holds the write lock for long.
GC_BATCH = 5000


class SqliteDriver(DataDriver):
    """Stores everything in one SQLite database file.

    Each thread gets its own connection (sqlite3 connections must not be
    shared between threads mid-transaction); processes share the file.
    Nothing touches the file until the first query.
    """

    def __init__(
        self,
        database: str,
        clock: Clock,
        busy_timeout: float = 10.0,
        synchronous: str = 'normal',
    ) -> None:
        super().__init__(clock)
        self.database = database
        self._busy_timeout = busy_timeout
        if synchronous not in ('normal', 'full'):
            raise ValueError(f'synchronous must be normal or full, not {synchronous!r}')
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writers = WriterLock(f'{database}-writer.lock', busy_timeout)
        self._schema_ready = False
        self._last_sweep = float('-inf')
        self._queues = QueueController(self)
        self._messages = MessageController(self)
        self._claims = ClaimController(self)
        self._subscriptions = SubscriptionController(self)

    @property
    def queues(self) -> QueueController:
        """The queue controller."""
        return self._queues

    @property
    def messages(self) -> MessageController:
        """The message controller."""
        return self._messages

    @property
    def claims(self) -> ClaimController:
        """The claim controller."""
        return self._claims

    @property
    def subscriptions(self) -> SubscriptionController:
        """The subscription controller."""
        return self._subscriptions

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction, holding the write lock.

        ``BEGIN IMMEDIATE`` takes SQLite's write lock up front, so the reads
        a writer does (counter, claimable messages) cannot be invalidated by
        another writer before it commits. Writers first queue for the
        writer lock (see :class:`WriterLock`), so that SQLite's own lock is
        free when they ask for it.
        """
        with self._writers.held(), self._transaction('BEGIN IMMEDIATE') as connection:
            yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Run a block of reads on one consistent snapshot."""
        with self._transaction('BEGIN DEFERRED') as connection:
            yield connection

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._connection()
            connection.execute(begin)
        except sqlite3.Error as ex:
            raise _unavailable(ex) from ex
        try:
            yield connection
        except sqlite3.Error as ex:
            connection.rollback()
            raise _unavailable(ex) from ex
        except BaseException:
            connection.rollback()
            raise
        try:
            connection.commit()
        except sqlite3.Error as ex:
            connection.rollback()
            raise _unavailable(ex) from ex

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, 'connection', None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly above.
        connection = sqlite3.connect(
            self.database,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute('PRAGMA journal_mode=WAL')
        # NORMAL is durable across application crashes in WAL mode; only an
        # OS crash or power loss can lose the last commits. FULL survives
        # those too, at the price of an fsync per commit.
        connection.execute(f'PRAGMA synchronous={self._synchronous}')
        with self._lock:
            if not self._schema_ready:
                for statement in schema.STATEMENTS:
                    connection.execute(statement)
                self._schema_ready = True
            self._connections.append(connection)
        return connection

    def describe(self) -> str:
        """Name the backend and its database file."""
        return f'sqlite ({os.path.abspath(self.database)})'

    def is_alive(self) -> bool:
        """Tell whether the database answers a trivial query."""
        try:
            with self.read() as connection:
                connection.execute('SELECT 1').fetchone()
        except errors.StorageUnavailable as ex:
            # Handled here, so logged here, with the reason.
            LOG.error('%s', ex)
            return False
        return True

    def gc(self) -> GCReport:
        """Delete every expired row, a batch of each kind per transaction.

        Messages, claims, subscriptions and idempotency keys alike.
        """
        now = self.clock.now()
        total = GCReport()
        while True:
            with self.write() as connection:
                batch = _delete_expired(connection, now, limit=GC_BATCH)
            total += batch
            if _largest(batch) < GC_BATCH:
                break
        self._last_sweep = now
        return total

    def sweep_in_passing(self, connection: sqlite3.Connection) -> None:
        """Delete a bounded batch of expired rows inside a write, now and then.

        Called by message posts in their own transaction; cheap thanks to
        the expiry indexes. See SWEEP_BATCH for when it runs.
        """
        now = self.clock.now()
        # NOTE: unlocked on purpose: two threads sweeping at once is harmless.
        if now - self._last_sweep < SWEEP_INTERVAL:
            return
        report = _delete_expired(connection, now, limit=SWEEP_BATCH)
        backlog = _largest(report) >= SWEEP_BATCH
        # With a backlog, leave the throttle open so the next post sweeps too.
        self._last_sweep = float('-inf') if backlog else now

    def close(self) -> None:
        """Close every connection this driver opened."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


def _delete_expired(connection: sqlite3.Connection, now: float, limit: int) -> GCReport:
    """Delete up to ``limit`` expired rows of each kind.

    The kinds: messages, claims, subscriptions and idempotency keys.
    """
    counts = {
        table: connection.execute(
            f'DELETE FROM {table} WHERE {column} IN '
            f'(SELECT {column} FROM {table} WHERE expires <= ? LIMIT ?)',
            (now, limit),
        ).rowcount
        for table, column in (
            ('messages', 'id'),
            ('claims', 'id'),
            ('subscriptions', 'id'),
            ('idempotency_keys', 'rowid'),
        )
    }
    return GCReport(**counts)


def _largest(report: GCReport) -> int:
    """The largest count of a report: a full batch of any kind means more."""
    counts: tuple[int, ...] = dataclasses.astuple(report)
    return max(counts)


def _unavailable(ex: sqlite3.Error) -> errors.StorageUnavailable:
    # Not logged here: whoever handles the error logs it once, with what the
    # failure interrupted (the transport names the request).
    return errors.StorageUnavailable(f'SQLite error: {ex}')


def create_driver(conf: cfg.ConfigOpts, clock: Clock) -> SqliteDriver:
    """Build the driver from ``[drivers:message_store:sqlite]``.

    Creates the database's directory if needed and checks that it is
    writable, so a bad path fails at start-up rather than on first request.

    Raises:
        ConfigurationError: The directory cannot be created or written.
    """
    group = conf[sqlite_conf.GROUP_NAME]
    if group.database.strip() == ':memory:' or not group.database.strip():
        # NOTE: each thread and each worker would get a database of its own.
        raise errors.ConfigurationError(
            f'[{sqlite_conf.GROUP_NAME}] database must be a file path; an '
            f'in-memory database is not shared between threads and workers'
        )
    database = os.path.expanduser(group.database)
    directory = os.path.dirname(os.path.abspath(database))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as ex:
        raise errors.ConfigurationError(
            f'[{sqlite_conf.GROUP_NAME}] database: cannot create directory '
            f'{directory}: {ex.strerror}'
        ) from ex
    if not os.access(directory, os.W_OK | os.X_OK):
        raise errors.ConfigurationError(
            f'[{sqlite_conf.GROUP_NAME}] database: directory {directory} '
            f'is not writable'
        )
    return SqliteDriver(
        database, clock, busy_timeout=group.busy_timeout, synchronous=group.synchronous
    )
