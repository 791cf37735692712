"""Health: ``GET /v2/health``, admin only."""

from __future__ import annotations

from typing import Any

import falcon

from zaqar.transport import representation
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi.resource import Resource

ADMIN_ROLE = 'admin'


def require_admin(
    req: falcon.Request, resp: falcon.Response, resource: object, params: Any
) -> None:
    """Refuse callers whose ``X-Roles`` lack the admin role (403)."""
    roles = req.get_header('X-Roles') or ''
    if ADMIN_ROLE not in {role.strip().lower() for role in roles.split(',')}:
        raise errors.forbidden()


class Health(Resource):
    """Report storage reachability and the caller's message volume."""

    @falcon.before(require_admin)
    @errors.failure_description('Health status could not be read.')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``storage_reachable`` and, if reachable, ``message_volume``."""
        report = self._ops.health.report(req.context.project_id)
        resp.media = representation.health(report)
