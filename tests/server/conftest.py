"""Real ``zaqar-server`` processes (gunicorn) on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests import services

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 15.0
START_ATTEMPTS = 3
# Logged by zaqar-server once per worker (zaqar.cmd.server.log_worker_ready).
WORKER_READY = re.compile(r'worker \d+ ready')

# Configuration sections given as {group: {option: value}}.
Config = dict[str, dict[str, object]]

# The stores the shared ``server`` fixture (and tests taking ``store``) run on.
STORES = ('sqlite', 'redis')


def free_port() -> int:
    """Return a TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def server_command() -> list[str]:
    """The installed console script, next to this interpreter."""
    script = Path(sys.executable).with_name('zaqar-server')
    assert script.exists(), f'zaqar-server is not installed at {script}'
    return [str(script)]


def write_config(path: Path, config: Config) -> Path:
    """Write an ini file for oslo.config."""
    lines = []
    for group, options in config.items():
        lines.append(f'[{group}]')
        lines.extend(f'{key} = {value}' for key, value in options.items())
        lines.append('')
    path.write_text('\n'.join(lines))
    return path


class Server:
    """A running zaqar-server and how to talk to it."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def headers(
        self, project: str = 'project-a', client_id: str | None = None
    ) -> dict[str, str]:
        """Headers every v2 request needs."""
        return {
            'Client-ID': client_id or str(uuid.uuid4()),
            'X-Project-ID': project,
        }

    def output(self) -> str:
        """What the server logged so far."""
        return self.log.read_text(errors='replace')

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop gracefully; fail the test if the server had to be killed."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f'zaqar-server ignored SIGTERM:\n{self.output()}')


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, log: Path, workers: int
) -> bool:
    """Poll until every worker said it is ready and ``/`` answers.

    Waiting for every worker matters for stopping too: gunicorn loses a
    SIGTERM that reaches a worker before it has set up its handlers.
    """
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        ready = len(WORKER_READY.findall(log.read_text(errors='replace'))) >= workers
        with contextlib.suppress(requests.ConnectionError):
            if ready and requests.get(url + '/', timeout=2).status_code == 300:
                return True
        time.sleep(0.1)
    return False


def start_server(
    tmp_path: Path,
    config: Config | None = None,
    workers: int = 2,
    env: dict[str, str] | None = None,
    use_config: bool = True,
    port: int | None = None,
) -> Server:
    """Start zaqar-server on a free port with ``config`` (SQLite in tmp_path).

    With ``use_config`` False no configuration file is given at all, so the
    server runs on its built-in defaults. With ``port`` it listens there
    instead (restarting a killed server where its clients expect it).
    """
    full: Config = {'drivers:message_store:sqlite': {'database': tmp_path / 'zaqar.db'}}
    for group, options in (config or {}).items():
        full.setdefault(group, {}).update(options)
    conf_file = write_config(tmp_path / 'zaqar.conf', full)
    conf_args = ['--config-file', str(conf_file)] if use_config else []
    log = tmp_path / 'server.log'
    for _ in range(START_ATTEMPTS):
        listen = port or free_port()
        url = f'http://127.0.0.1:{listen}'
        with log.open('wb') as sink:
            process = subprocess.Popen(
                [
                    *server_command(),
                    *conf_args,
                    '--bind',
                    f'127.0.0.1:{listen}',
                    '--workers',
                    str(workers),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                # A process group of its own: kill_all() reaches every worker.
                start_new_session=True,
            )
        if _wait_ready(process, url, log, workers):
            return Server(process, url, log)
        Server(process, url, log).stop()
        # A port taken between free_port() and bind: try a fresh one.
        if 'Address already in use' not in log.read_text(errors='replace'):
            break
    pytest.fail(f'zaqar-server did not start:\n{log.read_text(errors="replace")}')


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers with custom configuration; all are stopped afterwards."""
    started: list[Server] = []

    def factory(config: Config | None = None, **kwargs: object) -> Server:
        directory = tmp_path / f'server{len(started)}'
        directory.mkdir()
        server = start_server(directory, config, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def store_config(store: str) -> Config:
    """The configuration that puts a server on ``store``, in storage of its own.

    SQLite is the default start_server() already sets up; Redis is the run's
    private redis-server (tests/services.py), under a namespace no other
    server or test uses.
    """
    if store == 'sqlite':
        return {}
    assert store == 'redis', store
    try:
        redis = services.redis_server()
    except services.ServiceUnavailable as ex:
        services.unavailable('redis-server', str(ex))
    return {
        'drivers': {'message_store': 'redis'},
        'drivers:message_store:redis': {
            'uri': redis.url,
            'namespace': f'server-{uuid.uuid4().hex}',
        },
    }


@pytest.fixture(scope='module', params=STORES)
def store_name(request: pytest.FixtureRequest) -> str:
    """Each store the server tests run on, one at a time."""
    return str(request.param)


@pytest.fixture
def store(store_name: str) -> Config:
    """Configuration for the store, in storage no other test uses."""
    return store_config(store_name)


@pytest.fixture(scope='module')
def server(
    tmp_path_factory: pytest.TempPathFactory, store_name: str
) -> Iterator[Server]:
    """One server (two workers) per store, shared by a test module."""
    config = store_config(store_name)
    running = start_server(tmp_path_factory.mktemp('server'), config)
    yield running
    running.stop()
