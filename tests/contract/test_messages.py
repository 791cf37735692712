"""MessageController: post, list, get, get_many, delete_many, pop and purge.

Deleting one message under claims is in ``test_message_delete.py``.
"""

from __future__ import annotations

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Message
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueStats

from . import CLIENT
from . import OTHER_CLIENT
from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import TTL
from . import bodies
from . import ids
from . import list_all
from . import post


def markers(messages: list[Message]) -> list[int]:
    return [message.marker for message in messages]


def test_post_returns_distinct_ids_in_the_order_given(driver: DataDriver) -> None:
    posted = post(driver, 5)

    listed = list_all(driver)

    assert len(set(posted)) == 5
    assert ids(listed) == posted
    assert bodies(listed) == [{'n': n} for n in range(5)]


def test_post_gives_consecutive_markers_in_one_post_and_greater_ones_later(
    driver: DataDriver,
) -> None:
    post(driver, 3)
    post(driver, 1, first=3)
    post(driver, 4, first=4)

    found = markers(list_all(driver))

    assert found[1:3] == [found[0] + 1, found[0] + 2]
    assert found[3] > found[2]
    assert found[5:8] == [found[4] + 1, found[4] + 2, found[4] + 3]
    assert found[4] > found[3]


def test_one_large_post_keeps_every_body_ttl_delay_and_order(
    driver: DataDriver, clock: ManualClock
) -> None:
    # Larger than any one write a driver batches; bodies of every shape,
    # non-ASCII text among them, must come back byte for byte.
    count = 1200
    shapes: list[object] = [
        {'n': 0},
        'héllo ☃',
        [1, 2.5, None],
        7,
        '',
        {'k': 'x' * 300},
    ]
    posted = driver.messages.post(
        QUEUE,
        [
            NewMessage(body=shapes[n % len(shapes)], ttl=TTL + n % 7, delay=n % 2)
            for n in range(count)
        ],
        PROJECT,
        CLIENT,
    )
    clock.advance(1)

    listed = list_all(driver, page_size=500)

    assert ids(listed) == posted
    assert bodies(listed) == [shapes[n % len(shapes)] for n in range(count)]
    assert [message.ttl for message in listed] == [TTL + n % 7 for n in range(count)]


def test_message_records_its_post_time_ttl_and_age(
    driver: DataDriver, clock: ManualClock
) -> None:
    start = clock.now()
    (message_id,) = post(driver, ttl=120)
    clock.advance(10)

    message = driver.messages.get(QUEUE, message_id, PROJECT)

    assert message == Message(
        id=message_id,
        marker=message.marker,
        ttl=120,
        age=10,
        body={'n': 0},
        created=start,
        claim_id=None,
        claim_count=0,
    )
    assert isinstance(message.marker, int)
    assert isinstance(message.age, int)


def test_message_bodies_round_trip_any_json_value(driver: DataDriver) -> None:
    sent = [
        None,
        True,
        False,
        0,
        -7,
        2**40,
        1.5,
        '',
        'ünïcode ✓ "quoted"',
        [],
        [1, 'two', None, {'three': 3}],
        {},
        {'nested': {'list': [1, 2.5, {'k': 'v'}], 'flag': False, 'none': None}},
    ]
    driver.messages.post(
        QUEUE, [NewMessage(body=body, ttl=TTL) for body in sent], PROJECT, CLIENT
    )

    received = bodies(list_all(driver, page_size=20))

    assert received == sent
    assert [type(body) for body in received] == [type(body) for body in sent]


def test_list_returns_messages_in_fifo_order_across_posts(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = []
    for batch in range(4):
        posted += post(driver, 2, first=2 * batch)
        clock.advance(1)

    assert ids(list_all(driver)) == posted


def test_list_returns_at_most_ten_messages_by_default(driver: DataDriver) -> None:
    posted = post(driver, 12)

    listed = driver.messages.list(QUEUE, PROJECT, CLIENT, echo=True)

    assert ids(listed) == posted[:10]


def test_list_pages_by_marker_seeing_each_message_exactly_once(
    driver: DataDriver,
) -> None:
    posted = []
    for count in [1, 5, 3, 7, 2, 4, 3]:
        posted += post(driver, count, first=len(posted))

    seen = []
    marker = None
    for _ in range(20):
        page = driver.messages.list(
            QUEUE, PROJECT, CLIENT, marker=marker, limit=4, echo=True
        )
        if not page:
            break
        assert len(page) <= 4
        seen += page
        marker = page[-1].marker

    assert ids(seen) == posted
    assert markers(seen) == sorted(set(markers(seen)))


def test_list_only_returns_messages_after_marker(driver: DataDriver) -> None:
    posted = post(driver, 5)
    all_messages = list_all(driver)

    after = driver.messages.list(
        QUEUE, PROJECT, CLIENT, marker=all_messages[2].marker, echo=True
    )

    assert ids(after) == posted[3:]


def test_list_of_missing_queue_is_empty(driver: DataDriver) -> None:
    assert driver.messages.list(QUEUE, PROJECT, CLIENT, echo=True) == []
    assert driver.queues.exists(QUEUE, PROJECT) is False


def test_list_hides_the_readers_own_messages_unless_echo(driver: DataDriver) -> None:
    mine = post(driver, 2, client_id=CLIENT)
    theirs = post(driver, 2, client_id=OTHER_CLIENT, first=2)
    mine += post(driver, 1, client_id=CLIENT, first=4)

    without_echo = driver.messages.list(QUEUE, PROJECT, CLIENT)
    with_echo = driver.messages.list(QUEUE, PROJECT, CLIENT, echo=True)
    for_other = driver.messages.list(QUEUE, PROJECT, OTHER_CLIENT)

    assert ids(without_echo) == theirs
    assert ids(with_echo) == mine[:2] + theirs + mine[2:]
    assert ids(for_other) == mine


def test_list_hides_claimed_messages_unless_include_claimed(
    driver: DataDriver,
) -> None:
    posted = post(driver, 4)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=2)
    assert claim is not None

    default = driver.messages.list(QUEUE, PROJECT, CLIENT, echo=True)
    included = driver.messages.list(
        QUEUE, PROJECT, CLIENT, echo=True, include_claimed=True
    )

    assert ids(default) == posted[2:]
    assert ids(included) == posted
    assert [message.claim_id for message in included] == [claim.id] * 2 + [None] * 2
    assert [message.claim_count for message in included] == [1, 1, 0, 0]


def test_list_hides_delayed_messages_until_delay_passes_unless_include_delayed(
    driver: DataDriver, clock: ManualClock
) -> None:
    delayed = post(driver, 2, delay=30)
    ready = post(driver, 1, first=2)

    def listed(**kwargs: bool) -> list[str]:
        return ids(driver.messages.list(QUEUE, PROJECT, CLIENT, echo=True, **kwargs))

    assert listed() == ready
    assert listed(include_delayed=True) == delayed + ready
    clock.advance(29)
    assert listed() == ready
    clock.advance(2)
    assert listed() == delayed + ready


def test_get_returns_claimed_and_delayed_messages(driver: DataDriver) -> None:
    (delayed,) = post(driver, delay=60)
    (claimed,) = post(driver, first=1)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=5)
    assert claim is not None

    claimed_message = driver.messages.get(QUEUE, claimed, PROJECT)
    delayed_message = driver.messages.get(QUEUE, delayed, PROJECT)

    assert (claimed_message.claim_id, claimed_message.claim_count) == (claim.id, 1)
    assert (delayed_message.body, delayed_message.claim_id) == ({'n': 0}, None)


@pytest.mark.parametrize('message_id', ['', 'not-an-id', '0' * 24, 'f' * 32])
def test_get_of_unknown_or_malformed_id_raises_message_does_not_exist(
    driver: DataDriver, message_id: str
) -> None:
    post(driver)

    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, message_id, PROJECT)


def test_get_finds_a_message_only_in_its_own_queue(driver: DataDriver) -> None:
    (message_id,) = post(driver)
    post(driver, queue='other')

    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get('other', message_id, PROJECT)
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get('missing', message_id, PROJECT)


def test_get_many_returns_live_messages_and_skips_unknown_ids(
    driver: DataDriver,
) -> None:
    posted = post(driver, 4)
    driver.messages.delete(QUEUE, posted[1], PROJECT)

    found = driver.messages.get_many(
        QUEUE, [posted[3], 'not-an-id', posted[1], 'f' * 32, posted[0]], PROJECT
    )

    assert sorted(found, key=lambda message: message.marker) == [
        driver.messages.get(QUEUE, posted[0], PROJECT),
        driver.messages.get(QUEUE, posted[3], PROJECT),
    ]


def test_get_many_includes_claimed_and_delayed_messages(driver: DataDriver) -> None:
    posted = post(driver, 2)
    posted += post(driver, 1, delay=60, first=2)
    assert driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=1)

    found = driver.messages.get_many(QUEUE, posted, PROJECT)

    assert sorted(ids(found)) == sorted(posted)


def test_get_many_of_missing_queue_is_empty(driver: DataDriver) -> None:
    posted = post(driver, 2)

    assert driver.messages.get_many('other', posted, PROJECT) == []


def test_delete_many_deletes_listed_messages_claimed_or_not(
    driver: DataDriver,
) -> None:
    posted = post(driver, 5)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=2)
    assert claim is not None

    driver.messages.delete_many(
        QUEUE, [posted[0], posted[2], 'not-an-id', 'f' * 32], PROJECT
    )

    assert ids(list_all(driver)) == [posted[1], posted[3], posted[4]]
    assert ids(driver.claims.get(QUEUE, claim.id, PROJECT).messages) == [posted[1]]


def test_delete_many_of_missing_queue_or_ids_is_not_an_error(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)

    driver.messages.delete_many('missing', posted, PROJECT)
    driver.messages.delete_many(QUEUE, ['f' * 32, 'bogus'], PROJECT)

    assert ids(list_all(driver)) == posted


def test_pop_removes_and_returns_oldest_messages_up_to_limit(
    driver: DataDriver,
) -> None:
    posted = post(driver, 5)

    first = driver.messages.pop(QUEUE, 2, PROJECT)
    rest = driver.messages.pop(QUEUE, 10, PROJECT)

    assert ids(first) == posted[:2]
    assert bodies(first) == [{'n': 0}, {'n': 1}]
    assert ids(rest) == posted[2:]
    assert driver.messages.pop(QUEUE, 10, PROJECT) == []
    assert list_all(driver) == []
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, posted[0], PROJECT)


def test_pop_skips_claimed_messages_but_not_delayed_ones(
    driver: DataDriver,
) -> None:
    posted = post(driver, 2)
    posted += post(driver, 2, delay=60, first=2)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=1)
    assert claim is not None

    popped = driver.messages.pop(QUEUE, 10, PROJECT)

    assert ids(popped) == posted[1:]
    assert [message.claim_id for message in popped] == [None] * 3
    assert ids(driver.claims.get(QUEUE, claim.id, PROJECT).messages) == posted[:1]


def test_pop_takes_messages_whose_claim_expired(
    driver: DataDriver, clock: ManualClock
) -> None:
    posted = post(driver, 2)
    assert driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=2)
    clock.advance(61)

    popped = driver.messages.pop(QUEUE, 10, PROJECT)

    assert ids(popped) == posted
    assert [(m.claim_id, m.claim_count) for m in popped] == [(None, 1)] * 2


def test_pop_of_missing_queue_returns_nothing(driver: DataDriver) -> None:
    assert driver.messages.pop(QUEUE, 5, PROJECT) == []


def test_purge_deletes_messages_and_claims_but_keeps_the_queue(
    driver: DataDriver,
) -> None:
    driver.queues.create(QUEUE, {'keep': True}, PROJECT)
    posted = post(driver, 4)
    claim = driver.claims.create(QUEUE, PROJECT, ttl=60, grace=60, limit=2)
    assert claim is not None
    other = post(driver, 2, queue='other')

    driver.messages.purge(QUEUE, PROJECT)

    assert driver.queues.exists(QUEUE, PROJECT) is True
    assert driver.queues.get_metadata(QUEUE, PROJECT) == {'keep': True}
    assert list_all(driver) == []
    assert driver.messages.get_many(QUEUE, posted, PROJECT) == []
    assert driver.queues.stats(QUEUE, PROJECT) == QueueStats()
    with pytest.raises(errors.ClaimDoesNotExist):
        driver.claims.get(QUEUE, claim.id, PROJECT)
    assert ids(list_all(driver, queue='other')) == other


def test_messages_of_one_project_are_invisible_to_another(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)
    driver.queues.create(QUEUE, {}, OTHER_PROJECT)

    assert list_all(driver, project=OTHER_PROJECT) == []
    assert driver.messages.get_many(QUEUE, posted, OTHER_PROJECT) == []
    with pytest.raises(errors.MessageDoesNotExist):
        driver.messages.get(QUEUE, posted[0], OTHER_PROJECT)
    assert driver.messages.pop(QUEUE, 10, OTHER_PROJECT) == []
    assert driver.queues.stats(QUEUE, OTHER_PROJECT) == QueueStats()


def test_deletes_in_one_project_leave_another_projects_messages(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)
    theirs = post(driver, 1, project=OTHER_PROJECT)

    driver.messages.delete(QUEUE, posted[0], OTHER_PROJECT)
    driver.messages.delete_many(QUEUE, posted[1:], OTHER_PROJECT)
    driver.messages.purge(QUEUE, OTHER_PROJECT)

    assert ids(list_all(driver)) == posted
    assert list_all(driver, project=OTHER_PROJECT) == []
    assert driver.messages.get_many(QUEUE, theirs, PROJECT) == []


def test_counter_values_are_never_reused_after_delete_many(
    driver: DataDriver,
) -> None:
    posted = post(driver, 3)
    last = list_all(driver)[-1].marker
    driver.messages.delete_many(QUEUE, posted, PROJECT)

    post(driver, 2)

    assert min(markers(list_all(driver))) > last


def test_counter_values_are_never_reused_after_pop(driver: DataDriver) -> None:
    post(driver, 3)
    last = list_all(driver)[-1].marker
    driver.messages.pop(QUEUE, 3, PROJECT)

    post(driver, 2)

    assert min(markers(list_all(driver))) > last


def test_counter_values_are_never_reused_after_purge(driver: DataDriver) -> None:
    post(driver, 3)
    last = list_all(driver)[-1].marker
    driver.messages.purge(QUEUE, PROJECT)

    post(driver, 2)

    assert min(markers(list_all(driver))) > last


@pytest.mark.parametrize('recreate', ['create', 'post'])
def test_counter_values_are_never_reused_after_queue_delete(
    driver: DataDriver, recreate: str
) -> None:
    post(driver, 3)
    last = list_all(driver)[-1].marker
    driver.queues.delete(QUEUE, PROJECT)

    if recreate == 'create':
        driver.queues.create(QUEUE, {}, PROJECT)
    post(driver, 2)

    assert min(markers(list_all(driver))) > last
