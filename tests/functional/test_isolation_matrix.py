"""Tenant isolation on every route of the description, on every driver.

See ``isolation.py`` for the matrix; here it runs in process, so every
answer is also checked against the OpenAPI description (conftest.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar.transport import openapi

from . import isolation
from .isolation import Reply
from .isolation import World

SECRET = 'isolation-secret'
NAME = 'shared-name'
SUBSCRIBERS = 'http://127.0.0.1:9'


@pytest.fixture
def conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """Every route exists: health (admin mode) and share (a secret)."""
    conf.set_override('admin_mode', True)
    conf.set_override('secret_key', SECRET, group='signed_url')
    return conf


@pytest.fixture
def send(app: falcon.App) -> isolation.Send:
    client = falcon.testing.TestClient(app)

    def send(
        method: str,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes | None,
    ) -> Reply:
        result = client.simulate_request(
            method, path, headers=dict(headers), params=dict(query), body=body
        )
        return Reply(result.status_code, result.headers, result.content)

    return send


@pytest.fixture
def owner(send: isolation.Send) -> World:
    return isolation.build_world(
        send, 'project-a', NAME, SUBSCRIBERS, isolation.A_MESSAGES, share=True
    )


@pytest.mark.parametrize('mode', ['fresh', 'twin'])
def test_no_project_sees_or_touches_anothers_data_on_any_route(
    send: isolation.Send, owner: World, mode: str
) -> None:
    description = openapi.load_v2()
    outcome = isolation.run_matrix(
        send, description, owner, mode, SUBSCRIBERS, share=True
    )
    assert outcome.problems == []
    assert outcome.operations == isolation.described_operations(description)
    assert isolation.COUNTING_READS <= outcome.answered(200)
    assert outcome.sent >= 80


def test_the_checks_catch_a_leak(send: isolation.Send, owner: World) -> None:
    """The same checks, fed the owner's own answers, report them."""
    listing = isolation.Request(
        'listMessages',
        '/v2/queues/{queue_name}/messages',
        'GET',
        f'/v2/queues/{NAME}/messages',
        {'echo': 'true'},
        None,
        isolation.JSON,
    )
    own = isolation.call(send, 'GET', listing.path, owner.headers(), listing.query)
    problems = isolation.leaks(listing, own, owner, 'fresh')
    assert any("holds A's data" in problem for problem in problems)
    assert any("names A's ids" in problem for problem in problems)
    assert any("'messages' lists 4 items" in problem for problem in problems)

    stats = isolation.Request(
        'getQueueStats',
        '/v2/queues/{queue_name}/stats',
        'GET',
        f'/v2/queues/{NAME}/stats',
        {},
        None,
        isolation.JSON,
    )
    own = isolation.call(send, 'GET', stats.path, owner.headers())
    problems = isolation.leaks(stats, own, owner, 'twin')
    assert any('total = 5' in problem for problem in problems)
