"""Unit tests of the application factory."""

from __future__ import annotations

import types
import uuid
from pathlib import Path
from typing import cast

import falcon
import falcon.testing
import pytest
from oslo_config import cfg

from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.common.limits import Limits
from zaqar.operations import Operations
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi import app as app_module
from zaqar.transport.wsgi import routes
from zaqar.transport.wsgi.app import create_app
from zaqar.transport.wsgi.resource import Dependencies

HEADERS = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'p'}


@pytest.fixture
def conf(tmp_path: Path) -> cfg.ConfigOpts:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override(
        'database', str(tmp_path / 'app.db'), group='drivers:message_store:sqlite'
    )
    return conf


def test_create_app_builds_the_configured_storage(conf: cfg.ConfigOpts) -> None:
    app = create_app(conf)
    assert isinstance(app, falcon.App)
    client = falcon.testing.TestClient(app, headers=HEADERS)
    assert client.simulate_get('/v2/ping').status_code == 204
    assert client.simulate_put('/v2/queues/made').status_code == 201


def test_create_app_without_conf_reads_the_default_files(
    conf: cfg.ConfigOpts, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[object, ...]] = []

    def fake_new_conf(*args: object) -> cfg.ConfigOpts:
        calls.append(args)
        return conf

    monkeypatch.setattr(app_module.zaqar_conf, 'new_conf', fake_new_conf)
    app = create_app()
    assert calls == [()]
    client = falcon.testing.TestClient(app, headers=HEADERS)
    assert client.simulate_get('/v2/ping').status_code == 204


def test_route_table_has_one_entry_per_path() -> None:
    # Building routes touches no storage: controllers are only looked up.
    fake = types.SimpleNamespace(
        clock=ManualClock(), queues=None, messages=None, claims=None
    )
    ops = Operations.build(cast(DataDriver, fake), Limits())
    paths = [path for path, _ in routes.build_routes(Dependencies(ops))]
    assert len(paths) == len(set(paths))
    assert '/v2/health' not in paths
    admin = routes.build_routes(Dependencies(ops, admin_mode=True))
    assert '/v2/health' in [path for path, _ in admin]
