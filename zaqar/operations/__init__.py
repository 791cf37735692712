"""The operations layer: every v2 operation, for any transport.

Plain values in, storage records (:mod:`zaqar.storage.models`) or small
result objects out; errors are :mod:`zaqar.operations.errors` (what the
request did wrong) and :mod:`zaqar.storage.errors` (what storage said).
Nothing here knows HTTP: a transport parses its requests, calls one method,
and represents the result. This is where requests are validated against the
limits and queue metadata, where metadata is read before a post, where
compare-and-set updates are retried and where listing rules live, so that a
second transport (WebSocket) adds only parsing and representation.

The layers, top to bottom::

    transport (zaqar.transport.wsgi) -> operations (here)
        -> storage pipeline (zaqar.pipeline) -> storage driver (zaqar.storage)
"""

from __future__ import annotations

import dataclasses

from zaqar import pipeline
from zaqar.common.limits import Limits
from zaqar.operations.claims import ClaimOperations
from zaqar.operations.confirmations import OutboxConfirmations
from zaqar.operations.health import HealthOperations
from zaqar.operations.kinds import Kind
from zaqar.operations.messages import MessageOperations
from zaqar.operations.posting import MetadataMemory
from zaqar.operations.queues import QueueOperations
from zaqar.operations.sharing import SharingOperations
from zaqar.operations.subscriptions import Confirmations
from zaqar.operations.subscriptions import SubscriptionOperations
from zaqar.operations.validation import Validator
from zaqar.storage.base import DataDriver

__all__ = ['Kind', 'KindOperations', 'Operations']


@dataclasses.dataclass(frozen=True)
class KindOperations:
    """The operations of one kind of container: queues, or topics.

    Attributes:
        kind: Which kind.
        containers: The queues (or topics) themselves.
        messages: Their messages.
        claims: Claims on their messages.
        subscriptions: Their subscriptions.
    """

    kind: Kind
    containers: QueueOperations
    messages: MessageOperations
    claims: ClaimOperations
    subscriptions: SubscriptionOperations

    @classmethod
    def build(
        cls,
        kind: Kind,
        storage: DataDriver,
        validator: Validator,
        confirmations: Confirmations | None,
        memory: MetadataMemory,
    ) -> KindOperations:
        """The operations of ``kind`` in front of ``storage``."""
        return cls(
            kind,
            QueueOperations(storage, validator, kind),
            MessageOperations(storage, validator, kind, memory),
            ClaimOperations(storage, validator, kind),
            SubscriptionOperations(storage, validator, kind, confirmations),
        )


@dataclasses.dataclass(frozen=True)
class Operations:
    """Every operation of the service, grouped by resource.

    Build it with :meth:`build`; it holds no per-request state and is shared
    by all the threads of a process. ``queues``, ``messages``, ``claims``
    and ``subscriptions`` are the queue kind's; :meth:`of` gives either
    kind's.
    """

    queue_kind: KindOperations
    topic_kind: KindOperations
    health: HealthOperations
    sharing: SharingOperations
    validator: Validator

    @classmethod
    def build(
        cls,
        storage: DataDriver,
        limits: Limits | None = None,
        signing_secret: str | None = None,
        require_confirmation: bool = False,
    ) -> Operations:
        """Put the operations in front of ``storage``.

        Args:
            storage: The storage stack (pipeline and driver).
            limits: The ``[transport]`` limits; the defaults if None.
            signing_secret: ``[signed_url] secret_key``; None refuses to
                sign pre-signed URLs.
            require_confirmation: Ask new subscribers to confirm
                (``[notification] require_confirmation``); needs a signing
                secret.
        """
        validator = Validator(limits or Limits())
        sharing = SharingOperations(signing_secret, storage.clock)
        confirmations: Confirmations | None = None
        if require_confirmation:
            confirmations = OutboxConfirmations(pipeline.unwrapped(storage), sharing)
        # One memory for queues and topics: its keys are storage projects,
        # which keep the two apart, and its budget is the process's.
        memory = MetadataMemory()
        return cls(
            queue_kind=KindOperations.build(
                Kind.QUEUE, storage, validator, confirmations, memory
            ),
            topic_kind=KindOperations.build(
                Kind.TOPIC, storage, validator, confirmations, memory
            ),
            health=HealthOperations(storage),
            sharing=sharing,
            validator=validator,
        )

    def of(self, kind: Kind) -> KindOperations:
        """The operations of queues, or of topics."""
        return self.queue_kind if kind is Kind.QUEUE else self.topic_kind

    @property
    def queues(self) -> QueueOperations:
        """Operations on queues."""
        return self.queue_kind.containers

    @property
    def messages(self) -> MessageOperations:
        """Operations on the messages of queues."""
        return self.queue_kind.messages

    @property
    def claims(self) -> ClaimOperations:
        """Operations on claims."""
        return self.queue_kind.claims

    @property
    def subscriptions(self) -> SubscriptionOperations:
        """Operations on the subscriptions of queues."""
        return self.queue_kind.subscriptions
