"""Message TTLs, and garbage collection of expired messages and claims."""

from __future__ import annotations

import threading

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import QueueStats

from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import ids
from . import list_all
from . import post


def test_expired_messages_are_hidden_from_every_read_before_gc(
    driver: DataDriver, clock: ManualClock
) -> None:
    start = clock.now()
    short = post(driver, 2, ttl=60)
    (long,) = post(driver, ttl=300, first=2)
    clock.advance(59)
    assert ids(list_all(driver)) == short + [long]

    clock.advance(2)

    assert ids(list_all(driver)) == [long]
    for message_id in short:
        with pytest.raises(errors.MessageDoesNotExist):
            driver.messages.get(QUEUE, message_id, PROJECT)
    assert ids(driver.messages.get_many(QUEUE, short + [long], PROJECT)) == [long]
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats(
        free=1,
        oldest=MessageSummary(id=long, age=61, created=start),
        newest=MessageSummary(id=long, age=61, created=start),
    )
    created = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=10)
    assert created is not None
    assert ids(created.messages) == [long]


def test_expired_messages_are_not_popped(
    driver: DataDriver, clock: ManualClock
) -> None:
    post(driver, 2, ttl=60)
    (long,) = post(driver, ttl=300, first=2)
    clock.advance(61)

    assert ids(driver.messages.pop(QUEUE, 10, PROJECT)) == [long]


def test_delay_does_not_extend_a_messages_life(
    driver: DataDriver, clock: ManualClock
) -> None:
    (message_id,) = post(driver, ttl=60, delay=30)
    clock.advance(61)

    assert list_all(driver) == []
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, message_id, PROJECT)
    assert driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=10) is None


def test_gc_with_nothing_expired_removes_nothing(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 3, ttl=60)
    created = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=1)
    assert created is not None
    clock.advance(59)

    assert driver.gc() == GCReport()

    assert ids(list_all(driver)) == posted
    assert driver.claims.get(QUEUE, created.id, PROJECT).id == created.id


def test_gc_removes_expired_messages_of_every_queue_and_reports_them(
    driver: DataDriver, clock: ManualClock
) -> None:
    post(driver, 2, ttl=60)
    kept = post(driver, 1, ttl=300)
    post(driver, 1, ttl=60, queue='other', project=OTHER_PROJECT)
    clock.advance(61)

    assert driver.gc() == GCReport(messages=3, claims=0)

    assert ids(list_all(driver)) == kept
    assert list_all(driver, queue='other', project=OTHER_PROJECT) == []
    assert driver.gc() == GCReport()
    assert driver.queues.stats(QUEUE, PROJECT).total == 1


def test_gc_removes_expired_claims_and_releases_their_messages(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 2)
    expiring = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=1)
    lasting = driver.claims.create(QUEUE, PROJECT, ttl=200, grace=60, limit=1)
    assert expiring is not None and lasting is not None
    clock.advance(61)

    assert driver.gc() == GCReport(messages=0, claims=1)

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, expiring.id, PROJECT)
    assert ids(driver.claims.get(QUEUE, lasting.id, PROJECT).messages) == posted[1:]
    again = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=10)
    assert again is not None
    assert [(m.id, m.claim_count) for m in again.messages] == [(posted[0], 2)]
    assert driver.gc() == GCReport()


def test_gc_removes_an_expired_message_together_with_its_expired_claim(
    driver: DataDriver, clock: ManualClock
) -> None:
    post(driver, ttl=60)
    assert driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=1)
    clock.advance(121)

    assert driver.gc() == GCReport(messages=1, claims=1)

    assert list_all(driver) == []
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()


def test_two_collectors_at_once_remove_everything_expired_exactly_once(
    driver: DataDriver, clock: ManualClock
) -> None:
    """Several zaqar-gc processes may run together (no leader election)."""
    for batch in range(20):
        post(driver, 10, ttl=60, first=batch * 10)
    kept = post(driver, 5, ttl=600)
    clock.advance(61)

    barrier = threading.Barrier(2, timeout=30)
    reports: list[GCReport] = []
    failures: list[BaseException] = []

    def collect() -> None:
        try:
            barrier.wait()
            reports.append(driver.gc())
        except BaseException as ex:  # re-raised below
            failures.append(ex)

    threads = [threading.Thread(target=collect, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert sum(report.messages for report in reports) == 200
    assert ids(list_all(driver)) == kept
