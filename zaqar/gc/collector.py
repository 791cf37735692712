"""One collection run, and the loop that repeats it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport

LOG = logging.getLogger(__name__)


def collect(
    storage: DataDriver, timer: Callable[[], float] = time.monotonic
) -> GCReport:
    """Run one collection and log a one-line summary of it.

    Raises:
        StorageUnavailable: The backend failed; nothing is known removed.
    """
    started = timer()
    report = storage.gc()
    LOG.info(
        'gc run: removed %d expired message(s), %d expired claim(s), %d '
        'expired subscription(s) and %d forgotten idempotency key(s) in %.1f ms',
        report.messages,
        report.claims,
        report.subscriptions,
        report.idempotency_keys,
        (timer() - started) * 1000,
    )
    return report


def run_until_stopped(
    storage: DataDriver,
    interval: float,
    stop: threading.Event,
    timer: Callable[[], float] = time.monotonic,
) -> int:
    """Collect every ``interval`` seconds until ``stop`` is set.

    Runs start ``interval`` seconds apart; a run that overruns its slot is
    followed at once by the next, and missed slots are skipped rather than
    run back to back. A failed run is logged and the loop goes on.

    Returns:
        How many runs failed.
    """
    failures = 0
    next_start = timer()
    while not stop.is_set():
        try:
            collect(storage, timer)
        except errors.StorageError as ex:
            failures += 1
            LOG.error('gc run failed: %s', ex)
        except Exception:
            # NOTE: a daemon outlives one bad run; the traceback is logged.
            failures += 1
            LOG.exception('gc run failed unexpectedly')
        now = timer()
        next_start += interval
        if next_start < now:
            # NOTE: skip the slots a slow run missed instead of bursting.
            next_start = now
        stop.wait(next_start - now)
    return failures
