"""HTTP errors: Zaqar's titles and the one table mapping errors to them.

Responders never catch storage errors. Each declares, with
:func:`failure_description`, what to tell the client when storage fails,
and the handlers registered by :func:`register` do the rest.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from typing import TypeVar

import falcon

from zaqar.storage import errors as storage_errors
from zaqar.transport import json_patch
from zaqar.transport.validation import InvalidBody
from zaqar.transport.validation import ValidationFailed
from zaqar.transport.wsgi.media import PARSE_FAILED

LOG = logging.getLogger(__name__)

_R = TypeVar('_R', bound=Callable[..., Any])
Handler = Callable[[falcon.Request, falcon.Response, Exception, dict[str, Any]], None]

UNAVAILABLE_TITLE = 'Service temporarily unavailable'
RETRY_HINT = ' Please try again in a few seconds.'
DEFAULT_FAILURE = 'The request could not be completed.'

NOT_AUTHORIZED = 'You are not authorized to complete this action.'
UNABLE_TO_DELETE = 'Unable to delete'


def bad_request_api(description: str) -> falcon.HTTPBadRequest:
    """Return a 400 for a request that breaks an API rule."""
    return falcon.HTTPBadRequest(title='Invalid API request', description=description)


def bad_request_body(description: str) -> falcon.HTTPBadRequest:
    """Return a 400 for an unreadable or wrongly shaped body."""
    return falcon.HTTPBadRequest(title='Invalid request body', description=description)


def not_found(description: str) -> falcon.HTTPNotFound:
    """Return a 404 naming the missing resource."""
    return falcon.HTTPNotFound(title='Not found', description=description)


def conflict(description: str) -> falcon.HTTPConflict:
    """Return a 409 for a change that contradicts the stored state."""
    return falcon.HTTPConflict(title='Resource conflict', description=description)


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


def _answer(make: Callable[[Exception], falcon.HTTPError]) -> Handler:
    """Return a handler answering with the error ``make`` builds from ``ex``."""

    def handler(
        req: falcon.Request,
        resp: falcon.Response,
        ex: Exception,
        params: dict[str, Any],
    ) -> None:
        raise make(ex)

    return handler


def _unable_to_delete(
    error: Callable[..., falcon.HTTPError], description: str
) -> Callable[[Exception], falcon.HTTPError]:
    """Build the single-message delete refusals of fact sheet §6.6."""
    return lambda ex: error(title=UNABLE_TO_DELETE, description=description)


def _raise_unavailable(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    description: str = req.context.get('failure_description') or DEFAULT_FAILURE
    LOG.warning('Storage failure on %s %s: %s', req.method, req.path, ex)
    raise falcon.HTTPServiceUnavailable(
        title=UNAVAILABLE_TITLE, description=description + RETRY_HINT
    )


def _raise_internal_error(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    # NOTE: the client gets a reference to quote, never the traceback.
    reference = uuid.uuid4().hex
    LOG.error(
        'Unexpected error on %s %s (ref %s)',
        req.method,
        req.path,
        reference,
        exc_info=ex,
    )
    raise falcon.HTTPInternalServerError(
        title='Internal server error',
        description=f'An unexpected error occurred (ref {reference}).',
    )


# Falcon picks the most specific handler by the exception's MRO, so the
# order here does not matter. Falcon's own HTTPError and HTTPStatus keep
# their built-in handlers, which are more specific than Exception.
ERROR_MAP: tuple[tuple[type[Exception], Handler], ...] = (
    (Exception, _raise_internal_error),
    (ValidationFailed, _answer(lambda ex: bad_request_api(str(ex)))),
    (InvalidBody, _answer(lambda ex: bad_request_body(str(ex)))),
    # NOTE: Falcon's own wording ("Invalid JSON") must not reach clients.
    *(
        (media_error, _answer(lambda ex: bad_request_body(PARSE_FAILED)))
        for media_error in (
            falcon.MediaMalformedError,
            falcon.MediaNotFoundError,
            falcon.MediaValidationError,
        )
    ),
    (json_patch.PatchConflict, _answer(lambda ex: conflict(str(ex)))),
    (storage_errors.StorageError, _raise_unavailable),
    (storage_errors.DoesNotExist, _answer(lambda ex: not_found(str(ex)))),
    (
        storage_errors.Conflict,
        _answer(lambda ex: conflict(f'{ex}; please retry the request.')),
    ),
    (
        storage_errors.OperationRefused,
        _answer(
            lambda ex: falcon.HTTPForbidden(title='Not authorized', description=str(ex))
        ),
    ),
    (
        storage_errors.MessageIsClaimed,
        _answer(
            _unable_to_delete(
                falcon.HTTPForbidden,
                'This message is claimed; it cannot be deleted without a valid '
                'claim ID.',
            )
        ),
    ),
    (
        storage_errors.MessageNotClaimed,
        _answer(
            _unable_to_delete(
                falcon.HTTPBadRequest,
                'A claim was specified, but the message is not currently claimed.',
            )
        ),
    ),
    (
        storage_errors.InvalidClaimId,
        _answer(
            _unable_to_delete(
                falcon.HTTPBadRequest,
                'The specified claim does not exist or has expired.',
            )
        ),
    ),
)


def register(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Install the error serializer and every handler of :data:`ERROR_MAP`."""
    app.set_error_serializer(serialize_error)
    for exception, handler in ERROR_MAP:
        app.add_error_handler(exception, handler)
