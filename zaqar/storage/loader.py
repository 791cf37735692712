"""Find and build the configured storage driver through its entry point."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception

from zaqar.common.clock import Clock
from zaqar.common.text import describe_exception
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
        ConfigurationError: No such entry point, several, one that fails to
            import or names no factory, a factory that rejects the
            configuration or fails, or one that returns no driver.
    """
    name = conf.drivers.message_store
    where = f'[drivers] message_store = {name!r}'
    factory = _find(name, where)
    try:
        driver = factory(conf, clock)
    except errors.ConfigurationError:
        raise
    except (Exception, SystemExit) as ex:
        # NOTE: an operator must see which driver failed, not a traceback.
        raise errors.ConfigurationError(
            f'{where}: the driver failed to start: {type(ex).__name__}: '
            f'{describe_exception(ex)}'
        ) from ex
    if not isinstance(driver, DataDriver):
        raise errors.ConfigurationError(
            f'{where}: the driver factory returned {type(driver).__name__}, '
            f'not a zaqar.storage.base.DataDriver'
        )
    return driver


def _find(name: str, where: str) -> DriverFactory:
    try:
        manager: stevedore_driver.DriverManager[Any] = stevedore_driver.DriverManager(
            NAMESPACE, name, invoke_on_load=False, on_load_failure_callback=_raise
        )
    except stevedore_exception.NoMatches:
        raise errors.ConfigurationError(
            f'{where} names no installed storage driver (no entry point '
            f'{name!r} in the {NAMESPACE} group)'
        ) from None
    except stevedore_exception.MultipleMatches:
        raise errors.ConfigurationError(
            f'{where} is ambiguous: several installed packages register '
            f'{name!r} in the {NAMESPACE} group; uninstall all but one'
        ) from None
    except SystemExit as ex:
        raise errors.ConfigurationError(
            f'{where}: the driver called sys.exit({ex.code!r}) while being imported'
        ) from ex
    factory = manager.driver
    if not callable(factory):
        raise errors.ConfigurationError(
            f'{where}: its entry point names {factory!r}, which is not a '
            f'factory taking (conf, clock)'
        )
    return factory


def _raise(manager: object, entrypoint: Any, ex: BaseException) -> None:
    raise errors.ConfigurationError(
        f'[drivers] message_store = {entrypoint.name!r}: the driver could not be '
        f'imported from {entrypoint.value}: '
        f'{type(ex).__name__}: {describe_exception(ex)}'
    ) from ex
