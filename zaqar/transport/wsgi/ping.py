"""Ping: ``GET|HEAD /v2/ping`` (fact sheet §3.2)."""

from __future__ import annotations

import falcon

from zaqar.storage.base import DataDriver


class Ping:
    """Tell whether the service (and, for GET, its storage) is up.

    Args:
        storage: The storage driver.
    """

    def __init__(self, storage: DataDriver) -> None:
        self._storage = storage

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer 204 when storage is reachable, else an empty 503."""
        alive = self._storage.is_alive()
        resp.status = falcon.HTTP_204 if alive else falcon.HTTP_503

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer 204 without touching storage."""
        resp.status = falcon.HTTP_204
