"""Fixtures shared by every test folder, and markers given by folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from zaqar.common.clock import ManualClock

TESTS = Path(__file__).parent

# Each folder of tests is one kind; its name is the marker, so that
# `pytest -m functional` selects every test under tests/functional.
FOLDER_MARKERS = (
    'unit',
    'contract',
    'drivers',
    'operations',
    'functional',
    'server',
    'fuzz',
    'faults',
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the name of its folder under tests/."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock that tests move with ``clock.advance(seconds)``."""
    return ManualClock()
