"""``auth_strategy = api_key`` in process: keys from a real key file.

See README.md, "Security", and zaqar/transport/api_keys.py.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import falcon.testing
import pytest

from zaqar import conf as zaqar_conf
from zaqar.transport import api_keys
from zaqar.transport.wsgi.app import App

from .auth_helpers import AppFactory
from .auth_helpers import make_app_fixture  # noqa: F401
from .auth_helpers import sqlite_storage_fixture  # noqa: F401

ADMIN_KEY = api_keys.new_key()
MEMBER_KEY = api_keys.new_key()
OTHER_KEY = api_keys.new_key()


def entry(key: str, project: str, *roles: str, name: str | None = None) -> dict:
    found: dict[str, object] = {
        'hash': api_keys.hash_of(key),
        'project': project,
        'roles': list(roles),
    }
    if name is not None:
        found['name'] = name
    return found


def write_keys(path: Path, *entries: dict) -> None:
    # Written aside and renamed, as README advises, so that a reader never
    # sees half a file.
    partial = path.with_suffix('.new')
    partial.write_text(json.dumps({'keys': list(entries)}))
    partial.replace(path)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / 'keys.json'
    write_keys(
        path,
        entry(ADMIN_KEY, 'project-a', 'admin', name='ops'),
        entry(MEMBER_KEY, 'project-a', 'member', name='app'),
        entry(OTHER_KEY, 'project-b'),
    )
    return path


@pytest.fixture
def app(make_app: AppFactory, key_file: Path) -> App:
    return make_app(
        {
            'DEFAULT': {'auth_strategy': 'api_key', 'admin_mode': True},
            'api_key': {'key_file': key_file},
        }
    )


@pytest.fixture
def client(app: App) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {'Client-ID': str(uuid.uuid4()), 'Authorization': f'Bearer {key}', **extra}


def test_the_key_decides_the_project_not_the_headers(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_put(
        '/v2/queues/orders', headers=bearer(MEMBER_KEY, **{'X-Project-ID': 'project-b'})
    )
    assert result.status_code == 201
    assert result.headers['location'] == '/v2/queues/orders'
    mine = client.simulate_get('/v2/queues', headers=bearer(ADMIN_KEY)).json
    theirs = client.simulate_get(
        '/v2/queues', headers=bearer(OTHER_KEY, **{'X-Project-ID': 'project-a'})
    ).json
    assert [queue['name'] for queue in mine['queues']] == ['orders']
    assert theirs['queues'] == []


def test_x_auth_token_carries_the_key_too(client: falcon.testing.TestClient) -> None:
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': MEMBER_KEY}
    assert client.simulate_get('/v2/queues', headers=headers).status_code == 200
    both = {**headers, 'Authorization': f'bearer {MEMBER_KEY}'}
    assert client.simulate_get('/v2/queues', headers=both).status_code == 200


@pytest.mark.parametrize(
    ('headers', 'description'),
    [
        ({}, 'This request needs an API key'),
        (
            {'Authorization': 'Bearer ' + api_keys.new_key()},
            'The API key is not valid.',
        ),
        ({'X-Auth-Token': 'guess'}, 'The API key is not valid.'),
        ({'Authorization': f'Basic {MEMBER_KEY}'}, 'must be "Bearer <key>"'),
        (
            {'Authorization': f'Bearer {MEMBER_KEY}', 'X-Auth-Token': ADMIN_KEY},
            'different keys',
        ),
    ],
)
def test_missing_or_unknown_keys_get_401(
    client: falcon.testing.TestClient, headers: dict[str, str], description: str
) -> None:
    result = client.simulate_get(
        '/v2/queues',
        headers={
            'Client-ID': str(uuid.uuid4()),
            'X-Project-ID': 'project-a',
            **headers,
        },
    )
    assert result.status_code == 401
    assert result.json['title'] == 'Unauthorized'
    assert description in result.json['description']
    assert result.headers['www-authenticate'] == 'Bearer realm="zaqar"'
    assert result.headers['x-openstack-request-id'].startswith('req-')
    for key in (MEMBER_KEY, ADMIN_KEY):
        assert key not in result.text


def test_public_routes_need_no_key(client: falcon.testing.TestClient) -> None:
    assert client.simulate_get('/').status_code == 300
    assert client.simulate_get('/v2/openapi.json').status_code == 200


def test_roles_come_from_the_key_entry(client: falcon.testing.TestClient) -> None:
    spoofed = bearer(MEMBER_KEY, **{'X-Roles': 'admin'})
    assert client.simulate_get('/v2/health', headers=spoofed).status_code == 403
    assert (
        client.simulate_get('/v2/health', headers=bearer(ADMIN_KEY)).status_code == 200
    )


def test_keys_are_added_and_revoked_without_a_restart(
    client: falcon.testing.TestClient, key_file: Path
) -> None:
    new = api_keys.new_key()
    assert client.simulate_get('/v2/queues', headers=bearer(new)).status_code == 401
    write_keys(key_file, entry(new, 'project-c', name='rotated'))
    # The file is looked at once a second at most.
    time.sleep(api_keys.RECHECK_INTERVAL + 0.1)
    assert client.simulate_get('/v2/queues', headers=bearer(new)).status_code == 200
    assert (
        client.simulate_get('/v2/queues', headers=bearer(MEMBER_KEY)).status_code == 401
    )


def test_a_broken_key_file_refuses_every_key_until_fixed(
    client: falcon.testing.TestClient, key_file: Path
) -> None:
    key_file.write_text('{"keys": [')
    time.sleep(api_keys.RECHECK_INTERVAL + 0.1)
    assert (
        client.simulate_get('/v2/queues', headers=bearer(MEMBER_KEY)).status_code == 401
    )
    write_keys(key_file, entry(MEMBER_KEY, 'project-a'))
    time.sleep(api_keys.RECHECK_INTERVAL + 0.1)
    assert (
        client.simulate_get('/v2/queues', headers=bearer(MEMBER_KEY)).status_code == 200
    )


def test_an_unusable_key_file_stops_the_app_from_being_built(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    with pytest.raises(zaqar_conf.InvalidOption, match=r'\[api_key\] key_file'):
        make_app(
            {
                'DEFAULT': {'auth_strategy': 'api_key'},
                'api_key': {'key_file': tmp_path / 'missing.yaml'},
            }
        )
    with pytest.raises(zaqar_conf.InvalidOption, match=r'\[api_key\] key_file'):
        make_app({'DEFAULT': {'auth_strategy': 'api_key'}})
