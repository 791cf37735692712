"""The operations layer over a real SQLite driver, with no HTTP at all.

What a second transport (WebSocket) would call is exactly what these tests
call: plain values in, records or domain errors out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zaqar.common.clock import ManualClock
from zaqar.common.limits import Limits
from zaqar.operations import Operations
from zaqar.storage.sqlite.driver import SqliteDriver

PROJECT = 'project-a'
CLIENT = '6ba7b810-9dad-11d1-80b4-00c04fd430c8'
OTHER_CLIENT = '6ba7b811-9dad-11d1-80b4-00c04fd430c8'
SECRET = 'operations-test-secret'


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock at a fixed, realistic time."""
    return ManualClock(start=1_800_000_000.0)


@pytest.fixture
def storage(tmp_path: Path, clock: ManualClock) -> Iterator[SqliteDriver]:
    driver = SqliteDriver(str(tmp_path / 'operations.db'), clock)
    yield driver
    driver.close()


@pytest.fixture
def limits() -> Limits:
    return Limits()


@pytest.fixture
def ops(storage: SqliteDriver, limits: Limits) -> Operations:
    return Operations.build(storage, limits, signing_secret=SECRET)
