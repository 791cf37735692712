"""Promises that hold while threads share one driver.

Threads start together on a barrier, loops are bounded, and every thread is
joined with a timeout, so a deadlock or livelock fails instead of hanging.
Time stays frozen: only ordering and atomicity are exercised.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport
from zaqar.storage.models import Message
from zaqar.storage.models import NewMessage

from . import CLIENT
from . import PROJECT
from . import QUEUE
from . import list_all
from . import post

THREADS = 8
JOIN_TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads often, so races show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def run_together(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run each worker in its own thread, all released by one barrier.

    Returns the workers' results in order; re-raises the first exception.
    """
    barrier = threading.Barrier(len(workers), timeout=JOIN_TIMEOUT)
    results: list[Any] = [None] * len(workers)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = workers[index]()
        except BaseException as ex:  # pytest outcomes too; re-raised below
            failures.append(ex)

    threads = [
        threading.Thread(target=run, args=(index,), daemon=True)
        for index in range(len(workers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f'threads still running after {JOIN_TIMEOUT}s: {stuck}'
    if failures:
        raise failures[0]
    return results


def test_concurrent_claimers_never_receive_the_same_message(
    driver: DataDriver,
) -> None:
    posted = post(driver, 200)

    def claimer() -> list[str]:
        taken: list[str] = []
        for _ in range(len(posted)):
            claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=5)
            if claim is None:
                return taken
            assert 1 <= len(claim.messages) <= 5
            taken += [message.id for message in claim.messages]
        return taken

    taken = run_together([claimer] * THREADS)

    everything = [message_id for ids in taken for message_id in ids]
    duplicates = [mid for mid, seen in Counter(everything).items() if seen > 1]
    assert duplicates == []
    assert sorted(everything) == sorted(posted)


def test_concurrent_pops_never_return_the_same_message(driver: DataDriver) -> None:
    posted = post(driver, 150)

    def popper() -> list[str]:
        popped: list[str] = []
        for _ in range(len(posted)):
            batch = driver.messages.pop(QUEUE, 3, PROJECT)
            if not batch:
                return popped
            assert len(batch) <= 3
            popped += [message.id for message in batch]
        return popped

    popped = run_together([popper] * THREADS)

    everything = [message_id for ids in popped for message_id in ids]
    duplicates = [mid for mid, seen in Counter(everything).items() if seen > 1]
    assert duplicates == []
    assert sorted(everything) == sorted(posted)


def test_markers_stay_unique_and_consecutive_per_post_under_concurrent_posts(
    driver: DataDriver,
) -> None:
    def producer(number: int) -> list[list[str]]:
        return [
            post(driver, 3, client_id=f'producer-{number}', first=3 * batch)
            for batch in range(15)
        ]

    batches = run_together([lambda n=n: producer(n) for n in range(THREADS)])

    listed = list_all(driver, page_size=50)
    marker_of = {message.id: message.marker for message in listed}
    assert len(listed) == THREADS * 15 * 3
    assert len(set(marker_of.values())) == len(listed)
    for producer_batches in batches:
        for batch in producer_batches:
            first = marker_of[batch[0]]
            assert [marker_of[message_id] for message_id in batch] == [
                first,
                first + 1,
                first + 2,
            ]


def test_marker_paging_during_concurrent_posts_sees_every_message_once_in_order(
    driver: DataDriver,
) -> None:
    producers = 4
    batches = 30
    done = threading.Event()
    running = [producers]
    lock = threading.Lock()

    def producer(number: int) -> None:
        for batch in range(batches):
            size = 1 + batch % 3
            messages = [
                NewMessage(body={'p': number, 'b': batch, 'i': i}, ttl=300)
                for i in range(size)
            ]
            driver.messages.post(QUEUE, messages, PROJECT, f'producer-{number}')
        with lock:
            running[0] -= 1
            if running[0] == 0:
                done.set()

    def page(marker: int | None) -> list[Message]:
        return driver.messages.list(QUEUE, PROJECT, CLIENT, marker=marker, limit=5)

    def observer() -> list[Message]:
        seen: list[Message] = []
        marker = None
        deadline = time.monotonic() + JOIN_TIMEOUT
        while time.monotonic() < deadline:
            # NOTE: an empty page proves completeness only if every producer
            # had finished before the page was read.
            finished_before = done.is_set()
            listed = page(marker)
            seen += listed
            if listed:
                marker = listed[-1].marker
            elif finished_before:
                return seen
        raise AssertionError('observer never caught up with the producers')

    workers: list[Callable[[], Any]] = [observer]
    workers += [lambda n=n: producer(n) for n in range(producers)]
    seen = run_together(workers)[0]

    expected = producers * sum(1 + batch % 3 for batch in range(batches))
    seen_ids = [message.id for message in seen]
    assert len(seen_ids) == len(set(seen_ids)), 'a message was listed twice'
    assert len(seen) == expected, 'the observer missed messages'
    for number in range(producers):
        order = [(m.body['b'], m.body['i']) for m in seen if m.body['p'] == number]
        assert order == sorted(order)


def test_producers_claimers_and_an_observer_at_once(driver: DataDriver) -> None:
    """The whole promise under load: exactly-once claims, FIFO, complete paging.

    Producers post while claimers claim (and never delete) and an observer
    pages with markers, claimed messages included.
    """
    producers, claimers, batches = 3, 3, 20
    finished = threading.Barrier(producers + 1, timeout=JOIN_TIMEOUT)
    done = threading.Event()

    def producer(number: int) -> list[str]:
        posted: list[str] = []
        for batch in range(batches):
            messages = [
                NewMessage(body={'p': number, 'n': 2 * batch + i}, ttl=300)
                for i in range(1 + batch % 2)
            ]
            posted += driver.messages.post(QUEUE, messages, PROJECT, f'p{number}')
        finished.wait()
        return posted

    def announce_done() -> None:
        finished.wait()
        done.set()

    def claimer() -> list[Message]:
        taken: list[Message] = []
        deadline = time.monotonic() + JOIN_TIMEOUT
        while time.monotonic() < deadline:
            finished_before = done.is_set()
            claim = driver.claims.create(QUEUE, PROJECT, ttl=300, grace=60, limit=4)
            if claim is not None:
                taken += claim.messages
            elif finished_before:
                return taken
        raise AssertionError('claimer never saw the end of the posts')

    def observer() -> list[Message]:
        seen: list[Message] = []
        marker = None
        deadline = time.monotonic() + JOIN_TIMEOUT
        while time.monotonic() < deadline:
            finished_before = done.is_set()
            page = driver.messages.list(
                QUEUE, PROJECT, CLIENT, marker=marker, limit=6, include_claimed=True
            )
            seen += page
            if page:
                marker = page[-1].marker
            elif finished_before:
                return seen
        raise AssertionError('observer never caught up with the producers')

    workers: list[Callable[[], Any]] = [
        lambda n=n: producer(n) for n in range(producers)
    ]
    workers += [announce_done, observer] + [claimer] * claimers
    results = run_together(workers)

    posted = [message_id for ids in results[:producers] for message_id in ids]
    claimed = [m.id for taken in results[producers + 2 :] for m in taken]
    seen = results[producers + 1]
    assert sorted(claimed) == sorted(posted), 'a message was claimed twice or never'
    assert sorted(m.id for m in seen) == sorted(posted), (
        'observer saw one twice or missed one'
    )
    for number in range(producers):
        order = [m.body['n'] for m in seen if m.body['p'] == number]
        assert order == sorted(order), f'producer {number} was listed out of order'
    for taken in results[producers + 2 :]:
        for number in range(producers):
            order = [m.body['n'] for m in taken if m.body['p'] == number]
            assert order == sorted(order), 'a claimer got one producer out of order'


def test_concurrent_gc_passes_remove_each_expired_message_once(
    driver: DataDriver, clock: ManualClock
) -> None:
    post(driver, 120, ttl=60)
    kept = post(driver, 5, ttl=600, first=120)
    clock.advance(61)

    reports: list[GCReport] = run_together([driver.gc] * 4)

    assert sum(report.messages for report in reports) == 120
    assert [message.id for message in list_all(driver)] == kept
    assert driver.gc() == GCReport()
