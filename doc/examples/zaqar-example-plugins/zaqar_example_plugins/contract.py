"""Pytest plugin: zaqar's storage contract suite on ``example_sqlite``.

The contract suite lives in zaqar's source tree (``tests/contract``) and
builds its drivers through the registry in ``tests/contract/drivers.py``.
This plugin adds this package's driver to that registry, so from a zaqar
checkout, with this package installed::

    ZAQAR_TEST_DRIVERS=example_sqlite \\
        python -m pytest -p zaqar_example_plugins.contract tests/contract

runs every contract test against it (``python -m`` puts the checkout on
``sys.path``, which the import below needs).
"""

from __future__ import annotations

from pathlib import Path

from tests.contract import drivers
from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar_example_plugins import driver


def build(tmp_path: Path, clock: ManualClock) -> DataDriver:
    """Build a new, empty driver in ``tmp_path`` through the factory."""
    conf = zaqar_conf.new_conf([], default_config_files=[])
    driver.register_opts(conf)
    conf.set_override('uri', (tmp_path / 'contract.db').as_uri(), group=driver.GROUP)
    return driver.create_driver(conf, clock)


drivers.register(driver.NAME, build)
