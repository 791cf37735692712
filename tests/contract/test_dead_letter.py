"""The dead-letter rule of ClaimController.create."""

from __future__ import annotations

import threading

import pytest

from zaqar.common.clock import ManualClock
from zaqar.common.queue_metadata import DEAD_LETTER_QUEUE
from zaqar.common.queue_metadata import DEAD_LETTER_QUEUE_MESSAGES_TTL
from zaqar.common.queue_metadata import MAX_CLAIM_COUNT
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Claim
from zaqar.storage.models import QueueStats

from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import ids
from . import list_all
from . import post

DLQ = 'dead-letters'


def create_queue(driver: DataDriver, max_claims: int, dlq_ttl: int | None) -> None:
    metadata: dict[str, object] = {MAX_CLAIM_COUNT: max_claims, DEAD_LETTER_QUEUE: DLQ}
    if dlq_ttl is not None:
        metadata[DEAD_LETTER_QUEUE_MESSAGES_TTL] = dlq_ttl
    driver.queues.create(QUEUE, metadata, PROJECT)


def claim(driver: DataDriver, queue: str = QUEUE) -> Claim | None:
    return driver.claims.create(queue, PROJECT, ttl=60, grace=60, limit=10)


def claim_and_release(driver: DataDriver) -> Claim:
    created = claim(driver)
    assert created is not None
    driver.claims.delete(QUEUE, created.id, PROJECT)
    return created


def test_message_is_claimed_max_claim_count_times_then_moved_unclaimed_to_the_dlq(
    driver: DataDriver,
) -> None:
    create_queue(driver, max_claims=2, dlq_ttl=500)
    (message_id,) = post(driver, ttl=300)

    counts = [claim_and_release(driver).messages[0].claim_count for _ in range(2)]
    assert counts == [1, 2]
    assert driver.queues.exists(DLQ, PROJECT) is False

    assert claim(driver) is None

    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, message_id, PROJECT)
    assert list_all(driver) == []
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()
    assert driver.queues.exists(DLQ, PROJECT) is True
    (moved,) = list_all(driver, queue=DLQ)
    assert (moved.body, moved.claim_id, moved.claim_count, moved.ttl) == (
        {'n': 0},
        None,
        0,
        500,
    )
    assert driver.queues.stats(DLQ, PROJECT).free == 1


def test_dead_lettered_message_lives_for_the_dlq_ttl_counted_from_the_move(
    driver: DataDriver, clock: ManualClock
) -> None:
    create_queue(driver, max_claims=2, dlq_ttl=500)
    post(driver, ttl=300)
    for _ in range(2):
        assert claim(driver) is not None
        clock.advance(61)

    assert claim(driver) is None

    clock.advance(499)
    assert len(list_all(driver, queue=DLQ)) == 1
    clock.advance(2)
    assert list_all(driver, queue=DLQ) == []


def test_dead_lettered_message_keeps_its_own_ttl_counted_from_the_move(
    driver: DataDriver, clock: ManualClock
) -> None:
    create_queue(driver, max_claims=2, dlq_ttl=None)
    post(driver, ttl=300)
    for _ in range(2):
        assert claim(driver) is not None
        clock.advance(61)

    assert claim(driver) is None

    clock.advance(299)
    assert [m.ttl for m in list_all(driver, queue=DLQ)] == [300]
    clock.advance(2)
    assert list_all(driver, queue=DLQ) == []


def test_dead_lettered_message_can_be_claimed_from_the_dlq(
    driver: DataDriver,
) -> None:
    create_queue(driver, max_claims=1, dlq_ttl=None)
    post(driver)
    claim_and_release(driver)
    assert claim(driver) is None

    from_dlq = claim(driver, queue=DLQ)

    assert from_dlq is not None
    assert [(m.body, m.claim_count) for m in from_dlq.messages] == [({'n': 0}, 1)]


def test_dead_lettered_message_gets_a_new_marker_in_the_dlq(
    driver: DataDriver,
) -> None:
    create_queue(driver, max_claims=1, dlq_ttl=None)
    post(driver)
    existing = post(driver, 3, queue=DLQ, first=10)
    last_existing = list_all(driver, queue=DLQ)[-1].marker
    claim_and_release(driver)

    assert claim(driver) is None

    dlq = list_all(driver, queue=DLQ)
    assert ids(dlq[:3]) == existing
    assert [m.body for m in dlq] == [{'n': 10}, {'n': 11}, {'n': 12}, {'n': 0}]
    assert dlq[3].marker > last_existing
    after = driver.messages.list(DLQ, PROJECT, 'reader', marker=last_existing)
    assert [m.body for m in after] == [{'n': 0}]


def test_claim_moves_maxed_out_messages_and_claims_the_others(
    driver: DataDriver,
) -> None:
    create_queue(driver, max_claims=1, dlq_ttl=None)
    post(driver)
    claim_and_release(driver)
    fresh = post(driver, 2, first=1)

    created = claim(driver)

    assert created is not None
    assert [(m.id, m.claim_count) for m in created.messages] == [
        (fresh[0], 1),
        (fresh[1], 1),
    ]
    assert [m.body for m in list_all(driver, queue=DLQ)] == [{'n': 0}]
    assert ids(list_all(driver)) == fresh


@pytest.mark.parametrize(
    'metadata',
    [{MAX_CLAIM_COUNT: 1}, {DEAD_LETTER_QUEUE: DLQ}],
    ids=['max-claim-count-only', 'dead-letter-queue-only'],
)
def test_messages_are_dead_lettered_only_when_both_keys_are_set(
    driver: DataDriver, metadata: dict[str, object]
) -> None:
    driver.queues.create(
        QUEUE, {**metadata, DEAD_LETTER_QUEUE_MESSAGES_TTL: 500}, PROJECT
    )
    posted = post(driver)

    counts = [claim_and_release(driver).messages[0].claim_count for _ in range(3)]

    assert counts == [1, 2, 3]
    assert ids(list_all(driver)) == posted
    assert driver.queues.exists(DLQ, PROJECT) is False


def test_dead_letter_queue_is_in_the_same_project(driver: DataDriver) -> None:
    create_queue(driver, max_claims=1, dlq_ttl=None)
    post(driver)
    claim_and_release(driver)

    assert claim(driver) is None

    assert len(list_all(driver, queue=DLQ)) == 1
    assert driver.queues.exists(DLQ, OTHER_PROJECT) is False
    assert list_all(driver, queue=DLQ, project=OTHER_PROJECT) == []


def test_a_queue_that_dead_letters_into_itself_requeues_at_the_tail_once(
    driver: DataDriver,
) -> None:
    """A claim always ends, even when every move lands back in its queue."""
    driver.queues.create(QUEUE, {MAX_CLAIM_COUNT: 0, DEAD_LETTER_QUEUE: QUEUE}, PROJECT)
    first_ids = post(driver, 2)
    before = [message.marker for message in list_all(driver)]
    outcome: list[Claim | None] = []
    # A full batch (limit == messages) is what sent selection round again.
    worker = threading.Thread(
        target=lambda: outcome.append(
            driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=2)
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), 'claim did not terminate'
    assert outcome == [None]
    after = list_all(driver)
    assert ids(after) == first_ids
    assert min(message.marker for message in after) > max(before)
    assert all(message.claim_count == 0 for message in after)
