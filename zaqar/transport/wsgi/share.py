"""Pre-signed URLs: the share endpoint and the check of ``URL-*`` headers.

``POST /v2/queues/{queue_name}/share`` signs grants (fact sheet §4.10);
:class:`SignatureCheck` is the first request check (§1.2 item 1).
"""

from __future__ import annotations

import datetime
from typing import Any

import falcon

from zaqar.common.clock import Clock
from zaqar.transport import signed_url
from zaqar.transport.validation import ValidationFailed
from zaqar.transport.validation import Validator
from zaqar.transport.wsgi import hooks
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi import representation


def _now(clock: Clock) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(clock.now(), datetime.UTC)


class Share:
    """Sign a grant of methods on some of a queue's paths.

    The queue is not created by this call, and nothing is stored: the
    signature alone proves the grant.

    Args:
        secret: ``[signed_url] secret_key``; None refuses every request.
        clock: Source of "now" for the default and minimum expiry.
    """

    def __init__(self, secret: str | None, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Return the signed grant the body asks for."""
        if not self._secret:
            raise ValidationFailed(
                "The `key` can't be None: this server has no [signed_url] secret_key."
            )
        grant = signed_url.grant_from_body(
            media.read_small_json(req, required=True),
            representation.queue_href(queue_name),
            req.context.project_id,
            _now(self._clock),
        )
        resp.media = {
            'paths': list(grant.paths),
            'methods': list(grant.methods),
            'project': grant.project,
            'expires': grant.expires_text,
            'signature': grant.signature(self._secret),
        }


class SignatureCheck:
    """Request check: a request with ``URL-Signature`` must prove its grant.

    Requests without the header pass untouched. Any failure (no secret
    configured, bad or expired signature, method or path not granted) is a
    bare 404, as upstream: a guessed URL learns nothing.

    Args:
        secret: ``[signed_url] secret_key``.
        clock: Source of "now" for the expiry.
    """

    def __init__(self, secret: str | None, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock

    def __call__(
        self, req: falcon.Request, params: dict[str, Any], validator: Validator
    ) -> None:
        """Raise 404 unless the request carries no signature or a valid one."""
        signature = req.get_header('URL-Signature')
        if signature is None:
            return
        if not (self._secret and self._proves(req, signature, self._secret)):
            raise falcon.HTTPNotFound()

    def _proves(self, req: falcon.Request, signature: str, secret: str) -> bool:
        try:
            expires = signed_url.parse_expires(req.get_header('URL-Expires') or '')
        except ValueError:
            return False
        grant = signed_url.Grant.of(
            _header_list(req, 'URL-Paths'),
            _header_list(req, 'URL-Methods'),
            # NOTE: the project the request will act in, read as the project
            # check reads it; upstream signs the text "None" when there is none.
            hooks.project_header(req) or 'None',
            expires,
        )
        return signed_url.verify(
            secret, signature, grant, req.method, req.path, _now(self._clock)
        )


def _header_list(req: falcon.Request, name: str) -> list[str]:
    value = req.get_header(name) or ''
    return [item.strip() for item in value.split(',') if item.strip()]
