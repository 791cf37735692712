"""``auth_strategy = keystone`` in process, against a fake Keystone on loopback.

keystonemiddleware's auth_token validates every token over real HTTP with
the fake identity server of ``tests/keystone_fake.py``; nothing is mocked.
See README.md, "Security", and doc/http-api.md, "Request checks".
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import falcon.testing
import pytest

from tests import keystone_fake
from tests.keystone_fake import FakeKeystone

from .auth_helpers import AppFactory
from .auth_helpers import Sections
from .auth_helpers import make_app_fixture  # noqa: F401
from .auth_helpers import sqlite_storage_fixture  # noqa: F401

SECRET = 'signing-secret'
KEYSTONE_BODY = {
    'error': {
        'code': 401,
        'title': 'Unauthorized',
        'message': 'The request you have made requires authentication.',
    }
}


@pytest.fixture(scope='module')
def keystone() -> Iterator[FakeKeystone]:
    with keystone_fake.running() as server:
        yield server


def sections(keystone: FakeKeystone | str, **extra: dict[str, object]) -> Sections:
    config: Sections = {
        'DEFAULT': {'auth_strategy': 'keystone', 'admin_mode': True},
        'signed_url': {'secret_key': SECRET},
        'keystone_authtoken': keystone_fake.authtoken_options(keystone),
    }
    for group, options in extra.items():
        config.setdefault(group, {}).update(options)
    return config


@pytest.fixture
def client(make_app: AppFactory, keystone: FakeKeystone) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(make_app(sections(keystone)))


def with_token(token: str, project: str | None = None, **extra: str) -> dict[str, str]:
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': token, **extra}
    if project is not None:
        headers['X-Project-ID'] = project
    return headers


def queue_names(client: falcon.testing.TestClient, token: str) -> list[str]:
    result = client.simulate_get('/v2/queues', headers=with_token(token))
    assert result.status_code == 200, result.text
    return [queue['name'] for queue in result.json['queues']]


def test_a_valid_token_acts_in_its_own_project_whatever_the_headers(
    client: falcon.testing.TestClient, keystone: FakeKeystone
) -> None:
    token_a = keystone.issue('project-a', ['member'])
    token_b = keystone.issue('project-b', ['member'])
    # The client claims project B; the token says A, and A it is.
    result = client.simulate_put(
        '/v2/queues/ledger', headers=with_token(token_a, 'project-b')
    )
    assert result.status_code == 201
    assert result.headers['location'] == '/v2/queues/ledger'
    assert queue_names(client, token_a) == ['ledger']
    assert queue_names(client, token_b) == []
    # A token for B never reaches A's queue, whatever it claims.
    result = client.simulate_get(
        '/v2/queues/ledger/stats', headers=with_token(token_b, 'project-a')
    )
    assert result.json['messages']['total'] == 0
    post = client.simulate_post(
        '/v2/queues/ledger/messages',
        headers=with_token(token_a),
        json={'messages': [{'body': 'for a'}]},
    )
    assert post.status_code == 201
    listing = client.simulate_get(
        '/v2/queues/ledger/messages',
        headers=with_token(token_b, 'project-a'),
        params={'echo': 'true'},
    )
    assert listing.json['messages'] == []


@pytest.mark.parametrize('case', ['missing', 'unknown', 'expired'])
def test_requests_without_a_valid_token_get_keystonemiddleware_401(
    client: falcon.testing.TestClient, keystone: FakeKeystone, case: str
) -> None:
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'project-a'}
    if case == 'unknown':
        headers['X-Auth-Token'] = uuid.uuid4().hex
    elif case == 'expired':
        headers['X-Auth-Token'] = keystone.issue('project-a', ['admin'], expires_in=-60)
    result = client.simulate_get('/v2/queues', headers=headers)
    assert result.status_code == 401
    assert result.json == KEYSTONE_BODY
    assert result.headers['www-authenticate'] == f'Keystone uri="{keystone.url}/v3"'
    assert result.headers['x-openstack-request-id'].startswith('req-')
    # The token is never echoed.
    if 'X-Auth-Token' in headers:
        assert headers['X-Auth-Token'] not in result.text


def test_head_requests_get_a_bodiless_401(client: falcon.testing.TestClient) -> None:
    result = client.simulate_head(
        '/v2/queues/q', headers={'Client-ID': str(uuid.uuid4())}
    )
    assert result.status_code == 401
    assert result.content == b''


def test_the_public_routes_need_no_token(client: falcon.testing.TestClient) -> None:
    assert client.simulate_get('/').status_code == 300
    assert client.simulate_get('/v2/openapi.json').status_code == 200


def test_a_signed_url_needs_no_token_and_its_signature_decides(
    client: falcon.testing.TestClient, keystone: FakeKeystone
) -> None:
    token = keystone.issue('project-a', ['member'])
    client.simulate_post(
        '/v2/queues/shared/messages',
        headers=with_token(token),
        json={'messages': [{'body': 'hello'}]},
    )
    grant = client.simulate_post(
        '/v2/queues/shared/share',
        headers=with_token(token),
        json={'paths': ['messages'], 'methods': ['GET']},
    ).json
    assert grant['project'] == 'project-a'
    signed = {
        'URL-Signature': grant['signature'],
        'URL-Expires': grant['expires'],
        'URL-Methods': 'GET',
        'URL-Paths': ','.join(grant['paths']),
        'X-Project-ID': grant['project'],
        'Client-ID': str(uuid.uuid4()),
    }
    result = client.simulate_get('/v2/queues/shared/messages', headers=signed)
    assert result.status_code == 200
    assert [message['body'] for message in result.json['messages']] == ['hello']
    # Signed for project A: claiming B is a bad signature, a bare 404.
    forged = {**signed, 'X-Project-ID': 'project-b'}
    result = client.simulate_get('/v2/queues/shared/messages', headers=forged)
    assert result.status_code == 404
    # A method the grant lacks is refused the same way.
    result = client.simulate_delete('/v2/queues/shared/messages', headers=signed)
    assert result.status_code == 404


def test_roles_come_from_the_token_never_from_x_roles(
    client: falcon.testing.TestClient, keystone: FakeKeystone
) -> None:
    member = keystone.issue('project-a', ['member'])
    admin = keystone.issue('project-a', ['reader', 'Admin'])
    result = client.simulate_get(
        '/v2/health', headers=with_token(member, **{'X-Roles': 'admin'})
    )
    assert result.status_code == 403
    assert result.json['title'] == 'Not authorized'
    assert (
        client.simulate_get('/v2/health', headers=with_token(admin)).status_code == 200
    )


def test_a_token_without_a_project_acts_nowhere(
    client: falcon.testing.TestClient, keystone: FakeKeystone
) -> None:
    unscoped = keystone.issue(None)
    result = client.simulate_get(
        '/v2/queues', headers=with_token(unscoped, 'project-a')
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Project-Id Missing'
    assert 'scoped' in result.json['description']


def test_tokens_are_validated_once_then_cached(
    client: falcon.testing.TestClient, keystone: FakeKeystone
) -> None:
    token = keystone.issue('project-a', ['member'])
    for _ in range(3):
        assert (
            client.simulate_get('/v2/queues', headers=with_token(token)).status_code
            == 200
        )
    assert keystone.validations.count(token) == 1


def test_with_delayed_decisions_unauthenticated_requests_are_still_refused(
    make_app: AppFactory,
    keystone: FakeKeystone,
) -> None:
    """delay_auth_decision lets them through auth_token; we refuse them."""
    app = make_app(sections(keystone, keystone_authtoken={'delay_auth_decision': True}))
    client = falcon.testing.TestClient(app)
    result = client.simulate_get(
        '/v2/queues', headers={'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'p'}
    )
    assert result.status_code == 401
    assert result.json == KEYSTONE_BODY
    assert result.headers['www-authenticate'].startswith('Keystone uri=')
    token = keystone.issue('project-a', ['member'])
    assert (
        client.simulate_get('/v2/queues', headers=with_token(token)).status_code == 200
    )


def test_an_unreachable_keystone_is_a_zaqar_503(make_app: AppFactory) -> None:
    """keystonemiddleware's plain-text 503 becomes the API's JSON one."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        # Bound, never listening: connections to it are refused.
        gone = f'http://127.0.0.1:{sock.getsockname()[1]}'
        client = falcon.testing.TestClient(make_app(sections(gone)))
        result = client.simulate_get('/v2/queues', headers=with_token(uuid.uuid4().hex))
    assert result.status_code == 503
    assert result.json['title'] == 'Service temporarily unavailable'
    assert 'identity service' in result.json['description']
    assert result.headers['retry-after'] == '5'
    # Public routes never ask Keystone.
    assert client.simulate_get('/').status_code == 300
