"""kill -9 of every zaqar-server process mid-load, then a restart.

doc/durability.md promises that the crash of zaqar processes never loses an
acknowledged write, on every store: a write is answered only once the store
committed it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.checker import Checker
from tests.faults.helpers import assert_consistent
from tests.faults.helpers import redis_config
from tests.faults.helpers import sqlite_config
from tests.faults.helpers import wait_until
from tests.faults.processes import RedisProcess
from tests.faults.processes import ZaqarServers
from tests.faults.processes import process_tree
from tests.server.conftest import Config

# Seconds of load before the crash and after the restart, and the posts
# that must be acknowledged in each (after the restart: proof that the load
# goes on where it stopped).
LOAD = 2.0
ACKS = 40


def dead(pid: int) -> bool:
    """Whether a process is gone (or a zombie nobody reaped yet)."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return True
    return stat.rsplit(')', 1)[1].split()[0] in ('Z', 'X')


@pytest.fixture(params=['sqlite', 'redis'])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    """Each store, in storage of the test's own.

    Redis is a private one: the crash is zaqar-server's, but a private
    server keeps this test's load away from the other tests' Redis.
    """
    if request.param == 'sqlite':
        return sqlite_config(tmp_path / 'crash.db')
    directory = tmp_path / 'redis'
    directory.mkdir()
    redis = RedisProcess(directory)
    redis.start()
    request.addfinalizer(redis.stop)
    return redis_config(redis.url)


def test_kill_9_of_every_server_process_loses_no_acknowledged_message(
    servers: ZaqarServers, store: Config
) -> None:
    server = servers.start(store)
    checker = Checker(server.url, 'crash')
    with checker.running():
        checker.load_for(LOAD, at_least=ACKS)
        processes = process_tree(server.process.pid)
        assert len(processes) >= 3, 'expected a master and two workers'

        down = time.monotonic()
        server.kill_all()

        wait_until(lambda: all(map(dead, processes)), 10, 'every process died')
        servers.restart(server)
        up = time.monotonic()
        checker.load_for(LOAD, at_least=ACKS)

    history = checker.history
    # The crash hit requests: some went unanswered while the server was down.
    assert history.answers[('post', None)] + history.answers[('claim', None)] > 0
    # Only those: once it is back, every request is answered.
    assert_consistent(checker, outage=(down, up))
