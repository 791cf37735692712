"""Pre-signed URLs over HTTP: ``POST .../share`` and ``URL-*`` headers.

See doc/http-api.md, "Pre-signed URLs".
"""

from __future__ import annotations

import datetime

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from .conftest import ClientFactory
from .helpers import PROJECT_A
from .helpers import headers
from .helpers import post_messages

SECRET = 'test-secret'


@pytest.fixture
def conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    conf.set_override('secret_key', SECRET, group='signed_url')
    return conf


def share(
    client: falcon.testing.TestClient, queue: str = 'q', **body: object
) -> falcon.testing.Result:
    return client.simulate_post(f'/v2/queues/{queue}/share', json=body)


def signed_headers(grant: dict, client_id: str = 'a' * 32) -> dict[str, str]:
    """Headers a holder of the grant sends (no trusted project of its own)."""
    return {
        'URL-Signature': grant['signature'],
        'URL-Expires': grant['expires'],
        'URL-Methods': ','.join(grant['methods']),
        'URL-Paths': ','.join(grant['paths']),
        'X-Project-ID': grant['project'],
        'Client-ID': client_id,
    }


def test_share_signs_a_grant_on_the_queue(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    result = share(
        client,
        paths=['messages', 'claims'],
        methods=['POST', 'GET'],
        expires='2030-01-01T00:00:00Z',
    )
    assert result.status_code == 200
    grant = result.json
    assert grant['paths'] == ['/v2/queues/q/claims', '/v2/queues/q/messages']
    assert grant['methods'] == ['GET', 'POST']
    assert grant['project'] == PROJECT_A
    assert grant['expires'] == '2030-01-01T00:00:00'
    assert len(grant['signature']) == 64
    # Sharing creates nothing.
    assert client.simulate_head('/v2/queues/q').status_code == 404


def test_share_defaults_expire_a_day_from_now(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    grant = share(client).json
    now = datetime.datetime.fromtimestamp(clock.now(), datetime.UTC)
    expected = (now + datetime.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%S')
    assert grant['expires'] == expected
    assert grant['paths'] == ['/v2/queues/q/messages']
    assert grant['methods'] == ['GET']


def test_a_signed_request_reads_messages_it_was_granted(
    client: falcon.testing.TestClient, app: falcon.App
) -> None:
    post_messages(client, 'q', 'hello', ttl=300)
    grant = share(client, methods=['GET']).json
    holder = falcon.testing.TestClient(app)
    result = holder.simulate_get('/v2/queues/q/messages', headers=signed_headers(grant))
    assert result.status_code == 200
    assert [m['body'] for m in result.json['messages']] == ['hello']


def test_signed_requests_outside_the_grant_get_a_bare_404(
    client: falcon.testing.TestClient, app: falcon.App, clock: ManualClock
) -> None:
    grant = share(client, methods=['GET']).json
    holder = falcon.testing.TestClient(app)
    good = signed_headers(grant)
    refused = [
        ('POST', '/v2/queues/q/messages', good),
        ('GET', '/v2/queues/q/claims/' + 'c' * 32, good),
        ('GET', '/v2/queues/other/messages', good),
        ('GET', '/v2/queues/q/messages', {**good, 'URL-Signature': 'f' * 64}),
        ('GET', '/v2/queues/q/messages', {**good, 'URL-Methods': 'GET,POST'}),
        ('GET', '/v2/queues/q/messages', {**good, 'X-Project-ID': 'someone-else'}),
        ('GET', '/v2/queues/q/messages', {**good, 'URL-Expires': 'soon'}),
    ]
    weird = {**good, 'URL-Signature': '\xe9' * 64}
    refused.append(('GET', '/v2/queues/q/messages', weird))
    far = {**good, 'URL-Expires': '9999-12-31T23:59:59-05:00'}
    refused.append(('GET', '/v2/queues/q/messages', far))
    # The project a grant is checked against is the one the request acts in.
    other = {key: value for key, value in good.items() if key != 'X-Project-ID'}
    refused.append(('GET', '/v2/queues/q/messages', {**other, 'X-Tenant-Id': 'victim'}))
    for method, path, sent in refused:
        result = holder.simulate_request(method, path, headers=sent)
        assert result.status_code == 404, (method, path, sent)
        assert result.json == {'title': '404 Not Found'}

    clock.advance(24 * 3600 + 1)
    expired = holder.simulate_get('/v2/queues/q/messages', headers=good)
    assert expired.status_code == 404


@pytest.mark.parametrize(
    ('body', 'description'),
    [
        ({'paths': ['queues']}, 'Invalid paths'),
        ({'expires': '2000-01-01T00:00:00'}, 'must be in the future'),
        ({'expires': '1893456000'}, 'ISO 8601'),
        ({'color': 'blue'}, 'Unknown keys'),
    ],
)
def test_share_refuses_bad_bodies(
    client: falcon.testing.TestClient, body: dict, description: str
) -> None:
    result = share(client, **body)
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid API request'
    assert description in result.json['description']


def test_share_needs_a_body(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post('/v2/queues/q/share')
    assert result.status_code == 400
    assert result.json['description'] == 'Request body can not be empty'


def test_without_a_secret_sharing_is_refused_and_signatures_never_pass(
    client: falcon.testing.TestClient, storage: DataDriver
) -> None:
    grant = share(client).json
    unsigned = create_app(
        zaqar_conf.new_conf([], default_config_files=[]), storage=storage
    )
    other = falcon.testing.TestClient(unsigned, headers=headers())
    refused = other.simulate_post('/v2/queues/q/share', json={})
    assert refused.status_code == 400
    assert 'secret_key' in refused.json['description']
    holder = falcon.testing.TestClient(unsigned)
    signed = holder.simulate_get('/v2/queues/q/messages', headers=signed_headers(grant))
    assert signed.status_code == 404


def test_every_response_carries_a_request_id(client: falcon.testing.TestClient) -> None:
    ids = set()
    for path in ('/', '/v2/queues', '/v2/nothing'):
        value = client.simulate_get(path).headers['x-openstack-request-id']
        assert value.startswith('req-')
        ids.add(value)
    assert len(ids) == 3


def test_a_grant_is_checked_against_the_project_the_request_acts_in(
    make_client: ClientFactory, app: falcon.App
) -> None:
    """A grant for project "None" must not open another project's queue."""
    victim = make_client('victim')
    post_messages(victim, 'q', 'secret', ttl=300)
    grant = share(make_client('None')).json
    assert grant['project'] == 'None'
    sent = signed_headers(grant)
    del sent['X-Project-ID']
    sent['X-Tenant-Id'] = 'victim'
    holder = falcon.testing.TestClient(app)
    result = holder.simulate_get('/v2/queues/q/messages', headers=sent)
    assert result.status_code == 404
