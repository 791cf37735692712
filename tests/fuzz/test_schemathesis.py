"""Schemathesis against the application in process, on SQLite and Redis.

For every operation of the OpenAPI description (loaded from the app's own
``GET /v2/openapi.json``), Hypothesis generates requests from the
description, schema-valid and schema-violating alike, on a fixed budget
and seed (``conftest.py``). Half of them carry valid identification
headers and name data that exists (a seeded queue, topic, messages, claim
and subscriptions), so that they get past the request checks into the
operations. Every answer must:

- not be a 5xx (a 503 comes only from a storage failure, and storage works
  here; a 500 is a defect);
- be described: status code, content type, required headers and body
  schema, by Schemathesis' checks and by this repository's own checker
  (``tests/functional/openapi_check.py``);
- for every 4xx, have a Zaqar error body ``{"title", "description"?}``.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from tests import services
from tests.functional import openapi_check
from zaqar import conf as zaqar_conf
from zaqar.common.clock import SystemClock
from zaqar.storage.base import DataDriver
from zaqar.transport import openapi
from zaqar.transport.wsgi.app import create_app

from . import conftest

JSON_PATCH = 'application/openstack-messaging-v2.0-json-patch'
# A JSON-patch body is JSON: serialize it as such.
schemathesis.serializer.alias(JSON_PATCH, 'application/json')

CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]
# Longest one generated request may take; far above what any takes, so
# only a pathological case (quadratic parsing, a hang) trips it.
DEADLINE_MS = 5000
PROJECT = 'fuzz'
NAME = 'fuzz'
GOOD_HEADERS = {
    'Client-ID': '3381af92-2b9e-11e3-b191-71861300734c',
    'X-Project-ID': PROJECT,
    'X-Roles': 'admin',
}


def _operations() -> list[Any]:
    document = openapi.load_v2()
    return [
        pytest.param(method.upper(), path, id=f'{method.upper()} {path}')
        for path, item in document['paths'].items()
        for method in item
        if method in openapi_check.HTTP_METHODS
    ]


OPERATIONS = _operations()


@dataclasses.dataclass
class Target:
    """An application under test and what it holds."""

    app: falcon.App
    schema: Any
    known: dict[str, str]


def _driver(kind: str, directory: Path) -> DataDriver:
    if kind == 'sqlite':
        from zaqar.storage.sqlite.driver import SqliteDriver

        return SqliteDriver(database=str(directory / 'fuzz.db'), clock=SystemClock())
    import redis

    from zaqar.storage.redis.driver import RedisDriver

    try:
        server = services.redis_server()
    except services.ServiceUnavailable as ex:
        services.unavailable('redis-server', str(ex))
    client = redis.Redis(host=server.host, port=server.port, db=0)
    return RedisDriver(client, SystemClock(), namespace=f'fuzz-{uuid.uuid4().hex}')


def _seed(app: falcon.App) -> dict[str, str]:
    """Create data the generated requests can reach; return its path values."""
    client = falcon.testing.TestClient(app, headers=GOOD_HEADERS)
    known = {'queue_name': NAME, 'topic_name': NAME}
    for collection in ('queues', 'topics'):
        base = f'/v2/{collection}/{NAME}'
        assert client.simulate_put(base, json={'team': 'fuzz'}).status_code == 201
        posted = client.simulate_post(
            f'{base}/messages',
            json={'messages': [{'body': {'n': n}} for n in range(30)]},
        )
        assert posted.status_code == 201, posted.text
        known['message_id'] = posted.json['resources'][0].rsplit('/', 1)[1]
        subscribed = client.simulate_post(
            f'{base}/subscriptions', json={'subscriber': 'http://127.0.0.1:9/x'}
        )
        assert subscribed.status_code == 201, subscribed.text
        known['subscription_id'] = subscribed.json['subscription_id']
    claimed = client.simulate_post(
        f'/v2/queues/{NAME}/claims', params={'limit': 5}, json={'ttl': 3600}
    )
    assert claimed.status_code == 201, claimed.text
    known['claim_id'] = claimed.headers['location'].rsplit('/', 1)[1]
    return known


@pytest.fixture(scope='module', params=['sqlite', 'redis'])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """The application on a fresh driver, with seeded data."""
    driver = _driver(request.param, tmp_path_factory.mktemp('fuzz'))
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('admin_mode', True)
    conf.set_override('secret_key', 'fuzz-secret', group='signed_url')
    app = create_app(conf, storage=driver)
    known = _seed(app)
    schema = schemathesis.openapi.from_wsgi('/v2/openapi.json', app)
    yield Target(app, schema, known)
    driver.close()


def _zaqar_checks(method: str, response: Any) -> None:
    """This repository's own description check and the error-body check."""
    path = urllib.parse.urlsplit(response.request.url).path
    # Schemathesis keeps every value of a header: one is enough here.
    headers = {name: values[-1] for name, values in response.headers.items()}
    answer = openapi_check.Answer(
        response.status_code, headers, response.content or b''
    )
    openapi_check.v2().check(method, path, answer)
    problem = conftest.error_body_problem(
        response.status_code, answer.headers, answer.content, method
    )
    assert problem is None, problem


@pytest.mark.parametrize(('method', 'path'), OPERATIONS)
def test_generated_requests_get_described_answers(
    target: Target, method: str, path: str
) -> None:
    operation = target.schema[path][method]
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @hypothesis.seed(conftest.seed())
    @hypothesis.settings(
        max_examples=conftest.examples(),
        deadline=DEADLINE_MS,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @hypothesis.given(case=cases, identified=st.booleans(), existing=st.booleans())
    def run(case: Any, identified: bool, existing: bool) -> None:
        if identified:
            # Past the header checks, into the operation.
            case.headers = {**(case.headers or {}), **GOOD_HEADERS}
        if existing and case.path_parameters:
            case.path_parameters = {
                name: target.known.get(name, value)
                for name, value in case.path_parameters.items()
            }
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        _zaqar_checks(method, response)

    run()
