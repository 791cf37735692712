"""Subscriptions: an optional capability; every built-in driver has it.

A driver that does not store subscriptions raises ``Unsupported`` from
``DataDriver.subscriptions``: its tests here are skipped, unless it is one
of zaqar's own drivers, which must have them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from zaqar.common import ids
from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.base import SubscriptionController
from zaqar.storage.models import GCReport
from zaqar.storage.models import Metadata
from zaqar.storage.models import Subscription

from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import post
from .test_concurrency import THREADS
from .test_concurrency import run_together

SOURCE = QUEUE
OTHER_SOURCE = 'other-queue'
HOOK = 'http://example.com/hook'
MAIL = 'mailto:ops@example.com'
TTL = 300
OPTIONS: Metadata = {'retry': {'max': 3}, '$odd.key': [1, 'two']}

# zaqar's own drivers, as registered in drivers.py: these must not skip.
BUILT_IN = frozenset({'sqlite', 'redis', 'mongodb', 'mongodb-mongomock'})


@pytest.fixture
def subscriptions(
    driver: DataDriver, request: pytest.FixtureRequest
) -> SubscriptionController:
    """The driver's subscriptions; skip the test for a driver without them."""
    try:
        return driver.subscriptions
    except errors.Unsupported as ex:
        name = request.node.callspec.params['driver']
        if name in BUILT_IN:
            raise
        pytest.skip(f'{name} does not store subscriptions (optional): {ex}')


def create(
    subscriptions: SubscriptionController,
    subscriber: str = HOOK,
    *,
    source: str = SOURCE,
    project: str = PROJECT,
    ttl: int = TTL,
    options: Metadata | None = None,
) -> str:
    return subscriptions.create(source, subscriber, ttl, options or {}, project)


def list_all(
    subscriptions: SubscriptionController,
    *,
    source: str = SOURCE,
    project: str = PROJECT,
    page_size: int = 3,
) -> list[Subscription]:
    """Page through the source's subscriptions by marker."""
    listed: list[Subscription] = []
    marker = None
    for _ in range(1000):
        page = subscriptions.list(source, project, marker=marker, limit=page_size)
        if not page:
            return listed
        assert len(page) <= page_size
        listed += page
        marker = page[-1].id
    raise AssertionError('paging by marker never reached an empty page')


def listed_ids(
    subscriptions: SubscriptionController,
    *,
    source: str = SOURCE,
    project: str = PROJECT,
) -> list[str]:
    found = list_all(subscriptions, source=source, project=project)
    return [subscription.id for subscription in found]


def assert_missing(
    subscriptions: SubscriptionController,
    subscription_id: str,
    *,
    source: str = SOURCE,
    project: str = PROJECT,
) -> None:
    """Neither get, update nor confirm finds it."""
    with pytest.raises(errors.SubscriptionDoesNotExist):
        subscriptions.get(source, subscription_id, project)
    with pytest.raises(errors.SubscriptionDoesNotExist):
        subscriptions.update(source, subscription_id, project, options={'x': 1})
    with pytest.raises(errors.SubscriptionDoesNotExist):
        subscriptions.confirm(source, subscription_id, project, True)


# Create and read


def test_a_new_subscription_reads_back_unconfirmed(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions, options=OPTIONS)
    assert ids.is_valid_id(subscription_id)
    clock.advance(10)

    found = subscriptions.get(SOURCE, subscription_id, PROJECT)

    assert found == Subscription(
        id=subscription_id,
        source=SOURCE,
        subscriber=HOOK,
        ttl=TTL,
        age=10,
        options=OPTIONS,
        confirmed=False,
    )
    assert list_all(subscriptions) == [found]


def test_a_source_needs_no_queue_and_a_subscription_makes_none(
    driver: DataDriver, subscriptions: SubscriptionController
) -> None:
    subscription_id = create(subscriptions, source='no-such-queue')

    assert subscriptions.get('no-such-queue', subscription_id, PROJECT).id
    assert not driver.queues.exists('no-such-queue', PROJECT)


def test_listing_pages_by_marker_in_creation_order(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    created = []
    for number in range(8):
        created.append(create(subscriptions, f'{HOOK}/{7 - number}'))
        clock.advance(1)

    assert listed_ids(subscriptions) == created
    first = subscriptions.list(SOURCE, PROJECT, limit=5)
    assert [s.id for s in first] == created[:5]
    after = subscriptions.list(SOURCE, PROJECT, marker=created[5], limit=5)
    assert [s.id for s in after] == created[6:]
    assert subscriptions.list(SOURCE, PROJECT, marker=created[-1]) == []
    assert [s.subscriber for s in first] == [f'{HOOK}/{n}' for n in (7, 6, 5, 4, 3)]


def test_listing_defaults_to_ten_and_a_limit_of_zero_lists_none(
    subscriptions: SubscriptionController,
) -> None:
    for number in range(12):
        create(subscriptions, f'{HOOK}/{number}')

    assert len(subscriptions.list(SOURCE, PROJECT)) == 10
    assert subscriptions.list(SOURCE, PROJECT, limit=0) == []


def test_ids_created_in_the_same_millisecond_still_page_exactly(
    subscriptions: SubscriptionController,
) -> None:
    """With a frozen clock ids sort in no particular order, but by id."""
    created = {create(subscriptions, f'{HOOK}/{number}') for number in range(7)}

    listed = listed_ids(subscriptions)

    assert listed == sorted(created)


# TTL


def test_a_subscription_expires_after_its_ttl_before_any_gc(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    short = create(subscriptions, ttl=60)
    long = create(subscriptions, MAIL, ttl=120)
    clock.advance(59)
    assert subscriptions.get(SOURCE, short, PROJECT).age == 59
    assert listed_ids(subscriptions) == sorted([short, long])

    clock.advance(2)

    assert_missing(subscriptions, short)
    assert listed_ids(subscriptions) == [long]


# Uniqueness


def test_a_duplicate_is_refused_with_the_existing_one_attached(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    first = create(subscriptions, options={'a': 1})
    clock.advance(5)

    with pytest.raises(errors.SubscriptionAlreadyExists) as refused:
        create(subscriptions, ttl=60, options={'b': 2})

    assert refused.value.existing == subscriptions.get(SOURCE, first, PROJECT)
    assert refused.value.existing.age == 5
    assert listed_ids(subscriptions) == [first]


def test_a_confirmed_duplicate_is_refused_too(
    subscriptions: SubscriptionController,
) -> None:
    first = create(subscriptions)
    subscriptions.confirm(SOURCE, first, PROJECT, True)

    with pytest.raises(errors.SubscriptionAlreadyExists) as refused:
        create(subscriptions)

    assert refused.value.existing.id == first
    assert refused.value.existing.confirmed is True


def test_the_same_subscriber_may_subscribe_elsewhere(
    subscriptions: SubscriptionController,
) -> None:
    created = {
        create(subscriptions),
        create(subscriptions, source=OTHER_SOURCE),
        create(subscriptions, project=OTHER_PROJECT),
        create(subscriptions, MAIL),
    }

    assert len(created) == 4


def test_a_subscriber_may_subscribe_again_once_its_subscription_expired(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    old = create(subscriptions, ttl=60)
    clock.advance(61)

    new = create(subscriptions, options={'v': 2})

    assert new != old
    assert listed_ids(subscriptions) == [new]
    assert subscriptions.get(SOURCE, new, PROJECT).options == {'v': 2}
    assert_missing(subscriptions, old)


# Update


def test_update_replaces_options_whole_and_keeps_the_ttl_running(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions, options={'a': 1, 'b': 2})
    clock.advance(100)

    subscriptions.update(SOURCE, subscription_id, PROJECT, options={'c': 3})

    found = subscriptions.get(SOURCE, subscription_id, PROJECT)
    assert (found.options, found.ttl, found.age) == ({'c': 3}, TTL, 100)
    assert (found.subscriber, found.confirmed) == (HOOK, False)


def test_a_new_ttl_counts_from_now(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions, ttl=60)
    clock.advance(50)

    subscriptions.update(SOURCE, subscription_id, PROJECT, ttl=30)

    found = subscriptions.get(SOURCE, subscription_id, PROJECT)
    assert (found.ttl, found.age) == (30, 0)
    clock.advance(29)
    assert subscriptions.get(SOURCE, subscription_id, PROJECT).age == 29
    clock.advance(2)
    assert_missing(subscriptions, subscription_id)


def test_a_longer_ttl_outlives_the_old_one(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions, ttl=60)
    clock.advance(50)
    subscriptions.update(SOURCE, subscription_id, PROJECT, ttl=600)
    clock.advance(500)

    assert subscriptions.get(SOURCE, subscription_id, PROJECT).ttl == 600
    assert listed_ids(subscriptions) == [subscription_id]


def test_update_changes_the_subscriber_and_frees_the_old_one(
    subscriptions: SubscriptionController,
) -> None:
    subscription_id = create(subscriptions, options={'a': 1})
    subscriptions.confirm(SOURCE, subscription_id, PROJECT, True)

    subscriptions.update(SOURCE, subscription_id, PROJECT, subscriber=MAIL)

    found = subscriptions.get(SOURCE, subscription_id, PROJECT)
    assert (found.subscriber, found.options, found.confirmed) == (MAIL, {'a': 1}, True)
    again = create(subscriptions, HOOK)
    with pytest.raises(errors.SubscriptionAlreadyExists) as refused:
        create(subscriptions, MAIL)
    assert refused.value.existing.id == subscription_id
    assert listed_ids(subscriptions) == sorted([subscription_id, again])


def test_update_of_everything_at_once_and_of_nothing(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions)
    clock.advance(10)
    subscriptions.update(SOURCE, subscription_id, PROJECT)
    assert subscriptions.get(SOURCE, subscription_id, PROJECT).age == 10

    subscriptions.update(
        SOURCE, subscription_id, PROJECT, subscriber=MAIL, ttl=90, options={'z': 0}
    )

    assert subscriptions.get(SOURCE, subscription_id, PROJECT) == Subscription(
        id=subscription_id,
        source=SOURCE,
        subscriber=MAIL,
        ttl=90,
        age=0,
        options={'z': 0},
    )


def test_update_to_its_own_subscriber_is_no_conflict(
    subscriptions: SubscriptionController,
) -> None:
    subscription_id = create(subscriptions)

    subscriptions.update(SOURCE, subscription_id, PROJECT, subscriber=HOOK, ttl=10)

    assert subscriptions.get(SOURCE, subscription_id, PROJECT).ttl == 10


def test_update_to_another_live_subscriptions_subscriber_is_refused(
    subscriptions: SubscriptionController,
) -> None:
    hook = create(subscriptions, HOOK)
    mail = create(subscriptions, MAIL)
    before = subscriptions.get(SOURCE, mail, PROJECT)

    with pytest.raises(errors.SubscriptionAlreadyExists) as refused:
        subscriptions.update(SOURCE, mail, PROJECT, subscriber=HOOK, ttl=5)

    assert refused.value.existing == subscriptions.get(SOURCE, hook, PROJECT)
    assert subscriptions.get(SOURCE, mail, PROJECT) == before


def test_update_to_an_expired_subscriptions_subscriber_is_allowed(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    expired = create(subscriptions, HOOK, ttl=60)
    mail = create(subscriptions, MAIL)
    clock.advance(61)

    subscriptions.update(SOURCE, mail, PROJECT, subscriber=HOOK)

    assert subscriptions.get(SOURCE, mail, PROJECT).subscriber == HOOK
    assert_missing(subscriptions, expired)
    assert create(subscriptions, MAIL)


# Confirm


def test_confirm_sets_and_clears_the_flag_and_nothing_else(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions, options={'a': 1})
    clock.advance(7)

    subscriptions.confirm(SOURCE, subscription_id, PROJECT, True)
    confirmed = subscriptions.get(SOURCE, subscription_id, PROJECT)
    subscriptions.confirm(SOURCE, subscription_id, PROJECT, True)
    subscriptions.confirm(SOURCE, subscription_id, PROJECT, False)
    unconfirmed = subscriptions.get(SOURCE, subscription_id, PROJECT)

    assert confirmed.confirmed is True
    assert unconfirmed.confirmed is False
    assert (confirmed.age, confirmed.ttl, confirmed.options) == (7, TTL, {'a': 1})


# Delete and purge


def test_delete_is_idempotent_and_frees_the_subscriber(
    subscriptions: SubscriptionController,
) -> None:
    subscription_id = create(subscriptions)
    kept = create(subscriptions, MAIL)

    subscriptions.delete(SOURCE, subscription_id, PROJECT)
    subscriptions.delete(SOURCE, subscription_id, PROJECT)

    assert_missing(subscriptions, subscription_id)
    assert listed_ids(subscriptions) == [kept]
    assert create(subscriptions) != subscription_id


def test_delete_through_another_source_or_project_deletes_nothing(
    subscriptions: SubscriptionController,
) -> None:
    subscription_id = create(subscriptions)

    subscriptions.delete(OTHER_SOURCE, subscription_id, PROJECT)
    subscriptions.delete(SOURCE, subscription_id, OTHER_PROJECT)

    assert subscriptions.get(SOURCE, subscription_id, PROJECT).id == subscription_id


def test_purge_deletes_every_subscription_of_the_source_only(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    create(subscriptions, HOOK)
    create(subscriptions, MAIL, ttl=60)
    expired = create(subscriptions, f'{HOOK}/expired', ttl=1)
    other_source = create(subscriptions, source=OTHER_SOURCE)
    other_project = create(subscriptions, project=OTHER_PROJECT)
    clock.advance(2)

    subscriptions.purge(SOURCE, PROJECT)
    subscriptions.purge(SOURCE, PROJECT)

    assert listed_ids(subscriptions) == []
    assert_missing(subscriptions, expired)
    assert listed_ids(subscriptions, source=OTHER_SOURCE) == [other_source]
    assert listed_ids(subscriptions, project=OTHER_PROJECT) == [other_project]
    assert create(subscriptions, HOOK)


def test_deleting_or_purging_the_queue_leaves_its_subscriptions(
    driver: DataDriver, subscriptions: SubscriptionController
) -> None:
    post(driver, 3)
    subscription_id = create(subscriptions)

    driver.messages.purge(SOURCE, PROJECT)
    driver.queues.delete(SOURCE, PROJECT)

    assert listed_ids(subscriptions) == [subscription_id]


# Isolation and malformed ids


def test_another_project_or_source_sees_nothing(
    subscriptions: SubscriptionController,
) -> None:
    subscription_id = create(subscriptions)

    assert_missing(subscriptions, subscription_id, project=OTHER_PROJECT)
    assert_missing(subscriptions, subscription_id, source=OTHER_SOURCE)
    assert listed_ids(subscriptions, project=OTHER_PROJECT) == []
    assert listed_ids(subscriptions, source=OTHER_SOURCE) == []
    assert listed_ids(subscriptions) == [subscription_id]


@pytest.mark.parametrize(
    'malformed',
    ['', 'nope', 'z' * 32, 'not=an id', '0' * 31, '../' * 11],
)
def test_a_malformed_id_is_a_missing_subscription(
    subscriptions: SubscriptionController, malformed: str
) -> None:
    create(subscriptions)

    assert_missing(subscriptions, malformed)
    subscriptions.delete(SOURCE, malformed, PROJECT)
    assert len(listed_ids(subscriptions)) == 1


def test_an_id_in_capitals_is_not_the_subscriptions_id(
    subscriptions: SubscriptionController,
) -> None:
    subscription_id = create(subscriptions)
    shouted = subscription_id.upper()
    assert shouted != subscription_id  # 32 hex digits: some are letters

    assert_missing(subscriptions, shouted)
    subscriptions.delete(SOURCE, shouted, PROJECT)
    assert listed_ids(subscriptions) == [subscription_id]


def test_a_marker_that_is_no_id_lists_what_sorts_after_it(
    subscriptions: SubscriptionController,
) -> None:
    created = create(subscriptions)

    assert subscriptions.list(SOURCE, PROJECT, marker='~') == []
    assert [s.id for s in subscriptions.list(SOURCE, PROJECT, marker='!')] == [created]


# Garbage collection


def test_gc_with_nothing_expired_removes_no_subscription(
    driver: DataDriver, subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    subscription_id = create(subscriptions, ttl=60)
    clock.advance(59)

    assert driver.gc() == GCReport()

    assert listed_ids(subscriptions) == [subscription_id]


def test_gc_removes_expired_subscriptions_everywhere_and_reports_them(
    driver: DataDriver, subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    create(subscriptions, HOOK, ttl=60)
    create(subscriptions, MAIL, ttl=30)
    create(subscriptions, source=OTHER_SOURCE, ttl=60)
    create(subscriptions, project=OTHER_PROJECT, ttl=60)
    kept = create(subscriptions, f'{HOOK}/kept', ttl=600)
    renewed = create(subscriptions, f'{HOOK}/renewed', ttl=30)
    subscriptions.update(SOURCE, renewed, PROJECT, ttl=600)
    clock.advance(61)

    assert driver.gc() == GCReport(subscriptions=4)

    assert listed_ids(subscriptions) == sorted([kept, renewed])
    assert listed_ids(subscriptions, source=OTHER_SOURCE) == []
    assert driver.gc() == GCReport()
    assert create(subscriptions, HOOK)


def test_gc_removes_expired_subscriptions_of_a_deleted_queue(
    driver: DataDriver, subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    post(driver, 2, ttl=600)
    create(subscriptions, ttl=60)
    driver.queues.delete(SOURCE, PROJECT)
    clock.advance(61)

    assert driver.gc() == GCReport(subscriptions=1)


def test_gc_with_messages_claims_and_subscriptions_expired_together(
    driver: DataDriver, subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    post(driver, 2, ttl=60)
    assert driver.claims.create(SOURCE, PROJECT, ttl=30, grace=0, limit=1)
    create(subscriptions, ttl=60)
    create(subscriptions, MAIL, ttl=90)
    clock.advance(91)

    assert driver.gc() == GCReport(messages=2, claims=1, subscriptions=2)


# Concurrency


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads often, so races show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def creator(
    subscriptions: SubscriptionController, subscriber: str = HOOK
) -> Callable[[], str | errors.SubscriptionAlreadyExists]:
    """A worker creating a subscription; returns its id or the refusal."""

    def run() -> str | errors.SubscriptionAlreadyExists:
        try:
            return create(subscriptions, subscriber)
        except errors.SubscriptionAlreadyExists as ex:
            return ex

    return run


def assert_exactly_one_created(outcomes: list[Any]) -> str:
    created = [outcome for outcome in outcomes if isinstance(outcome, str)]
    refused = [outcome for outcome in outcomes if not isinstance(outcome, str)]
    assert len(created) == 1, outcomes
    assert all(ex.existing.id == created[0] for ex in refused)
    return created[0]


@pytest.mark.usefixtures('frequent_thread_switches')
def test_of_concurrent_creates_of_one_subscriber_exactly_one_succeeds(
    subscriptions: SubscriptionController,
) -> None:
    for _ in range(3):
        subscriptions.purge(SOURCE, PROJECT)

        outcomes = run_together([creator(subscriptions)] * THREADS)

        winner = assert_exactly_one_created(outcomes)
        assert listed_ids(subscriptions) == [winner]


@pytest.mark.usefixtures('frequent_thread_switches')
def test_of_concurrent_creates_replacing_an_expired_one_exactly_one_succeeds(
    subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    expired = create(subscriptions, ttl=60)
    clock.advance(61)

    outcomes = run_together([creator(subscriptions)] * THREADS)

    winner = assert_exactly_one_created(outcomes)
    assert winner != expired
    assert listed_ids(subscriptions) == [winner]


@pytest.mark.usefixtures('frequent_thread_switches')
def test_concurrent_creates_of_different_subscribers_all_succeed(
    subscriptions: SubscriptionController,
) -> None:
    workers = [creator(subscriptions, f'{HOOK}/{n}') for n in range(THREADS)]

    outcomes = run_together(workers)

    assert all(isinstance(outcome, str) for outcome in outcomes)
    assert listed_ids(subscriptions) == sorted(outcomes)


@pytest.mark.usefixtures('frequent_thread_switches')
def test_of_concurrent_updates_to_one_subscriber_exactly_one_succeeds(
    subscriptions: SubscriptionController,
) -> None:
    created = [create(subscriptions, f'{HOOK}/{n}') for n in range(THREADS)]

    def mover(subscription_id: str) -> Callable[[], object]:
        def run() -> object:
            try:
                subscriptions.update(SOURCE, subscription_id, PROJECT, subscriber=MAIL)
            except errors.SubscriptionAlreadyExists as ex:
                return ex
            return subscription_id

        return run

    outcomes = run_together([mover(subscription_id) for subscription_id in created])

    winner = assert_exactly_one_created(outcomes)
    subscribers = [s.subscriber for s in list_all(subscriptions)]
    assert subscribers.count(MAIL) == 1
    assert subscriptions.get(SOURCE, winner, PROJECT).subscriber == MAIL


@pytest.mark.usefixtures('frequent_thread_switches')
def test_concurrent_gc_passes_remove_each_expired_subscription_once(
    driver: DataDriver, subscriptions: SubscriptionController, clock: ManualClock
) -> None:
    for number in range(30):
        create(subscriptions, f'{HOOK}/{number}', source=f'q{number % 3}', ttl=60)
    kept = create(subscriptions, ttl=600)
    clock.advance(61)

    reports: list[GCReport] = run_together([driver.gc] * 4)

    assert sum(report.subscriptions for report in reports) == 30
    assert listed_ids(subscriptions) == [kept]
    assert driver.gc() == GCReport()
