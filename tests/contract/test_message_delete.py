"""MessageController.delete: deleting one message, honouring its claim."""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Claim

from . import MALFORMED_CLAIM_ID
from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import ids
from . import list_all
from . import post


def claim_next(driver: DataDriver, ttl: int = 60) -> Claim:
    claim = driver.claims.create(QUEUE, PROJECT, ttl=ttl, grace=60, limit=1)
    assert claim is not None
    return claim


def assert_gone(driver: DataDriver, message_id: str) -> None:
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, message_id, PROJECT)


def assert_kept(driver: DataDriver, message_id: str) -> None:
    assert driver.messages.get(QUEUE, message_id, PROJECT).id == message_id


def test_delete_without_claim_id_deletes_an_unclaimed_message(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)

    driver.messages.delete(QUEUE, posted[0], PROJECT)

    assert_gone(driver, posted[0])
    assert ids(list_all(driver)) == posted[1:]


@pytest.mark.parametrize('message_id', ['f' * 32, '0' * 24, 'not-an-id', ''])
def test_delete_of_missing_or_malformed_message_id_is_not_an_error(
    driver: DataDriver, message_id: str
) -> None:
    posted = post(driver, 1)

    driver.messages.delete(QUEUE, message_id, PROJECT)
    driver.messages.delete('missing', message_id, PROJECT)

    assert ids(list_all(driver)) == posted


def test_delete_of_missing_message_with_a_well_formed_claim_id_is_not_an_error(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    claim = claim_next(driver)
    driver.messages.delete(QUEUE, posted[0], PROJECT, claim_id=claim.id)

    driver.messages.delete(QUEUE, posted[0], PROJECT, claim_id=claim.id)
    driver.messages.delete(QUEUE, 'f' * 32, PROJECT, claim_id=claim.id)

    assert ids(list_all(driver)) == posted[1:]


def test_delete_without_claim_id_of_claimed_message_raises_message_is_claimed(
    driver: DataDriver,
) -> None:
    (message_id,) = post(driver)
    claim_next(driver)

    with pytest.raises(errors.MessageIsClaimed):
        driver.messages.delete(QUEUE, message_id, PROJECT)

    assert_kept(driver, message_id)


def test_delete_with_the_live_claims_id_deletes_the_message(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    claim = claim_next(driver)

    driver.messages.delete(QUEUE, posted[0], PROJECT, claim_id=claim.id)

    assert_gone(driver, posted[0])
    assert_kept(driver, posted[1])


def test_delete_with_another_live_claims_id_raises_message_is_claimed(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    claim_next(driver)
    other = claim_next(driver)

    with pytest.raises(errors.MessageIsClaimed):
        driver.messages.delete(QUEUE, posted[0], PROJECT, claim_id=other.id)

    assert_kept(driver, posted[0])


def test_delete_with_a_released_claims_id_raises_message_is_claimed_if_reclaimed(
    driver: DataDriver,
) -> None:
    (message_id,) = post(driver)
    released = claim_next(driver)
    driver.claims.delete(QUEUE, released.id, PROJECT)
    claim_next(driver)

    with pytest.raises(errors.MessageIsClaimed):
        driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=released.id)

    assert_kept(driver, message_id)


def test_delete_with_the_expired_claim_the_message_still_records_deletes_it(
    driver: DataDriver, clock: ManualClock
) -> None:
    (message_id,) = post(driver)
    claim = claim_next(driver, ttl=60)
    clock.advance(61)

    driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=claim.id)

    assert_gone(driver, message_id)


def test_delete_with_a_claim_id_of_an_unclaimed_message_raises_message_not_claimed(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    other = claim_next(driver)

    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete(QUEUE, posted[1], PROJECT, claim_id=other.id)

    assert_kept(driver, posted[1])


def test_delete_with_the_id_of_a_released_claim_raises_message_not_claimed(
    driver: DataDriver,
) -> None:
    (message_id,) = post(driver)
    claim = claim_next(driver)
    driver.claims.delete(QUEUE, claim.id, PROJECT)

    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=claim.id)

    assert_kept(driver, message_id)


@pytest.mark.parametrize('collected', [False, True], ids=['before-gc', 'after-gc'])
def test_releasing_an_expired_claim_takes_effect_whether_or_not_gc_ran(
    driver: DataDriver, clock: ManualClock, collected: bool
) -> None:
    (message_id,) = post(driver)
    claim = claim_next(driver, ttl=60)
    clock.advance(61)
    if collected:
        driver.gc()
    driver.claims.delete(QUEUE, claim.id, PROJECT)

    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=claim.id)
    assert_kept(driver, message_id)


def test_delete_with_an_expired_claim_that_was_replaced_raises_message_not_claimed(
    driver: DataDriver, clock: ManualClock
) -> None:
    (message_id,) = post(driver)
    replaced = claim_next(driver, ttl=60)
    clock.advance(61)
    latest = claim_next(driver, ttl=60)
    clock.advance(61)

    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=replaced.id)
    assert_kept(driver, message_id)

    driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=latest.id)
    assert_gone(driver, message_id)


def test_delete_with_a_malformed_claim_id_raises_invalid_claim_id(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    claim_next(driver)

    for message_id in [posted[0], posted[1], 'f' * 32, 'not-an-id']:
        with pytest.raises(errors.InvalidClaimId):
            driver.messages.delete(
                QUEUE, message_id, PROJECT, claim_id=MALFORMED_CLAIM_ID
            )
        with pytest.raises(errors.InvalidClaimId):
            driver.messages.delete(
                'missing', message_id, PROJECT, claim_id=MALFORMED_CLAIM_ID
            )

    assert ids(list_all(driver)) == posted


def test_delete_honours_claims_only_within_the_project(driver: DataDriver) -> None:
    (message_id,) = post(driver)
    claim = claim_next(driver)
    (theirs,) = post(driver, project=OTHER_PROJECT)

    driver.messages.delete(QUEUE, message_id, OTHER_PROJECT)
    driver.messages.delete(QUEUE, message_id, OTHER_PROJECT, claim_id=claim.id)
    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete(QUEUE, theirs, OTHER_PROJECT, claim_id=claim.id)

    assert_kept(driver, message_id)
    assert ids(list_all(driver, project=OTHER_PROJECT)) == [theirs]


# delete_many with claim_ids: all or nothing, by the rule of delete above.


def claim_some(driver: DataDriver, limit: int, ttl: int = 60) -> Claim:
    claim = driver.claims.create(QUEUE, PROJECT, ttl=ttl, grace=60, limit=limit)
    assert claim is not None
    return claim


def test_claim_checked_delete_many_deletes_messages_held_by_the_given_claims(
    driver: DataDriver,
) -> None:
    posted = post(driver, 5)
    first = claim_some(driver, limit=2)
    second = claim_some(driver, limit=2)

    driver.messages.delete_many(
        QUEUE, posted[:4], PROJECT, claim_ids=[second.id, first.id]
    )

    assert ids(list_all(driver)) == posted[4:]


def test_claim_checked_delete_many_refuses_a_message_under_another_live_claim(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)
    mine = claim_some(driver, limit=2)
    claim_some(driver, limit=1)

    with pytest.raises(errors.MessageIsClaimed):
        driver.messages.delete_many(QUEUE, posted, PROJECT, claim_ids=[mine.id])

    assert ids(list_all(driver)) == posted
    assert ids(driver.claims.get(QUEUE, mine.id, PROJECT).messages) == posted[:2]


def test_claim_checked_delete_many_refuses_an_unclaimed_message(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)
    mine = claim_some(driver, limit=2)

    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete_many(QUEUE, posted, PROJECT, claim_ids=[mine.id])

    assert ids(list_all(driver)) == posted


@pytest.mark.parametrize(
    ('first', 'refused'),
    [(0, errors.MessageNotClaimed), (1, errors.MessageIsClaimed)],
    ids=['unclaimed-first', 'claimed-first'],
)
def test_claim_checked_delete_many_reports_the_first_listed_failure(
    driver: DataDriver, first: int, refused: type[errors.NotPermitted]
) -> None:
    posted = post(driver, 3)
    mine = claim_some(driver, limit=1)
    claim_some(driver, limit=1)
    failing = [posted[2], posted[1]]  # unclaimed, then under another claim

    with pytest.raises(refused):
        driver.messages.delete_many(
            QUEUE,
            [posted[0], failing[first], failing[1 - first]],
            PROJECT,
            claim_ids=[mine.id],
        )

    assert ids(list_all(driver)) == posted


def test_claim_checked_delete_many_accepts_an_expired_claim_still_recorded(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 3)
    lapsed = claim_some(driver, limit=2, ttl=60)
    clock.advance(61)

    driver.messages.delete_many(QUEUE, posted[:2], PROJECT, claim_ids=[lapsed.id])

    assert ids(list_all(driver)) == posted[2:]


def test_claim_checked_delete_many_refuses_an_expired_claim_replaced_or_released(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 2)
    replaced = claim_some(driver, limit=2, ttl=60)
    clock.advance(61)
    latest = claim_some(driver, limit=1, ttl=60)
    driver.claims.delete(QUEUE, replaced.id, PROJECT)

    with pytest.raises(errors.MessageIsClaimed):
        driver.messages.delete_many(QUEUE, posted, PROJECT, claim_ids=[replaced.id])
    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete_many(
            QUEUE, posted, PROJECT, claim_ids=[replaced.id, latest.id]
        )

    assert ids(list_all(driver)) == posted


def test_claim_checked_delete_many_skips_missing_malformed_and_repeated_ids(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    mine = claim_some(driver, limit=1)
    listed = ['f' * 32, posted[0], 'not-an-id', posted[0], '']

    driver.messages.delete_many(QUEUE, listed, PROJECT, claim_ids=[mine.id])
    driver.messages.delete_many(QUEUE, listed, PROJECT, claim_ids=[mine.id])
    driver.messages.delete_many('missing', posted, PROJECT, claim_ids=[mine.id])

    assert ids(list_all(driver)) == posted[1:]


def test_claim_checked_delete_many_drops_emptied_claims(driver: DataDriver) -> None:
    posted = post(driver, 3)
    emptied = claim_some(driver, limit=2)
    kept = claim_some(driver, limit=1)

    driver.messages.delete_many(QUEUE, posted[:2], PROJECT, claim_ids=[emptied.id])

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, emptied.id, PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.update(QUEUE, emptied.id, PROJECT, ttl=60, grace=60)
    assert ids(driver.claims.get(QUEUE, kept.id, PROJECT).messages) == posted[2:]


def test_claim_checked_delete_many_checks_claim_ids_before_anything(
    driver: DataDriver,
) -> None:
    posted = post(driver, 1)
    mine = claim_some(driver, limit=1)

    for queue in (QUEUE, 'missing'):
        with pytest.raises(errors.InvalidClaimId):
            driver.messages.delete_many(
                queue, posted, PROJECT, claim_ids=[mine.id, MALFORMED_CLAIM_ID]
            )

    assert ids(list_all(driver)) == posted


def test_claim_checked_delete_many_with_no_claim_ids_deletes_only_nothing(
    driver: DataDriver,
) -> None:
    posted = post(driver, 1)

    driver.messages.delete_many(QUEUE, ['f' * 32], PROJECT, claim_ids=[])
    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete_many(QUEUE, posted, PROJECT, claim_ids=[])

    assert ids(list_all(driver)) == posted


def test_claim_checked_delete_many_honours_claims_only_within_the_project(
    driver: DataDriver,
) -> None:
    (message_id,) = post(driver)
    mine = claim_some(driver, limit=1)
    (theirs,) = post(driver, project=OTHER_PROJECT)

    driver.messages.delete_many(QUEUE, [message_id], OTHER_PROJECT, claim_ids=[mine.id])
    with pytest.raises(errors.MessageNotClaimed):
        driver.messages.delete_many(QUEUE, [theirs], OTHER_PROJECT, claim_ids=[mine.id])

    assert_kept(driver, message_id)
    assert ids(list_all(driver, project=OTHER_PROJECT)) == [theirs]
