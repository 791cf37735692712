"""Composition root: turns a configuration into a ready storage stack."""

from __future__ import annotations

from oslo_config import cfg

from zaqar.common.clock import Clock
from zaqar.common.clock import SystemClock
from zaqar.storage import loader
from zaqar.storage.base import DataDriver


def load_storage(conf: cfg.ConfigOpts, clock: Clock | None = None) -> DataDriver:
    """Build the configured storage driver.

    Args:
        conf: A configuration registered with :func:`zaqar.conf.register_all`.
        clock: Source of "now"; the system clock by default.
    """
    return loader.load_driver(conf, clock or SystemClock())
