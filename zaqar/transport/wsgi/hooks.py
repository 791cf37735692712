"""Request checks run on every routed request, in the upstream order.

The checks run after routing (so unknown paths and methods are answered 404
and 405 first) and before the responder. Each is one small function; their
order in :data:`CHECKS` decides which error a request with several problems
gets: form bodies, then Accept, Client-ID, project, and the queue name, as
upstream orders them (after the pre-signed URL check, see ``share.py``).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import falcon

from zaqar.operations.errors import ValidationFailed
from zaqar.operations.validation import Validator

LOG = logging.getLogger(__name__)

FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'
PROJECT_HEADERS = ('X-Project-ID', 'X-Tenant-Id', 'X-Tenant')
_CONTROL_CHARACTERS = re.compile('[\x00-\x1f\x7f]')

Check = Callable[[falcon.Request, dict[str, Any], Validator], None]


def reject_form_urlencoded(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Refuse form-encoded bodies: every endpoint speaks JSON."""
    media_type = (req.content_type or '').split(';', 1)[0].strip().lower()
    if req.content_length and media_type == FORM_MEDIA_TYPE:
        raise falcon.HTTPBadRequest(
            title='Invalid Content-Type',
            description=f'Content-Type "{FORM_MEDIA_TYPE}" is not supported; '
            'send "application/json" bodies.',
        )


def require_accepts_json(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Refuse clients that cannot read JSON answers."""
    # NOTE: client_accepts() treats a malformed Accept header as "no".
    if not req.client_accepts_json:
        raise falcon.HTTPNotAcceptable(
            description='Endpoint only serves `application/json`; specify '
            'client-side media type support with the "Accept" header.',
        )


def require_client_id(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Require a valid Client-ID and keep its canonical form in the context."""
    value = req.get_header('Client-ID')
    if value is None:
        raise falcon.HTTPMissingHeader('Client-ID')
    try:
        req.context.client_id = validator.client_id(value)
    except ValidationFailed as ex:
        if validator.limits.client_id_uuid_safe == 'strict':
            raise falcon.HTTPBadRequest(
                title='Wrong UUID value', description=str(ex)
            ) from None
        raise falcon.HTTPBadRequest(title=str(ex)) from None


def project_header(req: falcon.Request) -> str | None:
    """Return the request's project: the first of PROJECT_HEADERS present."""
    for header in PROJECT_HEADERS:
        project = req.get_header(header)
        if project is not None:
            return project
    return None


def require_project_id(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Require a non-empty project header and keep it in the context."""
    project = project_header(req)
    if project is None:
        raise falcon.HTTPBadRequest(
            title='Project-Id Missing',
            description='The header X-PROJECT-ID was missing',
        )
    if not project:
        raise falcon.HTTPBadRequest(
            title='Empty project header not allowed',
            description='X-PROJECT-ID cannot be an empty string. Specify the '
            'right header X-PROJECT-ID and retry.',
        )
    if _CONTROL_CHARACTERS.search(project):
        # NOTE: storage reserves project names with control characters for
        # itself (topics, notification deliveries); no client sends them.
        raise falcon.HTTPBadRequest(
            title='Invalid project',
            description='X-PROJECT-ID cannot contain control characters.',
        )
    req.context.project_id = project


def validate_queue_identification(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Check the queue (or topic) name and project id on routes naming one.

    Topic routes name ``{topic_name}``; once checked, it is handed to the
    responders as ``queue_name``, since the same resources serve both.
    """
    for field, noun in (('queue_name', 'queue'), ('topic_name', 'topic')):
        if field in params:
            _check_identification(req, params[field], noun, validator)
    if 'topic_name' in params:
        params['queue_name'] = params.pop('topic_name')


def _check_identification(
    req: falcon.Request, name: str, noun: str, validator: Validator
) -> None:
    try:
        validator.queue_identification(name, req.context.project_id)
    except ValidationFailed as ex:
        LOG.debug('Invalid %s identification: %s', noun, ex)
        raise falcon.HTTPBadRequest(
            title=f'Invalid {noun} identification',
            description=f'The format of the submitted {noun} name or project id '
            'is not valid.',
        ) from None


# NOTE: order matters. The project check relies on nothing before it, but the
# queue check reads the project id stored by require_project_id.
CHECKS: tuple[Check, ...] = (
    reject_form_urlencoded,
    require_accepts_json,
    require_client_id,
    require_project_id,
    validate_queue_identification,
)


class RequestId:
    """Falcon middleware tagging every response with a request id.

    The ``x-openstack-request-id`` header (``req-<uuid>``) lets a client
    quote a request to an operator; upstream adds it with oslo middleware.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Give the request its id, for logs."""
        req.context.request_id = f'req-{uuid.uuid4()}'

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        """Send the id back, on errors too."""
        resp.set_header('x-openstack-request-id', req.context.request_id)


class RequestChecks:
    """Falcon middleware running :data:`CHECKS` before each responder.

    Resources with a true ``public`` attribute (the versions document) are
    exempt, and so are methods a resource does not implement, so that Falcon
    answers them 405 (or its default OPTIONS reply) first.

    Args:
        validator: Validator holding the configured limits.
        checks: The checks, in order.
    """

    def __init__(
        self, validator: Validator, checks: tuple[Check, ...] = CHECKS
    ) -> None:
        self._validator = validator
        self._checks = checks

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Run every check unless the request is exempt."""
        if resource is None or getattr(resource, 'public', False):
            return
        if not hasattr(resource, f'on_{req.method.lower()}'):
            return
        for check in self._checks:
            check(req, params, self._validator)
