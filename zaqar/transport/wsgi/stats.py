"""Queue statistics: ``GET /v2/queues/{queue_name}/stats`` (fact sheet §4.8)."""

from __future__ import annotations

import falcon

from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import representation


class Stats:
    """Message counts of a queue; a missing queue has all zeros.

    Args:
        storage: The storage driver.
    """

    def __init__(self, storage: DataDriver) -> None:
        self._storage = storage

    @errors.failure_description('Queue stats could not be read.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Return free, claimed and total counts, oldest and newest."""
        record = self._storage.queues.stats(queue_name, req.context.project_id)
        resp.media = representation.stats(record, queue_name)
