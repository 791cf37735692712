"""Third-party plugins in a real zaqar-server: the example package.

``doc/examples/zaqar-example-plugins`` is installed with pip, exactly as an
operator would install a plugin, and found by zaqar through its entry
points: two queue stages and a storage driver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.server.conftest import Config
from tests.server.conftest import Server
from tests.server.conftest import server_command
from tests.server.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / 'doc' / 'examples' / 'zaqar-example-plugins'

AUDIT = 'example_audit'
ACTIVITY = 'example_activity'
GUARD = 'example_reserved_names'
GUARD_GROUP = f'stage:{GUARD}'
RESERVED = 'billing'
LOG_TIMEOUT = 10.0


@pytest.fixture(scope='session')
def example_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the example package into this interpreter's environment."""
    # Built from a copy: pip builds in the source tree, which would leave
    # build/ and *.egg-info under doc/.
    source = tmp_path_factory.mktemp('example') / EXAMPLE.name
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns('build', '*.egg-info')
    )
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '--quiet',
            '--disable-pip-version-check',
            '--no-deps',
            # Built with the pinned setuptools of this environment, not the
            # newest one an isolated build would fetch.
            '--no-build-isolation',
            '--force-reinstall',
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f'pip install failed:\n{result.stderr}'
    return source


def stage_config(*order: str, reserved: str = RESERVED) -> Config:
    """Configuration naming the example stages in ``order``."""
    return {
        'storage': {'queue_pipeline': ', '.join(order)},
        GUARD_GROUP: {'names': reserved},
    }


def wait_for_log(server: Server, text: str) -> str:
    """Return the server log once it contains ``text``."""
    deadline = time.monotonic() + LOG_TIMEOUT
    while True:
        log = server.output()
        if text in log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def queue_exists(server: Server, name: str) -> bool:
    response = requests.head(
        f'{server.url}/v2/queues/{name}', headers=server.headers(), timeout=10
    )
    assert response.status_code in (204, 404), response.text
    return response.status_code == 204


def request(server: Server, method: str, name: str) -> int:
    response = requests.request(
        method, f'{server.url}/v2/queues/{name}', headers=server.headers(), timeout=10
    )
    return response.status_code


def audit_line(operation: str, name: str) -> str:
    return f"example_audit: {operation} queue '{name}' in project 'project-a'"


def guard_line(name: str) -> str:
    return (
        f"example_reserved_names: kept reserved queue '{name}' of project 'project-a'"
    )


# Stages -------------------------------------------------------------------


@pytest.mark.usefixtures('example_package')
def test_both_stages_run_in_the_configured_order(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory(stage_config(AUDIT, GUARD))

    assert request(server, 'PUT', RESERVED) == 201
    assert request(server, 'DELETE', RESERVED) == 204
    assert queue_exists(server, RESERVED)

    log = wait_for_log(server, guard_line(RESERVED))
    assert audit_line('create', RESERVED) in log
    # The audit stage ran first, then the guard stopped the pipeline.
    assert (
        0 <= log.find(audit_line('delete', RESERVED)) < log.find(guard_line(RESERVED))
    )
    assert f'stages: queue=[{AUDIT}, {GUARD}]' in log


@pytest.mark.usefixtures('example_package')
def test_a_refusing_stage_first_keeps_later_stages_from_running(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory(stage_config(GUARD, AUDIT))

    assert request(server, 'PUT', RESERVED) == 201
    assert request(server, 'DELETE', RESERVED) == 204
    assert queue_exists(server, RESERVED)
    assert request(server, 'PUT', 'scratch') == 201
    assert request(server, 'DELETE', 'scratch') == 204
    assert not queue_exists(server, 'scratch')

    log = wait_for_log(server, audit_line('delete', 'scratch'))
    assert guard_line(RESERVED) in log
    assert audit_line('delete', 'scratch') in log
    assert audit_line('delete', RESERVED) not in log
    assert guard_line('scratch') not in log


@pytest.mark.usefixtures('example_package')
def test_the_guard_reads_its_own_option_group(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory(stage_config(GUARD, reserved='ledger'))

    for name in (RESERVED, 'ledger'):
        assert request(server, 'PUT', name) == 201
        assert request(server, 'DELETE', name) == 204

    assert not queue_exists(server, RESERVED)
    assert queue_exists(server, 'ledger')


@pytest.mark.usefixtures('example_package')
def test_one_stage_serves_the_queue_and_message_pipelines(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory(
        {'storage': {'queue_pipeline': ACTIVITY, 'message_pipeline': ACTIVITY}}
    )

    assert request(server, 'PUT', 'orders') == 201
    posted = requests.post(
        f'{server.url}/v2/queues/orders/messages',
        json={'messages': [{'body': 1}, {'body': 2}]},
        headers=server.headers(),
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    assert request(server, 'DELETE', 'orders') == 204

    last = "example_activity: queue 'orders' deleted in 'project-a'"
    log = wait_for_log(server, last)
    lines = [
        "example_activity: queue 'orders' created in 'project-a'",
        "example_activity: 2 message(s) posted to 'orders' in 'project-a'",
        last,
    ]
    positions = [log.find(line) for line in lines]
    assert -1 not in positions, log
    assert positions == sorted(positions)
    assert f'stages: queue=[{ACTIVITY}], message=[{ACTIVITY}]' in log


# Misconfiguration stops zaqar-server -------------------------------------


def run_server(
    tmp_path: Path, config: Config, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run zaqar-server with ``config`` and wait for it to exit."""
    full: Config = {'drivers:message_store:sqlite': {'database': tmp_path / 'z.db'}}
    full.update(config)
    conf = write_config(tmp_path / 'zaqar.conf', full)
    return subprocess.run(
        [*server_command(), '--config-file', str(conf), '--bind', '127.0.0.1:0'],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def assert_refused(result: subprocess.CompletedProcess[str], *texts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert 'zaqar-server: configuration error: ' in result.stderr
    for text in texts:
        assert text in result.stderr


@pytest.mark.usefixtures('example_package')
def test_an_unknown_stage_stops_startup(tmp_path: Path) -> None:
    result = run_server(tmp_path, stage_config(AUDIT, 'example_audti'))

    assert_refused(
        result,
        "[storage] queue_pipeline: stage 'example_audti' is not installed",
        f'installed stages: {ACTIVITY}, {AUDIT}, {GUARD}',
    )


def write_stage(site: Path, name: str, module: str, source: str) -> None:
    """Install on ``site`` a distribution with one stage, ``name``.

    The stage is the one class of ``module``, whose code is ``source``.
    """
    class_name = source.split('class ', 1)[1].split(':', 1)[0]
    distribution = module.replace('_', '-')
    dist = site / f'{module}-1.0.dist-info'
    dist.mkdir(parents=True)
    (dist / 'METADATA').write_text(
        f'Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n'
    )
    (dist / 'entry_points.txt').write_text(
        f'[zaqar.storage.stages]\n{name} = {module}:{class_name}\n'
    )
    (site / f'{module}.py').write_text(textwrap.dedent(source))


def write_typo_stage(site: Path) -> None:
    """A distribution on ``site`` whose stage misspells ``delete``."""
    write_stage(
        site,
        'typo_guard',
        'typo_stage',
        """
        class TypoGuard:
            def __init__(self, conf):
                pass

            def delet(self, name, project):
                return True
        """,
    )


@pytest.mark.usefixtures('example_package')
def test_a_stage_with_a_misspelt_method_stops_startup(tmp_path: Path) -> None:
    site = tmp_path / 'site'
    write_typo_stage(site)

    result = run_server(
        tmp_path,
        stage_config(AUDIT, 'typo_guard'),
        env={'PYTHONPATH': str(site)},
    )

    assert_refused(
        result,
        "[storage] queue_pipeline: stage 'typo_guard' defines method 'delet', "
        'which matches no queue operation nor that of any other resource',
        "did you mean 'delete'?",
    )


@pytest.mark.usefixtures('example_package')
def test_a_stage_in_a_pipeline_it_cannot_hook_stops_startup(tmp_path: Path) -> None:
    result = run_server(tmp_path, {'storage': {'message_pipeline': AUDIT}})

    # Both its methods are queue hooks, ``delete(name, project)`` included:
    # it cannot take the arguments of a message deletion.
    assert_refused(
        result,
        f"[storage] message_pipeline: stage '{AUDIT}' hooks no message operation",
    )
    assert (
        f"[storage] message_pipeline: stage '{AUDIT}': method delete takes the "
        'arguments of the queue operation, so it is not called for message ones'
    ) in result.stderr


@pytest.mark.usefixtures('example_package')
def test_a_stage_rejecting_its_options_stops_startup(tmp_path: Path) -> None:
    result = run_server(tmp_path, stage_config(GUARD, reserved='ok, not ok!'))

    assert_refused(
        result,
        f"[storage] queue_pipeline: stage '{GUARD}' rejected its configuration: "
        f"[{GUARD_GROUP}] names: 'not ok!' cannot be queue names",
    )


def write_subscription_stage(site: Path) -> None:
    """A distribution on ``site`` whose stage hooks subscription operations."""
    write_stage(
        site,
        'subscription_audit',
        'subscription_stage',
        """
        class SubscriptionAudit:
            def __init__(self, conf):
                pass

            def create(self, source, subscriber, ttl, options, project):
                pass

            def purge(self, source, project):
                pass
        """,
    )


def test_a_subscription_stage_starts_with_the_server(
    tmp_path: Path, server_factory: Callable[..., Server]
) -> None:
    site = tmp_path / 'site'
    write_subscription_stage(site)

    server = server_factory(
        {'storage': {'subscription_pipeline': 'subscription_audit'}},
        env={'PYTHONPATH': str(site)},
    )

    log = wait_for_log(server, 'stages: subscription=[subscription_audit]')
    assert 'stages: subscription=[subscription_audit]' in log
    assert request(server, 'PUT', 'orders') == 201


@pytest.mark.usefixtures('example_package')
def test_a_queue_stage_in_the_subscription_pipeline_stops_startup(
    tmp_path: Path,
) -> None:
    result = run_server(tmp_path, {'storage': {'subscription_pipeline': AUDIT}})

    # Its create(name, metadata, project) and delete(name, project) take the
    # arguments of queue operations, not of the subscription ones.
    assert_refused(
        result,
        f"[storage] subscription_pipeline: stage '{AUDIT}' hooks no subscription "
        'operation',
    )
    assert (
        f"[storage] subscription_pipeline: stage '{AUDIT}': method delete takes "
        'the arguments of the queue operation, so it is not called for '
        'subscription ones'
    ) in result.stderr


# A third-party storage driver --------------------------------------------


def driver_config(uri: str | None) -> Config:
    options: dict[str, object] = {} if uri is None else {'uri': uri}
    return {
        'drivers': {'message_store': 'example_sqlite'},
        'drivers:message_store:example_sqlite': options,
    }


@pytest.mark.usefixtures('example_package')
def test_a_third_party_driver_serves_the_api(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    database = tmp_path / 'example.db'
    server = server_factory(driver_config(database.as_uri()))

    assert request(server, 'PUT', 'orders') == 201
    posted = requests.post(
        f'{server.url}/v2/queues/orders/messages',
        json={'messages': [{'body': {'n': 1}, 'ttl': 300}]},
        headers=server.headers(),
        timeout=10,
    )
    assert posted.status_code == 201, posted.text
    listed = requests.get(
        f'{server.url}/v2/queues/orders/messages?echo=true',
        headers=server.headers(),
        timeout=10,
    )
    assert [message['body'] for message in listed.json()['messages']] == [{'n': 1}]
    assert database.exists()
    assert f'storage: example_sqlite ({database})' in server.output()


@pytest.mark.usefixtures('example_package')
@pytest.mark.parametrize(
    ('uri', 'message'),
    [
        (None, '[drivers:message_store:example_sqlite] uri is required'),
        (
            'http://db.example/z.db',
            "[drivers:message_store:example_sqlite] uri = 'http://db.example/z.db' "
            'is not the file URI of a database file',
        ),
        (
            'file:///nonexistent-zaqar-dir/z.db',
            '[drivers:message_store:example_sqlite] uri: directory '
            '/nonexistent-zaqar-dir does not exist',
        ),
    ],
    ids=['missing', 'not-a-file-uri', 'missing-directory'],
)
def test_a_third_party_driver_rejects_bad_options_at_startup(
    tmp_path: Path, uri: str | None, message: str
) -> None:
    assert_refused(run_server(tmp_path, driver_config(uri)), message)


@pytest.mark.usefixtures('example_package')
def test_the_contract_suite_runs_against_a_driver_that_names_itself() -> None:
    # What doc/writing-a-driver.md tells a driver author to run.
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'pytest',
            '-p',
            'zaqar_example_plugins.contract',
            '-p',
            'no:cacheprovider',
            '-v',
            'tests/contract',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, 'ZAQAR_TEST_DRIVERS': 'example_sqlite'},
    )

    assert result.returncode == 0, result.stdout[-5000:] + result.stderr
    outcomes = [
        line
        for line in result.stdout.splitlines()
        if line.startswith('tests/contract/') and '::' in line
    ]
    assert len(outcomes) >= 50
    assert all('example_sqlite' in line and 'PASSED' in line for line in outcomes)
