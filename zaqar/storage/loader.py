"""Find and build the configured storage driver through its entry point."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception

from zaqar.common.clock import Clock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver

LOG = logging.getLogger(__name__)

NAMESPACE = 'zaqar.data.storage'

# A driver plugin is a factory: it reads and validates its own option group
# ``[drivers:message_store:<name>]`` from ``conf`` and returns a driver.
DriverFactory = Callable[[cfg.ConfigOpts, Clock], DataDriver]


def load_driver(conf: cfg.ConfigOpts, clock: Clock) -> DataDriver:
    """Build the driver named by ``[drivers] message_store``.

    Raises:
        ConfigurationError: No such entry point, it failed to import, or its
            factory rejected the configuration.
    """
    name = conf.drivers.message_store
    try:
        manager: stevedore_driver.DriverManager[Any] = stevedore_driver.DriverManager(
            NAMESPACE, name, invoke_on_load=False, on_load_failure_callback=_raise
        )
    except stevedore_exception.NoMatches:
        raise errors.ConfigurationError(
            f'[drivers] message_store = {name!r} names no installed storage '
            f'driver (no entry point {name!r} in the {NAMESPACE} group)'
        ) from None
    factory: DriverFactory = manager.driver
    return factory(conf, clock)


def _raise(manager: object, entrypoint: object, ex: BaseException) -> None:
    raise errors.ConfigurationError(
        f'storage driver {entrypoint} could not be loaded: {ex}'
    ) from ex
