"""Retry policies: upstream's validation, precedence and schedule."""

from __future__ import annotations

from typing import Any

import pytest

from zaqar.notification import retry
from zaqar.notification.retry import RetryPolicy


def schedule(policy: RetryPolicy) -> list[float]:
    return list(policy.delays())


def test_default_policy_schedule_is_upstreams() -> None:
    policy = RetryPolicy()
    assert [policy.delay_before(attempt) for attempt in range(1, 17)] == [
        0,  # the delivery itself
        0,
        0,
        0,  # retries_with_no_delay
        5,
        5,
        5,  # minimum_delay_retries
        5,
        10,
        15,
        20,
        25,  # linear backoff: range(5, 30, 5)
        30,
        30,
        30,  # maximum_delay_retries
        None,
    ]
    assert policy.attempts == 15
    assert sum(policy.delays()) == 180


@pytest.mark.parametrize(
    ('function', 'minimum', 'maximum', 'waits'),
    [
        ('linear', 5, 30, [5, 10, 15, 20, 25]),
        ('linear', 5, 17, [5, 10, 15]),
        ('linear', 3, 100, list(range(3, 100, 5))),
        ('arithmetic', 5, 30, [5, 7, 12, 20, 30]),
        ('arithmetic', 7, 58, [7, 8, 10, 13, 18, 24, 30, 38, 47, 58]),
        ('arithmetic', 1, 11, [1, 11]),
        ('geometric', 5, 30, [5, 7, 12, 19, 30]),
        # Upstream's float arithmetic truncates the last wait to 57.
        ('geometric', 7, 58, [7, 8, 11, 14, 17, 22, 28, 36, 45, 57]),
        ('geometric', 1, 11, [1, 10]),
        ('exponential', 5, 30, [5, 7, 12, 19, 30]),
        ('exponential', 7, 58, [7, 8, 11, 14, 17, 22, 28, 36, 45, 57]),
        ('exponential', 10, 20, [10, 20]),
    ],
)
def test_backoff_functions_wait_as_upstream(
    function: str, minimum: int, maximum: int, waits: list[int]
) -> None:
    policy = RetryPolicy(
        retries_with_no_delay=0,
        minimum_delay_retries=0,
        maximum_delay_retries=0,
        minimum_delay=minimum,
        maximum_delay=maximum,
        retry_backoff_function=function,
    )
    assert schedule(policy) == waits
    assert policy.backoff_waits == len(waits)
    assert policy.attempts == 1 + len(waits)


def test_phases_come_in_upstreams_order() -> None:
    policy = RetryPolicy(
        retries_with_no_delay=1,
        minimum_delay_retries=2,
        minimum_delay=2,
        maximum_delay=12,
        maximum_delay_retries=2,
        retry_backoff_function='geometric',
    )
    assert schedule(policy) == [0, 2, 2, 2, 12, 12, 12]
    assert policy.delay_before(1) == 0
    assert policy.delay_before(policy.attempts) == 12
    assert policy.delay_before(policy.attempts + 1) is None


def test_a_policy_without_retries_allows_only_the_first_attempt() -> None:
    policy = RetryPolicy(
        retries_with_no_delay=0,
        minimum_delay_retries=0,
        maximum_delay_retries=0,
        minimum_delay=0,
        maximum_delay=10,
    )
    # Linear backoff still waits 0 and 5 s: it depends on the range only.
    assert schedule(policy) == [0, 5]


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match='from 1'):
        RetryPolicy().delay_before(0)


def test_a_wide_range_is_computed_lazily() -> None:
    policy = RetryPolicy(maximum_delay=10**9, retry_backoff_function='geometric')
    assert policy.backoff_waits == (10**9 - 5) // 5
    last = 1 + 3 + 3 + policy.backoff_waits
    assert policy.delay_before(last) == pytest.approx(10**9, rel=1e-6)
    assert policy.delay_before(last + 1) == 10**9


# Precedence


def meta(**policy: Any) -> dict[str, Any]:
    return {'_retry_policy': policy}


def test_the_subscriptions_policy_replaces_the_queues_whole() -> None:
    queue = meta(minimum_delay=1, maximum_delay=50, retries_with_no_delay=9)
    options = meta(retries_with_no_delay=1)
    policy = RetryPolicy.of(queue, options)
    # Not merged: the queue's delays do not carry over.
    assert policy == RetryPolicy(retries_with_no_delay=1)


def test_without_a_subscription_policy_the_queues_applies() -> None:
    queue = meta(retries_with_no_delay=7)
    assert RetryPolicy.of(queue, {}).retries_with_no_delay == 7
    assert RetryPolicy.of(queue, meta()).retries_with_no_delay == 7
    assert RetryPolicy.of(queue, None).retries_with_no_delay == 7


def test_without_any_policy_the_defaults_apply() -> None:
    assert RetryPolicy.of({}, {}) == RetryPolicy()
    assert RetryPolicy.of(None, None) == RetryPolicy()
    assert RetryPolicy.of({'_retry_policy': None}, {'post_data': 'x'}) == RetryPolicy()


def test_the_queue_can_ignore_subscription_overrides() -> None:
    queue = meta(retries_with_no_delay=7, ignore_subscription_override=True)
    options = meta(retries_with_no_delay=1)
    assert RetryPolicy.of(queue, options).retries_with_no_delay == 7


def test_a_subscription_setting_ignore_gets_the_queues_policy_as_upstream() -> None:
    queue = meta(retries_with_no_delay=7)
    options = meta(retries_with_no_delay=1, ignore_subscription_override=True)
    assert RetryPolicy.of(queue, options).retries_with_no_delay == 7
    assert RetryPolicy.of({}, options) == RetryPolicy()


def test_an_invalid_stored_policy_counts_as_absent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = meta(retries_with_no_delay=7)
    options = meta(minimum_delay=20, maximum_delay=25)
    assert RetryPolicy.of(queue, options).retries_with_no_delay == 7
    assert 'invalid minimum_delay and maximum_delay' in caplog.text
    assert RetryPolicy.of({'_retry_policy': 'fast'}, {}) == RetryPolicy()


def test_parse_takes_defaults_for_missing_and_null_keys() -> None:
    policy = RetryPolicy.parse(
        {'minimum_delay': 2, 'maximum_delay': None, 'other': 'ignored'}
    )
    assert policy == RetryPolicy(minimum_delay=2)
    assert RetryPolicy.parse(None) == RetryPolicy()
    with pytest.raises(ValueError, match='must be a dict'):
        RetryPolicy.parse([])  # type: ignore[arg-type]


def test_the_constructor_refuses_an_invalid_policy() -> None:
    with pytest.raises(ValueError, match='invalid minimum_delay and maximum_delay'):
        RetryPolicy(minimum_delay=25)


def test_as_document_round_trips() -> None:
    policy = RetryPolicy(retries_with_no_delay=0, retry_backoff_function='arithmetic')
    document = policy.as_document()
    assert set(document) == {
        'retries_with_no_delay',
        'minimum_delay_retries',
        'minimum_delay',
        'maximum_delay',
        'maximum_delay_retries',
        'retry_backoff_function',
        'ignore_subscription_override',
    }
    assert RetryPolicy.parse(document) == policy


# Validation


@pytest.mark.parametrize(
    'document',
    [
        None,
        {},
        {'retries_with_no_delay': 0},
        {'minimum_delay': 0, 'maximum_delay': 10},
        {'retry_backoff_function': 'exponential', 'minimum_delay': 1},
        {'ignore_subscription_override': False},
        {'maximum_delay': None, 'retry_backoff_function': None},
        {'unknown': [1, 2]},
        {
            'retries_with_no_delay': 1,
            'minimum_delay_retries': 2,
            'minimum_delay': 10,
            'maximum_delay': 100,
            'maximum_delay_retries': 4,
            'retry_backoff_function': 'geometric',
            'ignore_subscription_override': True,
        },
    ],
)
def test_valid_policies(document: object) -> None:
    assert retry.policy_problem(document) is None


@pytest.mark.parametrize(
    ('document', 'problem'),
    [
        ([], 'retry_policy must be a dict.'),
        ('linear', 'retry_policy must be a dict.'),
        (
            {'retries_with_no_delay': '3'},
            'Retry policy: retries_with_no_delay must be a integer.',
        ),
        ({'minimum_delay': 1.5}, 'Retry policy: minimum_delay must be a integer.'),
        (
            {'maximum_delay_retries': True},
            'Retry policy: maximum_delay_retries must be a integer.',
        ),
        (
            {'minimum_delay_retries': -1},
            'Retry policy: minimum_delay_retries must not be negative.',
        ),
        ({'retry_backoff_function': 3}, 'retry_backoff_function must be a string.'),
        ({'retry_backoff_function': 'cubic'}, 'invalid retry_backoff_function.'),
        ({'retry_backoff_function': ''}, 'invalid retry_backoff_function.'),
        (
            {'ignore_subscription_override': 'yes'},
            'ignore_subscription_override must be a boolean.',
        ),
        (
            {'ignore_subscription_override': 1},
            'ignore_subscription_override must be a boolean.',
        ),
        (
            {'minimum_delay': 40},
            'minimum_delay must less than maximum_delay.',
        ),
        (
            {'minimum_delay': 21},
            'invalid minimum_delay and maximum_delay.',
        ),
        (
            {'minimum_delay': 10, 'maximum_delay': 19},
            'invalid minimum_delay and maximum_delay.',
        ),
        (
            {'retry_backoff_function': 'geometric', 'minimum_delay': 0},
            'minimum_delay must be at least 1 with the exponential and '
            'geometric retry_backoff_function.',
        ),
    ],
)
def test_invalid_policies(document: object, problem: str) -> None:
    assert retry.policy_problem(document) == problem


def test_the_first_problem_in_upstreams_key_order_is_named() -> None:
    document = {'maximum_delay_retries': 'x', 'retries_with_no_delay': 'y'}
    assert retry.policy_problem(document) == (
        'Retry policy: retries_with_no_delay must be a integer.'
    )
