"""The drivers the contract suite runs against, and how each one is built.

Adding a driver is one line at the bottom of this module::

    register('redis', _redis)

where ``_redis(tmp_path, clock)`` returns a new, *empty* driver that uses
``clock``. Each call must get storage no other call sees (a file under
``tmp_path``, or a database, key prefix or collection derived from it), so
tests never share state. Import the backend's client library inside the
factory, so that a missing optional dependency only affects that driver.

When the backend cannot be reached (server down, client library missing),
the factory raises :class:`BackendUnavailable` (or the driver raises
``StorageUnavailable``, or ``is_alive()`` is False). The driver's tests are
then skipped, unless ``ZAQAR_TEST_REQUIRE_SERVICES`` is set (CI sets it to
``1``): then they fail.

``ZAQAR_TEST_DRIVERS`` picks the drivers to run, as a comma-separated list
of registered names (default: all of them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver

Factory = Callable[[Path, ManualClock], DataDriver]

SELECT_ENV = 'ZAQAR_TEST_DRIVERS'
REQUIRE_ENV = 'ZAQAR_TEST_REQUIRE_SERVICES'

_FACTORIES: dict[str, Factory] = {}


class BackendUnavailable(Exception):
    """A factory's backend cannot be reached; the reason is the message."""


def register(name: str, factory: Factory) -> None:
    """Run the contract suite against the drivers ``factory`` builds."""
    if name in _FACTORIES:
        raise ValueError(f'contract driver {name!r} is already registered')
    _FACTORIES[name] = factory


def selected_names() -> list[str]:
    """Return the driver names chosen by ``ZAQAR_TEST_DRIVERS``.

    Raises:
        pytest.UsageError: The variable names an unregistered driver.
    """
    wanted = [
        name.strip()
        for name in os.environ.get(SELECT_ENV, '').split(',')
        if name.strip()
    ]
    unknown = [name for name in wanted if name not in _FACTORIES]
    if unknown:
        raise pytest.UsageError(
            f'{SELECT_ENV} names unregistered drivers {unknown}; registered: '
            f'{sorted(_FACTORIES)} (see tests/contract/drivers.py)'
        )
    return wanted or list(_FACTORIES)


def services_required() -> bool:
    """Tell whether an unreachable backend must fail rather than skip."""
    value = os.environ.get(REQUIRE_ENV, '').strip().lower()
    return value not in ('', '0', 'false', 'no')


def build(name: str, tmp_path: Path, clock: ManualClock) -> DataDriver:
    """Build the driver registered as ``name``, or skip/fail if unreachable."""
    try:
        driver = _FACTORIES[name](tmp_path, clock)
    except (BackendUnavailable, errors.StorageUnavailable) as ex:
        _unavailable(name, str(ex))
    if not driver.is_alive():
        driver.close()
        _unavailable(name, 'is_alive() returned False')
    return driver


def _unavailable(name: str, reason: str) -> NoReturn:
    message = f'storage driver {name!r} is unavailable: {reason}'
    if services_required():
        pytest.fail(f'{message} ({REQUIRE_ENV} is set)', pytrace=False)
    pytest.skip(message)


def _sqlite(tmp_path: Path, clock: ManualClock) -> DataDriver:
    from zaqar.storage.sqlite.driver import SqliteDriver

    return SqliteDriver(database=str(tmp_path / 'contract.db'), clock=clock)


register('sqlite', _sqlite)
