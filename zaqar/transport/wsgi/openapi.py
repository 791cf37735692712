"""The API description: ``GET /v2/openapi.json``.

The description lives in ``zaqar/transport/openapi/v2.yaml``; it is parsed
and rendered as JSON once, when the app is built, so a broken file stops the
server at start-up instead of failing requests.
"""

from __future__ import annotations

import functools
import json

import falcon

from zaqar.transport import openapi


@functools.cache
def _rendered() -> str:
    # Once per process, however many apps are built in it.
    return json.dumps(openapi.load_v2(), ensure_ascii=True)


class OpenAPIDocument:
    """Serve the OpenAPI description as JSON; public, like ``GET /``."""

    # NOTE: clients fetch the description to learn the headers everything
    # else requires, so asking for them here would be circular.
    public = True

    def __init__(self) -> None:
        self._body = _rendered()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Answer the description as ``application/json``."""
        resp.content_type = falcon.MEDIA_JSON
        resp.text = self._body
