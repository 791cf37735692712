"""Example zaqar extensions, registered through entry points.

* ``example_audit`` (:class:`~zaqar_example_plugins.stages.QueueAudit`): a
  stage that logs queue creations and deletions.
* ``example_reserved_names``
  (:class:`~zaqar_example_plugins.stages.ReservedQueueGuard`): a stage that
  keeps queues with reserved names from being deleted.
* ``example_sqlite`` (:func:`~zaqar_example_plugins.driver.create_driver`): a
  storage driver configured by a ``file://`` URI.
"""

from __future__ import annotations

from oslo_config import cfg

from zaqar_example_plugins import driver
from zaqar_example_plugins import stages


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """List this package's options by group, for oslo-config-generator."""
    return [
        (stages.GUARD_GROUP, list(stages.GUARD_OPTS)),
        (driver.GROUP, list(driver.OPTS)),
    ]
