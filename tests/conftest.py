"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock that tests move with ``clock.advance(seconds)``."""
    return ManualClock()
