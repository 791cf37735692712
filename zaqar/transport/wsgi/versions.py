"""The versions document: ``GET /`` (doc/http-api.md, "Versions and routes")."""

from __future__ import annotations

from typing import Any

import falcon

VERSIONS: dict[str, Any] = {
    'versions': [
        {
            'id': '2',
            'status': 'CURRENT',
            'updated': '2014-9-24T04:06:47Z',
            'media-types': [
                {
                    'base': 'application/json',
                    'type': 'application/vnd.openstack.messaging-v2+json',
                }
            ],
            'links': [{'href': '/v2/', 'rel': 'self'}],
        }
    ]
}


class Versions:
    """List the API versions; public (no Client-ID or project needed)."""

    public = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer 300 Multiple Choices with the versions document."""
        resp.status = falcon.HTTP_300
        resp.media = VERSIONS
