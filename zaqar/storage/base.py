"""The storage contract: what every data driver promises.

These docstrings are the specification; ``tests/contract`` is its executable
form and runs unchanged against every driver.

Rules shared by all controllers:

* Every queue, message and claim lives in a project; nothing in one project is
  ever visible to, or changed by, a call naming another project.
* Queues are lazy: posting to a missing queue creates it; reading a missing
  queue behaves like reading an empty one, except where a method says it
  raises :class:`~zaqar.storage.errors.QueueDoesNotExist`.
* Expired messages and claims are never returned or counted, whether or not
  garbage collection has run yet. "Now" always comes from the driver's clock.
* Each queue has a monotonic counter. Posting N messages reserves the next N
  counter values, in order, in one atomic step; a message's ``marker`` is its
  counter value. Values are never reused, even after deletes, purges or the
  queue's deletion and re-creation. Because reservation and insert are one
  atomic step, a message becomes visible only together with or after every
  lower marker of its queue: a reader paging by marker sees each message at
  most once, skips none that stays live, and sees a single producer's
  messages in the order posted.
* A message is *claimed* while a claim that took it has not expired and has
  not been released. A claimed message is never handed to a second claim.
* Drivers raise only :mod:`zaqar.storage.errors`; backend exceptions are
  translated at the driver's edge (connection trouble becomes
  :class:`~zaqar.storage.errors.StorageUnavailable`).
* Drivers are shared by the threads of one process and by several processes
  (gunicorn workers) that share nothing but the backend: every method must be
  safe under that concurrency.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from zaqar.common.clock import Clock
from zaqar.storage import errors
from zaqar.storage.models import Claim
from zaqar.storage.models import GCReport
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.models import Subscription


class QueueController(abc.ABC):
    """Queues and their metadata."""

    @abc.abstractmethod
    def create(self, name: str, metadata: Metadata, project: str) -> bool:
        """Create a queue unless it exists.

        Args:
            name: Queue name, already validated.
            metadata: Metadata to store when the queue is created; ignored if
                the queue already exists (create is not an update).
            project: Project id.

        Returns:
            True if the queue was created, False if it already existed.
        """

    @abc.abstractmethod
    def exists(self, name: str, project: str) -> bool:
        """Tell whether the queue exists."""

    @abc.abstractmethod
    def get_metadata(self, name: str, project: str) -> Metadata:
        """Return the queue's stored metadata (without reserved defaults).

        Raises:
            QueueDoesNotExist: The queue does not exist.
        """

    @abc.abstractmethod
    def set_metadata(
        self,
        name: str,
        metadata: Metadata,
        project: str,
        expected: Metadata | None = None,
    ) -> None:
        """Replace the queue's stored metadata, atomically.

        Args:
            name: Queue name.
            metadata: The new metadata.
            project: Project id.
            expected: When given, replace only if the stored metadata still
                equals this (compare-and-set), so that a read-modify-write
                by one request never silently undoes another's.

        Raises:
            QueueDoesNotExist: The queue does not exist.
            MetadataConflict: ``expected`` was given and differs from what
                is stored; nothing was written.
        """

    @abc.abstractmethod
    def delete(self, name: str, project: str) -> None:
        """Delete the queue with all its messages and claims; idempotent.

        The queue's counter is kept, so a re-created queue continues after
        the last marker it ever gave out.
        """

    @abc.abstractmethod
    def list(
        self,
        project: str,
        marker: str | None = None,
        limit: int = 10,
        detailed: bool = False,
        name_contains: str | None = None,
        metadata_filter: Metadata | None = None,
    ) -> list[QueueInfo]:
        """List queues sorted by name.

        Args:
            project: Project id.
            marker: Only queues whose name sorts after this one.
            limit: At most this many queues.
            detailed: Include each queue's stored metadata.
            name_contains: Only queues whose name contains this text.
            metadata_filter: Only queues whose stored metadata has each of
                these keys with an equal value.
        """

    @abc.abstractmethod
    def count(self, project: str) -> int:
        """Return how many queues the project has."""

    @abc.abstractmethod
    def stats(self, name: str, project: str) -> QueueStats:
        """Count the queue's live messages; a missing queue has all zeros.

        ``claimed`` counts messages under a live claim, ``free`` all others
        (delayed ones included). ``oldest`` and ``newest`` are the live
        messages with the lowest and highest marker, or None when empty.
        """


class MessageController(abc.ABC):
    """Posting, reading and deleting messages."""

    @abc.abstractmethod
    def post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str]:
        """Store messages atomically, creating the queue if it is missing.

        All messages are stored or none is. They receive consecutive markers
        in the order given, reserved in the same atomic step.

        Args:
            queue: Queue name.
            messages: One or more messages, already validated.
            project: Project id.
            client_id: The poster's client id, for ``echo`` filtering.

        Returns:
            The new message ids, in the order of ``messages``.
        """

    def post_once(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str]:
        """Post as :meth:`post` does, at most once per idempotency key.

        An optional capability: this default raises Unsupported, so that a
        driver written before it, or one that cannot keep the promises
        below, refuses keyed posts loudly and still serves everything else.

        A key is remembered per ``(project, queue, idempotency_key.key)``
        from the post that stored messages under it, for
        ``idempotency_key.window`` seconds. While it is remembered:

        * a post with the same fingerprint stores nothing and returns the
          ids that post returned, in order, even if those messages were
          deleted or expired or the queue purged or deleted since (its
          ``client_id`` is not compared: the messages keep the first's);
        * a post with another fingerprint stores nothing and raises
          IdempotencyKeyReused.

        After the window (driver clock) the key is forgotten, whether or not
        :meth:`DataDriver.gc` ran, and the next post with it is a first post
        again; gc() removes forgotten keys and counts them. The same key in
        another queue or project is another key.

        Storing the messages and recording the key (fingerprint, expiry and
        ids) are one atomic step: whatever fails, and wherever a process
        dies, either both are stored or neither, never messages without
        their key nor a key without its messages. A post that raised may
        thus have stored both; a repeat finds out (it returns their ids).

        Of concurrent posts with one key (threads or processes alike),
        exactly one stores messages. Each other one waits for it, then
        returns its ids (or raises IdempotencyKeyReused); or, only on a
        driver whose post is several backend writes, raises
        IdempotencyKeyInFlight while that post has recorded the key but not
        committed. Such a driver must let a repeat take over the key of a
        post that will never commit (its process died) within a bounded
        delay, without ever letting both commit.

        Raises:
            IdempotencyKeyReused: The key is remembered with another
                fingerprint.
            IdempotencyKeyInFlight: Another post holding the key has not
                committed yet (see above); retrying later answers.
            Unsupported: The driver does not honour idempotency keys (this
                default).
        """
        raise errors.Unsupported('idempotency keys', type(self).__name__)

    def post_checked(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata,
    ) -> list[str]:
        """Post as :meth:`post` does, if the queue's metadata is ``metadata``.

        An optional capability: this default raises Unsupported, and
        callers then read the metadata and post in two steps, as before.

        The messages were validated with ``metadata`` (their TTL and delay
        defaults, the size limit), as a caller remembered it from an earlier
        read instead of reading it again for each post. Comparing it with
        the stored metadata and storing the messages are one atomic step, so
        a post is never stored under settings the queue no longer has. A
        queue that does not exist has ``{}`` (and is created, as by
        :meth:`post`).

        Raises:
            MetadataChanged: The stored metadata is not equal to
                ``metadata``; nothing was stored.
            Unsupported: The driver cannot compare and post atomically
                (this default).
        """
        raise errors.Unsupported('metadata-checked posts', type(self).__name__)

    def get(self, queue: str, message_id: str, project: str) -> Message:
        """Return one live message, claimed or delayed alike.

        Derived from :meth:`get_many`; a driver overrides it only if it has
        a cheaper way.

        Raises:
            MessageDoesNotExist: No such live message (or a malformed id).
        """
        found = self.get_many(queue, [message_id], project)
        if not found:
            raise errors.MessageDoesNotExist(message_id, queue, project)
        return found[0]

    @abc.abstractmethod
    def get_many(
        self, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message]:
        """Return the live messages among ``message_ids``; unknown ids skipped."""

    @abc.abstractmethod
    def delete(
        self,
        queue: str,
        message_id: str,
        project: str,
        claim_id: str | None = None,
    ) -> None:
        """Delete one message, honouring its claim.

        A missing message (or malformed message id) is not an error. When
        the message exists:

        * no ``claim_id``: deleted unless under a live claim;
        * ``claim_id`` of its live claim, or of the claim it still records
          after that claim expired without being released or replaced:
          deleted.

        Raises:
            InvalidClaimId: ``claim_id`` has a shape no claim can have; checked
                before the message is looked up.
            MessageIsClaimed: The message is under a live claim other than
                ``claim_id``, or ``claim_id`` was not given.
            MessageNotClaimed: ``claim_id`` was given, the message is not
                under a live claim, and it records no such claim.
        """

    @abc.abstractmethod
    def delete_many(
        self,
        queue: str,
        message_ids: Sequence[str],
        project: str,
        claim_ids: Sequence[str] | None = None,
    ) -> None:
        """Delete the listed messages; missing (or malformed) ids are skipped.

        Without ``claim_ids``, every listed message is deleted, claimed or
        not.

        With ``claim_ids`` (even empty), the delete is claim-checked, all or
        nothing: each listed live message must be one that :meth:`delete`
        would delete given one of ``claim_ids`` (it records one of them: its
        live claim, or an expired claim nobody released or replaced). If
        one is not, nothing is deleted, and the error :meth:`delete` would
        raise for the first such message, in the order of ``message_ids``,
        is raised. A driver does the check and the deletes in one atomic
        step where its backend can (see its docstring where it cannot).

        Raises:
            InvalidClaimId: One of ``claim_ids`` has a shape no claim can
                have; checked before any message is looked up.
            MessageIsClaimed: A listed message is under a live claim not in
                ``claim_ids``.
            MessageNotClaimed: A listed message is not under a live claim
                and records none of ``claim_ids``.
        """

    @abc.abstractmethod
    def pop(self, queue: str, limit: int, project: str) -> list[Message]:
        """Atomically remove and return up to ``limit`` unclaimed messages.

        Messages are taken in marker order; delayed messages are not skipped.
        Two concurrent pops never return the same message.
        """

    @abc.abstractmethod
    def purge(self, queue: str, project: str) -> None:
        """Delete every message and claim of the queue; the queue stays."""

    @abc.abstractmethod
    def list(
        self,
        queue: str,
        project: str,
        client_id: str,
        marker: int | None = None,
        limit: int = 10,
        echo: bool = False,
        include_claimed: bool = False,
        include_delayed: bool = False,
    ) -> list[Message]:
        """List live messages in marker order (FIFO).

        Args:
            queue: Queue name; a missing queue lists nothing.
            project: Project id.
            client_id: The reader's client id.
            marker: Only messages with a greater marker.
            limit: At most this many messages.
            echo: Include messages posted by ``client_id``.
            include_claimed: Include claimed messages.
            include_delayed: Include messages whose delay has not passed.
        """


class ClaimController(abc.ABC):
    """Claims: leases that hand messages to one worker at a time."""

    @abc.abstractmethod
    def create(
        self, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Claim up to ``limit`` of the oldest claimable messages atomically.

        Claimable means live, not under a live claim and past its delay. The
        claim expires ``ttl`` seconds from now. Each claimed message whose own
        expiry comes before the claim's is extended to expire ``ttl + grace``
        seconds from now, and its reported TTL becomes ``ttl + grace``.

        Dead-letter rule: when the queue metadata sets both
        ``_max_claim_count`` and ``_dead_letter_queue``, a selected message
        whose claim count already reached ``_max_claim_count`` is not claimed
        but moved, unclaimed, to the dead-letter queue of the same project
        (created if missing) with a new marker there, a claim count of 0 and
        a TTL of ``_dead_letter_queue_messages_ttl`` if set, else its own TTL,
        counted from now. Every message actually claimed has its claim count
        raised by one.

        Returns:
            The new claim, or None when no message could be claimed.
        """

    @abc.abstractmethod
    def get(self, queue: str, claim_id: str, project: str) -> Claim:
        """Return a live claim and the messages it still holds.

        Raises:
            ClaimDoesNotExist: Unknown, malformed, expired or released claim,
                or one whose messages were all deleted.
        """

    @abc.abstractmethod
    def update(
        self, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> None:
        """Renew a live claim: it expires ``ttl`` seconds from now.

        Message expiries are extended as in :meth:`create`; claim counts
        are kept.

        Raises:
            ClaimDoesNotExist: As for :meth:`get`.
        """

    @abc.abstractmethod
    def delete(self, queue: str, claim_id: str, project: str) -> None:
        """Release a claim: its messages are claimable again; idempotent.

        TTL extensions the claim applied to its messages are kept.
        """


class SubscriptionController(abc.ABC):
    """Subscriptions: where new messages of a queue (or topic) are pushed.

    An optional capability: a driver without it keeps
    :attr:`DataDriver.subscriptions`' default, and every subscription
    request is answered with a clear error instead.

    A subscription lives ``ttl`` seconds from its creation or its last TTL
    change; expired ones are never returned, and :meth:`DataDriver.gc`
    removes them. A source has at most one live subscription per
    subscriber. Ids are opaque strings that sort in creation order (to the
    millisecond). A malformed id is a missing subscription. Deleting a queue leaves its
    subscriptions (they expire on their own), as upstream does.
    """

    @abc.abstractmethod
    def create(
        self,
        source: str,
        subscriber: str,
        ttl: int,
        options: Metadata,
        project: str,
    ) -> str:
        """Create an unconfirmed subscription; return its id.

        Raises:
            SubscriptionAlreadyExists: The source has a live subscription
                for ``subscriber``; it is attached to the error.
        """

    @abc.abstractmethod
    def get(self, source: str, subscription_id: str, project: str) -> Subscription:
        """Return a live subscription of the source.

        Raises:
            SubscriptionDoesNotExist: None, or it belongs to another source.
        """

    @abc.abstractmethod
    def update(
        self,
        source: str,
        subscription_id: str,
        project: str,
        subscriber: str | None = None,
        ttl: int | None = None,
        options: Metadata | None = None,
    ) -> None:
        """Change what is given: a new ``ttl`` restarts the TTL from now,
        ``options`` replace the old ones whole.

        Raises:
            SubscriptionDoesNotExist: As for :meth:`get`.
            SubscriptionAlreadyExists: Another live subscription of the
                source has the new ``subscriber``.
        """

    @abc.abstractmethod
    def confirm(
        self, source: str, subscription_id: str, project: str, confirmed: bool
    ) -> None:
        """Set whether the subscriber confirmed the subscription.

        Raises:
            SubscriptionDoesNotExist: As for :meth:`get`.
        """

    @abc.abstractmethod
    def delete(self, source: str, subscription_id: str, project: str) -> None:
        """Delete a subscription of the source; idempotent."""

    @abc.abstractmethod
    def purge(self, source: str, project: str) -> None:
        """Delete every subscription of the source."""

    @abc.abstractmethod
    def list(
        self,
        source: str,
        project: str,
        marker: str | None = None,
        limit: int = 10,
    ) -> list[Subscription]:
        """List the source's live subscriptions by id (creation order).

        Args:
            source: Queue (or topic) name.
            project: Project id.
            marker: Only subscriptions whose id sorts after this one.
            limit: At most this many.
        """


class DataDriver(abc.ABC):
    """A storage backend: the controllers plus housekeeping."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    @property
    @abc.abstractmethod
    def queues(self) -> QueueController:
        """The queue controller."""

    @property
    @abc.abstractmethod
    def messages(self) -> MessageController:
        """The message controller."""

    @property
    @abc.abstractmethod
    def claims(self) -> ClaimController:
        """The claim controller."""

    @property
    def subscriptions(self) -> SubscriptionController:
        """The subscription controller, if the driver stores subscriptions.

        Raises:
            Unsupported: The driver does not (this default).
        """
        raise errors.Unsupported('subscriptions', type(self).__name__)

    @abc.abstractmethod
    def is_alive(self) -> bool:
        """Tell whether the backend answers; never raises."""

    @abc.abstractmethod
    def gc(self) -> GCReport:
        """Remove expired messages, claims, subscriptions and idempotency
        keys; safe to run concurrently.

        Reads already hide expired data, so this only reclaims space.
        """

    def describe(self) -> str:
        """Say which backend this is, for operators' logs (no secrets)."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release connections; the driver is not used afterwards."""
