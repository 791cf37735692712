"""Authentication on real zaqar-server processes.

Keystone: the server's keystonemiddleware talks over real HTTP to the fake
identity server of ``tests/keystone_fake.py``, running in this process on
loopback. API keys: a key file made with the zaqar-api-key tool, rotated
while the server runs. See README.md, "Security".
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.transport import errors as client_errors

from tests import keystone_fake
from tests.keystone_fake import FakeKeystone
from tests.server.conftest import WORKER_READY
from tests.server.conftest import Server
from tests.server.conftest import server_command
from tests.server.conftest import write_config

SECRET = 'signing-secret'
TIMEOUT = 10


@pytest.fixture(scope='module')
def keystone() -> Iterator[FakeKeystone]:
    with keystone_fake.running() as server:
        yield server


@pytest.fixture
def keystone_server(
    server_factory: Callable[..., Server], keystone: FakeKeystone
) -> Server:
    return server_factory(
        {
            'DEFAULT': {'auth_strategy': 'keystone', 'admin_mode': True},
            'signed_url': {'secret_key': SECRET},
            'keystone_authtoken': keystone_fake.authtoken_options(keystone),
        }
    )


def token_headers(token: str, project: str | None = None) -> dict[str, str]:
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': token}
    if project is not None:
        headers['X-Project-ID'] = project
    return headers


def test_keystone_tokens_decide_the_project(
    keystone_server: Server, keystone: FakeKeystone
) -> None:
    url = keystone_server.url
    token_a = keystone.issue('project-a', ['member'])
    token_b = keystone.issue('project-b', ['member'])
    created = requests.put(
        f'{url}/v2/queues/ledger',
        headers=token_headers(token_a, 'project-b'),
        timeout=TIMEOUT,
    )
    assert created.status_code == 201
    assert created.headers['Location'] == '/v2/queues/ledger'

    def names(token: str) -> list[str]:
        listing = requests.get(
            f'{url}/v2/queues', headers=token_headers(token), timeout=TIMEOUT
        )
        assert listing.status_code == 200
        return [queue['name'] for queue in listing.json()['queues']]

    assert names(token_a) == ['ledger']
    assert names(token_b) == []


@pytest.mark.parametrize('case', ['missing', 'expired', 'unknown'])
def test_keystone_refusals_are_keystonemiddleware_s(
    keystone_server: Server, keystone: FakeKeystone, case: str
) -> None:
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'project-a'}
    if case == 'expired':
        headers['X-Auth-Token'] = keystone.issue('project-a', ['admin'], expires_in=-5)
    elif case == 'unknown':
        headers['X-Auth-Token'] = uuid.uuid4().hex
    result = requests.get(
        f'{keystone_server.url}/v2/queues', headers=headers, timeout=TIMEOUT
    )
    assert result.status_code == 401
    assert result.json()['error']['code'] == 401
    assert result.headers['WWW-Authenticate'] == f'Keystone uri="{keystone.url}/v3"'
    assert result.headers['x-openstack-request-id'].startswith('req-')
    # Tokens never reach the log.
    if 'X-Auth-Token' in headers:
        assert headers['X-Auth-Token'] not in keystone_server.output()


def test_keystone_lets_public_and_signed_requests_through(
    keystone_server: Server, keystone: FakeKeystone
) -> None:
    url = keystone_server.url
    assert requests.get(f'{url}/', timeout=TIMEOUT).status_code == 300
    token = keystone.issue('project-a', ['member'])
    requests.post(
        f'{url}/v2/queues/shared/messages',
        headers=token_headers(token),
        json={'messages': [{'body': 'hi'}]},
        timeout=TIMEOUT,
    )
    grant = requests.post(
        f'{url}/v2/queues/shared/share',
        headers=token_headers(token),
        json={'paths': ['messages'], 'methods': ['GET']},
        timeout=TIMEOUT,
    ).json()
    signed = {
        'URL-Signature': grant['signature'],
        'URL-Expires': grant['expires'],
        'URL-Methods': 'GET',
        'URL-Paths': ','.join(grant['paths']),
        'X-Project-ID': 'project-a',
        'Client-ID': str(uuid.uuid4()),
    }
    result = requests.get(
        f'{url}/v2/queues/shared/messages', headers=signed, timeout=TIMEOUT
    )
    assert result.status_code == 200
    assert [message['body'] for message in result.json()['messages']] == ['hi']
    signed['URL-Signature'] = '0' * 64
    refused = requests.get(
        f'{url}/v2/queues/shared/messages', headers=signed, timeout=TIMEOUT
    )
    assert refused.status_code == 404


def test_keystone_roles_drive_the_policy(
    keystone_server: Server, keystone: FakeKeystone
) -> None:
    url = keystone_server.url
    member = token_headers(keystone.issue('project-a', ['member']))
    member['X-Roles'] = 'admin'
    assert (
        requests.get(f'{url}/v2/health', headers=member, timeout=TIMEOUT).status_code
        == 403
    )
    admin = token_headers(keystone.issue('project-a', ['admin']))
    assert (
        requests.get(f'{url}/v2/health', headers=admin, timeout=TIMEOUT).status_code
        == 200
    )


def zaqarclient_with_token(url: str, token: str) -> zaqar_client.Client:
    """python-zaqarclient sending ``token`` as a fixed Keystone token."""
    return zaqar_client.Client(
        url,
        version=2,
        conf={
            'auth_opts': {'backend': 'keystone', 'options': {'os_auth_token': token}},
            'client_uuid': str(uuid.uuid4()),
        },
    )


def test_python_zaqarclient_works_with_a_keystone_token(
    keystone_server: Server, keystone: FakeKeystone
) -> None:
    token = keystone.issue('project-a', ['member'])
    client = zaqarclient_with_token(keystone_server.url, token)
    queue = client.queue('via-client', force_create=True)
    queue.post([{'body': {'n': 1}, 'ttl': 300}])
    assert [message.body for message in queue.messages(echo=True)] == [{'n': 1}]


def test_keystone_without_keystonemiddleware_refuses_to_start(
    tmp_path: Path,
) -> None:
    shadow = tmp_path / 'shadow' / 'keystonemiddleware'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text("raise ImportError('not installed')\n")
    conf = write_config(tmp_path / 'z.conf', {'DEFAULT': {'auth_strategy': 'keystone'}})
    result = subprocess.run(
        [*server_command(), '--config-file', str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, 'PYTHONPATH': str(shadow.parent)},
    )
    assert result.returncode == 2
    assert 'keystonemiddleware' in result.stderr
    assert 'zaqar[keystone]' in result.stderr


# API keys


def make_key(project: str, *roles: str, name: str) -> tuple[str, str]:
    """Run zaqar-api-key; return the key and the entry line."""
    tool = Path(sys.executable).with_name('zaqar-api-key')
    arguments = [str(tool), '--project', project, '--name', name]
    for role in roles:
        arguments += ['--role', role]
    output = subprocess.run(
        arguments, capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    return output[0].removeprefix('key: '), output[1].removeprefix('entry: ')


def write_key_file(path: Path, *entries: str) -> None:
    partial = path.with_suffix('.new')
    partial.write_text('keys:\n' + ''.join(f'  {entry}\n' for entry in entries))
    partial.replace(path)


def wait_for_status(url: str, headers: dict[str, str], status: int) -> None:
    """Poll until every worker answers ``status`` (each rereads on its own)."""
    deadline = time.monotonic() + 15
    streak = 0
    while time.monotonic() < deadline:
        got = requests.get(url, headers=headers, timeout=TIMEOUT).status_code
        streak = streak + 1 if got == status else 0
        if streak >= 6:
            return
        time.sleep(0.1)
    pytest.fail(f'{url} never answered {status} steadily')


def test_api_keys_with_the_tool_and_rotation(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    key_file = tmp_path / 'keys.yaml'
    old_key, old_entry = make_key('project-a', 'member', name='old')
    write_key_file(key_file, old_entry)
    server = server_factory(
        {'DEFAULT': {'auth_strategy': 'api_key'}, 'api_key': {'key_file': key_file}}
    )
    queues = f'{server.url}/v2/queues'

    def bearer(key: str) -> dict[str, str]:
        return {'Client-ID': str(uuid.uuid4()), 'Authorization': f'Bearer {key}'}

    missing = requests.get(
        queues, headers={'Client-ID': str(uuid.uuid4())}, timeout=TIMEOUT
    )
    assert missing.status_code == 401
    assert missing.json()['title'] == 'Unauthorized'
    assert missing.headers['WWW-Authenticate'] == 'Bearer realm="zaqar"'
    assert (
        requests.get(queues, headers=bearer(old_key), timeout=TIMEOUT).status_code
        == 200
    )

    # python-zaqarclient sends the key as a fixed token, unchanged.
    client = zaqarclient_with_token(server.url, old_key)
    client.queue('from-client', force_create=True)
    listed = requests.get(queues, headers=bearer(old_key), timeout=TIMEOUT).json()
    assert [queue['name'] for queue in listed['queues']] == ['from-client']

    # Rotation: add the new key, then revoke the old one; no restart.
    new_key, new_entry = make_key('project-a', name='new')
    write_key_file(key_file, old_entry, new_entry)
    wait_for_status(queues, bearer(new_key), 200)
    write_key_file(key_file, new_entry)
    wait_for_status(queues, bearer(old_key), 401)
    with pytest.raises(client_errors.UnauthorizedError):
        client.queue('refused', force_create=True)

    # SIGHUP to the master restarts the workers gracefully, as gunicorn
    # does; the new ones read the file afresh.
    ready_before = len(WORKER_READY.findall(server.output()))
    os.kill(server.process.pid, signal.SIGHUP)
    deadline = time.monotonic() + 20
    while len(WORKER_READY.findall(server.output())) < ready_before + 2:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.1)
    wait_for_status(queues, bearer(new_key), 200)
    assert (
        requests.get(queues, headers=bearer(old_key), timeout=TIMEOUT).status_code
        == 401
    )
    log = server.output()
    for key in (old_key, new_key):
        assert key not in log


def test_a_bad_key_file_stops_startup(tmp_path: Path) -> None:
    key_file = tmp_path / 'keys.yaml'
    key_file.write_text(json.dumps({'keys': [{'hash': 'sha256:00', 'project': 'p'}]}))
    conf = write_config(
        tmp_path / 'z.conf',
        {'DEFAULT': {'auth_strategy': 'api_key'}, 'api_key': {'key_file': key_file}},
    )
    result = subprocess.run(
        [*server_command(), '--config-file', str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert '[api_key] key_file' in result.stderr
    assert '"hash" must be' in result.stderr


def test_noauth_on_loopback_is_said_at_info(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    log = server.output()
    assert (
        'INFO zaqar.server: auth_strategy = noauth: requests act as the project' in log
    )
    assert 'not a loopback address' not in log


def test_a_401_leaves_the_connection_usable(
    keystone_server: Server, keystone: FakeKeystone
) -> None:
    """Refused before anything reads the body, the connection still serves.

    The unread-body handling wraps the authentication layers too.
    """
    address = urlsplit(keystone_server.url)
    assert address.hostname is not None and address.port is not None
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    body = b'{"messages": [{"body": "' + b'x' * 300 * 1024 + b'"}]}'
    try:
        conn.request(
            'POST',
            '/v2/queues/q/messages',
            body=body,
            headers={
                'Client-ID': str(uuid.uuid4()),
                'Content-Type': 'application/json',
            },
        )
        refused = conn.getresponse()
        refused.read()
        assert refused.status == 401
        assert (refused.getheader('Connection') or '').lower() == 'keep-alive'
        sock = conn.sock
        token = keystone.issue('project-a', ['member'])
        conn.request('GET', '/v2/queues', headers=token_headers(token))
        follow_up = conn.getresponse()
        follow_up.read()
        assert follow_up.status == 200
        assert conn.sock is sock, 'the follow-up needed a new connection'
    finally:
        conn.close()
