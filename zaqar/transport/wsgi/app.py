"""The WSGI application factory; gunicorn's target.

Run with ``gunicorn 'zaqar.transport.wsgi.app:create_app()'``. Nothing is
built at import time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import falcon
from oslo_config import cfg

from zaqar import bootstrap
from zaqar import conf as zaqar_conf
from zaqar.common.limits import Limits
from zaqar.conf import default as default_conf
from zaqar.operations import Operations
from zaqar.storage.base import DataDriver
from zaqar.transport import policy
from zaqar.transport.wsgi import auth
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import hooks
from zaqar.transport.wsgi import routes
from zaqar.transport.wsgi import share
from zaqar.transport.wsgi import unread_body
from zaqar.transport.wsgi.resource import Dependencies


class App(falcon.App[falcon.Request, falcon.Response]):
    """The Falcon application, inside its WSGI layers, leaving every
    connection usable after it.

    The layers (authentication, CORS; see :mod:`zaqar.transport.wsgi.auth`)
    are set with :meth:`wrap`. Outside all of them, whatever the answer and
    whoever gave it, the body nobody read is discarded, or the connection
    closed (see :mod:`zaqar.transport.wsgi.unread_body`).
    """

    # The layers around the Falcon application; None while there are none.
    _layers: auth.WSGIApp | None = None

    def wrap(self, build: Callable[[auth.WSGIApp], auth.WSGIApp]) -> None:
        """Put WSGI layers around the Falcon application.

        Args:
            build: Given the Falcon application, returns it wrapped.
        """
        layered = build(self._falcon)
        self._layers = None if layered == self._falcon else layered

    def _falcon(
        self, env: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        result: Iterable[bytes] = super().__call__(env, start_response)
        return result

    def __call__(
        self, env: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body = unread_body.UnreadBody(env)
        layers = self._layers
        result: Iterable[bytes] = (
            super().__call__(env, start_response)
            if layers is None
            else layers(env, start_response)
        )
        body.finish(start_response)
        return result


def create_app(
    conf: cfg.ConfigOpts | None = None, storage: DataDriver | None = None
) -> App:
    """Build the v2 HTTP application.

    Args:
        conf: A registered, parsed configuration; by default a fresh one
            read from the usual ``zaqar.conf`` locations.
        storage: The storage stack to serve; by default the configured
            driver.

    Raises:
        InvalidOption: An option of the configuration has an invalid value,
            or authentication or the policy cannot be set up with it.
        ConfigurationError: The storage stack cannot be built.
    """
    if conf is None:
        conf = zaqar_conf.new_conf()
    zaqar_conf.check_values(conf)
    authorizer = auth.load_authorizer(conf)
    if storage is not None:
        return _build(conf, storage, authorizer)
    owned = bootstrap.load_storage(conf)
    try:
        return _build(conf, owned, authorizer)
    except BaseException:
        # NOTE: the layers may refuse their settings (a bad key file); the
        # storage connections opened for this app must not outlive it.
        owned.close()
        raise


def _build(
    conf: cfg.ConfigOpts, storage: DataDriver, authorizer: policy.Authorizer
) -> App:
    """Build the application on ``storage`` (see :func:`create_app`)."""
    ops = Operations.build(
        storage,
        Limits.from_conf(conf),
        signing_secret=conf.signed_url.secret_key,
        require_confirmation=conf.notification.require_confirmation,
    )
    # NOTE: the signature check comes first, as upstream orders the checks.
    checks: tuple[hooks.Check, ...] = (share.SignatureCheck(ops.sharing), *hooks.CHECKS)
    noauth = default_conf.strategy(conf.auth_strategy) == default_conf.NOAUTH
    middleware: list[Any] = [
        hooks.RequestId(),
        hooks.RequestChecks(ops.validator, checks, trust_headers=noauth),
        # NOTE: after the request checks, as upstream enforces its rules in
        # the responders, which run after its hooks.
        hooks.Authorization(authorizer),
    ]

    app = App(middleware=middleware)
    # NOTE: Zaqar ignores blank query values (?echo= means no echo at all)
    # and splits comma lists itself (only for list parameters).
    app.req_options.keep_blank_qs_values = False
    app.req_options.auto_parse_qs_csv = False
    app.req_options.strip_url_path_trailing_slash = False
    # NOTE: ASCII-escaped JSON, as upstream: Falcon's default writes UTF-8,
    # which fails (as a bodiless 500, after the error handlers) on any
    # string that cannot be encoded, and such a failure must not exist.
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=functools.partial(json.dumps, ensure_ascii=True)
    )
    errors.register(app)

    deps = Dependencies(
        ops, with_checksum=conf.enable_checksum, admin_mode=conf.admin_mode
    )
    table = routes.build_routes(deps)
    undeclared = hooks.undeclared_responders(table)
    if undeclared:
        # NOTE: a responder without a rule would escape the operator's policy.
        raise RuntimeError(f'responders without a policy rule: {", ".join(undeclared)}')
    for path, resource in table:
        app.add_route(path, resource)
    app.wrap(lambda falcon_app: auth.wrap(falcon_app, conf))
    return app
