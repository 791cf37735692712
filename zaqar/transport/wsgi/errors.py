"""HTTP errors: Zaqar's titles, and one table mapping exceptions to answers.

Responders never catch errors. Each declares, with
:func:`failure_description`, what to tell the client when storage fails;
:data:`ERROR_TABLE` says, one row per exception family, which status and
title answer it, and one handler serves every row. The answers are those of
the API description's error responses (``zaqar/transport/openapi/v2.yaml``).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from typing import Any
from typing import TypeVar

import falcon

from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import NotFound
from zaqar.operations.errors import PatchConflict
from zaqar.operations.errors import ValidationFailed
from zaqar.storage import errors as storage_errors
from zaqar.transport.json_body import PARSE_FAILED

LOG = logging.getLogger(__name__)

_R = TypeVar('_R', bound=Callable[..., Any])

UNAVAILABLE_TITLE = 'Service temporarily unavailable'
RETRY_HINT = ' Please try again in a few seconds.'
# Seconds a client should wait before retrying after a 503: storage outages
# are usually short (a failover, a restart).
RETRY_AFTER = '5'
# Seconds to wait before repeating a post whose idempotency key another
# request holds: a post in flight commits within milliseconds, and one whose
# process died is taken over after a few seconds.
IN_FLIGHT_RETRY_AFTER = '1'
DEFAULT_FAILURE = 'The request could not be completed.'

NOT_AUTHORIZED = 'You are not authorized to complete this action.'
UNABLE_TO_DELETE = 'Unable to delete'


def not_found(description: str) -> falcon.HTTPNotFound:
    """Return a 404 naming the missing resource."""
    return falcon.HTTPNotFound(title='Not found', description=description)


def forbidden() -> falcon.HTTPForbidden:
    """Return the 403 of a failed role check."""
    return falcon.HTTPForbidden(title='Not authorized', description=NOT_AUTHORIZED)


def failure_description(description: str) -> Callable[[_R], _R]:
    """Declare what a responder tells clients when storage fails.

    The text becomes the description of the 503 answer, followed by
    :data:`RETRY_HINT`.

    Args:
        description: One sentence, e.g. "Queue could not be created.".
    """
    return falcon.before(_remember_failure, description)


def _remember_failure(
    req: falcon.Request,
    resp: falcon.Response,
    resource: object,
    params: dict[str, Any],
    description: str,
) -> None:
    req.context.failure_description = description


def serialize_error(
    req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError
) -> None:
    """Write every error body as JSON, whatever the client accepts.

    Clients that do not accept JSON are answered 406 by the request checks;
    the 406 itself and routing errors are still sent as JSON.
    """
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error.to_json()


# Builds an error's description from the request and the exception.
Describe = Callable[[falcon.Request, Exception], str]


def _text(ex: Exception) -> str:
    return str(ex)


@dataclasses.dataclass(frozen=True)
class ErrorRow:
    """How one family of exceptions is answered.

    Attributes:
        exception: The family; the most specific row by the exception's MRO
            answers (Falcon picks it).
        status: The HTTP status line.
        title: The error body's title.
        describe: The error body's description.
        headers: Extra response headers.
        log_level: Log the failure at this level (with the request), or not
            at all when None: the one place a failure is logged is here.
    """

    exception: type[Exception]
    status: str
    title: str
    describe: Describe = lambda req, ex: _text(ex)
    headers: tuple[tuple[str, str], ...] = ()
    log_level: int | None = None


def _fixed(description: str) -> Describe:
    return lambda req, ex: description


def _storage_failure(req: falcon.Request, ex: Exception) -> str:
    description: str = req.context.get('failure_description') or DEFAULT_FAILURE
    return description + RETRY_HINT


def _internal_error(req: falcon.Request, ex: Exception) -> str:
    # NOTE: the client gets a reference to quote, never the traceback.
    reference = uuid.uuid4().hex
    LOG.error(
        'Unexpected error on %s %s (ref %s)',
        req.method,
        req.path,
        reference,
        exc_info=ex,
    )
    return f'An unexpected error occurred (ref {reference}).'


ERROR_TABLE: tuple[ErrorRow, ...] = (
    ErrorRow(Exception, falcon.HTTP_500, 'Internal server error', _internal_error),
    ErrorRow(ValidationFailed, falcon.HTTP_400, 'Invalid API request'),
    ErrorRow(InvalidBody, falcon.HTTP_400, 'Invalid request body'),
    # NOTE: Falcon's own wording ("Invalid JSON") must not reach clients.
    *(
        ErrorRow(
            media_error, falcon.HTTP_400, 'Invalid request body', _fixed(PARSE_FAILED)
        )
        for media_error in (
            falcon.MediaMalformedError,
            falcon.MediaNotFoundError,
            falcon.MediaValidationError,
        )
    ),
    ErrorRow(NotFound, falcon.HTTP_404, 'Not found'),
    ErrorRow(PatchConflict, falcon.HTTP_409, 'Resource conflict'),
    ErrorRow(
        storage_errors.StorageError,
        falcon.HTTP_503,
        UNAVAILABLE_TITLE,
        _storage_failure,
        headers=(('Retry-After', RETRY_AFTER),),
        log_level=logging.ERROR,
    ),
    ErrorRow(storage_errors.DoesNotExist, falcon.HTTP_404, 'Not found'),
    ErrorRow(
        storage_errors.Conflict,
        falcon.HTTP_409,
        'Resource conflict',
        lambda req, ex: f'{ex}; please retry the request.',
    ),
    ErrorRow(
        storage_errors.SubscriptionAlreadyExists, falcon.HTTP_409, 'Resource conflict'
    ),
    # Idempotent posts (http-api.md, "Idempotent posts"): a key reused for
    # another body is the client's mistake, which no retry fixes (422, as
    # the IETF draft says); one whose post is still running is worth a retry
    # soon, when that post has committed (409 with Retry-After).
    ErrorRow(
        storage_errors.IdempotencyKeyReused, falcon.HTTP_422, 'Unprocessable entity'
    ),
    ErrorRow(
        storage_errors.IdempotencyKeyInFlight,
        falcon.HTTP_409,
        'Resource conflict',
        headers=(('Retry-After', IN_FLIGHT_RETRY_AFTER),),
    ),
    # NOTE: not a 501, which python-zaqarclient would take for success.
    ErrorRow(storage_errors.Unsupported, falcon.HTTP_400, 'Invalid API request'),
    ErrorRow(storage_errors.OperationRefused, falcon.HTTP_403, 'Not authorized'),
    ErrorRow(
        storage_errors.MessageIsClaimed,
        falcon.HTTP_403,
        UNABLE_TO_DELETE,
        _fixed(
            'This message is claimed; it cannot be deleted without a valid claim ID.'
        ),
    ),
    ErrorRow(
        storage_errors.MessageNotClaimed,
        falcon.HTTP_400,
        UNABLE_TO_DELETE,
        _fixed('A claim was specified, but the message is not currently claimed.'),
    ),
    ErrorRow(
        storage_errors.InvalidClaimId,
        falcon.HTTP_400,
        UNABLE_TO_DELETE,
        _fixed('The specified claim does not exist or has expired.'),
    ),
)


class _ErrorTable:
    """The one handler: answers an exception as its table row says."""

    def __init__(self, rows: tuple[ErrorRow, ...]) -> None:
        self._rows = {row.exception: row for row in rows}

    def row_for(self, ex: Exception) -> ErrorRow:
        """The row of the most specific family ``ex`` belongs to."""
        for family in type(ex).__mro__:
            row = self._rows.get(family)
            if row is not None:
                return row
        return self._rows[Exception]

    def __call__(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        ex: Exception,
        params: dict[str, Any],
    ) -> None:
        row = self.row_for(ex)
        if row.log_level is not None:
            LOG.log(
                row.log_level,
                '%s on %s %s: %s: %s',
                row.title,
                req.method,
                req.path,
                type(ex).__name__,
                ex,
            )
        raise falcon.HTTPError(
            row.status,
            title=row.title,
            description=row.describe(req, ex),
            headers=dict(row.headers) or None,
        )


def register(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Install the error serializer and the handler of every table row.

    Falcon's own HTTPError and HTTPStatus keep their built-in handlers,
    which are more specific than Exception.
    """
    app.set_error_serializer(serialize_error)
    handler = _ErrorTable(ERROR_TABLE)
    for row in ERROR_TABLE:
        app.add_error_handler(row.exception, handler)
