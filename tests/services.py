"""Backing services the tests start for real: one ``redis-server`` per run.

``redis_server()`` starts a private ``redis-server`` on a free loopback port
(and a unix socket) the first time it is called, and stops it when the test
run ends. Set ``ZAQAR_TEST_REDIS_URL`` to use a server of your own instead.
Tests isolate themselves from each other with a key namespace of their own,
never by flushing the database.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

REDIS_URL_ENV = 'ZAQAR_TEST_REDIS_URL'
MONGODB_URL_ENV = 'ZAQAR_TEST_MONGODB_URL'
STARTUP_TIMEOUT = 10.0
START_ATTEMPTS = 3
# CI sets this to 1: then a service that cannot be reached fails the tests
# that need it instead of skipping them.
REQUIRE_ENV = 'ZAQAR_TEST_REQUIRE_SERVICES'


class ServiceUnavailable(Exception):
    """A backing service cannot be started or reached; the reason is the text."""


@dataclasses.dataclass(frozen=True)
class RedisServer:
    """Where a running redis-server listens."""

    host: str
    port: int
    unix_socket: str | None

    @property
    def url(self) -> str:
        """A ``redis://`` URI of database 0."""
        return f'redis://{self.host}:{self.port}/0'


def services_required() -> bool:
    """Tell whether an unreachable service must fail rather than skip."""
    value = os.environ.get(REQUIRE_ENV, '').strip().lower()
    return value not in ('', '0', 'false', 'no')


def unavailable(what: str, reason: str) -> NoReturn:
    """Skip the current test, or fail it when services are required."""
    message = f'{what} is unavailable: {reason}'
    if services_required():
        pytest.fail(f'{message} ({REQUIRE_ENV} is set)', pytrace=False)
    pytest.skip(message)


_redis: RedisServer | None = None
_redis_failure: str | None = None


def redis_server() -> RedisServer:
    """Return the run's redis-server, starting it on first use.

    Raises:
        ServiceUnavailable: No redis-server binary, or it did not start.
    """
    global _redis, _redis_failure
    if _redis is not None:
        return _redis
    if _redis_failure is not None:
        raise ServiceUnavailable(_redis_failure)
    try:
        _redis = _external_redis() or _start_redis()
    except ServiceUnavailable as ex:
        _redis_failure = str(ex)
        raise
    return _redis


def _external_redis() -> RedisServer | None:
    url = os.environ.get(REDIS_URL_ENV, '').strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != 'redis' or not parts.hostname or parts.password:
        raise ServiceUnavailable(
            f'{REDIS_URL_ENV} must be redis://host:port (no password), not {url}'
        )
    server = RedisServer(parts.hostname, parts.port or 6379, None)
    # Asked once here, so that a wrong address fails every Redis test at
    # once with the reason, instead of each one after its own timeout.
    if not _wait_for_pong(server.host, server.port, None, timeout=3.0):
        raise ServiceUnavailable(f'{REDIS_URL_ENV}={url} does not answer PING')
    return server


def _start_redis() -> RedisServer:
    binary = shutil.which('redis-server')
    if binary is None:
        raise ServiceUnavailable(
            'redis-server is not installed (apt-get install -y redis-server)'
        )
    directory = Path(tempfile.mkdtemp(prefix='zaqar-test-redis-'))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    unix_socket = str(directory / 'redis.sock')
    log = directory / 'redis.log'
    for _ in range(START_ATTEMPTS):
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                '--port', str(port),
                '--bind', '127.0.0.1',
                '--unixsocket', unix_socket,
                '--unixsocketperm', '700',
                '--save', '',
                '--appendonly', 'no',
                '--dir', str(directory),
                '--logfile', str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        if _wait_for_pong('127.0.0.1', port, process):
            atexit.register(_stop, process)
            return RedisServer('127.0.0.1', port, unix_socket)
        _stop(process)
    output = log.read_text(errors='replace') if log.exists() else ''
    raise ServiceUnavailable(f'redis-server did not start:\n{output}')


def _wait_for_pong(
    host: str,
    port: int,
    process: subprocess.Popen[bytes] | None,
    timeout: float = STARTUP_TIMEOUT,
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1) as connection:
                connection.sendall(b'PING\r\n')
                if connection.recv(64).startswith(b'+PONG'):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def mongodb_url() -> str | None:
    """The real MongoDB server to test against, if ``ZAQAR_TEST_MONGODB_URL`` is set."""
    return os.environ.get(MONGODB_URL_ENV, '').strip() or None
