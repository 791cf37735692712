"""Composition root: turns a configuration into a ready storage stack."""

from __future__ import annotations

from oslo_config import cfg

from zaqar import pipeline
from zaqar.common.clock import Clock
from zaqar.common.clock import SystemClock
from zaqar.storage import loader
from zaqar.storage.base import DataDriver


def load_storage(conf: cfg.ConfigOpts, clock: Clock | None = None) -> DataDriver:
    """Build the configured storage driver behind its pipeline stages.

    The result runs the stages of ``[storage] *_pipeline`` before the
    driver named by ``[drivers] message_store``; with no stage configured it
    is that driver itself.

    Args:
        conf: A configuration registered with :func:`zaqar.conf.register_all`.
        clock: Source of "now"; the system clock by default.

    Raises:
        ConfigurationError: A stage or the driver cannot be loaded or
            rejects its configuration.
    """
    # Stages first: they open nothing, so a bad stage leaves no driver to
    # close behind it.
    pipelines = pipeline.load_pipelines(conf)
    driver = loader.load_driver(conf, clock or SystemClock())
    return pipeline.wrap(driver, pipelines)
