"""A small Identity (Keystone v3) server on loopback, for the auth tests.

It answers, over real HTTP, the calls keystonemiddleware's auth_token makes:
version discovery (``GET /`` and ``GET /v3``), the service's own password
authentication (``POST /v3/auth/tokens``) and the validation of a user's
token (``GET /v3/auth/tokens`` with ``X-Subject-Token``). Tests issue user
tokens with :meth:`FakeKeystone.issue`; a token it never issued is 404, as
Keystone answers.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

SERVICE_USER = 'zaqar'
SERVICE_PASSWORD = 'service-secret'
SERVICE_PROJECT = 'service'


def _timestamp(moment: datetime.datetime) -> str:
    return moment.strftime('%Y-%m-%dT%H:%M:%S.000000Z')


class FakeKeystone:
    """The server; use :func:`running` to start and stop it."""

    def __init__(self) -> None:
        self._tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.validations: list[str] = []
        handler = _handler_for(self)
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self._server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}'
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.service_token = self.issue(
            SERVICE_PROJECT, roles=['service', 'admin'], user_id='zaqar-service'
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue(
        self,
        project_id: str | None,
        roles: list[str] | None = None,
        user_id: str = 'alice',
        expires_in: float = 3600.0,
    ) -> str:
        """Make a token; ``project_id`` None makes an unscoped one."""
        now = datetime.datetime.now(datetime.UTC)
        body: dict[str, Any] = {
            'methods': ['password'],
            'issued_at': _timestamp(now),
            'expires_at': _timestamp(now + datetime.timedelta(seconds=expires_in)),
            'user': {
                'id': user_id,
                'name': user_id,
                'domain': {'id': 'default', 'name': 'Default'},
            },
            'audit_ids': [uuid.uuid4().hex[:22]],
        }
        if project_id is not None:
            body['project'] = {
                'id': project_id,
                'name': f'{project_id}-name',
                'domain': {'id': 'default', 'name': 'Default'},
            }
            body['roles'] = [
                {'id': uuid.uuid4().hex, 'name': role} for role in roles or []
            ]
            body['catalog'] = self.catalog()
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = body
        return token

    def token(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            return self._tokens.get(token)

    def catalog(self) -> list[dict[str, Any]]:
        return [
            {
                'id': 'identity',
                'type': 'identity',
                'name': 'keystone',
                'endpoints': [
                    {
                        'id': interface,
                        'interface': interface,
                        'region': 'RegionOne',
                        'region_id': 'RegionOne',
                        'url': f'{self.url}/v3',
                    }
                    for interface in ('public', 'internal', 'admin')
                ],
            }
        ]

    def version(self) -> dict[str, Any]:
        return {
            'id': 'v3.14',
            'status': 'stable',
            'updated': '2020-04-07T00:00:00Z',
            'links': [{'rel': 'self', 'href': f'{self.url}/v3/'}],
            'media-types': [
                {
                    'base': 'application/json',
                    'type': 'application/vnd.openstack.identity-v3+json',
                }
            ],
        }

    def authenticate(self, request: dict[str, Any]) -> str | None:
        """The service token for the service's password, else None."""
        try:
            user = request['auth']['identity']['password']['user']
        except (KeyError, TypeError):
            return None
        if user.get('name') != SERVICE_USER or user.get('password') != SERVICE_PASSWORD:
            return None
        return self.service_token


def _handler_for(keystone: FakeKeystone) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(
            self, status: int, body: Any, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self) -> None:
            self._answer(
                404, {'error': {'code': 404, 'title': 'Not Found', 'message': 'no'}}
            )

        def do_GET(self) -> None:
            path = self.path.split('?', 1)[0].rstrip('/')
            if path == '':
                self._answer(300, {'versions': {'values': [keystone.version()]}})
            elif path == '/v3':
                self._answer(200, {'version': keystone.version()})
            elif path == '/v3/auth/tokens':
                self._validate()
            else:
                self._not_found()

        def _validate(self) -> None:
            if self.headers.get('X-Auth-Token') != keystone.service_token:
                self._answer(
                    401,
                    {'error': {'code': 401, 'title': 'Unauthorized', 'message': 'no'}},
                )
                return
            subject = self.headers.get('X-Subject-Token', '')
            keystone.validations.append(subject)
            body = keystone.token(subject)
            if body is None:
                self._not_found()
                return
            self._answer(200, {'token': body}, {'X-Subject-Token': subject})

        def do_POST(self) -> None:
            length = int(self.headers.get('Content-Length') or 0)
            request = json.loads(self.rfile.read(length) or b'{}')
            if self.path.split('?', 1)[0].rstrip('/') != '/v3/auth/tokens':
                self._not_found()
                return
            token = keystone.authenticate(request)
            if token is None:
                self._answer(
                    401,
                    {'error': {'code': 401, 'title': 'Unauthorized', 'message': 'no'}},
                )
                return
            self._answer(
                201, {'token': keystone.token(token)}, {'X-Subject-Token': token}
            )

    return Handler


@contextlib.contextmanager
def running() -> Iterator[FakeKeystone]:
    """A started fake Keystone, stopped afterwards."""
    keystone = FakeKeystone()
    keystone.start()
    try:
        yield keystone
    finally:
        keystone.stop()


def authtoken_options(keystone: FakeKeystone | str) -> dict[str, object]:
    """The ``[keystone_authtoken]`` section pointing at ``keystone``.

    The same options as against a real Keystone (see README, Security).

    Args:
        keystone: The fake, or the URL of an identity server.
    """
    url = keystone if isinstance(keystone, str) else keystone.url
    return {
        'www_authenticate_uri': f'{url}/v3',
        'auth_url': f'{url}/v3',
        'auth_type': 'password',
        'username': SERVICE_USER,
        'password': SERVICE_PASSWORD,
        'user_domain_name': 'Default',
        'project_name': SERVICE_PROJECT,
        'project_domain_name': 'Default',
        # One retry at most: tests with an unreachable Keystone stay short.
        'http_request_max_retries': 0,
    }
