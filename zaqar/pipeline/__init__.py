"""The storage pipeline: stages run in front of the storage driver.

``[storage] queue_pipeline``, ``message_pipeline``, ``claim_pipeline`` and
``subscription_pipeline`` list stage names, entry points in the
``zaqar.storage.stages`` group. :func:`load_pipelines` loads and checks
them; :func:`wrap` puts them in front of a driver, returning a data driver
whose controllers run the stages, in order, then the driver's. See
``doc/writing-a-stage.md``.
"""

from __future__ import annotations

from zaqar.pipeline.loader import NAMESPACE
from zaqar.pipeline.loader import load_pipelines
from zaqar.pipeline.pipeline import Pipeline
from zaqar.pipeline.pipeline import PipelineDriver
from zaqar.pipeline.pipeline import Pipelines
from zaqar.storage.base import DataDriver

__all__ = [
    'NAMESPACE',
    'Pipeline',
    'PipelineDriver',
    'Pipelines',
    'load_pipelines',
    'unwrapped',
    'wrap',
]


def wrap(driver: DataDriver, pipelines: Pipelines) -> DataDriver:
    """Put ``pipelines`` in front of ``driver``.

    With no stage configured the driver itself is returned: an empty
    pipeline is the driver alone, and this way it costs nothing.
    """
    if pipelines.empty:
        return driver
    _bind_storage(driver, pipelines)
    return PipelineDriver(driver, pipelines)


def _bind_storage(driver: DataDriver, pipelines: Pipelines) -> None:
    """Give each stage that asks for it (``bind_storage``) the driver."""
    for stage_pipeline in pipelines.all():
        for stage in stage_pipeline.stage_objects:
            bind = getattr(stage, 'bind_storage', None)
            if callable(bind):
                bind(driver)


def unwrapped(storage: DataDriver) -> DataDriver:
    """The storage driver behind the pipeline (``storage`` if none).

    For what the service does internally (notification deliveries), which
    runs no stage.
    """
    return storage.driver if isinstance(storage, PipelineDriver) else storage
