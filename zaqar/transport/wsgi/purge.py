"""Queue purge: ``POST /v2/queues/{queue_name}/purge`` (fact sheet §4.9)."""

from __future__ import annotations

import falcon

from zaqar.storage.base import DataDriver
from zaqar.transport.validation import Validator
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media


class Purge:
    """Remove a queue's messages (and subscriptions, which do not exist yet).

    Args:
        storage: The storage driver.
        validator: Validator holding the configured limits.
    """

    def __init__(self, storage: DataDriver, validator: Validator) -> None:
        self._storage = storage
        self._validator = validator

    @errors.failure_description('Queue could not be purged.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Purge the resource types named in the body; all without a body."""
        resources = self._validator.purge_resources(media.read_small_json(req))
        # NOTE: "subscriptions" is accepted for compatibility; this service
        # has no subscriptions, so there is nothing to purge for it.
        if 'messages' in resources:
            self._storage.messages.purge(queue_name, req.context.project_id)
        resp.status = falcon.HTTP_204
