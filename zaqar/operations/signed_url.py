"""Pre-signed URLs: sign a grant of methods on paths, and check one.

The signature is bit-for-bit upstream Zaqar's, so URLs signed by either
service verify on the other given the same secret: HMAC-SHA256 over the
sorted paths, the sorted methods, the project and the expiry, joined by the
two characters backslash and ``n`` (upstream uses a raw string there).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed

# NOTE: literally backslash + n, not a newline; see the module docstring.
_SEPARATOR = '\\n'
EXPIRES_FORMAT = '%Y-%m-%dT%H:%M:%S'


@dataclasses.dataclass(frozen=True)
class Grant:
    """What a pre-signed URL allows, until when, in which project."""

    paths: tuple[str, ...]
    methods: tuple[str, ...]
    project: str
    expires: datetime.datetime

    @classmethod
    def of(
        cls,
        paths: Sequence[str],
        methods: Sequence[str],
        project: str,
        expires: datetime.datetime,
    ) -> Grant:
        """Build a grant with sorted paths and methods, expiry to the second."""
        return cls(
            tuple(sorted(paths)),
            tuple(sorted(methods)),
            project,
            expires.replace(microsecond=0),
        )

    @property
    def expires_text(self) -> str:
        """The expiry as signed and sent: UTC, no zone suffix."""
        return self.expires.astimezone(datetime.UTC).strftime(EXPIRES_FORMAT)

    def signature(self, secret: str) -> str:
        """Return the hex HMAC-SHA256 of this grant under ``secret``."""
        text = _SEPARATOR.join(
            (
                ','.join(self.paths),
                ','.join(self.methods),
                self.project,
                self.expires_text,
            )
        )
        return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()

    def allows(self, method: str, path: str) -> bool:
        """Tell whether the grant covers ``method`` on ``path``.

        A granted path also covers the paths below it, so a grant on
        ``/v2/queues/q/messages`` covers ``/v2/queues/q/messages/<id>``.
        """
        return method in self.methods and any(
            path == granted or path.startswith(granted.rstrip('/') + '/')
            for granted in self.paths
        )


def parse_expires(text: str) -> datetime.datetime:
    """Parse an ISO-8601 expiry; a value without a zone is UTC.

    Raises:
        ValueError: Not an ISO-8601 date and time (bare numbers included).
    """
    if text.strip().lstrip('+-').isdigit():
        raise ValueError(f'{text!r} is a number, not an ISO-8601 time')
    moment = datetime.datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:
        # e.g. 9999-12-31T23:59:59-05:00, which is past datetime.max in UTC
        raise ValueError(f'{text!r} is out of range') from None


def verify(
    secret: str,
    signature: str,
    grant: Grant,
    method: str,
    path: str,
    now: datetime.datetime,
) -> bool:
    """Tell whether ``signature`` proves ``grant`` and it covers the request."""
    expected = grant.signature(secret)
    # NOTE: bytes, because compare_digest refuses non-ASCII str and the
    # header is whatever the client sent.
    return (
        hmac.compare_digest(expected.encode(), signature.encode('utf-8', 'replace'))
        and grant.expires > now
        and grant.allows(method, path)
    )


SHAREABLE_PATHS = ('messages', 'subscriptions', 'claims')
HTTP_METHODS = ('GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE')
DEFAULT_LIFETIME = datetime.timedelta(days=1)
_SHARE_KEYS = {'paths', 'methods', 'expires'}


def grant_from_body(
    document: object, queue_href: str, project: str, now: datetime.datetime
) -> Grant:
    """Validate a ``POST .../share`` body and build the grant it asks for.

    Args:
        document: The parsed JSON body.
        queue_href: The queue's path, e.g. ``/v2/queues/q``.
        project: The caller's project.
        now: The current time (timezone-aware).

    Raises:
        ValidationFailed: The body breaks a rule of the share request (see
            the API description, ``POST /v2/queues/{queue_name}/share``).
    """
    if not isinstance(document, dict):
        raise InvalidBody('Document type not supported.')
    unknown = set(document) - _SHARE_KEYS
    if unknown:
        raise ValidationFailed(f'Unknown keys: {sorted(unknown)}')
    paths = _string_list(document, 'paths', ['messages'])
    invalid = [path for path in paths if path not in SHAREABLE_PATHS]
    if invalid or not paths:
        raise ValidationFailed(
            f'Invalid paths: {invalid}; allowed: {list(SHAREABLE_PATHS)}.'
        )
    methods = [method.upper() for method in _string_list(document, 'methods', ['GET'])]
    if not methods or not set(methods) <= set(HTTP_METHODS):
        raise ValidationFailed(f'Methods must be a list of {list(HTTP_METHODS)}.')
    expires = _expires(document.get('expires'), now)
    return Grant.of(
        [f'{queue_href}/{path}' for path in set(paths)],
        sorted(set(methods)),
        project,
        expires,
    )


def _string_list(document: dict[str, Any], key: str, default: list[str]) -> list[str]:
    value = document.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(f'The "{key}" field must be a list of strings.')
    return value


def _expires(value: object, now: datetime.datetime) -> datetime.datetime:
    if value is None:
        return now + DEFAULT_LIFETIME
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        expires = parse_expires(value)
    except ValueError:
        raise ValidationFailed(
            'The "expires" field must be an ISO 8601 date and time.'
        ) from None
    if expires <= now:
        raise ValidationFailed('The "expires" time must be in the future.')
    return expires
