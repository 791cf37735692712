"""Storage failures and unexpected errors (doc/http-api.md, "Errors").

A faulty driver raises ``StorageUnavailable`` from every controller method,
as a driver does when its backend is down.
"""

from __future__ import annotations

import logging
from typing import Any
from typing import NoReturn

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.common.clock import ManualClock
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport
from zaqar.transport.wsgi.app import create_app

from .helpers import JSON_PATCH
from .helpers import headers


class Failing:
    """A controller whose every method raises the configured error."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Any:
        def fail(*args: object, **kwargs: object) -> NoReturn:
            raise self._error

        return fail


class FaultyDriver(DataDriver):
    """A driver whose backend is unreachable (or broken)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(ManualClock())
        self._failing = Failing(error)

    @property
    def queues(self) -> Any:
        return self._failing

    @property
    def messages(self) -> Any:
        return self._failing

    @property
    def claims(self) -> Any:
        return self._failing

    def is_alive(self) -> bool:
        return False

    def gc(self) -> GCReport:
        return GCReport()


@pytest.fixture
def faulty_client(conf: cfg.ConfigOpts) -> falcon.testing.TestClient:
    conf.set_override('admin_mode', True)
    driver = FaultyDriver(storage_errors.StorageUnavailable('backend down'))
    return falcon.testing.TestClient(
        create_app(conf, storage=driver), headers=headers()
    )


PATCH_BODY = '[{"op": "add", "path": "/metadata/a", "value": 1}]'


@pytest.mark.parametrize(
    ('method', 'path', 'kwargs', 'description'),
    [
        ('GET', '/v2/queues', {}, 'Queues could not be listed.'),
        ('PUT', '/v2/queues/q', {}, 'Queue could not be created.'),
        ('GET', '/v2/queues/q', {}, 'Queue metadata could not be retrieved.'),
        ('HEAD', '/v2/queues/q', {}, None),
        (
            'PATCH',
            '/v2/queues/q',
            {'body': PATCH_BODY, 'headers': {'Content-Type': JSON_PATCH}},
            'Queue could not be updated.',
        ),
        ('DELETE', '/v2/queues/q', {}, 'Queue could not be deleted.'),
        ('GET', '/v2/queues/q/stats', {}, 'Queue stats could not be read.'),
        ('POST', '/v2/queues/q/purge', {}, 'Queue could not be purged.'),
        (
            'POST',
            '/v2/queues/q/messages',
            {'json': {'messages': [{'body': 1}]}},
            'Messages could not be enqueued.',
        ),
        ('GET', '/v2/queues/q/messages', {}, 'Messages could not be listed.'),
        (
            'GET',
            '/v2/queues/q/messages',
            {'params': {'ids': 'a'}},
            'Messages could not be listed.',
        ),
        (
            'DELETE',
            '/v2/queues/q/messages',
            {'params': {'ids': 'a'}},
            'Messages could not be deleted.',
        ),
        (
            'DELETE',
            '/v2/queues/q/messages',
            {'params': {'pop': 1}},
            'Messages could not be deleted.',
        ),
        ('GET', '/v2/queues/q/messages/m', {}, 'Message could not be retrieved.'),
        ('DELETE', '/v2/queues/q/messages/m', {}, 'Message could not be deleted.'),
        ('POST', '/v2/queues/q/claims', {}, 'Claim could not be created.'),
        ('GET', '/v2/queues/q/claims/c', {}, 'Claim could not be queried.'),
        (
            'PATCH',
            '/v2/queues/q/claims/c',
            {'json': {'ttl': 100}},
            'Claim could not be updated.',
        ),
        ('DELETE', '/v2/queues/q/claims/c', {}, 'Claim could not be deleted.'),
    ],
)
def test_storage_failures_are_503_with_endpoint_descriptions(
    faulty_client: falcon.testing.TestClient,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    description: str | None,
) -> None:
    result = faulty_client.simulate_request(method, path, **kwargs)
    assert result.status_code == 503
    if description is not None:
        assert result.json == {
            'title': 'Service temporarily unavailable',
            'description': f'{description} Please try again in a few seconds.',
        }


def test_validation_still_wins_over_storage_failures(
    faulty_client: falcon.testing.TestClient,
) -> None:
    result = faulty_client.simulate_get('/v2/queues', params={'limit': 50})
    assert result.status_code == 400


def test_ping_reports_unreachable_storage_but_head_does_not_look(
    faulty_client: falcon.testing.TestClient,
) -> None:
    """http-api.md, Versions and routes"""
    result = faulty_client.simulate_get('/v2/ping')
    assert result.status_code == 503
    assert result.content == b''
    assert faulty_client.simulate_head('/v2/ping').status_code == 204


def test_health_of_unreachable_storage(
    faulty_client: falcon.testing.TestClient,
) -> None:
    result = faulty_client.simulate_get('/v2/health', headers={'X-Roles': 'admin'})
    assert result.status_code == 200
    assert result.json == {'storage_reachable': False}


def test_unexpected_driver_errors_are_logged_500s(
    conf: cfg.ConfigOpts, caplog: pytest.LogCaptureFixture
) -> None:
    driver = FaultyDriver(ZeroDivisionError('internal detail'))
    client = falcon.testing.TestClient(
        create_app(conf, storage=driver), headers=headers()
    )
    with caplog.at_level(logging.ERROR):
        result = client.simulate_get('/v2/queues/q/stats')
    assert result.status_code == 500
    assert result.json['title'] == 'Internal server error'
    assert 'internal detail' not in result.text
    assert 'ZeroDivisionError' not in result.text
    assert any(record.exc_info for record in caplog.records)


def test_unexpected_errors_never_hide_client_errors(conf: cfg.ConfigOpts) -> None:
    driver = FaultyDriver(ZeroDivisionError('boom'))
    client = falcon.testing.TestClient(
        create_app(conf, storage=driver), headers=headers()
    )
    result = client.simulate_post('/v2/queues/q/claims', json={'ttl': 'x'})
    assert result.status_code == 400
