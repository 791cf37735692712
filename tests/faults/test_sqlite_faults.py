"""SQLite with its disk full, or its database locked by another process.

Both must give clean 503s (Zaqar's JSON error body and ``Retry-After``;
never a 500, never a dropped connection), lose or double nothing, recover
once the cause is gone, and leave a database that passes
``PRAGMA integrity_check``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.faults.checker import Checker
from tests.faults.checker import Settings
from tests.faults.helpers import assert_consistent
from tests.faults.helpers import integrity_check
from tests.faults.helpers import recovered
from tests.faults.helpers import sqlite_config
from tests.faults.helpers import wait_until
from tests.faults.processes import ZaqarServers
from tests.faults.processes import fill
from tests.faults.processes import small_tmpfs

LOAD = 2.0
ACKS = 40
# Room for the database and its WAL (which SQLite checkpoints and reuses
# once it reaches 1000 pages, about 4 MB) before the filler takes the rest.
DISK_SIZE = '16m'
# Once the disk is full, writes fail as soon as SQLite needs a page it has
# not got; until then it reuses its WAL file's space.
FULL_TIMEOUT = 20.0
# Seconds the disk stays full once writes fail, so that every kind of
# request meets it.
FULL_HELD = 1.5
# Seconds zaqar's writers wait for the lock; the test holds it longer.
BUSY_TIMEOUT = 1.0
LOCK_HELD = 3.0


def test_a_full_disk_answers_503_and_leaves_an_intact_database(
    servers: ZaqarServers, tmp_path: Path
) -> None:
    with small_tmpfs(tmp_path / 'disk', DISK_SIZE) as disk:
        database = disk / 'zaqar.db'
        server = servers.start(sqlite_config(database))
        checker = Checker(server.url, 'disk-full')
        with checker.running():
            checker.load_for(LOAD, at_least=ACKS)
            before = checker.history.count(503)

            filler = fill(disk)
            wait_until(
                lambda: checker.history.count(503) >= before + 20,
                FULL_TIMEOUT,
                'writes failed on the full disk',
            )
            time.sleep(FULL_HELD)
            filler.unlink()

            wait_until(lambda: recovered(server), FULL_TIMEOUT, 'recovery')
            checker.load_for(LOAD, at_least=ACKS)

        assert_consistent(checker)
        # Reads need no space (WAL journal): listings never failed.
        assert checker.history.answers[('list', 503)] == 0
        server.stop()
        assert integrity_check(database) == 'ok'


def test_a_database_locked_past_the_busy_timeout_answers_503(
    servers: ZaqarServers, tmp_path: Path
) -> None:
    database = tmp_path / 'locked.db'
    server = servers.start(sqlite_config(database, busy_timeout=BUSY_TIMEOUT))
    checker = Checker(server.url, 'locked', Settings(request_timeout=10.0))
    with checker.running():
        checker.load_for(LOAD, at_least=ACKS)
        before = checker.history.count(503)

        # Another process's exclusive transaction: zaqar's writers wait for
        # it BUSY_TIMEOUT seconds, then give up.
        holder = sqlite3.connect(database, timeout=10.0, isolation_level=None)
        try:
            holder.execute('BEGIN EXCLUSIVE')
            locked = time.monotonic()
            wait_until(
                lambda: checker.history.count(503) >= before + 5,
                LOCK_HELD * 2,
                'writers gave up on the lock',
            )
            time.sleep(max(0.0, LOCK_HELD - (time.monotonic() - locked)))
            holder.execute('ROLLBACK')
        finally:
            holder.close()

        wait_until(lambda: recovered(server), 10.0, 'recovery')
        checker.load_for(LOAD, at_least=ACKS)

    assert_consistent(checker)
    # A writer's lock does not block readers (WAL journal).
    assert checker.history.answers[('list', 503)] == 0
    server.stop()
    assert integrity_check(database) == 'ok'
