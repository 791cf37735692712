"""A long run of the checker, opt-in: ``ZAQAR_SOAK_SECONDS=600 pytest -m faults``.

Collected only when ``ZAQAR_SOAK_SECONDS`` is set (see conftest.py). It runs
the checker that long on each store, prints the server's resident memory
over time (master and workers) as a table, and asserts the checker's
invariants at the end. Memory is reported, not judged: a steady climb in the
table is the thing to look at.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from tests.faults.checker import Checker
from tests.faults.conftest import SOAK_ENV
from tests.faults.helpers import assert_consistent
from tests.faults.processes import ZaqarServers
from tests.faults.processes import process_tree
from tests.faults.processes import rss_kib
from tests.server.conftest import STORES
from tests.server.conftest import store_config

# Rows of the memory table: about this many, whatever the duration.
ROWS = 20


@dataclasses.dataclass(frozen=True)
class Sample:
    """The server's memory, and the checker's progress, at one moment."""

    seconds: float
    posted: int  # messages acknowledged
    backlog: int  # of those, not deleted yet
    rss_kib: tuple[int, ...]  # master first, then each worker


def sample(started: float, server_pid: int, checker: Checker) -> Sample:
    """Measure now."""
    return Sample(
        seconds=time.monotonic() - started,
        posted=checker.history.posted,
        backlog=checker.history.backlog(),
        rss_kib=tuple(rss_kib(pid) for pid in process_tree(server_pid)),
    )


def table(store: str, samples: list[Sample]) -> str:
    """The samples as a table, memory in MiB."""
    lines = [
        f'zaqar-server RSS on {store} (MiB; master, then workers)',
        f'{"seconds":>8} {"posted":>8} {"backlog":>8} {"total":>7}  processes',
    ]
    for row in samples:
        each = ' '.join(f'{kib / 1024:6.1f}' for kib in row.rss_kib)
        total = sum(row.rss_kib) / 1024
        progress = f'{row.seconds:8.1f} {row.posted:8d} {row.backlog:8d}'
        lines.append(f'{progress} {total:7.1f}  {each}')
    return '\n'.join(lines)


def soak_seconds() -> float:
    """How long to soak, from ``ZAQAR_SOAK_SECONDS``.

    Unset, the file is not even collected, unless named on the command line.
    """
    value = os.environ.get(SOAK_ENV, '').strip()
    if not value:
        pytest.skip(f'named explicitly, but {SOAK_ENV} (the seconds to run) is unset')
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        pytest.fail(f'{SOAK_ENV}={value!r}: expected a positive number of seconds')
    return seconds


@pytest.mark.parametrize('store', STORES)
def test_soak(
    servers: ZaqarServers,
    store: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seconds = soak_seconds()
    server = servers.start(store_config(store))
    checker = Checker(server.url, 'soak')
    started = time.monotonic()
    samples: list[Sample] = []
    with checker.running():
        while time.monotonic() - started < seconds:
            samples.append(sample(started, server.process.pid, checker))
            left = started + seconds - time.monotonic()
            time.sleep(max(0.0, min(seconds / ROWS, left)))
        samples.append(sample(started, server.process.pid, checker))

    report = table(store, samples)
    (tmp_path / 'rss.txt').write_text(report + '\n')
    # Shown even without -s: the table is what the soak is run for.
    with capsys.disabled():
        print('\n' + report)
    assert_consistent(checker)
