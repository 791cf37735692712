"""Apps with authentication, policy or CORS options, for the HTTP tests.

Test modules import the fixtures ``make_app_fixture`` and
``sqlite_storage_fixture``, which pytest then knows as ``make_app`` and
``sqlite_storage``.

These options belong to libraries (keystonemiddleware registers
``[keystone_authtoken]`` only when it is built), so they are given as a
configuration file, as an operator would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Config
from tests.server.conftest import write_config
from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import App
from zaqar.transport.wsgi.app import create_app

from ..contract import drivers

Sections = Config


class AppFactory:
    """Builds apps from configuration sections, on one SQLite store.

    Authentication does not depend on the store, so these tests run on
    SQLite only.
    """

    def __init__(self, tmp_path: Path, storage: DataDriver) -> None:
        self._tmp_path = tmp_path
        self._storage = storage
        self._count = 0

    def __call__(self, sections: Sections) -> App:
        self._count += 1
        path = write_config(self._tmp_path / f'zaqar-{self._count}.conf', sections)
        conf = zaqar_conf.new_conf(['--config-file', str(path)])
        return create_app(conf, storage=self._storage)


@pytest.fixture(name='sqlite_storage')
def sqlite_storage_fixture(tmp_path: Path, clock: ManualClock) -> Iterator[DataDriver]:
    """An empty SQLite store."""
    driver = drivers.build('sqlite', tmp_path, clock)
    yield driver
    driver.close()


@pytest.fixture(name='make_app')
def make_app_fixture(tmp_path: Path, sqlite_storage: DataDriver) -> AppFactory:
    """Build apps from configuration sections."""
    return AppFactory(tmp_path, sqlite_storage)
