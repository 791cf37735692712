"""The ``driver`` fixture: each contract test runs once per selected driver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver

from . import drivers


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock that starts at the real time.

    A real MongoDB server removes documents through its TTL indexes by its
    own clock; starting here keeps everything the test clock calls live in
    that clock's future too.
    """
    return ManualClock(start=float(int(time.time())))


@pytest.fixture(params=drivers.selected_names())
def driver(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[DataDriver]:
    """A new, empty driver of the parametrized kind, using ``clock``."""
    storage = drivers.build(request.param, tmp_path, clock)
    yield storage
    storage.close()
