"""Pre-signed URLs: the share endpoint and the check of ``URL-*`` headers.

``POST /v2/queues/{queue_name}/share`` signs grants; :class:`SignatureCheck`
is the first request check, before the Client-ID and project checks, as
upstream orders them.
"""

from __future__ import annotations

from typing import Any

import falcon

from zaqar.operations.sharing import SharingOperations
from zaqar.operations.validation import Validator
from zaqar.transport import policy
from zaqar.transport import representation
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi.resource import Resource


class Share(Resource):
    """Sign a grant of methods on some of a queue's paths."""

    @policy.enforce('queues:share')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Return the signed grant the body asks for."""
        document = media.read_json(req, required=True)
        grant, signature = self._ops.sharing.sign(
            queue_name, req.context.project_id, document
        )
        resp.media = representation.signed_grant(grant, signature)


class SignatureCheck:
    """Request check: a request with ``URL-Signature`` must prove its grant.

    Requests without the header pass untouched. Any failure (no secret
    configured, bad or expired signature, method or path not granted) is a
    bare 404, as upstream: a guessed URL learns nothing.

    Args:
        sharing: The operations that verify signatures.
    """

    def __init__(self, sharing: SharingOperations) -> None:
        self._sharing = sharing

    def __call__(
        self, req: falcon.Request, params: dict[str, Any], validator: Validator
    ) -> None:
        """Raise 404 unless the request carries no signature or a valid one."""
        signature = req.get_header('URL-Signature')
        if signature is None:
            return
        proven = self._sharing.verify(
            signature,
            req.get_header('URL-Expires') or '',
            _header_list(req, 'URL-Paths'),
            _header_list(req, 'URL-Methods'),
            # NOTE: the project the request will act in, as the project check
            # reads it; upstream signs the text "None" when there is none.
            req.context.identity.project_id or 'None',
            req.method,
            req.path,
        )
        if not proven:
            raise falcon.HTTPNotFound()


def _header_list(req: falcon.Request, name: str) -> list[str]:
    value = req.get_header(name) or ''
    return [item.strip() for item in value.split(',') if item.strip()]
