"""Pre-signed URLs: sign a grant on a queue's paths; check a request's."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from zaqar.common.clock import Clock
from zaqar.operations import signed_url
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.signed_url import Grant

QUEUES_PREFIX = '/v2/queues'


class SharingOperations:
    """Sign grants and verify them, with ``[signed_url] secret_key``.

    Nothing is stored: the signature alone proves a grant.

    Args:
        secret: The signing secret; None refuses to sign and verifies
            nothing.
        clock: Source of "now" for expiries.
    """

    def __init__(self, secret: str | None, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._clock.now(), datetime.UTC)

    def _signing_secret(self) -> str:
        """The secret to sign with; refuses when none is configured."""
        if not self._secret:
            raise ValidationFailed(
                "The `key` can't be None: this server has no [signed_url] secret_key."
            )
        return self._secret

    def sign(self, queue: str, project: str, document: object) -> tuple[Grant, str]:
        """Sign the grant ``document`` asks for on ``queue``.

        The queue is not created.

        Returns:
            The grant and its signature.

        Raises:
            ValidationFailed: No secret is configured, or the document
                breaks a rule of the share request.
        """
        secret = self._signing_secret()
        grant = signed_url.grant_from_body(
            document, f'{QUEUES_PREFIX}/{queue}', project, self._now()
        )
        return grant, grant.signature(secret)

    def grant(
        self,
        paths: Sequence[str],
        methods: Sequence[str],
        project: str,
        expires: datetime.datetime,
    ) -> tuple[Grant, str]:
        """Sign a grant the service itself makes (confirmation links).

        Raises:
            ValidationFailed: No secret is configured.
        """
        secret = self._signing_secret()
        grant = Grant.of(paths, methods, project, expires)
        return grant, grant.signature(secret)

    def expiry_in(self, seconds: float) -> datetime.datetime:
        """The time ``seconds`` from now, on the service's clock."""
        return self._now() + datetime.timedelta(seconds=seconds)

    def verify(
        self,
        signature: str,
        expires: str,
        paths: Sequence[str],
        methods: Sequence[str],
        project: str,
        method: str,
        path: str,
    ) -> bool:
        """Tell whether a presented signature grants ``method`` on ``path``.

        Args:
            signature: The signature presented.
            expires: The expiry presented, as text.
            paths: The granted paths presented.
            methods: The granted methods presented.
            project: The project the request acts in (the text ``None``
                when it names none, as upstream signs it).
            method: The request's method.
            path: The request's path.
        """
        if not self._secret:
            return False
        try:
            expiry = signed_url.parse_expires(expires)
        except ValueError:
            return False
        grant = Grant.of(paths, methods, project, expiry)
        return signed_url.verify(
            self._secret, signature, grant, method, path, self._now()
        )
