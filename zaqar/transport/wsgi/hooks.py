"""Request checks run on every routed request, in the upstream order.

The checks run after routing (so unknown paths and methods are answered 404
and 405 first) and before the responder. Each is one small function; their
order in :data:`CHECKS` decides which error a request with several problems
gets: form bodies, then Accept, Client-ID, project, and the queue name, as
upstream orders them (after the pre-signed URL check, see ``share.py``).
Authentication happened before all of them (``auth.py``); the policy check
(:class:`Authorization`) comes after them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import falcon

from zaqar.operations.errors import ValidationFailed
from zaqar.operations.kinds import Kind
from zaqar.operations.validation import Validator
from zaqar.transport import policy
from zaqar.transport.identity import Identity
from zaqar.transport.identity import Method
from zaqar.transport.identity import split_roles
from zaqar.transport.wsgi import auth
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media

LOG = logging.getLogger(__name__)

FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'
_CONTROL_CHARACTERS = re.compile('[\x00-\x1f\x7f]')

Check = Callable[[falcon.Request, dict[str, Any], Validator], None]


def reject_form_urlencoded(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Refuse form-encoded bodies: every endpoint speaks JSON."""
    if req.content_length and media.media_type(req) == FORM_MEDIA_TYPE:
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


def identity_from_headers(req: falcon.Request) -> Identity:
    """The caller as its headers say, trusted as sent (``noauth``)."""
    return Identity(
        Method.HEADERS,
        project_id=auth.header_project(req.env),
        roles=split_roles(req.get_header('X-Roles')),
        user_id=req.get_header('X-User-Id'),
    )


def require_project_id(
    req: falcon.Request, params: dict[str, Any], validator: Validator
) -> None:
    """Require a non-empty project and keep it in the context.

    The project is the identity's: the validated token's or API key's,
    else the project header's.
    """
    identity: Identity = req.context.identity
    project = identity.project_id
    if project is None:
        raise falcon.HTTPBadRequest(
            title='Project-Id Missing',
            description=(
                'The token is not scoped to a project; use a project-scoped token.'
                if identity.method is Method.KEYSTONE
                else 'The header X-PROJECT-ID was missing'
            ),
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
        """Give the request its id, or keep the one the WSGI layers gave."""
        req.context.request_id = (
            req.env.get(auth.REQUEST_ID_KEY) or auth.new_request_id()
        )

    def process_response(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        """Send the id back, on errors too."""
        resp.set_header(auth.REQUEST_ID_HEADER, req.context.request_id)


class RequestChecks:
    """Falcon middleware running :data:`CHECKS` before each responder.

    Resources with a true ``public`` attribute (the versions document) are
    exempt, and so are methods a resource does not implement, so that Falcon
    answers them 405 (or its default OPTIONS reply) first.

    Before the checks, the caller's identity is put in the context
    (``req.context.identity``): the one the authentication layers found,
    else, with ``trust_headers``, the one the headers claim.

    Args:
        validator: Validator holding the configured limits.
        checks: The checks, in order.
        trust_headers: Take the identity from the headers when no
            authentication layer gave one (``auth_strategy = noauth``).
    """

    def __init__(
        self,
        validator: Validator,
        checks: tuple[Check, ...] = CHECKS,
        trust_headers: bool = True,
    ) -> None:
        self._validator = validator
        self._checks = checks
        self._trust_headers = trust_headers

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Run every check unless the request is exempt."""
        if checked_responder(req, resource) is None:
            return
        identity = req.env.get(auth.IDENTITY_KEY)
        if identity is None:
            if not self._trust_headers:
                # NOTE: only an application built without its
                # authentication layers gets here; refuse rather than trust.
                raise RuntimeError('no authentication layer identified the caller')
            identity = identity_from_headers(req)
        req.context.identity = identity
        for check in self._checks:
            check(req, params, self._validator)


def checked_responder(req: falcon.Request, resource: object) -> object | None:
    """The responder a request reaches, or None when checks do not apply.

    Public resources and methods a resource lacks (answered 405, or
    Falcon's default OPTIONS reply) are not checked.
    """
    if resource is None or getattr(resource, 'public', False):
        return None
    return getattr(resource, f'on_{req.method.lower()}', None)


class Authorization:
    """Falcon middleware enforcing each responder's policy rule.

    Runs after :class:`RequestChecks` (so on a known project), on the rule
    the responder declares with :func:`zaqar.transport.policy.enforce`. A
    refusal is 403 "Not authorized".

    Args:
        authorizer: The policy.
    """

    def __init__(self, authorizer: policy.Authorizer) -> None:
        self._authorizer = authorizer

    def process_resource(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        """Refuse the request unless the policy allows its responder."""
        responder = checked_responder(req, resource)
        if responder is None:
            return
        topic = getattr(resource, 'kind', None) is Kind.TOPIC
        rule = policy.rule_of(responder, topic)
        if not isinstance(rule, str):
            # NOTE: None; create_app refuses responders that declare nothing.
            return
        identity: Identity = req.context.identity
        target = {
            **{key: value for key, value in params.items() if isinstance(value, str)},
            'project_id': identity.project_id,
        }
        if not self._authorizer.allows(rule, identity, target):
            LOG.info(
                'policy refused %s to project %s (user %s, roles %s)',
                rule,
                identity.project_id,
                identity.user_id,
                ','.join(identity.roles) or '-',
            )
            raise errors.forbidden()


def undeclared_responders(resources: list[tuple[str, object]]) -> list[str]:
    """Name every checked responder that declares no policy rule.

    Args:
        resources: ``(path, resource)`` pairs, as routed.
    """
    found = []
    for path, resource in resources:
        if getattr(resource, 'public', False):
            continue
        for name in dir(resource):
            if (
                name.startswith('on_')
                and policy.rule_of(getattr(resource, name)) is policy.UNDECLARED
            ):
                found.append(f'{name[3:].upper()} {path} ({type(resource).__name__})')
    return found
