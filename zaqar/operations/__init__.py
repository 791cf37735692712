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

from zaqar.common.limits import Limits
from zaqar.operations.claims import ClaimOperations
from zaqar.operations.health import HealthOperations
from zaqar.operations.messages import MessageOperations
from zaqar.operations.queues import QueueOperations
from zaqar.operations.sharing import SharingOperations
from zaqar.operations.validation import Validator
from zaqar.storage.base import DataDriver

__all__ = ['Operations']


@dataclasses.dataclass(frozen=True)
class Operations:
    """Every operation of the service, grouped by resource.

    Build it with :meth:`build`; it holds no per-request state and is shared
    by all the threads of a process.
    """

    queues: QueueOperations
    messages: MessageOperations
    claims: ClaimOperations
    health: HealthOperations
    sharing: SharingOperations
    validator: Validator

    @classmethod
    def build(
        cls,
        storage: DataDriver,
        limits: Limits | None = None,
        signing_secret: str | None = None,
    ) -> Operations:
        """Put the operations in front of ``storage``.

        Args:
            storage: The storage stack (pipeline and driver).
            limits: The ``[transport]`` limits; the defaults if None.
            signing_secret: ``[signed_url] secret_key``; None refuses to
                sign pre-signed URLs.
        """
        validator = Validator(limits or Limits())
        return cls(
            queues=QueueOperations(storage, validator),
            messages=MessageOperations(storage, validator),
            claims=ClaimOperations(storage, validator),
            health=HealthOperations(storage),
            sharing=SharingOperations(signing_secret, storage.clock),
            validator=validator,
        )
