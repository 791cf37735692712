"""The collection loop of zaqar-gc, driven by a fake timer."""

from __future__ import annotations

import logging
import threading

import pytest

from zaqar.gc import collector
from zaqar.storage import errors
from zaqar.storage.models import GCReport


class FakeTimer:
    """A monotonic timer that only the fakes below move."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class InstantStop(threading.Event):
    """An event whose wait() records the timeout, advances time, returns."""

    def __init__(self, timer: FakeTimer, runs: int) -> None:
        super().__init__()
        self.timer = timer
        self.runs = runs
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(round(timeout, 6))
        self.timer.now += timeout
        if len(self.waits) >= self.runs:
            self.set()
        return self.is_set()


class Storage:
    """Stands in for a driver: scripted gc() outcomes and durations."""

    def __init__(
        self, timer: FakeTimer, outcomes: list[object], seconds: float
    ) -> None:
        self.timer = timer
        self.outcomes = outcomes
        self.seconds = seconds
        self.calls = 0

    def gc(self) -> GCReport:
        self.calls += 1
        self.timer.now += self.seconds
        outcome = self.outcomes[(self.calls - 1) % len(self.outcomes)]
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, GCReport)
        return outcome


def test_collect_returns_and_logs_a_one_line_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    timer = FakeTimer()
    storage = Storage(timer, [GCReport(messages=3, claims=1)], seconds=0.25)
    with caplog.at_level(logging.INFO, logger='zaqar.gc'):
        report = collector.collect(storage, timer)  # type: ignore[arg-type]
    assert report == GCReport(messages=3, claims=1)
    assert caplog.messages == [
        'gc run: removed 3 expired message(s), 1 expired claim(s), 0 expired '
        'subscription(s) and 0 forgotten idempotency key(s) in 250.0 ms'
    ]


def test_runs_start_one_interval_apart() -> None:
    timer = FakeTimer()
    storage = Storage(timer, [GCReport()], seconds=2.0)
    stop = InstantStop(timer, runs=3)
    failures = collector.run_until_stopped(storage, 10.0, stop, timer)  # type: ignore[arg-type]
    assert failures == 0
    assert storage.calls == 3
    assert stop.waits == [8.0, 8.0, 8.0]


def test_a_slow_run_skips_missed_slots_instead_of_bursting() -> None:
    timer = FakeTimer()
    storage = Storage(timer, [GCReport()], seconds=25.0)
    stop = InstantStop(timer, runs=2)
    collector.run_until_stopped(storage, 10.0, stop, timer)  # type: ignore[arg-type]
    assert stop.waits == [0.0, 0.0]
    assert storage.calls == 2


def test_failed_runs_are_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    timer = FakeTimer()
    outcomes: list[object] = [
        errors.StorageUnavailable('database is locked'),
        RuntimeError('bug'),
        GCReport(messages=1),
    ]
    storage = Storage(timer, outcomes, seconds=0.0)
    stop = InstantStop(timer, runs=3)
    with caplog.at_level(logging.INFO, logger='zaqar.gc'):
        failures = collector.run_until_stopped(storage, 5.0, stop, timer)  # type: ignore[arg-type]
    assert failures == 2
    assert storage.calls == 3
    assert 'gc run failed: database is locked' in caplog.messages
    assert 'gc run failed unexpectedly' in caplog.messages
    assert caplog.messages[-1].startswith('gc run: removed 1 expired message(s)')


def test_a_stop_requested_before_the_first_run_runs_nothing() -> None:
    timer = FakeTimer()
    storage = Storage(timer, [GCReport()], seconds=0.0)
    stop = threading.Event()
    stop.set()
    assert collector.run_until_stopped(storage, 5.0, stop, timer) == 0  # type: ignore[arg-type]
    assert storage.calls == 0
