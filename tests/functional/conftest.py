"""Fixtures of the HTTP tests: the app over a fresh driver of each kind.

Every test runs once per driver of the contract suite (``ZAQAR_TEST_DRIVERS``
selects them, see ``tests/contract/drivers.py``), each time on empty storage
of its own and the ``clock`` fixture (a ``ManualClock``), so time-dependent
behaviour is tested by advancing the clock, never by sleeping.

Every answer any test receives through ``falcon.testing.TestClient`` is
checked against the OpenAPI description (see ``openapi_check``); an answer
it does not describe fails the test that made the request.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
import pytest
from oslo_config import cfg

from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi.app import create_app

from ..contract import drivers
from . import openapi_check
from .helpers import PROJECT_A
from .helpers import headers

ClientFactory = Callable[..., falcon.testing.TestClient]

_SIMULATE = inspect.signature(falcon.testing.simulate_request)


@pytest.fixture(autouse=True)
def answers_match_the_description(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check every simulated answer against the OpenAPI description.

    Tests build clients in many ways (fixtures, bare clients, apps with
    other options), so the check wraps the one method all of them use,
    rather than one fixture's client.
    """
    description = openapi_check.v2()
    simulate = falcon.testing.TestClient.simulate_request

    def checked(
        self: falcon.testing.TestClient, *args: Any, **kwargs: Any
    ) -> falcon.testing.Result:
        result = simulate(self, *args, **kwargs)
        request = _SIMULATE.bind(self.app, *args, **kwargs).arguments
        answer = openapi_check.Answer(
            result.status_code, result.headers, result.content
        )
        description.check(
            request.get('method', 'GET'), request.get('path', '/'), answer
        )
        return result

    monkeypatch.setattr(falcon.testing.TestClient, 'simulate_request', checked)


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    """A fresh configuration with shipped defaults (no config file)."""
    return zaqar_conf.new_conf([], default_config_files=[])


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock that starts at the real time (see tests/contract)."""
    return ManualClock(start=float(int(time.time())))


@pytest.fixture(params=drivers.selected_names())
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[DataDriver]:
    """An empty driver of the parametrized kind on the test's clock."""
    driver = drivers.build(request.param, tmp_path, clock)
    yield driver
    driver.close()


@pytest.fixture
def app(conf: cfg.ConfigOpts, storage: DataDriver) -> falcon.App:
    """The application, built after the test's config overrides."""
    return create_app(conf, storage=storage)


@pytest.fixture
def make_client(app: falcon.App) -> ClientFactory:
    """Build clients for other projects or client ids on the same app."""

    def factory(
        project: str = PROJECT_A, client_id: str | None = None
    ) -> falcon.testing.TestClient:
        return falcon.testing.TestClient(app, headers=headers(project, client_id))

    return factory


@pytest.fixture
def client(make_client: ClientFactory) -> falcon.testing.TestClient:
    """A client of project A with its own Client-ID."""
    return make_client()
