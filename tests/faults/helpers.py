"""What the fault scenarios share: configurations, probes, the final verdict."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

from tests.faults.checker import Checker
from tests.faults.checker import Failure
from tests.faults.checker import judge_failure
from tests.faults.checker import verify
from tests.server.conftest import Config
from tests.server.conftest import Server

# Where probes post and list: not the checker's queue, whose every message
# the checker must account for.
PROBE_QUEUE = 'probe'
PROBE_HEADERS = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'faults'}


def redis_config(url: str, socket_timeout: float | None = None) -> Config:
    """A server on the Redis at ``url``, under a namespace of its own."""
    options: dict[str, object] = {'uri': url, 'namespace': f'f-{uuid.uuid4().hex}'}
    if socket_timeout is not None:
        options['socket_timeout'] = socket_timeout
    return {
        'drivers': {'message_store': 'redis'},
        'drivers:message_store:redis': options,
    }


def sqlite_config(database: Path, **options: object) -> Config:
    """A server on the SQLite database at ``database``."""
    return {'drivers:message_store:sqlite': {'database': database, **options}}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until it holds; return the seconds it took.

    Raises:
        AssertionError: It did not hold within ``timeout`` seconds.
    """
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f'{what}: not within {timeout:g} s'
        time.sleep(0.05)
    return time.monotonic() - start


def probe(server: Server, timeout: float = 10.0) -> requests.Response:
    """List the probe queue: a read that needs the store."""
    return requests.get(
        f'{server.url}/v2/queues/{PROBE_QUEUE}/messages',
        headers=PROBE_HEADERS,
        timeout=timeout,
    )


def probe_post(server: Server, timeout: float = 10.0) -> requests.Response:
    """Post to the probe queue: a write that needs the store."""
    return requests.post(
        f'{server.url}/v2/queues/{PROBE_QUEUE}/messages',
        json={'messages': [{'body': 'probe'}]},
        headers=PROBE_HEADERS,
        timeout=timeout,
    )


def assert_clean_503(response: requests.Response) -> None:
    """A 503 with Zaqar's JSON error body and ``Retry-After``."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert judge_failure(response) == '', judge_failure(response)


def recovered(server: Server) -> bool:
    """Whether the store answers again, through the server."""
    try:
        return probe(server, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def assert_consistent(
    checker: Checker, outage: tuple[float, float] | None = None
) -> None:
    """Drain the queue, then assert every invariant and that errors were clean.

    Args:
        outage: When the server itself was down (monotonic times): only
            requests in flight then may have gone unanswered.
    """
    checker.drain()
    history = checker.history
    summary = (
        f'{len(history.acks)} posts acknowledged, {len(history.deliveries)} '
        f'deliveries, {len(history.deletions)} deletes, {history.passes} observer '
        f'passes; answers {dict(history.answers)}'
    )
    violations = verify(history)
    assert violations == [], '\n'.join([summary, *violations])
    unclean = history.unclean(outage)
    assert unclean == [], '\n'.join([summary, *map(_describe, unclean[:10])])
    # The checks judged real work: messages went through the whole cycle.
    assert history.deletions, summary
    assert history.passes >= checker.settings.observers, summary


def _describe(failure: Failure) -> str:
    return (
        f'{failure.operation} after {failure.elapsed:.2f} s: '
        f'{failure.problem} (status {failure.status})'
    )


def integrity_check(database: Path) -> str:
    """SQLite's verdict on the database file: ``ok`` when intact."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute('PRAGMA integrity_check').fetchall()
    finally:
        connection.close()
    return '\n'.join(str(row[0]) for row in rows)
