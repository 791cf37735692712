"""Health: ``GET /v2/health``, admin only (fact sheet §3.3)."""

from __future__ import annotations

from typing import Any

import falcon

from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi import errors

ADMIN_ROLE = 'admin'

# Queues read per storage call while adding up the message volume.
_QUEUE_PAGE = 100


def require_admin(
    req: falcon.Request, resp: falcon.Response, resource: object, params: Any
) -> None:
    """Refuse callers whose ``X-Roles`` lack the admin role (403)."""
    roles = req.get_header('X-Roles') or ''
    if ADMIN_ROLE not in {role.strip().lower() for role in roles.split(',')}:
        raise errors.forbidden()


class Health:
    """Report storage reachability and the caller's message volume.

    ``message_volume`` adds up the stats of every queue of the caller's
    project: the storage contract has no cross-project view.

    Args:
        storage: The storage driver.
    """

    def __init__(self, storage: DataDriver) -> None:
        self._storage = storage

    @falcon.before(require_admin)
    @errors.failure_description('Health status could not be read.')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return ``storage_reachable`` and, if reachable, ``message_volume``."""
        document: dict[str, Any] = {'storage_reachable': self._storage.is_alive()}
        if document['storage_reachable']:
            document['message_volume'] = self._volume(req.context.project_id)
        resp.media = document

    def _volume(self, project: str) -> dict[str, int]:
        volume = {'free': 0, 'claimed': 0, 'total': 0}
        marker = None
        while True:
            page = self._storage.queues.list(project, marker=marker, limit=_QUEUE_PAGE)
            for info in page:
                stats = self._storage.queues.stats(info.name, project)
                volume['free'] += stats.free
                volume['claimed'] += stats.claimed
                volume['total'] += stats.total
            if len(page) < _QUEUE_PAGE:
                return volume
            marker = page[-1].name
