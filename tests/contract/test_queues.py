"""QueueController: create, metadata, delete, list, count and stats."""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats

from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import post


def names(infos: list[QueueInfo]) -> list[str]:
    return [info.name for info in infos]


def test_is_alive_is_true_for_a_reachable_backend(driver: DataDriver) -> None:
    assert driver.is_alive() is True


def test_create_returns_true_then_false_when_queue_exists(driver: DataDriver) -> None:
    assert driver.queues.create(QUEUE, {}, PROJECT) is True
    assert driver.queues.create(QUEUE, {}, PROJECT) is False


def test_create_stores_metadata_without_reserved_defaults(driver: DataDriver) -> None:
    metadata = {
        'description': 'ünïcode ✓',
        'nested': {'list': [1, 'two', None], 'flag': True},
        '_max_claim_count': 3,
    }
    driver.queues.create(QUEUE, metadata, PROJECT)

    assert driver.queues.get_metadata(QUEUE, PROJECT) == metadata


def test_create_does_not_update_metadata_of_existing_queue(driver: DataDriver) -> None:
    driver.queues.create(QUEUE, {'version': 1}, PROJECT)
    driver.queues.create(QUEUE, {'version': 2}, PROJECT)

    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'version': 1}


def test_exists_tells_whether_queue_exists(driver: DataDriver) -> None:
    assert driver.queues.exists(QUEUE, PROJECT) is False
    driver.queues.create(QUEUE, {}, PROJECT)
    assert driver.queues.exists(QUEUE, PROJECT) is True
    driver.queues.delete(QUEUE, PROJECT)
    assert driver.queues.exists(QUEUE, PROJECT) is False


def test_posting_to_missing_queue_creates_it_with_empty_metadata(
    driver: DataDriver,
) -> None:
    post(driver)

    assert driver.queues.exists(QUEUE, PROJECT) is True
    assert driver.queues.get_metadata(QUEUE, PROJECT) == {}
    assert driver.queues.count(PROJECT) == 1


def test_get_metadata_of_missing_queue_raises_queue_does_not_exist(
    driver: DataDriver,
) -> None:
    with pytest.raises(errors.QueueDoesNotExist):
        driver.queues.get_metadata(QUEUE, PROJECT)


def test_set_metadata_replaces_stored_metadata(driver: DataDriver) -> None:
    driver.queues.create(QUEUE, {'a': 1, 'b': 2}, PROJECT)

    driver.queues.set_metadata(QUEUE, {'b': 3, 'c': [4]}, PROJECT)

    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'b': 3, 'c': [4]}


def test_set_metadata_of_missing_queue_raises_and_creates_nothing(
    driver: DataDriver,
) -> None:
    with pytest.raises(errors.QueueDoesNotExist):
        driver.queues.set_metadata(QUEUE, {'a': 1}, PROJECT)

    assert driver.queues.exists(QUEUE, PROJECT) is False


def test_set_metadata_with_expected_writes_only_over_what_was_read(
    driver: DataDriver,
) -> None:
    driver.queues.create(QUEUE, {'a': 1}, PROJECT)
    driver.queues.set_metadata(QUEUE, {'a': 2}, PROJECT, expected={'a': 1})
    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'a': 2}

    with pytest.raises(errors.MetadataConflict):
        driver.queues.set_metadata(QUEUE, {'a': 3}, PROJECT, expected={'a': 1})
    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'a': 2}


def test_set_metadata_with_expected_on_a_missing_queue_raises_does_not_exist(
    driver: DataDriver,
) -> None:
    with pytest.raises(errors.QueueDoesNotExist):
        driver.queues.set_metadata(QUEUE, {'a': 1}, PROJECT, expected={})


def test_delete_removes_queue_with_its_messages_and_claims(driver: DataDriver) -> None:
    driver.queues.create(QUEUE, {'a': 1}, PROJECT)
    message_ids = post(driver, 3)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=1)
    assert claim is not None

    driver.queues.delete(QUEUE, PROJECT)
    driver.queues.create(QUEUE, {}, PROJECT)

    assert driver.queues.get_metadata(QUEUE, PROJECT) == {}
    assert driver.messages.get_many(QUEUE, message_ids, PROJECT) == []
    for message_id in message_ids:
        with pytest.raises(errors.MessageDoesNotExist):
            driver.messages.get(QUEUE, message_id, PROJECT)
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, claim.id, PROJECT)
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()


def test_delete_is_idempotent(driver: DataDriver) -> None:
    driver.queues.delete(QUEUE, PROJECT)
    driver.queues.create(QUEUE, {}, PROJECT)
    driver.queues.delete(QUEUE, PROJECT)
    driver.queues.delete(QUEUE, PROJECT)

    assert driver.queues.exists(QUEUE, PROJECT) is False
    assert driver.queues.count(PROJECT) == 0


def test_list_sorts_by_name_and_pages_with_marker_and_limit(
    driver: DataDriver,
) -> None:
    created = ['gamma_2', 'alpha', 'Beta', '0zero', 'gamma-1', 'delta']
    for name in created:
        driver.queues.create(name, {}, PROJECT)

    first = driver.queues.list(PROJECT, limit=4)
    second = driver.queues.list(PROJECT, marker=first[-1].name, limit=4)
    third = driver.queues.list(PROJECT, marker=second[-1].name, limit=4)

    assert names(first) == ['0zero', 'Beta', 'alpha', 'delta']
    assert names(second) == ['gamma-1', 'gamma_2']
    assert third == []


def test_list_marker_need_not_name_an_existing_queue(driver: DataDriver) -> None:
    for name in ['apple', 'banana', 'cherry']:
        driver.queues.create(name, {}, PROJECT)

    assert names(driver.queues.list(PROJECT, marker='b')) == ['banana', 'cherry']
    assert names(driver.queues.list(PROJECT, marker='banana')) == ['cherry']


def test_list_returns_at_most_ten_queues_by_default(driver: DataDriver) -> None:
    for number in range(12):
        driver.queues.create(f'queue-{number:02}', {}, PROJECT)

    assert names(driver.queues.list(PROJECT)) == [f'queue-{n:02}' for n in range(10)]


def test_list_includes_metadata_only_when_detailed(driver: DataDriver) -> None:
    driver.queues.create('alpha', {'a': 1}, PROJECT)
    driver.queues.create('beta', {}, PROJECT)

    assert driver.queues.list(PROJECT) == [QueueInfo('alpha'), QueueInfo('beta')]
    assert driver.queues.list(PROJECT, detailed=True) == [
        QueueInfo('alpha', {'a': 1}),
        QueueInfo('beta', {}),
    ]


def test_list_name_contains_filters_by_literal_substring(driver: DataDriver) -> None:
    for name in ['gamma-1', 'gamma_2', 'grammar', 'Beta', 'beta2', 'delta']:
        driver.queues.create(name, {}, PROJECT)

    def listed(text: str) -> list[str]:
        return names(driver.queues.list(PROJECT, limit=20, name_contains=text))

    assert listed('amm') == ['gamma-1', 'gamma_2', 'grammar']
    assert listed('_') == ['gamma_2']
    assert listed('%') == []
    assert listed('eta') == ['Beta', 'beta2']
    assert listed('beta') == ['beta2']
    assert listed('gamma') == ['gamma-1', 'gamma_2']


def test_list_name_contains_combines_with_marker_and_limit(
    driver: DataDriver,
) -> None:
    for name in ['a-x', 'b', 'c-x', 'd-x', 'e-x']:
        driver.queues.create(name, {}, PROJECT)

    listed = driver.queues.list(PROJECT, marker='a-x', limit=2, name_contains='-x')

    assert names(listed) == ['c-x', 'd-x']


def test_list_metadata_filter_needs_every_key_with_an_equal_value(
    driver: DataDriver,
) -> None:
    driver.queues.create('q1', {'color': 'red', 'size': 1}, PROJECT)
    driver.queues.create('q2', {'color': 'red', 'size': 2}, PROJECT)
    driver.queues.create('q3', {'color': 'blue', 'shape': None}, PROJECT)
    driver.queues.create('q4', {}, PROJECT)

    def listed(metadata_filter: dict[str, object]) -> list[str]:
        return names(driver.queues.list(PROJECT, metadata_filter=metadata_filter))

    assert listed({'color': 'red'}) == ['q1', 'q2']
    assert listed({'color': 'red', 'size': 2}) == ['q2']
    assert listed({'size': 1}) == ['q1']
    assert listed({'size': '1'}) == []
    assert listed({'color': 'green'}) == []
    assert listed({'shape': None}) == ['q3']
    assert listed({}) == ['q1', 'q2', 'q3', 'q4']


def test_list_metadata_filter_tells_booleans_from_numbers(driver: DataDriver) -> None:
    driver.queues.create('flagged', {'flag': True}, PROJECT)
    driver.queues.create('numbered', {'flag': 1}, PROJECT)
    listed = driver.queues.list

    assert names(listed(PROJECT, metadata_filter={'flag': 1})) == ['numbered']
    assert names(listed(PROJECT, metadata_filter={'flag': True})) == ['flagged']


def test_list_metadata_filter_combines_with_detailed_and_marker(
    driver: DataDriver,
) -> None:
    driver.queues.create('q1', {'env': 'prod'}, PROJECT)
    driver.queues.create('q2', {'env': 'dev'}, PROJECT)
    driver.queues.create('q3', {'env': 'prod', 'x': 1}, PROJECT)

    listed = driver.queues.list(
        PROJECT, marker='q1', detailed=True, metadata_filter={'env': 'prod'}
    )

    assert listed == [QueueInfo('q3', {'env': 'prod', 'x': 1})]


def test_count_counts_the_projects_queues(driver: DataDriver) -> None:
    assert driver.queues.count(PROJECT) == 0
    for name in ['a', 'b', 'c']:
        driver.queues.create(name, {}, PROJECT)
    post(driver, queue='d')
    driver.queues.delete('b', PROJECT)

    assert driver.queues.count(PROJECT) == 3


def test_stats_of_missing_queue_are_all_zeros(driver: DataDriver) -> None:
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()


def test_stats_count_free_and_claimed_and_name_oldest_and_newest(
    driver: DataDriver, clock: ManualClock
) -> None:
    start = clock.now()
    first = post(driver, 2)
    clock.advance(10)
    second = post(driver, 3)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=3)
    assert claim is not None
    clock.advance(5)

    stats = driver.queues.stats(QUEUE, PROJECT)

    assert stats == QueueStats(
        free=2,
        claimed=3,
        oldest=MessageSummary(id=first[0], age=15, created=start),
        newest=MessageSummary(id=second[-1], age=5, created=start + 10),
    )
    assert stats.total == 5


def test_stats_count_delayed_messages_as_free(driver: DataDriver) -> None:
    post(driver, 2, delay=60)

    stats = driver.queues.stats(QUEUE, PROJECT)

    assert (stats.free, stats.claimed) == (2, 0)


def test_stats_of_emptied_queue_are_zeros(driver: DataDriver) -> None:
    message_ids = post(driver, 2)
    driver.messages.delete_many(QUEUE, message_ids, PROJECT)

    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()


def test_stats_oldest_and_newest_skip_deleted_messages(
    driver: DataDriver, clock: ManualClock
) -> None:
    start = clock.now()
    message_ids = []
    for _ in range(4):
        message_ids += post(driver)
        clock.advance(1)
    driver.messages.delete(QUEUE, message_ids[0], PROJECT)
    driver.messages.delete(QUEUE, message_ids[3], PROJECT)

    stats = driver.queues.stats(QUEUE, PROJECT)

    assert stats == QueueStats(
        free=2,
        oldest=MessageSummary(id=message_ids[1], age=3, created=start + 1),
        newest=MessageSummary(id=message_ids[2], age=2, created=start + 2),
    )


def test_queues_of_one_project_are_invisible_to_another(driver: DataDriver) -> None:
    driver.queues.create(QUEUE, {'owner': 'a'}, PROJECT)
    post(driver, 2)

    assert driver.queues.exists(QUEUE, OTHER_PROJECT) is False
    assert driver.queues.list(OTHER_PROJECT) == []
    assert driver.queues.count(OTHER_PROJECT) == 0
    assert driver.queues.stats(QUEUE, OTHER_PROJECT) == QueueStats()
    with pytest.raises(errors.QueueDoesNotExist):
        driver.queues.get_metadata(QUEUE, OTHER_PROJECT)
    with pytest.raises(errors.QueueDoesNotExist):
        driver.queues.set_metadata(QUEUE, {'owner': 'b'}, OTHER_PROJECT)


def test_same_queue_name_in_two_projects_are_separate_queues(
    driver: DataDriver,
) -> None:
    driver.queues.create(QUEUE, {'owner': 'a'}, PROJECT)
    assert driver.queues.create(QUEUE, {'owner': 'b'}, OTHER_PROJECT) is True
    post(driver, 2)

    driver.queues.set_metadata(QUEUE, {'owner': 'b2'}, OTHER_PROJECT)
    driver.queues.delete(QUEUE, OTHER_PROJECT)

    assert driver.queues.exists(QUEUE, PROJECT) is True
    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'owner': 'a'}
    assert driver.queues.stats(QUEUE, PROJECT).total == 2
    assert driver.queues.list(PROJECT, detailed=True) == [
        QueueInfo(QUEUE, {'owner': 'a'})
    ]
    assert driver.queues.exists(QUEUE, OTHER_PROJECT) is False
