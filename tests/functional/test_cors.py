"""CORS through oslo.middleware, with upstream Zaqar's defaults.

See README.md, "Security".
"""

from __future__ import annotations

import uuid

import falcon.testing
import pytest

from tests import keystone_fake

from .auth_helpers import AppFactory
from .auth_helpers import make_app_fixture  # noqa: F401
from .auth_helpers import sqlite_storage_fixture  # noqa: F401

ALLOWED = 'https://console.example.com'


@pytest.fixture
def client(make_app: AppFactory) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(make_app({'cors': {'allowed_origin': ALLOWED}}))


def headers(**extra: str) -> dict[str, str]:
    return {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'project-a', **extra}


def test_a_preflight_from_an_allowed_origin_is_granted(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_options(
        '/v2/queues/q/messages',
        headers={
            'Origin': ALLOWED,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'Client-ID, X-Auth-Token',
        },
    )
    assert result.status_code == 200
    assert result.headers['access-control-allow-origin'] == ALLOWED
    assert result.headers['access-control-allow-methods'] == 'POST'
    assert result.headers['access-control-allow-headers'] == 'Client-ID,X-Auth-Token'
    assert result.headers['access-control-allow-credentials'] == 'true'


def test_a_simple_request_from_an_allowed_origin_gets_cors_headers(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_put('/v2/queues/q', headers=headers(Origin=ALLOWED))
    assert result.status_code == 201
    assert result.headers['access-control-allow-origin'] == ALLOWED
    exposed = result.headers['access-control-expose-headers'].split(',')
    assert 'X-OpenStack-Request-ID' in exposed
    # webob, which the middleware is built on, must not rewrite Location.
    assert result.headers['location'] == '/v2/queues/q'


def test_a_disallowed_origin_gets_no_cors_headers(
    client: falcon.testing.TestClient,
) -> None:
    preflight = client.simulate_options(
        '/v2/queues/q/messages',
        headers={
            'Origin': 'https://evil.example.com',
            'Access-Control-Request-Method': 'POST',
        },
    )
    simple = client.simulate_get(
        '/v2/queues', headers=headers(Origin='https://evil.example.com')
    )
    assert simple.status_code == 200
    for result in (preflight, simple):
        assert not [
            name for name in result.headers if name.startswith('access-control')
        ]


def test_a_method_outside_the_allowed_ones_is_not_granted(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_options(
        '/v2/queues/q',
        headers={'Origin': ALLOWED, 'Access-Control-Request-Method': 'TRACE'},
    )
    assert 'access-control-allow-origin' not in result.headers


def test_cors_wraps_authentication(make_app: AppFactory) -> None:
    """A browser's preflight carries no token: CORS answers it first."""
    with keystone_fake.running() as keystone:
        app = make_app(
            {
                'DEFAULT': {'auth_strategy': 'keystone'},
                'cors': {'allowed_origin': ALLOWED},
                'keystone_authtoken': keystone_fake.authtoken_options(keystone),
            }
        )
        client = falcon.testing.TestClient(app)
        token = keystone.issue('project-a', ['member'])
        result = client.simulate_get(
            '/v2/queues',
            headers={
                'Client-ID': str(uuid.uuid4()),
                'X-Auth-Token': token,
                'Origin': ALLOWED,
            },
        )
        assert result.status_code == 200
        assert result.headers['access-control-allow-origin'] == ALLOWED
        refused = client.simulate_get(
            '/v2/queues', headers={'Client-ID': str(uuid.uuid4()), 'Origin': ALLOWED}
        )
        # The browser can read the 401 and react to it.
        assert refused.status_code == 401
        assert refused.headers['access-control-allow-origin'] == ALLOWED
