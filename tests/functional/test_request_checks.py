"""Header and request checks on real routes.

See doc/http-api.md, "Request checks" and "Headers".
"""

from __future__ import annotations

import uuid

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from .helpers import PROJECT_A
from .helpers import post_messages

ROUTES = [
    ('GET', '/v2/'),
    ('GET', '/v2/ping'),
    ('GET', '/v2/queues'),
    ('PUT', '/v2/queues/q'),
    ('GET', '/v2/queues/q/stats'),
    ('POST', '/v2/queues/q/messages'),
    ('DELETE', '/v2/queues/q/messages/abc'),
    ('POST', '/v2/queues/q/claims'),
]


@pytest.fixture
def bare(app: falcon.App) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize(('method', 'path'), ROUTES)
def test_every_route_requires_a_client_id(
    bare: falcon.testing.TestClient, method: str, path: str
) -> None:
    result = bare.simulate_request(method, path, headers={'X-Project-ID': 'p'})
    assert result.status_code == 400
    assert result.json['title'] == 'Missing header value'


@pytest.mark.parametrize(('method', 'path'), ROUTES)
def test_every_route_requires_a_project(
    bare: falcon.testing.TestClient, method: str, path: str
) -> None:
    result = bare.simulate_request(
        method, path, headers={'Client-ID': str(uuid.uuid4())}
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Project-Id Missing',
        'description': 'The header X-PROJECT-ID was missing',
    }


def test_empty_project_header_is_refused(bare: falcon.testing.TestClient) -> None:
    result = bare.simulate_get(
        '/v2/queues', headers={'Client-ID': str(uuid.uuid4()), 'X-Project-ID': ''}
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Empty project header not allowed'


@pytest.mark.parametrize(
    'client_id',
    [
        '3b9e4a8c6c4f4a419b9c2f0d5c1e7a11',
        '3B9E4A8C-6C4F-4A41-9B9C-2F0D5C1E7A11',
        'urn:uuid:3b9e4a8c-6c4f-4a41-9b9c-2f0d5c1e7a11',
    ],
)
def test_any_uuid_spelling_is_a_valid_client_id(
    bare: falcon.testing.TestClient, client_id: str
) -> None:
    result = bare.simulate_get(
        '/v2/queues', headers={'Client-ID': client_id, 'X-Project-ID': 'p'}
    )
    assert result.status_code == 200


@pytest.mark.parametrize(
    'client_id', ['', 'worker-1', '3b9e4a8c6c4f4a419b9c2f0d5c1e7a1']
)
def test_non_uuid_client_ids_are_refused_in_strict_mode(
    bare: falcon.testing.TestClient, client_id: str
) -> None:
    result = bare.simulate_get(
        '/v2/queues', headers={'Client-ID': client_id, 'X-Project-ID': 'p'}
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Wrong UUID value',
        'description': 'Malformed hexadecimal UUID.',
    }


def test_off_mode_accepts_any_client_id_of_allowed_length(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    conf.set_override('client_id_uuid_safe', 'off', group='transport')
    client = falcon.testing.TestClient(create_app(conf, storage=storage))
    ok = client.simulate_get(
        '/v2/queues', headers={'Client-ID': 'worker-0001', 'X-Project-ID': 'p'}
    )
    assert ok.status_code == 200
    short = client.simulate_get(
        '/v2/queues', headers={'Client-ID': 'w1', 'X-Project-ID': 'p'}
    )
    assert short.status_code == 400
    assert short.json == {
        'title': 'Length of client id must be at least 10 and no greater than 36.'
    }


def test_form_urlencoded_body_is_refused_first(
    bare: falcon.testing.TestClient,
) -> None:
    """http-api.md, Request checks: item 2 wins over Accept and header checks."""
    result = bare.simulate_post(
        '/v2/queues/q/messages',
        body='messages=1',
        headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'text/html',
        },
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid Content-Type'


def test_form_content_type_without_body_is_fine(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_get(
        '/v2/queues', headers={'Content-Type': 'application/x-www-form-urlencoded'}
    )
    assert result.status_code == 200


@pytest.mark.parametrize('accept', ['text/html', 'application/xml', 'image/*'])
def test_clients_that_refuse_json_get_406_before_header_checks(
    bare: falcon.testing.TestClient, accept: str
) -> None:
    result = bare.simulate_get('/v2/queues', headers={'Accept': accept})
    assert result.status_code == 406
    assert result.json['title'] == '406 Not Acceptable'
    assert 'application/json' in result.json['description']


def test_malformed_accept_header_is_406_not_500(
    bare: falcon.testing.TestClient,
) -> None:
    result = bare.simulate_get('/v2/queues', headers={'Accept': ';;;q=x,,/'})
    assert result.status_code == 406


@pytest.mark.parametrize(
    ('method', 'path'),
    [
        ('GET', '/v2/queues/bad$name'),
        ('PUT', '/v2/queues/' + 'x' * 65),
        ('POST', '/v2/queues/caf%C3%A9/messages'),
        ('GET', '/v2/queues/a%20b/stats'),
        ('POST', '/v2/queues/bad!/purge'),
        ('POST', '/v2/queues/bad!/claims'),
        ('DELETE', '/v2/queues/bad*/messages/abc'),
        ('PATCH', '/v2/queues/bad*/claims/abc'),
        # '$' in a pattern also matches before a final newline; names may not.
        ('PUT', '/v2/queues/abc%0A'),
    ],
)
def test_invalid_queue_names_are_refused_on_every_queue_route(
    client: falcon.testing.TestClient, method: str, path: str
) -> None:
    """http-api.md, Request checks"""
    result = client.simulate_request(method, path)
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid queue identification',
        'description': 'The format of the submitted queue name or project id is '
        'not valid.',
    }


def test_queue_names_may_contain_dots_and_be_64_long(
    client: falcon.testing.TestClient,
) -> None:
    for name in ('with.dots-and_under', 'x' * 64):
        assert client.simulate_put(f'/v2/queues/{name}').status_code == 201


def test_long_project_ids_are_refused_on_queue_routes_only(
    make_client: object,
) -> None:
    client = make_client('p' * 257)  # type: ignore[operator]
    assert client.simulate_get('/v2/queues').status_code == 200
    result = client.simulate_get('/v2/queues/q')
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid queue identification'


def test_dashed_and_undashed_client_ids_are_one_client(
    make_client: object,
) -> None:
    """http-api.md, Headers: echo filtering compares the UUID, not its spelling."""
    value = uuid.uuid4()
    dashed = make_client(PROJECT_A, str(value))  # type: ignore[operator]
    undashed = make_client(PROJECT_A, value.hex.upper())  # type: ignore[operator]
    post_messages(dashed, 'echoes', 'mine')
    result = undashed.simulate_get('/v2/queues/echoes/messages')
    assert result.json == {'messages': [], 'links': []}
