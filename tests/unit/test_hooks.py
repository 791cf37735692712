"""Unit tests of the request checks and their order.

See doc/http-api.md, "Request checks" and "Headers".
"""

from __future__ import annotations

import falcon
import falcon.testing
import pytest

from zaqar.common.limits import Limits
from zaqar.operations.validation import Validator
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import hooks

CLIENT_ID = '3b9e4a8c6c4f4a419b9c2f0d5c1e7a11'


class Echo:
    """Returns what the checks stored in the request context."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        resp.media = {
            'client_id': req.context.client_id,
            'project_id': req.context.project_id,
        }

    on_post = on_get


class Public:
    public = True

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {'public': True}


def make_client(limits: Limits | None = None) -> falcon.testing.TestClient:
    app = falcon.App(middleware=[hooks.RequestChecks(Validator(limits or Limits()))])
    errors.register(app)
    app.add_route('/', Public())
    app.add_route('/v2/thing', Echo())
    app.add_route('/v2/queues/{queue_name}', Echo())
    return falcon.testing.TestClient(app)


@pytest.fixture
def client() -> falcon.testing.TestClient:
    return make_client()


def test_checks_run_in_the_documented_order() -> None:
    assert hooks.CHECKS == (
        hooks.reject_form_urlencoded,
        hooks.require_accepts_json,
        hooks.require_client_id,
        hooks.require_project_id,
        hooks.validate_queue_identification,
    )


def test_a_good_request_stores_canonical_client_and_project(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_get(
        '/v2/thing', headers={'Client-ID': CLIENT_ID, 'X-Project-ID': 'p1'}
    )
    assert result.status_code == 200
    assert result.json == {
        'client_id': '3b9e4a8c-6c4f-4a41-9b9c-2f0d5c1e7a11',
        'project_id': 'p1',
    }


def test_public_resources_and_unrouted_methods_skip_the_checks(
    client: falcon.testing.TestClient,
) -> None:
    assert client.simulate_get('/').status_code == 200
    result = client.simulate_delete('/v2/thing')
    assert result.status_code == 405
    assert client.simulate_get('/v2/nowhere').status_code == 404


def test_form_bodies_lose_to_nothing_else(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post(
        '/v2/thing',
        body='a=1',
        headers={
            'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
            'Accept': 'text/html',
        },
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid Content-Type'


def test_accept_is_checked_before_client_id(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get('/v2/thing', headers={'Accept': 'text/plain'})
    assert result.status_code == 406


@pytest.mark.parametrize(
    'accept', ['*/*', 'application/json', 'application/*', 'text/html, */*;q=0.1']
)
def test_json_accepting_clients_pass(
    client: falcon.testing.TestClient, accept: str
) -> None:
    result = client.simulate_get(
        '/v2/thing',
        headers={'Accept': accept, 'Client-ID': CLIENT_ID, 'X-Project-ID': 'p'},
    )
    assert result.status_code == 200


def test_missing_client_id_is_reported_before_the_project(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_get('/v2/thing')
    assert result.status_code == 400
    assert result.json['title'] == 'Missing header value'
    assert 'Client-ID' in result.json['description']


def test_malformed_client_id_in_strict_mode(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get(
        '/v2/thing', headers={'Client-ID': 'nope', 'X-Project-ID': 'p'}
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Wrong UUID value',
        'description': 'Malformed hexadecimal UUID.',
    }


def test_client_id_length_in_off_mode() -> None:
    client = make_client(Limits(client_id_uuid_safe='off'))
    result = client.simulate_get(
        '/v2/thing', headers={'Client-ID': 'short', 'X-Project-ID': 'p'}
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Length of client id must be at least 10 and no greater than 36.'
    }
    result = client.simulate_get(
        '/v2/thing', headers={'Client-ID': 'worker-0001', 'X-Project-ID': 'p'}
    )
    assert result.json['client_id'] == 'worker-0001'


def test_project_header_missing_or_empty(client: falcon.testing.TestClient) -> None:
    result = client.simulate_get('/v2/thing', headers={'Client-ID': CLIENT_ID})
    assert result.status_code == 400
    assert result.json['title'] == 'Project-Id Missing'
    result = client.simulate_get(
        '/v2/thing', headers={'Client-ID': CLIENT_ID, 'X-Project-ID': ''}
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Empty project header not allowed'


@pytest.mark.parametrize('header', ['X-Tenant-Id', 'X-Tenant'])
def test_tenant_headers_are_project_fallbacks(
    client: falcon.testing.TestClient, header: str
) -> None:
    result = client.simulate_get(
        '/v2/thing', headers={'Client-ID': CLIENT_ID, header: 'legacy'}
    )
    assert result.json['project_id'] == 'legacy'


def test_queue_routes_check_name_and_project_length(
    client: falcon.testing.TestClient,
) -> None:
    expected = {
        'title': 'Invalid queue identification',
        'description': 'The format of the submitted queue name or project id is '
        'not valid.',
    }
    bad_name = client.simulate_get(
        '/v2/queues/bad$name', headers={'Client-ID': CLIENT_ID, 'X-Project-ID': 'p'}
    )
    assert bad_name.status_code == 400
    assert bad_name.json == expected
    long_project = client.simulate_get(
        '/v2/queues/fine', headers={'Client-ID': CLIENT_ID, 'X-Project-ID': 'p' * 257}
    )
    assert long_project.json == expected
    long_project_elsewhere = client.simulate_get(
        '/v2/thing', headers={'Client-ID': CLIENT_ID, 'X-Project-ID': 'p' * 257}
    )
    assert long_project_elsewhere.status_code == 200
