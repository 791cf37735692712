"""Authentication and CORS: the WSGI layers around the Falcon application.

The stack, outermost first (as upstream Zaqar orders it)::

    CORS (oslo.middleware; only with [cors] allowed_origin)
    -> request id (so that 401 answers carry x-openstack-request-id too)
    -> public and signed requests bypass authentication (PublicOrSigned)
    -> authentication: keystonemiddleware's auth_token (its 503 put in
       Zaqar's words by KeystoneUnavailable, and what it validated turned
       into an Identity by KeystoneIdentity), or API keys (ApiKeyAuth)
    -> the Falcon application (request checks, policy, responders)

``auth_strategy = noauth`` has no authentication layers at all: the Falcon
application reads the project and roles from the request headers. Otherwise
each layer leaves the caller's :class:`~zaqar.transport.identity.Identity`
in the WSGI environ under :data:`IDENTITY_KEY`, taken from the validated
token or the key's entry, and the request checks read only that: headers a
client sends (``X-Project-ID``, ``X-Roles``) never choose the project or
roles of an authenticated request.

``GET /`` (versions) and ``GET /v2/openapi.json`` need no credentials, and
neither do requests carrying ``URL-Signature``: the signature check (the
first request check) then decides, and the request acts in the project its
header names, which the signature covers, with no roles.

Tokens and keys are never logged, nor echoed in answers.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from oslo_middleware import cors

from zaqar import conf as zaqar_conf
from zaqar.conf import default as default_conf
from zaqar.transport import api_keys
from zaqar.transport import policy
from zaqar.transport.identity import Identity
from zaqar.transport.identity import Method
from zaqar.transport.identity import split_roles
from zaqar.transport.wsgi import errors

LOG = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Where the layers leave what the Falcon application reads.
IDENTITY_KEY = 'zaqar.identity'
REQUEST_ID_KEY = 'zaqar.request_id'
REQUEST_ID_HEADER = 'x-openstack-request-id'
_LOCATION_KEY = 'zaqar.location'
# Set once a request got past keystonemiddleware.
_REACHED_KEY = 'zaqar.past_auth_token'

# The headers naming the project of an unauthenticated or signed request,
# the first present winning, and the WSGI environ keys they arrive under.
PROJECT_HEADERS = ('X-Project-ID', 'X-Tenant-Id', 'X-Tenant')
_PROJECT_ENVIRON_KEYS = tuple(
    'HTTP_' + header.upper().replace('-', '_') for header in PROJECT_HEADERS
)

# Paths answered without credentials, whatever the strategy.
PUBLIC_PATHS = frozenset({'/', '/v2/openapi.json'})

# What keystonemiddleware answers when it refuses a request; KeystoneIdentity
# gives the same body, so that clients see one format per strategy.
KEYSTONE_REFUSAL = {
    'error': {
        'code': 401,
        'title': 'Unauthorized',
        'message': 'The request you have made requires authentication.',
    }
}

API_KEY_CHALLENGE = 'Bearer realm="zaqar"'
API_KEY_HEADER = 'X-Auth-Token'


def new_request_id() -> str:
    """A request id as every answer carries it: ``req-<uuid>``."""
    return f'req-{uuid.uuid4()}'


def _json_answer(
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    status: str,
    document: dict[str, Any],
    headers: list[tuple[str, str]],
) -> Iterable[bytes]:
    body = json.dumps(document).encode('ascii')
    start_response(
        status,
        [
            ('Content-Type', 'application/json'),
            (
                'Content-Length',
                str(len(body) if environ['REQUEST_METHOD'] != 'HEAD' else 0),
            ),
            *headers,
        ],
    )
    return [] if environ['REQUEST_METHOD'] == 'HEAD' else [body]


class RequestIdLayer:
    """Give each request its id before anything can refuse it.

    The Falcon application reuses the id (see ``hooks.RequestId``); answers
    given by the layers inside this one (401) get the header here.
    """

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request_id = new_request_id()
        environ[REQUEST_ID_KEY] = request_id

        def with_id(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if not any(name.lower() == REQUEST_ID_HEADER for name, _ in headers):
                headers = [*headers, (REQUEST_ID_HEADER, request_id)]
            return start_response(status, headers, exc_info)

        return self._app(environ, with_id)


class PublicOrSigned:
    """Route public and pre-signed requests around authentication.

    Args:
        app: The application itself.
        authenticated: The authentication layer in front of ``app``.
    """

    def __init__(self, app: WSGIApp, authenticated: WSGIApp) -> None:
        self._app = app
        self._authenticated = authenticated

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get('PATH_INFO') in PUBLIC_PATHS:
            return self._app(environ, start_response)
        if 'HTTP_URL_SIGNATURE' in environ:
            # NOTE: no roles: what a signed request may do is what the
            # signature grants, checked before anything else runs.
            environ[IDENTITY_KEY] = Identity(
                Method.SIGNED_URL, project_id=header_project(environ)
            )
            return self._app(environ, start_response)
        return self._authenticated(environ, start_response)


def header_project(environ: dict[str, Any]) -> str | None:
    """The project a request's headers name: the first of PROJECT_HEADERS."""
    for key in _PROJECT_ENVIRON_KEYS:
        value = environ.get(key)
        if value is not None:
            return str(value)
    return None


class KeystoneIdentity:
    """Behind keystonemiddleware: turn what it validated into an Identity.

    auth_token removes identity headers a client sent and sets them from
    the validated token; this reads them. With ``delay_auth_decision`` it
    lets unauthenticated requests through marked ``X-Identity-Status:
    Invalid``: they are refused here, as auth_token would have.
    """

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        environ[_REACHED_KEY] = True
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            # NOTE: auth_token adds its WWW-Authenticate header to this 401.
            return _json_answer(
                environ, start_response, '401 Unauthorized', KEYSTONE_REFUSAL, []
            )
        environ[IDENTITY_KEY] = Identity(
            Method.KEYSTONE,
            project_id=environ.get('HTTP_X_PROJECT_ID') or None,
            roles=split_roles(environ.get('HTTP_X_ROLES')),
            user_id=environ.get('HTTP_X_USER_ID') or None,
        )
        return self._app(environ, start_response)


class KeystoneUnavailable:
    """Around auth_token: say "try again" in Zaqar's words when Keystone is down.

    auth_token answers a bare ``text/plain`` 503 when it cannot reach the
    identity service; clients of this API expect the JSON error and
    ``Retry-After`` of every other 503. A 503 from the application itself
    (behind :class:`KeystoneIdentity`) passes unchanged.
    """

    def __init__(self, auth_token: WSGIApp) -> None:
        self._auth_token = auth_token

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        refused: list[str] = []

        def watch(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if status.startswith('503') and not environ.get(_REACHED_KEY):
                refused.append(status)
                return _discard
            return start_response(status, headers, exc_info)

        result = self._auth_token(environ, watch)
        if not refused:
            return result
        close = getattr(result, 'close', None)
        if callable(close):
            close()
        return _json_answer(
            environ,
            start_response,
            '503 Service Unavailable',
            {
                'title': errors.UNAVAILABLE_TITLE,
                'description': 'The identity service (Keystone) could not be '
                'reached to validate the token.' + errors.RETRY_HINT,
            },
            [('Retry-After', errors.RETRY_AFTER)],
        )


def _discard(data: bytes) -> None:
    """The ``write`` callable of an answer that is replaced."""


class ApiKeyAuth:
    """Authenticate requests by API key (``auth_strategy = api_key``).

    The key is sent as ``Authorization: Bearer <key>`` or, as OpenStack
    clients send tokens, ``X-Auth-Token: <key>``; both may be given only if
    equal. A missing or unknown key is answered 401 with a Zaqar error body
    and ``WWW-Authenticate: Bearer realm="zaqar"``.

    Args:
        app: The application.
        keys: The accepted keys.
    """

    def __init__(self, app: WSGIApp, keys: api_keys.KeyStore) -> None:
        self._app = app
        self._keys = keys

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        key, problem = _presented_key(environ)
        entry = self._keys.lookup(key) if key else None
        if entry is None:
            if key:
                problem = 'The API key is not valid.'
                # NOTE: never the key itself; where it came from is enough.
                LOG.info(
                    'refused an unknown API key: %s %s from %s',
                    environ.get('REQUEST_METHOD'),
                    environ.get('PATH_INFO'),
                    environ.get('REMOTE_ADDR', '?'),
                )
            return _json_answer(
                environ,
                start_response,
                '401 Unauthorized',
                {'title': 'Unauthorized', 'description': problem},
                [('WWW-Authenticate', API_KEY_CHALLENGE)],
            )
        LOG.debug('API key %s accepted', entry.label)
        environ[IDENTITY_KEY] = Identity(
            Method.API_KEY,
            project_id=entry.project,
            roles=entry.roles,
            user_id=entry.name,
        )
        return self._app(environ, start_response)


_MISSING_KEY = (
    'This request needs an API key, sent as "Authorization: Bearer <key>" or '
    f'"{API_KEY_HEADER}: <key>".'
)


def _presented_key(environ: dict[str, Any]) -> tuple[str, str]:
    """The key a request presents, or '' and why there is none."""
    token = (environ.get('HTTP_X_AUTH_TOKEN') or '').strip()
    authorization = (environ.get('HTTP_AUTHORIZATION') or '').strip()
    bearer = ''
    if authorization:
        scheme, _, credentials = authorization.partition(' ')
        if scheme.lower() != 'bearer' or not credentials.strip():
            return '', 'The Authorization header must be "Bearer <key>".'
        bearer = credentials.strip()
    if token and bearer and token != bearer:
        return '', f'Authorization and {API_KEY_HEADER} carry different keys.'
    key = bearer or token
    return key, ('' if key else _MISSING_KEY)


class _LocationKeeper:
    """Keep ``Location`` as the application wrote it.

    webob, which oslo.middleware's CORS and keystonemiddleware are built
    on, turns a relative ``Location`` into an absolute URL on its way out;
    Zaqar's are relative (``/v2/...``), and clients rely on that. The inner
    half records the application's value, the outer half puts it back.
    """

    @staticmethod
    def record(app: WSGIApp) -> WSGIApp:
        def recording(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            def keep(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Any:
                for name, value in headers:
                    if name.lower() == 'location':
                        environ[_LOCATION_KEY] = value
                return start_response(status, headers, exc_info)

            return app(environ, keep)

        return recording

    @staticmethod
    def restore(app: WSGIApp) -> WSGIApp:
        def restoring(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            def put_back(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Any:
                original = environ.get(_LOCATION_KEY)
                if original is not None:
                    headers = [
                        (name, original if name.lower() == 'location' else value)
                        for name, value in headers
                    ]
                return start_response(status, headers, exc_info)

            return app(environ, put_back)

        return restoring


def wrap(app: WSGIApp, conf: cfg.ConfigOpts) -> WSGIApp:
    """Build the layers of the configured strategy and CORS around ``app``.

    Raises:
        InvalidOption: The strategy cannot be set up (see
            :func:`check_configuration`).
    """
    strategy = default_conf.strategy(conf.auth_strategy)
    origins = bool(conf.cors.allowed_origin)
    uses_webob = origins or strategy == default_conf.KEYSTONE
    inner = _LocationKeeper.record(app) if uses_webob else app
    if strategy != default_conf.NOAUTH:
        authenticated = _authentication(inner, conf, strategy)
        inner = RequestIdLayer(PublicOrSigned(inner, authenticated))
    if origins:
        zaqar_conf.set_library_defaults()
        inner = cors.CORS(inner, conf)
    return _LocationKeeper.restore(inner) if uses_webob else inner


def _authentication(app: WSGIApp, conf: cfg.ConfigOpts, strategy: str) -> WSGIApp:
    if strategy == default_conf.KEYSTONE:
        auth_token = _auth_token_module()
        try:
            protocol: WSGIApp = auth_token.AuthProtocol(
                KeystoneIdentity(app), {'oslo_config_config': conf}
            )
            protocol = KeystoneUnavailable(protocol)
        except Exception as ex:
            raise zaqar_conf.InvalidOption(
                f'[keystone_authtoken]: keystonemiddleware refused the settings: {ex}'
            ) from None
        return protocol
    assert strategy == default_conf.API_KEY, strategy
    keys = api_keys.KeyStore(conf.api_key.key_file)
    try:
        keys.load()
    except api_keys.InvalidKeyFile as ex:
        raise zaqar_conf.InvalidOption(f'[api_key] key_file: {ex}') from None
    return ApiKeyAuth(app, keys)


def _auth_token_module() -> Any:
    """keystonemiddleware's auth_token, or a clear error when not installed."""
    try:
        from keystonemiddleware import auth_token
    except ImportError:
        raise zaqar_conf.InvalidOption(
            '[DEFAULT] auth_strategy = keystone needs keystonemiddleware, which '
            'is not installed: install the "keystone" extra '
            "(pip install 'zaqar[keystone]')"
        ) from None
    return auth_token


def check_configuration(conf: cfg.ConfigOpts) -> None:
    """Build what authentication and policy need once, to fail at start-up.

    Called by zaqar-server in its master process: a missing package, a bad
    key file or policy file stops the server with a message instead of
    failing requests. It also registers keystonemiddleware's options.

    Raises:
        InvalidOption: Says what is wrong.
    """
    load_authorizer(conf)
    strategy = default_conf.strategy(conf.auth_strategy)
    if strategy != default_conf.NOAUTH:
        _authentication(_nothing, conf, strategy)


def load_authorizer(conf: cfg.ConfigOpts) -> policy.Authorizer:
    """The policy of ``conf``, its files read once now.

    Raises:
        InvalidOption: A policy file is missing or invalid.
    """
    authorizer = policy.Authorizer(conf)
    try:
        authorizer.load()
    except policy.InvalidPolicyFile as ex:
        raise zaqar_conf.InvalidOption(str(ex)) from None
    return authorizer


def _nothing(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    raise AssertionError('the start-up check serves no request')


def noauth_exposure(conf: cfg.ConfigOpts, bind: str) -> tuple[int, str] | None:
    """What to log about ``noauth`` for a server listening on ``bind``.

    Returns:
        None with authentication; else a log level (WARNING unless every
        address is loopback, INFO otherwise) and the message.
    """
    if default_conf.strategy(conf.auth_strategy) != default_conf.NOAUTH:
        return None
    host = bind.rpartition(':')[0].strip('[]')
    if _is_loopback(host):
        return (
            logging.INFO,
            f'auth_strategy = noauth: requests act as the project their '
            f'X-Project-ID header names; listening on loopback ({bind}) only',
        )
    return (
        logging.WARNING,
        f'auth_strategy = noauth while listening on {bind}, not a loopback '
        f'address: anyone who can reach it acts as any project (X-Project-ID '
        f'and X-Roles are trusted as sent). Set auth_strategy = keystone or '
        f'api_key, or listen on 127.0.0.1',
    )


def _is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        # NOTE: a host name may resolve to anything; not assumed private.
        return False
