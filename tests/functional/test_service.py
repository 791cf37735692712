"""Versions, home document, ping and health (http-api.md, Versions and routes)."""

from __future__ import annotations

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from .conftest import ClientFactory
from .helpers import PROJECT_A
from .helpers import headers
from .helpers import post_messages


def test_root_lists_versions_without_any_header(app: falcon.App) -> None:
    """http-api.md, Versions and routes: GET / is public and answers 300."""
    result = falcon.testing.TestClient(app).simulate_get('/')
    assert result.status_code == 300
    assert result.headers['content-type'] == 'application/json'
    [version] = result.json['versions']
    assert version['id'] == '2'
    assert version['status'] == 'CURRENT'
    assert version['links'] == [{'href': '/v2/', 'rel': 'self'}]
    assert version['media-types'][0]['type'] == (
        'application/vnd.openstack.messaging-v2+json'
    )


@pytest.mark.parametrize('path', ['/v2', '/v2/'])
def test_home_document_is_served_with_and_without_slash(
    client: falcon.testing.TestClient, path: str
) -> None:
    """http-api.md, Versions and routes: JSON-home, cacheable for a day."""
    result = client.simulate_get(path)
    assert result.status_code == 200
    assert result.headers['content-type'] == 'application/json-home'
    assert result.headers['cache-control'] == 'max-age=86400'
    resources = result.json['resources']
    assert resources['rel/queues']['href-template'].startswith('/v2/queues')
    assert 'rel/post_claim' in resources
    assert 'rel/health' not in resources


def test_home_document_needs_the_usual_headers(app: falcon.App) -> None:
    result = falcon.testing.TestClient(app).simulate_get('/v2/')
    assert result.status_code == 400
    assert result.json['title'] == 'Missing header value'


def test_ping_get_and_head_answer_204(client: falcon.testing.TestClient) -> None:
    """http-api.md, Versions and routes"""
    for method in ('GET', 'HEAD'):
        result = client.simulate_request(method, '/v2/ping')
        assert result.status_code == 204
        assert result.content == b''


def test_ping_still_needs_client_id_and_project(app: falcon.App) -> None:
    result = falcon.testing.TestClient(app).simulate_head(
        '/v2/ping', headers={'Client-ID': 'x'}
    )
    assert result.status_code == 400


def test_health_is_absent_unless_admin_mode(
    client: falcon.testing.TestClient,
) -> None:
    """Without admin_mode the route does not exist."""
    result = client.simulate_get('/v2/health', headers={'X-Roles': 'admin'})
    assert result.status_code == 404


@pytest.fixture
def admin_app(conf: cfg.ConfigOpts, storage: DataDriver) -> falcon.App:
    conf.set_override('admin_mode', True)
    return create_app(conf, storage=storage)


def test_health_needs_the_admin_role(admin_app: falcon.App) -> None:
    """http-api.md, Errors: policy failure is 403 "Not authorized"."""
    client = falcon.testing.TestClient(admin_app, headers=headers())
    for roles in (None, 'member', 'administrator, reader'):
        extra = {'X-Roles': roles} if roles is not None else {}
        result = client.simulate_get('/v2/health', headers=extra)
        assert result.status_code == 403
        assert result.json == {
            'title': 'Not authorized',
            'description': 'You are not authorized to complete this action.',
        }


def test_health_reports_reachability_and_message_volume(
    admin_app: falcon.App,
) -> None:
    client = falcon.testing.TestClient(admin_app, headers=headers())
    post_messages(client, 'h1', 1, 2, 3)
    post_messages(client, 'h2', 4)
    client.simulate_post('/v2/queues/h1/claims', params={'limit': 2})
    result = client.simulate_get('/v2/health', headers={'X-Roles': 'reader,admin'})
    assert result.status_code == 200
    assert result.json == {
        'storage_reachable': True,
        'message_volume': {'free': 2, 'claimed': 2, 'total': 4},
    }
    home = client.simulate_get('/v2/').json['resources']
    assert home['rel/health']['href'] == '/v2/health'


def test_unknown_paths_are_bare_404(client: falcon.testing.TestClient) -> None:
    """Absent features (pools, flavors, old versions) have no routes."""
    for path in (
        '/v3',
        '/v2/nothing',
        '/v2/queues/q/nothing',
        '/v2/topics/t/claims',
        '/v2/pools',
        '/v2/flavors',
        '/v1.1/queues',
    ):
        result = client.simulate_get(path)
        assert result.status_code == 404, path
        assert result.json == {'title': '404 Not Found'}


@pytest.mark.parametrize(
    ('method', 'path', 'allowed'),
    [
        ('POST', '/', {'GET'}),
        ('DELETE', '/v2/', {'GET'}),
        ('POST', '/v2/ping', {'GET', 'HEAD'}),
        ('POST', '/v2/queues', {'GET'}),
        ('POST', '/v2/queues/q', {'GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'}),
        ('DELETE', '/v2/queues/q/stats', {'GET'}),
        ('GET', '/v2/queues/q/purge', {'POST'}),
        ('PUT', '/v2/queues/q/messages', {'GET', 'POST', 'DELETE'}),
        ('POST', '/v2/queues/q/messages/abc', {'GET', 'DELETE'}),
        ('GET', '/v2/queues/q/claims', {'POST'}),
        ('POST', '/v2/queues/q/claims/abc', {'GET', 'PATCH', 'DELETE'}),
    ],
)
def test_unsupported_methods_are_405_with_allow(
    make_client: ClientFactory, method: str, path: str, allowed: set[str]
) -> None:
    """http-api.md, Versions and routes: 405 wins over every header check."""
    bare = falcon.testing.TestClient(make_client().app)
    result = bare.simulate_request(method, path, headers={'Accept': 'text/html'})
    assert result.status_code == 405
    assert result.json == {'title': '405 Method Not Allowed'}
    listed = {name.strip() for name in result.headers['allow'].split(',')}
    assert listed - {'OPTIONS'} == allowed


def test_project_header_fallbacks_reach_the_same_project(
    make_client: ClientFactory,
) -> None:
    """http-api.md, Headers: X-Tenant-Id and X-Tenant stand in for X-Project-ID."""
    client = make_client()
    post_messages(client, 'shared', 'hello')
    app = client.app
    for header in ('X-Tenant-Id', 'X-Tenant'):
        other = falcon.testing.TestClient(
            app, headers={'Client-ID': headers()['Client-ID'], header: PROJECT_A}
        )
        result = other.simulate_get('/v2/queues/shared/stats')
        assert result.json['messages']['total'] == 1
