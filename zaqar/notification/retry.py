"""The retry policy of deliveries: the ``_retry_policy`` object.

A queue sets it in its metadata and a subscription in its options, both
under the key ``_retry_policy``, with upstream Zaqar's keys and defaults:

=============================== ======= =====================================
key                             default meaning
=============================== ======= =====================================
``retries_with_no_delay``       3       retries made at once
``minimum_delay_retries``       3       then, retries ``minimum_delay`` apart
``minimum_delay``               5       seconds
``maximum_delay``               30      seconds
``maximum_delay_retries``       3       last, retries ``maximum_delay`` apart
``retry_backoff_function``      linear  linear, arithmetic, exponential or
                                        geometric: the waits between the
                                        minimum and maximum phases
``ignore_subscription_override`` false  the queue's policy wins
=============================== ======= =====================================

:func:`policy_problem` checks a policy as the API receives it;
:meth:`RetryPolicy.of` picks the policy a delivery follows and
:meth:`RetryPolicy.delay_before` gives its schedule.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from zaqar.common.queue_metadata import RETRY_POLICY

LOG = logging.getLogger(__name__)

# Where queues (metadata) and subscriptions (options) keep their policy.
POLICY_KEY = RETRY_POLICY

RETRIES_WITH_NO_DELAY = 3
MINIMUM_DELAY_RETRIES = 3
MINIMUM_DELAY = 5
MAXIMUM_DELAY = 30
MAXIMUM_DELAY_RETRIES = 3
# Upstream's LINEAR_INTERVAL: the step of the linear function, and the
# seconds of delay range per retry of every other function. Not settable.
BACKOFF_STEP = 5

LINEAR = 'linear'
ARITHMETIC = 'arithmetic'
EXPONENTIAL = 'exponential'
GEOMETRIC = 'geometric'
BACKOFF_FUNCTIONS = (LINEAR, ARITHMETIC, EXPONENTIAL, GEOMETRIC)

# In the order upstream checks them, so the first problem named is its.
_COUNT_KEYS = (
    'retries_with_no_delay',
    'minimum_delay_retries',
    'minimum_delay',
    'maximum_delay',
    'maximum_delay_retries',
)


def policy_problem(document: object) -> str | None:
    """Tell what is wrong with a ``_retry_policy`` value, or None if nothing.

    The rules and texts are upstream's: each count and delay is an integer,
    ``retry_backoff_function`` one of :data:`BACKOFF_FUNCTIONS`,
    ``ignore_subscription_override`` a boolean, and ``maximum_delay`` at
    least ``minimum_delay`` plus 10 seconds (two backoff steps), missing
    delays counting as their defaults. Unknown keys are ignored, as
    upstream does.

    Stricter than upstream, to refuse what upstream accepts and then fails
    on when it delivers: a policy that is present must be an object; a
    count or delay may not be a boolean or negative; ``""`` is no backoff
    function; ``ignore_subscription_override`` must be a real boolean; the
    exponential and geometric functions need ``minimum_delay`` >= 1 (they
    divide by it). A key given as null counts as absent, as upstream.

    Args:
        document: The value of ``_retry_policy``; None (absent) is valid.

    Returns:
        A message for a 400 answer, or None.
    """
    if document is None:
        return None
    if not isinstance(document, Mapping):
        return 'retry_policy must be a dict.'
    for key in _COUNT_KEYS:
        value = document.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return f'Retry policy: {key} must be a integer.'
        if value < 0:
            return f'Retry policy: {key} must not be negative.'
    function = document.get('retry_backoff_function')
    if function is not None:
        if not isinstance(function, str):
            return 'retry_backoff_function must be a string.'
        if function not in BACKOFF_FUNCTIONS:
            return 'invalid retry_backoff_function.'
    ignore = document.get('ignore_subscription_override')
    if ignore is not None and not isinstance(ignore, bool):
        return 'ignore_subscription_override must be a boolean.'
    minimum = _get(document, 'minimum_delay', MINIMUM_DELAY)
    maximum = _get(document, 'maximum_delay', MAXIMUM_DELAY)
    if maximum < minimum:
        return 'minimum_delay must less than maximum_delay.'
    if maximum - minimum < 2 * BACKOFF_STEP:
        return 'invalid minimum_delay and maximum_delay.'
    if function in (EXPONENTIAL, GEOMETRIC) and minimum < 1:
        return (
            'minimum_delay must be at least 1 with the exponential and '
            'geometric retry_backoff_function.'
        )
    return None


def _get(document: Mapping[str, Any], key: str, default: Any) -> Any:
    value = document.get(key)
    return default if value is None else value


class _Backoff:
    """The waits of the backoff phase, computed one at a time.

    Computed on demand rather than listed, because a policy may stretch
    the delays over many steps (one per 5 seconds of range).

    The arithmetic is upstream's, operation for operation, so that float
    rounding yields the same whole seconds (for instance the geometric
    function from 7 to 58 seconds ends at 57, not 58).
    """

    def __init__(self, function: str, minimum: int, maximum: int) -> None:
        self._function = function
        self._minimum = minimum
        self._maximum = maximum
        if function == LINEAR:
            # NOTE: minimum, minimum + 5, ... below maximum; a range object
            # indexes in constant time.
            self._linear = range(minimum, maximum, BACKOFF_STEP)
            self._count = len(self._linear)
            return
        self._count = int((maximum - minimum) / BACKOFF_STEP)
        span = self._count - 1
        if function == ARITHMETIC:
            self._step = 2.0 * (maximum - minimum) / (self._count * span)
        else:
            self._ratio = math.pow(10, math.log10(maximum / minimum) / span)

    def __len__(self) -> int:
        return self._count

    def wait(self, index: int) -> int:
        """Seconds of the ``index``-th wait (0-based) of the phase."""
        if self._function == LINEAR:
            return self._linear[index]
        a = index + 1
        if self._function == ARITHMETIC:
            return int(self._minimum + (a - 1) * a * self._step / 2)
        if self._function == GEOMETRIC:
            return int(self._minimum * math.pow(self._ratio, a - 1))
        # Exponential: the same curve as geometric, written as p * k**a.
        scale = self._minimum / self._ratio
        return int(scale * math.pow(self._ratio, a))


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """The schedule of a delivery's attempts; defaults are upstream's.

    The schedule has four phases, after the first attempt:

    1. ``retries_with_no_delay`` retries without waiting;
    2. ``minimum_delay_retries`` retries ``minimum_delay`` seconds apart;
    3. the backoff phase: one retry after each wait of the backoff
       function, which rises from ``minimum_delay`` towards
       ``maximum_delay`` (see below);
    4. ``maximum_delay_retries`` retries ``maximum_delay`` seconds apart.

    Then the delivery has failed. The number of backoff waits does not
    depend on ``maximum_delay_retries`` but, as upstream, on the range:
    ``linear`` waits minimum, minimum + 5, minimum + 10, ... while below
    maximum (ceil((maximum - minimum) / 5) waits); the other functions make
    n = floor((maximum - minimum) / 5) waits, from minimum to maximum,
    truncated to whole seconds:

    - ``arithmetic``: minimum + (a - 1) * a * d / 2 for a = 1..n, with
      d = 2 (maximum - minimum) / (n (n - 1)): growing differences;
    - ``geometric`` and ``exponential``: minimum * k ** (a - 1), with
      k = (maximum / minimum) ** (1 / (n - 1)): a constant ratio.

    Worked example, the default policy (linear, 5 to 30 seconds):

    ======== ================= ============================================
    attempt  wait before (s)   phase
    ======== ================= ============================================
    1        0                 the delivery itself
    2, 3, 4  0, 0, 0           no delay
    5, 6, 7  5, 5, 5           minimum delay
    8 - 12   5, 10, 15, 20, 25 backoff, range(5, 30, 5)
    13 - 15  30, 30, 30        maximum delay
    16       None              given up: 15 attempts over 180 seconds
    ======== ================= ============================================

    With ``geometric`` (or ``exponential``) the backoff waits are 5, 7, 12,
    19 and 30 seconds; with ``arithmetic`` 5, 7, 12, 20 and 30.

    Construct with :meth:`of` (or :meth:`parse`); the constructor raises
    ValueError for a policy :func:`policy_problem` refuses.
    """

    retries_with_no_delay: int = RETRIES_WITH_NO_DELAY
    minimum_delay_retries: int = MINIMUM_DELAY_RETRIES
    minimum_delay: int = MINIMUM_DELAY
    maximum_delay: int = MAXIMUM_DELAY
    maximum_delay_retries: int = MAXIMUM_DELAY_RETRIES
    retry_backoff_function: str = LINEAR
    ignore_subscription_override: bool = False

    def __post_init__(self) -> None:
        problem = policy_problem(self.as_document())
        if problem:
            raise ValueError(problem)

    @classmethod
    def parse(cls, document: Mapping[str, Any] | None) -> RetryPolicy:
        """Build the policy a ``_retry_policy`` value describes.

        Missing (or null) keys take their defaults; unknown keys are
        ignored.

        Raises:
            ValueError: :func:`policy_problem` refuses the value; the
                message is its text.
        """
        problem = policy_problem(document)
        if problem:
            raise ValueError(problem)
        document = document or {}
        fields = {
            field.name: document[field.name]
            for field in dataclasses.fields(cls)
            if document.get(field.name) is not None
        }
        return cls(**fields)

    @classmethod
    def of(
        cls,
        queue_metadata: Mapping[str, Any] | None,
        subscription_options: Mapping[str, Any] | None,
    ) -> RetryPolicy:
        """The policy a delivery follows, with upstream's precedence.

        A policy is taken whole, never merged key by key: the
        subscription's ``_retry_policy`` when it has a non-empty one, else
        the queue's, else the defaults. When either of the two sets
        ``ignore_subscription_override`` to true, the queue's policy is
        taken (the defaults if the queue has none), as upstream does.

        A stored policy that :func:`policy_problem` refuses (one saved
        before validation, or by another service) counts as absent, with a
        warning in the log, rather than stopping deliveries.

        Args:
            queue_metadata: The queue's (or topic's) metadata.
            subscription_options: The subscription's options.
        """
        queue = _stored_policy(queue_metadata, 'queue')
        subscription = _stored_policy(subscription_options, 'subscription')
        if queue.get('ignore_subscription_override') or subscription.get(
            'ignore_subscription_override'
        ):
            return cls.parse(queue)
        return cls.parse(subscription or queue)

    def as_document(self) -> dict[str, Any]:
        """The policy as a ``_retry_policy`` object, every key given."""
        return dataclasses.asdict(self)

    @property
    def backoff_waits(self) -> int:
        """How many retries the backoff phase makes."""
        return len(self._curve)

    @property
    def attempts(self) -> int:
        """How many attempts the policy allows, the first one included."""
        return (
            1
            + self.retries_with_no_delay
            + self.minimum_delay_retries
            + self.backoff_waits
            + self.maximum_delay_retries
        )

    def delay_before(self, attempt: int) -> float | None:
        """Seconds to wait, after attempt ``attempt - 1`` failed, before
        attempt ``attempt``; None when the policy allows no such attempt.

        Args:
            attempt: 1 for the first delivery (which waits 0), 2 for the
                first retry, and so on.

        Raises:
            ValueError: ``attempt`` is below 1.
        """
        if attempt < 1:
            raise ValueError(f'attempts are numbered from 1, not {attempt}')
        if attempt == 1:
            return 0.0
        retry = attempt - 2
        if retry < self.retries_with_no_delay:
            return 0.0
        retry -= self.retries_with_no_delay
        if retry < self.minimum_delay_retries:
            return float(self.minimum_delay)
        retry -= self.minimum_delay_retries
        if retry < len(self._curve):
            return float(self._curve.wait(retry))
        retry -= len(self._curve)
        if retry < self.maximum_delay_retries:
            return float(self.maximum_delay)
        return None

    def delays(self) -> Iterator[float]:
        """Yield the wait before every retry, in order (attempts 2, 3...)."""
        attempt = 2
        while (delay := self.delay_before(attempt)) is not None:
            yield delay
            attempt += 1

    @functools.cached_property
    def _curve(self) -> _Backoff:
        return _Backoff(
            self.retry_backoff_function, self.minimum_delay, self.maximum_delay
        )


def _stored_policy(document: Mapping[str, Any] | None, owner: str) -> Mapping[str, Any]:
    policy = (document or {}).get(POLICY_KEY)
    problem = policy_problem(policy)
    if problem:
        LOG.warning('Ignoring the invalid %s of a %s: %s', POLICY_KEY, owner, problem)
        return {}
    return policy if isinstance(policy, Mapping) else {}
