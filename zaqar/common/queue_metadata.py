"""Queue metadata: every reserved key, its default, its rule and its meaning.

Metadata is a free JSON object; keys starting with ``_`` that this module
names change how the queue behaves. This is the one place that knows them:
the operations layer validates and defaults them with it, and storage
drivers read the dead-letter settings through :class:`DeadLetterPolicy`.
The API description (``zaqar/transport/openapi/v2.yaml``, schema
``QueueMetadata``) documents the same rules for clients.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from typing import TypeGuard

from zaqar.common import names
from zaqar.common.limits import Limits

Metadata = dict[str, Any]

MAX_MESSAGES_POST_SIZE = '_max_messages_post_size'
DEFAULT_MESSAGE_TTL = '_default_message_ttl'
DEFAULT_MESSAGE_DELAY = '_default_message_delay'
DEAD_LETTER_QUEUE = '_dead_letter_queue'
DEAD_LETTER_QUEUE_MESSAGES_TTL = '_dead_letter_queue_messages_ttl'
MAX_CLAIM_COUNT = '_max_claim_count'
ENABLE_ENCRYPT_MESSAGES = '_enable_encrypt_messages'
# How notifications to the queue's subscribers are retried; validated and
# read by zaqar.notification.retry (reported only when set).
RETRY_POLICY = '_retry_policy'

MIN_MESSAGE_TTL = 60
MIN_DELAY = 0


def is_int(value: object) -> TypeGuard[int]:
    """Tell whether ``value`` is a JSON integer (``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def defaults(limits: Limits) -> Metadata:
    """The reserved keys a queue reports, with their default values."""
    return {
        MAX_MESSAGES_POST_SIZE: limits.max_messages_post_size,
        DEFAULT_MESSAGE_TTL: limits.default_message_ttl,
        DEFAULT_MESSAGE_DELAY: limits.default_message_delay,
        DEAD_LETTER_QUEUE: None,
        DEAD_LETTER_QUEUE_MESSAGES_TTL: None,
        MAX_CLAIM_COUNT: None,
        ENABLE_ENCRYPT_MESSAGES: False,
    }


def with_defaults(
    metadata: Metadata, limits: Limits, keys: Sequence[str] | None = None
) -> Metadata:
    """Return ``metadata`` with each missing or falsy reserved key defaulted.

    Falsy, not only missing: a stored 0 or "" reads as the default, as
    upstream reports it.

    Args:
        metadata: Stored metadata.
        limits: The configured limits, which give some defaults.
        keys: Only these reserved keys (all when None).
    """
    merged = dict(metadata)
    for key, default in defaults(limits).items():
        if (keys is None or key in keys) and not merged.get(key):
            merged[key] = default
    return merged


def problem(metadata: Metadata, limits: Limits) -> str | None:
    """Describe the first reserved key of ``metadata`` that breaks its rule.

    Returns:
        A sentence for the client, or None when every reserved key is fine.
    """
    return (
        _int_in_range(
            metadata,
            MAX_MESSAGES_POST_SIZE,
            1,
            limits.max_messages_post_size,
            f'{MAX_MESSAGES_POST_SIZE} can not exceed '
            f'{limits.max_messages_post_size}, and must be at least greater '
            'than 0.',
        )
        or _int_in_range(
            metadata,
            DEFAULT_MESSAGE_TTL,
            MIN_MESSAGE_TTL,
            limits.max_message_ttl,
            f'{DEFAULT_MESSAGE_TTL} can not exceed {limits.max_message_ttl} '
            f'seconds, and must be at least {MIN_MESSAGE_TTL} seconds long.',
        )
        or _int_in_range(
            metadata,
            DEFAULT_MESSAGE_DELAY,
            MIN_DELAY,
            limits.max_message_delay,
            f'The TTL can not exceed {limits.max_message_delay} seconds, and '
            f'must be at least {MIN_DELAY} seconds long.',
        )
        or _int_in_range(
            metadata,
            DEAD_LETTER_QUEUE_MESSAGES_TTL,
            MIN_MESSAGE_TTL,
            limits.max_message_ttl,
            f'The TTL for a message may not exceed {limits.max_message_ttl} '
            f'seconds, and must be at least {MIN_MESSAGE_TTL} seconds long.',
        )
        or _int_in_range(metadata, MAX_CLAIM_COUNT)
        or _dead_letter_queue_problem(metadata)
        or _encryption_problem(metadata)
    )


@dataclasses.dataclass(frozen=True)
class PostSettings:
    """What a queue's metadata decides about posting messages to it.

    Attributes:
        size_limit: Largest accepted POST body, in bytes.
        default_ttl: TTL of a message that gives none.
        default_delay: Delay of a message that gives none, on a delay queue;
            None on other queues, where ``delay`` is dropped.
    """

    size_limit: int
    default_ttl: int
    default_delay: int | None

    @classmethod
    def of(cls, metadata: Metadata, limits: Limits) -> PostSettings:
        """Read the settings from a queue's stored metadata."""
        size_limit = limits.max_messages_post_size
        queue_limit = metadata.get(MAX_MESSAGES_POST_SIZE)
        if is_int(queue_limit) and queue_limit > 0:
            size_limit = min(queue_limit, size_limit)
        default_ttl = metadata.get(DEFAULT_MESSAGE_TTL)
        if not (is_int(default_ttl) and default_ttl):
            default_ttl = limits.default_message_ttl
        return cls(size_limit, default_ttl, delay_queue_default(metadata))


def delay_queue_default(metadata: Metadata) -> int | None:
    """The default delay of a delay queue, or None if the queue is not one.

    A queue is a delay queue when ``_default_message_delay`` is a non-zero
    integer. Only there do messages wait out a delay, and only there do
    listings hide delayed messages unless asked to include them.
    """
    delay = metadata.get(DEFAULT_MESSAGE_DELAY)
    return delay if is_int(delay) and delay else None


@dataclasses.dataclass(frozen=True)
class DeadLetterPolicy:
    """A queue's dead-letter settings; active only when both keys are set.

    Attributes:
        max_claims: ``_max_claim_count``, when an integer.
        queue: ``_dead_letter_queue``, when a non-empty string.
        ttl: ``_dead_letter_queue_messages_ttl``, when a positive integer;
            otherwise a moved message keeps its own TTL.
    """

    max_claims: int | None = None
    queue: str | None = None
    ttl: int | None = None

    @classmethod
    def of(cls, metadata: Metadata) -> DeadLetterPolicy:
        """Read the policy from a queue's stored metadata."""
        max_claims = metadata.get(MAX_CLAIM_COUNT)
        queue = metadata.get(DEAD_LETTER_QUEUE)
        ttl = metadata.get(DEAD_LETTER_QUEUE_MESSAGES_TTL)
        return cls(
            max_claims if is_int(max_claims) else None,
            queue if isinstance(queue, str) and queue else None,
            ttl if is_int(ttl) and ttl > 0 else None,
        )

    @property
    def active(self) -> bool:
        """Tell whether claims move exhausted messages anywhere."""
        return self.queue is not None and self.max_claims is not None

    def is_exhausted(self, claim_count: int) -> bool:
        """Tell whether a message with this many claims goes to the DLQ."""
        return self.active and claim_count >= (self.max_claims or 0)


def _int_in_range(
    metadata: Metadata,
    key: str,
    low: int | None = None,
    high: int | None = None,
    message: str = '',
) -> str | None:
    """Describe what is wrong with an integer key, if anything.

    Unlike upstream, falsy values of the wrong type (``""``, ``false``) are
    refused too instead of slipping past the type check.
    """
    value = metadata.get(key)
    if value is None:
        return None
    if not is_int(value):
        return f'{key} must be integer.'
    if low is not None and high is not None and not low <= value <= high:
        return message
    return None


def _dead_letter_queue_problem(metadata: Metadata) -> str | None:
    value = metadata.get(DEAD_LETTER_QUEUE)
    # NOTE: upstream stores any value; a name the API could never address
    # would make dead-lettered messages unreachable, so it is refused.
    if value in (None, '') or (isinstance(value, str) and names.is_queue_name(value)):
        return None
    return f'{DEAD_LETTER_QUEUE} must be a valid queue name.'


def _encryption_problem(metadata: Metadata) -> str | None:
    value = metadata.get(ENABLE_ENCRYPT_MESSAGES)
    if value is not None and not isinstance(value, bool):
        return f'{ENABLE_ENCRYPT_MESSAGES} must be boolean.'
    if value:
        # NOTE: refuse rather than store the flag: a queue that claims to
        # encrypt at rest while it does not would mislead its owner.
        return (
            'Message encryption is not supported by this server; '
            f'{ENABLE_ENCRYPT_MESSAGES} must be false.'
        )
    return None
