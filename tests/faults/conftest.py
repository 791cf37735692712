"""Fixtures of the fault tests: servers to kill, a Redis to kill, the soak switch.

The soak (test_soak.py) runs only when ``ZAQAR_SOAK_SECONDS`` is set: it is
not collected otherwise, so a normal run neither runs it nor counts it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.processes import RedisProcess
from tests.faults.processes import ZaqarServers

SOAK_ENV = 'ZAQAR_SOAK_SECONDS'

collect_ignore = [] if os.environ.get(SOAK_ENV, '').strip() else ['test_soak.py']


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ZaqarServers]:
    """Start (and restart) zaqar-servers; every one is stopped afterwards."""
    started = ZaqarServers(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def private_redis(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[RedisProcess]:
    """A redis-server of the test's own, with ``appendfsync always``.

    Parametrize it indirectly with another ``appendfsync`` value.
    """
    directory = tmp_path / 'redis'
    directory.mkdir()
    redis = RedisProcess(directory, getattr(request, 'param', 'always'))
    redis.start()
    yield redis
    redis.stop()
