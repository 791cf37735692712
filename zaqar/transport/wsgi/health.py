"""Health: ``GET /v2/health``, admin only (policy rule ``health:get``)."""

from __future__ import annotations

import falcon

from zaqar.transport import policy
from zaqar.transport import representation
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi.resource import Resource


class Health(Resource):
    """Report storage reachability and the caller's message volume."""

    # NOTE: who may call it is the policy's to say: "health:get" defaults to
    # the admin role, as upstream.
    @policy.enforce('health:get')
    @errors.failure_description('Health status could not be read.')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``storage_reachable`` and, if reachable, ``message_volume``."""
        report = self._ops.health.report(req.context.project_id)
        resp.media = representation.health(report)
