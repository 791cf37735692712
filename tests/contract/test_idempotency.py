"""Idempotency keys (``MessageController.post_once``): an optional capability.

Every built-in driver has it. A driver that does not raises ``Unsupported``
from ``post_once``: its tests here are skipped, unless it is one of zaqar's
own drivers, which must have it.

"In flight" cannot be produced on purpose here: on a driver whose keyed
post is one atomic step (SQLite, Redis) no post is ever in flight to
another, and a driver with a pending state (MongoDB) shows it in its own
tests (``tests/drivers/test_mongodb.py``). The concurrent tests below allow
it as an answer and check that it never comes with a second batch stored.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import NewMessage

from . import CLIENT
from . import OTHER_CLIENT
from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import bodies
from . import ids
from . import list_all
from . import post
from .test_concurrency import THREADS
from .test_concurrency import run_together
from .test_subscriptions import BUILT_IN

WINDOW = 600
FINGERPRINT = bytes(range(32))
OTHER_FINGERPRINT = bytes(range(1, 33))
KEY = '8e03978e-40d5-43e8-bc93-6894a57f9324'

PostOnce = Callable[..., list[str]]


def key(
    text: str = KEY, fingerprint: bytes = FINGERPRINT, window: int = WINDOW
) -> IdempotencyKey:
    return IdempotencyKey(key=text, fingerprint=fingerprint, window=window)


def batch(*values: object) -> list[NewMessage]:
    """Messages that outlive every window of these tests."""
    return [NewMessage(body=value, ttl=10 * WINDOW) for value in values]


@pytest.fixture
def post_once(driver: DataDriver, request: pytest.FixtureRequest) -> PostOnce:
    """Keyed posts; skip the test for a driver without them."""

    def post_once(
        messages: Sequence[NewMessage],
        idempotency_key: IdempotencyKey | None = None,
        *,
        queue: str = QUEUE,
        project: str = PROJECT,
        client_id: str = CLIENT,
    ) -> list[str]:
        return driver.messages.post_once(
            queue, messages, project, client_id, idempotency_key or key()
        )

    try:
        # A key no test sees expire.
        probe = key(window=100 * WINDOW)
        driver.messages.post_once('probe', batch('probe'), PROJECT, CLIENT, probe)
    except errors.Unsupported as ex:
        name = request.node.callspec.params['driver']
        if name in BUILT_IN:
            raise
        pytest.skip(f'{name} does not honour idempotency keys (optional): {ex}')
    return post_once


def total(driver: DataDriver, queue: str = QUEUE, project: str = PROJECT) -> int:
    return driver.queues.stats(queue, project).total


def test_a_first_post_stores_its_messages_in_order(
    driver: DataDriver, post_once: PostOnce
) -> None:
    posted = post_once(batch('a', 'b', 'c'))

    listed = list_all(driver)
    assert ids(listed) == posted
    assert bodies(listed) == ['a', 'b', 'c']
    markers = [message.marker for message in listed]
    assert markers == list(range(markers[0], markers[0] + 3))


def test_a_repeat_answers_the_first_ids_and_stores_nothing(
    driver: DataDriver, post_once: PostOnce
) -> None:
    posted = post_once(batch('a', 'b'))

    assert post_once(batch('a', 'b')) == posted
    assert post_once(batch('a', 'b'), client_id=OTHER_CLIENT) == posted

    assert total(driver) == 2
    assert ids(list_all(driver)) == posted


def test_only_the_fingerprint_tells_a_repeat(
    driver: DataDriver, post_once: PostOnce
) -> None:
    # The caller decides what a request is: equal fingerprints are equal
    # requests, whatever messages come with them.
    posted = post_once(batch('a'))

    assert post_once(batch('something', 'else')) == posted
    assert bodies(list_all(driver)) == ['a']


def test_another_fingerprint_is_refused_and_stores_nothing(
    driver: DataDriver, post_once: PostOnce
) -> None:
    posted = post_once(batch('a'))

    with pytest.raises(errors.IdempotencyKeyReused):
        post_once(batch('b'), key(fingerprint=OTHER_FINGERPRINT))

    assert bodies(list_all(driver)) == ['a']
    assert post_once(batch('a')) == posted


def test_a_refusal_names_the_queue_but_not_the_key(
    driver: DataDriver, post_once: PostOnce
) -> None:
    post_once(batch('a'))

    with pytest.raises(errors.IdempotencyKeyReused) as refused:
        post_once(batch('b'), key(fingerprint=OTHER_FINGERPRINT))

    assert QUEUE in str(refused.value)
    assert KEY not in str(refused.value)


@pytest.mark.parametrize('consume', ['delete', 'pop', 'purge', 'delete the queue'])
def test_a_repeat_answers_even_after_the_messages_are_gone(
    driver: DataDriver, post_once: PostOnce, consume: str
) -> None:
    posted = post_once(batch('a', 'b'))
    if consume == 'delete':
        driver.messages.delete_many(QUEUE, posted, PROJECT)
    elif consume == 'pop':
        assert len(driver.messages.pop(QUEUE, 10, PROJECT)) == 2
    elif consume == 'purge':
        driver.messages.purge(QUEUE, PROJECT)
    else:
        driver.queues.delete(QUEUE, PROJECT)

    assert post_once(batch('a', 'b')) == posted

    assert total(driver) == 0
    with pytest.raises(errors.IdempotencyKeyReused):
        post_once(batch('c'), key(fingerprint=OTHER_FINGERPRINT))


def test_a_repeat_answers_after_the_messages_expired(
    driver: DataDriver, post_once: PostOnce, clock: ManualClock
) -> None:
    posted = post_once([NewMessage(body='short', ttl=60)], key(window=WINDOW))
    clock.advance(61)

    assert post_once([NewMessage(body='short', ttl=60)]) == posted
    assert total(driver) == 0


def test_the_key_is_forgotten_when_its_window_ends(
    driver: DataDriver, post_once: PostOnce, clock: ManualClock
) -> None:
    first = post_once(batch('a'))
    clock.advance(WINDOW - 1)
    assert post_once(batch('a')) == first

    clock.advance(1)
    second = post_once(batch('a'))

    assert second != first
    assert bodies(list_all(driver)) == ['a', 'a']
    # The second post starts a window of its own.
    clock.advance(WINDOW - 1)
    assert post_once(batch('a')) == second
    assert total(driver) == 2


def test_a_forgotten_key_takes_another_fingerprint(
    driver: DataDriver, post_once: PostOnce, clock: ManualClock
) -> None:
    post_once(batch('a'))
    clock.advance(WINDOW)

    post_once(batch('b'), key(fingerprint=OTHER_FINGERPRINT))

    assert bodies(list_all(driver)) == ['a', 'b']


def test_each_post_keeps_its_key_for_its_own_window(
    driver: DataDriver, post_once: PostOnce, clock: ManualClock
) -> None:
    short = post_once(batch('short'), key('short', window=60))
    long = post_once(batch('long'), key('long', window=120))
    clock.advance(60)

    assert post_once(batch('long'), key('long', window=120)) == long
    assert post_once(batch('short'), key('short', window=60)) != short


def test_gc_removes_forgotten_keys_only(
    driver: DataDriver, post_once: PostOnce, clock: ManualClock
) -> None:
    post_once(batch('a'), key('one', window=60))
    post_once(batch('b'), key('two', window=60), queue='other')
    kept = post_once(batch('c'), key('three', window=120))
    driver.queues.delete('other', PROJECT)

    assert driver.gc().idempotency_keys == 0
    clock.advance(60)
    assert driver.gc().idempotency_keys == 2
    assert driver.gc().idempotency_keys == 0

    assert post_once(batch('c'), key('three', window=120)) == kept


def test_gc_and_a_repeat_agree_on_a_forgotten_key(
    driver: DataDriver, post_once: PostOnce, clock: ManualClock
) -> None:
    first = post_once(batch('a'))
    clock.advance(WINDOW)
    second = post_once(batch('a'))

    # The first post's record is gone; the second's is live.
    assert driver.gc().idempotency_keys == 0
    assert post_once(batch('a')) == second != first


def test_a_key_belongs_to_one_queue_of_one_project(
    driver: DataDriver, post_once: PostOnce
) -> None:
    here = post_once(batch('a'))
    other_queue = post_once(batch('a'), queue='other')
    other_project = post_once(batch('a'), project=OTHER_PROJECT)

    assert len({*here, *other_queue, *other_project}) == 3
    assert total(driver) == 1
    assert total(driver, queue='other') == 1
    assert total(driver, project=OTHER_PROJECT) == 1
    # Another fingerprint elsewhere is no reuse either.
    post_once(batch('b'), key(fingerprint=OTHER_FINGERPRINT), queue='third')


def test_keys_are_text_compared_exactly(
    driver: DataDriver, post_once: PostOnce
) -> None:
    odd = ' :"\\' + '~' * 251
    assert len(odd) == 255
    first = post_once(batch('a'), key(odd))

    assert post_once(batch('a'), key(odd)) == first
    assert post_once(batch('a'), key(odd.upper() + 'x')) != first
    assert post_once(batch('a'), key(odd[:-1])) != first
    assert total(driver) == 3


def test_unkeyed_posts_are_untouched_by_keys(
    driver: DataDriver, post_once: PostOnce
) -> None:
    keyed = post_once(batch('keyed'))
    plain = post(driver, 2)

    assert post_once(batch('keyed')) == keyed
    assert ids(list_all(driver)) == keyed + plain


def test_concurrent_posts_with_one_key_store_one_batch(
    driver: DataDriver, post_once: PostOnce
) -> None:
    def attempt() -> list[str] | str:
        try:
            return post_once(batch('a', 'b'))
        except errors.IdempotencyKeyInFlight:
            return 'in flight'

    results = run_together([attempt] * THREADS)

    assert total(driver) == 2
    stored = ids(list_all(driver))
    assert all(result in (stored, 'in flight') for result in results), results
    assert stored in results
    assert post_once(batch('a', 'b')) == stored


def test_concurrent_posts_reusing_a_key_store_one_batch(
    driver: DataDriver, post_once: PostOnce
) -> None:
    def attempt(index: int) -> Callable[[], list[str] | str]:
        def run() -> list[str] | str:
            fingerprint = bytes([index]) * 32
            try:
                return post_once(batch(index), key(fingerprint=fingerprint))
            except errors.IdempotencyKeyInFlight:
                return 'in flight'
            except errors.IdempotencyKeyReused:
                return 'reused'

        return run

    results = run_together([attempt(index) for index in range(THREADS)])

    listed = list_all(driver)
    assert len(listed) == 1
    (winner,) = bodies(listed)
    assert isinstance(winner, int)
    assert results[winner] == ids(listed)
    assert all(
        result in ('in flight', 'reused')
        for index, result in enumerate(results)
        if index != winner
    ), results
