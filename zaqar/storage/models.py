"""Records that cross the storage boundary.

Drivers return these, never backend documents or rows, and never URLs: the
transport builds the wire representation (``href``, links) from them.
Times are seconds since the epoch, measured by the driver's clock.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# JSON object as stored for queue metadata.
Metadata = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class NewMessage:
    """A message as posted: its body, TTL and delay, all already validated.

    Attributes:
        body: Any JSON value.
        ttl: Seconds the message lives after it is posted.
        delay: Seconds after posting before it can be listed or claimed.
    """

    body: Any
    ttl: int
    delay: int = 0


@dataclasses.dataclass(frozen=True)
class IdempotencyKey:
    """What makes a post happen at most once (``MessageController.post_once``).

    Attributes:
        key: The client's key, opaque text (the HTTP transport allows 1 to
            255 printable ASCII characters). Its scope is the project and
            queue of the post.
        fingerprint: A digest of the request (the HTTP transport uses
            SHA-256: 32 bytes), compared for equality only: a repeat whose
            fingerprint differs is another request reusing the key.
        window: Seconds the key is remembered after the post stored its
            messages.
    """

    key: str
    fingerprint: bytes
    window: int


@dataclasses.dataclass(frozen=True)
class Message:
    """A stored message as seen at read time.

    Attributes:
        id: Opaque id, unique in the queue.
        marker: The queue counter value given to the message when posted.
        ttl: Reported TTL in seconds (a claim may raise it, see claims).
        age: Whole seconds since the message was posted.
        body: The JSON body as posted.
        created: When it was posted.
        claim_id: Id of the claim holding it, only while that claim is live.
        claim_count: How many claims have taken the message so far.
    """

    id: str
    marker: int
    ttl: int
    age: int
    body: Any
    created: float
    claim_id: str | None = None
    claim_count: int = 0


@dataclasses.dataclass(frozen=True)
class QueueInfo:
    """A queue as listed: its name, and its stored metadata when detailed."""

    name: str
    metadata: Metadata | None = None


@dataclasses.dataclass(frozen=True)
class MessageSummary:
    """The oldest or newest message of a queue, for stats."""

    id: str
    age: int
    created: float


@dataclasses.dataclass(frozen=True)
class QueueStats:
    """Message counts of a queue; delayed messages count as free."""

    free: int = 0
    claimed: int = 0
    oldest: MessageSummary | None = None
    newest: MessageSummary | None = None

    @property
    def total(self) -> int:
        """All live messages, claimed or not."""
        return self.free + self.claimed


@dataclasses.dataclass(frozen=True)
class Claim:
    """A live claim and the messages it still holds.

    Attributes:
        id: Opaque claim id.
        ttl: Claim TTL in seconds, as set at creation or last renewal.
        age: Whole seconds since creation or last renewal.
        messages: The messages still under this claim, in marker order.
    """

    id: str
    ttl: int
    age: int
    messages: list[Message]


@dataclasses.dataclass(frozen=True)
class Subscription:
    """A live subscription: where new messages of a queue (or topic) go.

    Attributes:
        id: Opaque id; ids sort in creation order.
        source: The queue (or topic) name.
        subscriber: Where to deliver: an ``http(s)://`` URL or ``mailto:``.
        ttl: Seconds the subscription lives after its creation or its last
            TTL change.
        age: Whole seconds since then.
        options: Free JSON object (delivery options, retry policy...).
        confirmed: Whether the subscriber confirmed it.
    """

    id: str
    source: str
    subscriber: str
    ttl: int
    age: int
    options: Metadata
    confirmed: bool = False


@dataclasses.dataclass(frozen=True)
class GCReport:
    """What one garbage collection pass removed."""

    messages: int = 0
    claims: int = 0
    subscriptions: int = 0
    idempotency_keys: int = 0

    def __add__(self, other: GCReport) -> GCReport:
        """The counts of two passes (or batches of one) together."""
        return GCReport(
            *(
                mine + theirs
                for mine, theirs in zip(
                    dataclasses.astuple(self), dataclasses.astuple(other), strict=True
                )
            )
        )
