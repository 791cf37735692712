"""ClaimController: create, get, update (renew) and delete (release)."""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Claim

from . import CLIENT
from . import MALFORMED_CLAIM_ID
from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import ids
from . import list_all
from . import post


def claim(driver: DataDriver, limit: int = 10, ttl: int = 60, grace: int = 60) -> Claim:
    created = driver.claims.create(QUEUE, PROJECT, ttl=ttl, grace=grace, limit=limit)
    assert created is not None
    return created


def unclaimed(driver: DataDriver) -> list[str]:
    return ids(list_all(driver, include_claimed=False))


def test_claim_returns_only_unclaimed_messages_in_fifo_order(
    driver: DataDriver,
) -> None:
    posted = post(driver, 5)

    first = claim(driver, limit=3)
    second = claim(driver, limit=3)

    assert ids(first.messages) == posted[:3]
    assert ids(second.messages) == posted[3:]
    assert first.id != second.id
    assert driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=3) is None


def test_claim_reports_its_ttl_age_and_claimed_messages(driver: DataDriver) -> None:
    posted = post(driver, 2, ttl=600)

    created = claim(driver, ttl=120, grace=30)

    assert (created.ttl, created.age) == (120, 0)
    assert [(m.claim_id, m.claim_count, m.ttl) for m in created.messages] == [
        (created.id, 1, 600)
    ] * 2
    assert [m.body for m in created.messages] == [{'n': 0}, {'n': 1}]
    assert created.messages == [
        driver.messages.get(QUEUE, message_id, PROJECT) for message_id in posted
    ]
    assert '=' not in created.id


def test_claim_returns_none_when_nothing_is_claimable(
    driver: DataDriver, clock: ManualClock
) -> None:
    def create() -> Claim | None:
        return driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=10)

    assert create() is None
    driver.queues.create(QUEUE, {}, PROJECT)
    assert create() is None
    post(driver, 1, delay=120)
    assert create() is None
    post(driver, 1, ttl=60)
    clock.advance(61)
    assert create() is None
    post(driver, 2)
    claim(driver)
    assert create() is None


def test_claim_skips_delayed_messages_until_their_delay_passes(
    driver: DataDriver, clock: ManualClock
) -> None:
    delayed = post(driver, 1, delay=30)
    ready = post(driver, 1)

    assert ids(claim(driver).messages) == ready
    clock.advance(31)
    assert ids(claim(driver).messages) == delayed


def test_claim_takes_messages_of_every_client(driver: DataDriver) -> None:
    posted = post(driver, 1, client_id=CLIENT)
    posted += post(driver, 1, client_id='another-client')

    assert ids(claim(driver).messages) == posted


def test_claimed_messages_are_hidden_from_list_unless_include_claimed(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)

    created = claim(driver, limit=2)

    assert unclaimed(driver) == posted[2:]
    assert ids(list_all(driver)) == posted
    assert driver.queues.stats(QUEUE, PROJECT).claimed == 2
    assert driver.messages.get(QUEUE, posted[0], PROJECT).claim_id == created.id


def test_get_returns_the_claim_and_the_messages_it_still_holds(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 3)
    created = claim(driver, ttl=100)
    driver.messages.delete(QUEUE, posted[1], PROJECT, claim_id=created.id)
    clock.advance(40)

    found = driver.claims.get(QUEUE, created.id, PROJECT)

    assert (found.id, found.ttl, found.age) == (created.id, 100, 40)
    assert ids(found.messages) == [posted[0], posted[2]]
    assert [m.age for m in found.messages] == [40, 40]


@pytest.mark.parametrize('claim_id', ['f' * 32, '0' * 24, MALFORMED_CLAIM_ID, ''])
def test_get_and_update_of_unknown_or_malformed_claim_raise_claim_does_not_exist(
    driver: DataDriver, claim_id: str
) -> None:
    post(driver)
    claim(driver)

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, claim_id, PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.update(QUEUE, claim_id, PROJECT, ttl=60, grace=60)


def test_claim_exists_only_in_its_own_queue(driver: DataDriver) -> None:
    post(driver)
    post(driver, queue='other')
    created = claim(driver)

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get('other', created.id, PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.update('other', created.id, PROJECT, ttl=60, grace=60)
    driver.claims.delete('other', created.id, PROJECT)

    assert driver.claims.get(QUEUE, created.id, PROJECT).id == created.id


def test_expired_claim_releases_messages(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 2)
    created = claim(driver, ttl=60)
    clock.advance(59)
    assert driver.claims.get(QUEUE, created.id, PROJECT).age == 59
    clock.advance(2)

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, created.id, PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.update(QUEUE, created.id, PROJECT, ttl=60, grace=60)
    assert unclaimed(driver) == posted
    assert [m.claim_id for m in list_all(driver)] == [None, None]
    assert driver.queues.stats(QUEUE, PROJECT).claimed == 0
    again = claim(driver)
    assert ids(again.messages) == posted
    assert [m.claim_count for m in again.messages] == [2, 2]


def test_released_claim_makes_messages_claimable_again(driver: DataDriver) -> None:
    posted = post(driver, 3)
    created = claim(driver, limit=2)

    driver.claims.delete(QUEUE, created.id, PROJECT)

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, created.id, PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.update(QUEUE, created.id, PROJECT, ttl=60, grace=60)
    assert unclaimed(driver) == posted
    stats = driver.queues.stats(QUEUE, PROJECT)
    assert (stats.free, stats.claimed) == (3, 0)
    again = claim(driver)
    assert ids(again.messages) == posted
    assert [m.claim_count for m in again.messages] == [2, 2, 1]


def test_release_is_idempotent(driver: DataDriver) -> None:
    post(driver)
    created = claim(driver)

    driver.claims.delete(QUEUE, created.id, PROJECT)
    driver.claims.delete(QUEUE, created.id, PROJECT)
    driver.claims.delete(QUEUE, 'f' * 32, PROJECT)
    driver.claims.delete(QUEUE, MALFORMED_CLAIM_ID, PROJECT)
    driver.claims.delete('missing', created.id, PROJECT)

    assert len(unclaimed(driver)) == 1


def test_claim_whose_messages_were_all_deleted_no_longer_exists(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)
    by_claim = claim(driver, limit=2)
    by_bulk = claim(driver, limit=1)

    for message_id in posted[:2]:
        driver.messages.delete(QUEUE, message_id, PROJECT, claim_id=by_claim.id)
    driver.messages.delete_many(QUEUE, posted[2:], PROJECT)

    for gone in [by_claim, by_bulk]:
        with pytest.raises(errors.ClaimDoesNotExist):
            driver.claims.get(QUEUE, gone.id, PROJECT)
        with pytest.raises(errors.ClaimDoesNotExist):
            driver.claims.update(QUEUE, gone.id, PROJECT, ttl=60, grace=60)


def test_update_renews_the_claim_from_now_and_keeps_claim_counts(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 2, ttl=1000)
    created = claim(driver, ttl=60)
    clock.advance(50)

    driver.claims.update(QUEUE, created.id, PROJECT, ttl=200, grace=60)
    clock.advance(150)

    renewed = driver.claims.get(QUEUE, created.id, PROJECT)
    assert (renewed.ttl, renewed.age) == (200, 150)
    assert ids(renewed.messages) == posted
    assert [(m.claim_id, m.claim_count) for m in renewed.messages] == [
        (created.id, 1)
    ] * 2
    assert unclaimed(driver) == []
    clock.advance(51)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, created.id, PROJECT)
    assert unclaimed(driver) == posted


def test_claim_extends_short_lived_messages_to_ttl_plus_grace(
    driver: DataDriver, clock: ManualClock
) -> None:
    (short,) = post(driver, ttl=100)
    (long,) = post(driver, ttl=1000, first=1)
    clock.advance(50)

    created = claim(driver, ttl=100, grace=30)

    assert [(m.id, m.ttl, m.age) for m in created.messages] == [
        (short, 130, 50),
        (long, 1000, 50),
    ]
    clock.advance(129)
    assert driver.messages.get(QUEUE, short, PROJECT).ttl == 130
    clock.advance(2)
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, short, PROJECT)
    assert driver.messages.get(QUEUE, long, PROJECT).ttl == 1000


def test_update_extends_messages_that_would_expire_before_the_renewed_claim(
    driver: DataDriver, clock: ManualClock
) -> None:
    (message_id,) = post(driver, ttl=120)
    created = claim(driver, ttl=60, grace=60)
    assert created.messages[0].ttl == 120
    clock.advance(50)

    driver.claims.update(QUEUE, created.id, PROJECT, ttl=100, grace=30)

    assert driver.claims.get(QUEUE, created.id, PROJECT).messages[0].ttl == 130
    clock.advance(129)
    assert driver.messages.get(QUEUE, message_id, PROJECT).age == 179
    clock.advance(2)
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, message_id, PROJECT)


def test_release_keeps_the_ttl_extension(
    driver: DataDriver, clock: ManualClock
) -> None:
    (message_id,) = post(driver, ttl=60)
    created = claim(driver, ttl=100, grace=60)

    driver.claims.delete(QUEUE, created.id, PROJECT)
    clock.advance(159)

    assert driver.messages.get(QUEUE, message_id, PROJECT).ttl == 160


def test_claims_of_one_project_are_invisible_to_another(driver: DataDriver) -> None:
    posted = post(driver, 2)
    created = claim(driver, limit=1)
    (theirs,) = post(driver, project=OTHER_PROJECT)

    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, created.id, OTHER_PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.update(QUEUE, created.id, OTHER_PROJECT, ttl=60, grace=60)
    driver.claims.delete(QUEUE, created.id, OTHER_PROJECT)
    other = driver.claims.create(QUEUE, OTHER_PROJECT, ttl=60, grace=60, limit=10)

    assert other is not None
    assert ids(other.messages) == [theirs]
    assert ids(driver.claims.get(QUEUE, created.id, PROJECT).messages) == posted[:1]
    assert unclaimed(driver) == posted[1:]
