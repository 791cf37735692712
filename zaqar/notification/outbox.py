"""The outbox: deliveries waiting to be sent, kept in the store itself.

Every notification a subscriber is owed is a message in one internal queue,
:data:`OUTBOX`, written before the POST that caused it answers (see
``doc/notifications.md``, "Delivery design"). Senders take deliveries with
claims, one at a time, so that:

* a delivery taken by a process that dies is taken again when its claim
  expires: nothing acknowledged is lost, at worst sent twice;
* two processes never send the same delivery at once;
* a delivery waits out a retry delay as a delayed message.

Deliveries that fail for good are moved to :data:`FAILED`, kept for
:data:`RETENTION` seconds, where ``zaqar-deliveries failed`` lists them.

Both queues live in :data:`INTERNAL_PROJECT`, a project no request can
name (project ids with control characters are refused).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import NewMessage

INTERNAL_PROJECT = '\x1fzaqar'
OUTBOX = 'deliveries'
FAILED = 'failed-deliveries'
# Seconds a delivery, or a failed one, is kept: the longest message TTL.
RETENTION = 14 * 24 * 3600
# The client id deliveries are posted with (nobody lists them with echo).
POSTER = 'zaqar-notifier'

NOTIFICATION = 'notification'
CONFIRMATION = 'confirmation'


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One payload owed to one subscriber.

    Attributes:
        type: ``notification`` (a posted message) or ``confirmation`` (a
            request to confirm, or a notice of unsubscription).
        project: The storage project of the subscription (scoped for
            topics).
        source: The queue (or topic) name.
        subscription_id: The subscription it is for.
        subscriber: Where to send, as the subscription said when the
            delivery was recorded (a notification is sent where the
            subscription says when it is sent).
        payload: The JSON document to send.
        attempt: The number of the next attempt, from 1.
        error: Why the last attempt failed, for operators.
    """

    type: str
    project: str
    source: str
    subscription_id: str
    subscriber: str
    payload: dict[str, Any]
    attempt: int = 1
    error: str = ''

    def to_body(self) -> dict[str, Any]:
        """The message body that stores the delivery.

        Shallow: the payload is shared, not copied. ``dataclasses.asdict``
        would deep-copy the posted message body inside it, once per
        subscriber, on every notified POST, only for the storage to encode
        it to JSON (which copies nothing) straight after.
        """
        return {
            field.name: getattr(self, field.name) for field in dataclasses.fields(self)
        }

    @classmethod
    def from_body(cls, body: object) -> Delivery:
        """Read a delivery back from a stored message body.

        Raises:
            ValueError: The body is not a delivery.
        """
        if not isinstance(body, dict):
            raise ValueError('a delivery is a JSON object')
        try:
            delivery = cls(**body)
        except TypeError as ex:
            raise ValueError(f'not a delivery: {ex}') from None
        if not isinstance(delivery.payload, dict) or not isinstance(
            delivery.attempt, int
        ):
            raise ValueError('not a delivery: wrong field types')
        return delivery


@dataclasses.dataclass(frozen=True)
class Taken:
    """A delivery held by this process under a claim of its own."""

    delivery: Delivery
    message_id: str
    claim_id: str


@dataclasses.dataclass(frozen=True)
class Unreadable:
    """A message of the outbox that holds no delivery (never written so)."""

    message_id: str
    claim_id: str
    problem: str


class Outbox:
    """The deliveries of one storage driver.

    Use :meth:`of` rather than the constructor: it gives every user of one
    driver in a process the same outbox, so that a post can wake the
    senders of its own process at once.

    Args:
        storage: The storage driver (below the pipeline: deliveries are
            internal and run no stage).
    """

    _instances: weakref.WeakKeyDictionary[DataDriver, Outbox] = (
        weakref.WeakKeyDictionary()
    )
    _instances_lock = threading.Lock()

    def __init__(self, storage: DataDriver) -> None:
        self._storage = storage
        self._work = threading.Event()

    @classmethod
    def of(cls, storage: DataDriver) -> Outbox:
        """The outbox of ``storage`` in this process."""
        with cls._instances_lock:
            outbox = cls._instances.get(storage)
            if outbox is None:
                outbox = cls._instances[storage] = cls(storage)
            return outbox

    def record(
        self,
        deliveries: Sequence[Delivery],
        idempotency_key: IdempotencyKey | None = None,
    ) -> None:
        """Store deliveries, all or none, and wake this process's senders.

        With ``idempotency_key``, at most once per key: recording them again
        under a remembered key stores nothing.
        """
        if not deliveries:
            return
        messages = [
            NewMessage(body=delivery.to_body(), ttl=RETENTION)
            for delivery in deliveries
        ]
        posts = self._storage.messages
        if idempotency_key is None:
            posts.post(OUTBOX, messages, INTERNAL_PROJECT, POSTER)
        else:
            posts.post_once(OUTBOX, messages, INTERNAL_PROJECT, POSTER, idempotency_key)
        self._work.set()

    def take(self, hold: int) -> Taken | Unreadable | None:
        """Claim the oldest delivery that is due, for ``hold`` seconds.

        Returns:
            The delivery, an unreadable message, or None when none is due.
        """
        claim = self._storage.claims.create(
            OUTBOX, INTERNAL_PROJECT, ttl=hold, grace=hold, limit=1
        )
        if claim is None or not claim.messages:
            return None
        (message,) = claim.messages
        try:
            return Taken(Delivery.from_body(message.body), message.id, claim.id)
        except ValueError as ex:
            return Unreadable(message.id, claim.id, str(ex))

    def done(self, taken: Taken | Unreadable) -> None:
        """Remove a delivery that was sent (or is no longer owed)."""
        try:
            self._storage.messages.delete(
                OUTBOX, taken.message_id, INTERNAL_PROJECT, claim_id=taken.claim_id
            )
        except storage_errors.NotPermitted:
            # NOTE: our claim expired and another process took the delivery
            # over: it is that process's now.
            pass

    def postpone(self, taken: Taken, seconds: int) -> None:
        """Keep a delivery held, untried, for ``seconds`` more."""
        self._storage.claims.update(
            OUTBOX, taken.claim_id, INTERNAL_PROJECT, ttl=seconds, grace=seconds
        )

    def retry_later(self, taken: Taken, delay: float, error: str) -> None:
        """Schedule the next attempt ``delay`` seconds from now.

        The delivery is stored again as a delayed message with its attempt
        counted, then the one held is removed; a crash between the two
        leaves both, which at worst sends once more.
        """
        again = dataclasses.replace(
            taken.delivery, attempt=taken.delivery.attempt + 1, error=error
        )
        message = NewMessage(
            body=again.to_body(), ttl=RETENTION, delay=math.ceil(max(delay, 0))
        )
        self._storage.messages.post(OUTBOX, [message], INTERNAL_PROJECT, POSTER)
        self.done(taken)

    def fail(self, taken: Taken | Unreadable, error: str) -> None:
        """Move a delivery that will not be sent to the failed ones."""
        if isinstance(taken, Taken):
            body: dict[str, Any] = dataclasses.replace(
                taken.delivery, error=error
            ).to_body()
        else:
            body = {'unreadable': taken.message_id, 'error': error}
        message = NewMessage(body=body, ttl=RETENTION)
        self._storage.messages.post(FAILED, [message], INTERNAL_PROJECT, POSTER)
        self.done(taken)

    def wait_for_work(self, timeout: float) -> None:
        """Sleep until a delivery is recorded in this process, or ``timeout``."""
        self._work.wait(timeout)
        self._work.clear()

    def wake(self) -> None:
        """Stop a :meth:`wait_for_work` early."""
        self._work.set()
