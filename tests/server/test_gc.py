"""zaqar-gc as an operator runs it: once from cron, or as daemons."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server.conftest import Config
from tests.server.conftest import write_config
from zaqar import conf as zaqar_conf
from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.storage.loader import load_driver
from zaqar.storage.models import NewMessage

DEADLINE = 30.0


def gc_command() -> list[str]:
    return [str(Path(sys.executable).with_name('zaqar-gc'))]


def open_store(conf: Path, clock: ManualClock) -> DataDriver:
    """The store ``conf`` configures, as zaqar-gc builds it, on ``clock``."""
    return load_driver(zaqar_conf.new_conf(['--config-file', str(conf)]), clock)


def prepare(tmp_path: Path, store: Config, expired: int, live: int) -> Path:
    """Fill the store with expired and live messages; return its conf."""
    conf = write_config(
        tmp_path / 'zaqar.conf',
        {
            'drivers:message_store:sqlite': {'database': tmp_path / 'zaqar.db'},
            **store,
            'gc': {'gc_interval': 1},
        },
    )
    # Posted two hours ago: a 60-second TTL has long run out by now.
    driver = open_store(conf, ManualClock(start=time.time() - 7200))
    driver.messages.post('q', [NewMessage('old', ttl=60)] * expired, 'p', 'c')
    driver.messages.post('q', [NewMessage('new', ttl=1209600)] * live, 'p', 'c')
    driver.close()
    return conf


def stored(conf: Path) -> int:
    """Count the messages still stored, expired or not.

    Seen from the time they were posted, expired messages would be live
    again: whatever this counts beyond the live ones, zaqar-gc left behind.
    """
    driver = open_store(conf, ManualClock(start=time.time() - 7200))
    try:
        return driver.queues.stats('q', 'p').total
    finally:
        driver.close()


def wait_for(log: Path, text: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if text in log.read_text(errors='replace'):
            return
        time.sleep(0.05)
    pytest.fail(f'{text!r} never appeared in the log:\n{log.read_text()}')


def test_once_collects_and_exits(tmp_path: Path, store: Config) -> None:
    conf = prepare(tmp_path, store, expired=3, live=2)
    result = subprocess.run(
        [*gc_command(), '--once', '--config-file', str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (
        'gc run: removed 3 expired message(s), 0 expired claim(s), 0 expired '
        'subscription(s) and 0 forgotten idempotency key(s)'
    ) in result.stderr
    assert stored(conf) == 2


def test_a_bad_configuration_exits_2(tmp_path: Path) -> None:
    conf = write_config(tmp_path / 'z.conf', {'gc': {'gc_interval': 0}})
    result = subprocess.run(
        [*gc_command(), '--once', '--config-file', str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert '[gc] gc_interval' in result.stderr


def test_daemons_run_side_by_side_and_stop_cleanly_on_sigterm(
    tmp_path: Path, store: Config
) -> None:
    conf = prepare(tmp_path, store, expired=50, live=1)
    logs = [tmp_path / f'gc{n}.log' for n in range(2)]
    daemons = []
    for log in logs:
        with log.open('wb') as sink:
            daemons.append(
                subprocess.Popen(
                    [*gc_command(), '--config-file', str(conf)],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        for log in logs:
            wait_for(log, 'collecting every 1 s')
            wait_for(log, 'gc run: removed')
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            assert daemon.wait(timeout=DEADLINE) == 0
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.kill()
    texts = [log.read_text() for log in logs]
    assert all('zaqar-gc stopped' in text for text in texts)
    assert not any('failed' in text for text in texts)
    assert stored(conf) == 1
