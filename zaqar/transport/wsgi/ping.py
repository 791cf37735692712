"""Ping: ``GET|HEAD /v2/ping``."""

from __future__ import annotations

import falcon

from zaqar.transport import policy
from zaqar.transport.wsgi.resource import Resource


class Ping(Resource):
    """Tell whether the service (and, for GET, its storage) is up."""

    @policy.enforce('ping:get')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer 204 when storage is reachable, else an empty 503."""
        resp.status = falcon.HTTP_204 if self._ops.health.ping() else falcon.HTTP_503

    @policy.enforce('ping:get')
    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer 204 without touching storage."""
        resp.status = falcon.HTTP_204
