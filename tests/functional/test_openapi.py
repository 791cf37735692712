"""The OpenAPI description against the app: same routes, served, enforced.

Every answer of the HTTP tests is checked against the description by the
fixture in conftest.py; the tests here check that the description names
exactly the routes the app serves, that ``GET /v2/openapi.json`` serves it,
and that the checker does fail on answers the description does not allow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon
import falcon.inspect
import falcon.testing
import pytest
import yaml
from oslo_config import cfg

import zaqar.transport.openapi
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from . import openapi_check
from .openapi_check import Answer
from .openapi_check import DescriptionMismatch

YAML_FILE = Path(zaqar.transport.openapi.__file__).with_name('v2.yaml')

HEADER_PARAMETERS = {'Client-ID', 'X-Project-ID'}

Operations = dict[str, set[str]]


def served_operations(app: falcon.App) -> Operations:
    """Map each routed path template to the methods its resource implements.

    Falcon adds responders of its own (405 for missing methods, a default
    OPTIONS); those are not operations of the API and are left out.
    """
    served: Operations = {}
    for route in falcon.inspect.inspect_app(app).routes:
        methods = {method.method for method in route.methods if not method.internal}
        served[route.path] = methods
    return served


def described_operations(
    description: openapi_check.Description, admin: bool = True
) -> Operations:
    """Map each described path to its methods; admin-only paths if asked."""
    paths = description.document['paths']
    return {
        path: set(description.operations(path))
        for path, item in paths.items()
        if admin or not item.get('x-zaqar-admin-only', False)
    }


def resource_at(app: falcon.App, template: str) -> object:
    """The resource Falcon routes a described path template to."""
    # NOTE: a template is itself a path the router accepts, each {field}
    # standing for a value; Falcon's public inspection does not give the
    # resource objects, so the router is asked directly.
    found = app._router.find(template)
    assert found is not None, template
    return found[0]


@pytest.fixture
def admin_app(conf: cfg.ConfigOpts, storage: DataDriver) -> falcon.App:
    conf.set_override('admin_mode', True)
    return create_app(conf, storage=storage)


@pytest.fixture
def description() -> openapi_check.Description:
    return openapi_check.v2()


# The description names exactly what the app serves


def test_every_route_and_method_is_described_and_served(
    admin_app: falcon.App, description: openapi_check.Description
) -> None:
    assert served_operations(admin_app) == described_operations(description)


def test_admin_only_routes_are_marked_as_such(
    app: falcon.App, description: openapi_check.Description
) -> None:
    """Without admin mode the app serves the description minus admin paths."""
    assert served_operations(app) == described_operations(description, admin=False)


def test_public_operations_are_those_without_the_identity_headers(
    admin_app: falcon.App, description: openapi_check.Description
) -> None:
    """Client-ID and X-Project-ID are described exactly where checked."""
    for path, item in description.document['paths'].items():
        public = bool(getattr(resource_at(admin_app, path), 'public', False))
        for method, operation in description.operations(path).items():
            parameters = [
                description.resolve(parameter, '')[0]
                for parameter in item.get('parameters', [])
                + operation.get('parameters', [])
            ]
            headers = {
                parameter['name']
                for parameter in parameters
                if parameter['in'] == 'header' and parameter.get('required')
            }
            expected = set() if public else HEADER_PARAMETERS
            assert headers == expected, (method, path)


def test_every_operation_lists_the_errors_any_request_can_get(
    admin_app: falcon.App, description: openapi_check.Description
) -> None:
    """500 anywhere; the request checks' 400, 404 and 406 off public routes."""
    for path in description.document['paths']:
        public = bool(getattr(resource_at(admin_app, path), 'public', False))
        for method, operation in description.operations(path).items():
            statuses = set(operation['responses'])
            expected = {'500'} if public else {'400', '404', '406', '500'}
            assert expected <= statuses, (method, path)


def queue_path_of(topic_path: str) -> str:
    """The queue path serving the same resource as a topic path."""
    return topic_path.replace('/v2/topics', '/v2/queues').replace(
        '{topic_name}', '{queue_name}'
    )


def test_topic_paths_mirror_queue_paths(
    description: openapi_check.Description,
) -> None:
    """Same resources, so the same methods, parameters and answer codes."""
    paths = description.document['paths']
    topic_paths = [path for path in paths if path.startswith('/v2/topics')]
    assert len(topic_paths) == 9
    for path in topic_paths:
        queue_path = queue_path_of(path)
        parameters = [item['$ref'] for item in paths[path]['parameters']]
        queue_parameters = [item['$ref'] for item in paths[queue_path]['parameters']]
        assert parameters == [
            ref.replace('/QueueName', '/TopicName') for ref in queue_parameters
        ], path
        operations = description.operations(path)
        queue_operations = description.operations(queue_path)
        assert set(operations) == set(queue_operations), path
        for method, operation in operations.items():
            statuses = set(operation['responses'])
            assert statuses == set(queue_operations[method]['responses']), (
                method,
                path,
            )


@pytest.mark.parametrize(
    ('path', 'method', 'name', 'component'),
    [
        ('/v2/queues', 'get', 'limit', 'ContainerListingLimit'),
        ('/v2/queues/{queue_name}/messages', 'get', 'limit', 'MessageListingLimit'),
        ('/v2/queues/{queue_name}/messages', 'delete', 'pop', 'Pop'),
    ],
)
def test_inline_queue_parameters_equal_the_shared_ones(
    description: openapi_check.Description,
    path: str,
    method: str,
    name: str,
    component: str,
) -> None:
    """tests/unit reads these three inline; topics use the components."""
    operation = description.document['paths'][path][method]
    [inline] = [item for item in operation['parameters'] if item.get('name') == name]
    shared = description.document['components']['parameters'][component]
    for key in ('name', 'in', 'schema'):
        assert inline[key] == shared[key], key


# Serving the description


def test_the_description_is_served_as_json_to_anyone(app: falcon.App) -> None:
    result = falcon.testing.TestClient(app).simulate_get('/v2/openapi.json')
    assert result.status_code == 200
    assert result.headers['content-type'] == 'application/json'
    assert result.json == yaml.safe_load(YAML_FILE.read_text(encoding='utf-8'))


def test_the_description_ignores_the_request_checks(app: falcon.App) -> None:
    """Public like GET /: even a client refusing JSON gets it."""
    result = falcon.testing.TestClient(app).simulate_get(
        '/v2/openapi.json', headers={'Accept': 'text/html'}
    )
    assert result.status_code == 200


def test_the_packaged_description_is_the_source_file() -> None:
    assert zaqar.transport.openapi.v2_text() == YAML_FILE.read_text(encoding='utf-8')


# The checker fails on answers the description does not allow


REQUEST_ID = {'x-openstack-request-id': 'req-4bd5c9b6-0f43-4f3c-9f22-7a3e5d1f6b90'}
JSON = {**REQUEST_ID, 'content-type': 'application/json'}


class Liar:
    """A resource answering GET /v2/queues with a malformed listing."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_headers(REQUEST_ID)
        resp.media = {'queues': 'not a list', 'links': []}


def test_every_simulated_request_is_checked() -> None:
    """The conftest fixture wraps every TestClient, whatever app it serves."""
    app: falcon.App = falcon.App()
    app.add_route('/v2/queues', Liar())
    with pytest.raises(DescriptionMismatch, match=r"at \$\.queues: 'not a list'"):
        falcon.testing.TestClient(app).simulate_get('/v2/queues')


def answer(status: int, body: bytes = b'', **headers: str) -> Answer:
    return Answer(status, {**JSON, **headers}, body)


@pytest.mark.parametrize(
    ('method', 'path', 'sent', 'complaint'),
    [
        ('GET', '/v2/queues', answer(418, b'{"title": "t"}'), 'does not list'),
        (
            'GET',
            '/v2/queues',
            answer(200, b'{"queues": [], "links": [], "extra": 1}'),
            'Additional properties',
        ),
        ('GET', '/v2/queues', answer(200), 'without the body'),
        ('GET', '/v2/queues', answer(200, b'not json'), 'not JSON'),
        (
            'GET',
            '/v2/queues',
            Answer(200, {**REQUEST_ID, 'content-type': 'text/plain'}, b'{}'),
            'text/plain',
        ),
        ('PUT', '/v2/queues/q', answer(201), 'required header Location'),
        (
            'DELETE',
            '/v2/queues/q',
            answer(204, b'{"title": "x"}'),
            'a body the description does not have',
        ),
        ('GET', '/v2/queues/q', Answer(200, {}, b'{}'), 'x-openstack-request-id'),
        (
            'GET',
            '/v2/queues/q/messages',
            answer(400, b'{"title": "t", "code": 1}'),
            'Additional properties',
        ),
        ('POST', '/v2/queues', answer(200, b'{}'), 'must be 405'),
        (
            'POST',
            '/v2/queues',
            answer(405, b'{"title": "405 Method Not Allowed"}', Allow='GET, PUT'),
            'Allow lists',
        ),
    ],
)
def test_answers_outside_the_description_fail(
    description: openapi_check.Description,
    method: str,
    path: str,
    sent: Answer,
    complaint: str,
) -> None:
    with pytest.raises(DescriptionMismatch, match=complaint):
        description.check(method, path, sent)


@pytest.mark.parametrize(
    ('method', 'path', 'sent'),
    [
        ('GET', '/v2/nothing', answer(404, b'{"title": "404 Not Found"}')),
        ('GET', '/v2/queues/a%2Fb', answer(404, b'{"title": "404 Not Found"}')),
        (
            'POST',
            '/v2/queues',
            answer(405, b'{"title": "405 Method Not Allowed"}', Allow='GET, OPTIONS'),
        ),
        ('OPTIONS', '/v2/ping', answer(200, Allow='GET, HEAD')),
        ('HEAD', '/v2/queues/q', answer(404)),
        (
            'GET',
            '/v2/queues/q/stats?x=1',
            answer(200, b'{"messages": {"free": 0, "claimed": 0, "total": 0}}'),
        ),
    ],
)
def test_answers_the_description_allows_pass(
    description: openapi_check.Description, method: str, path: str, sent: Answer
) -> None:
    description.check(method, path, sent)


@pytest.mark.parametrize(
    ('path', 'template'),
    [
        ('/', '/'),
        ('/v2', '/v2'),
        ('/v2/', '/v2/'),
        ('/v2/openapi.json', '/v2/openapi.json'),
        ('/v2/queues/openapi.json', '/v2/queues/{queue_name}'),
        ('/v2/queues//stats', '/v2/queues/{queue_name}/stats'),
        (
            '/v2/queues/q/messages/m?claim_id=c',
            '/v2/queues/{queue_name}/messages/{message_id}',
        ),
        (
            '/v2/queues/q/subscriptions',
            '/v2/queues/{queue_name}/subscriptions',
        ),
        ('/v2/topics/t/stats', '/v2/topics/{topic_name}/stats'),
        ('/v2/topics/t/claims', None),
        ('/v2/queues/', '/v2/queues/{queue_name}'),
    ],
)
def test_request_paths_find_their_described_path(
    description: openapi_check.Description, path: str, template: str | None
) -> None:
    assert description.template_of(path) == template


def test_schemas_resolve_their_references(
    description: openapi_check.Description,
) -> None:
    message: dict[str, Any] = {
        'id': 'a',
        'href': '/v2/queues/q/messages/a',
        'ttl': 60,
        'age': 0,
    }
    pointer = '/components/schemas/ClaimCreated'
    assert (
        description.validate(pointer, {'messages': [{**message, 'body': None}]}) == []
    )
    assert description.validate(pointer, {'messages': [message]}) == [
        "at $.messages[0]: 'body' is a required property"
    ]
