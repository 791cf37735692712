"""Storage errors: what a driver may raise, with no knowledge of HTTP.

Drivers translate their backend's exceptions (sqlite3, redis, pymongo) into
these at their edge. The transport maps each family to a status code in one
table (``zaqar.transport.wsgi.errors``). Message texts follow upstream Zaqar,
because they reach clients as error descriptions.
"""

from __future__ import annotations

from zaqar.storage.models import Subscription


class StorageError(Exception):
    """Base class of every error a storage driver raises on purpose."""


class StorageUnavailable(StorageError):
    """The backend cannot be reached or failed; the request may be retried."""


class ConfigurationError(StorageError):
    """A driver's options are missing or wrong; raised at start-up."""


class DoesNotExist(StorageError):
    """A resource that the request names does not exist."""


class QueueDoesNotExist(DoesNotExist):
    """The named queue does not exist in the project."""

    def __init__(self, name: str, project: str) -> None:
        super().__init__(f'Queue {name} does not exist for project {project}')


class MessageDoesNotExist(DoesNotExist):
    """The message does not exist (or expired) in the queue."""

    def __init__(self, message_id: str, queue: str, project: str) -> None:
        super().__init__(
            f'Message {message_id} does not exist in queue {queue} '
            f'for project {project}'
        )


class ClaimDoesNotExist(DoesNotExist):
    """The claim does not exist, expired, or holds no more messages."""

    def __init__(self, claim_id: str, queue: str, project: str) -> None:
        super().__init__(
            f'Claim {claim_id} does not exist in queue {queue} for project {project}'
        )


class SubscriptionDoesNotExist(DoesNotExist):
    """The subscription does not exist (or expired) for the queue."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f'Subscription {subscription_id} does not exist')


class Conflict(StorageError):
    """The stored state changed in a way that conflicts with the request."""


class SubscriptionAlreadyExists(Conflict):
    """The source already has a live subscription for that subscriber.

    Attributes:
        existing: The subscription that is already there.
    """

    def __init__(self, existing: Subscription) -> None:
        super().__init__(
            'Such subscription already exists. Subscriptions are unique by '
            'project + queue + subscriber URI.'
        )
        self.existing = existing


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used for another request to the queue.

    Raised by ``post_once`` when the key is remembered with another
    fingerprint; nothing was stored. The text names neither the key nor the
    project: it reaches clients, and the key is the client's own text.
    """

    def __init__(self, queue: str) -> None:
        super().__init__(
            f'The idempotency key was already used for a different request to '
            f'queue {queue}; a different request needs a new key.'
        )


class IdempotencyKeyInFlight(Conflict):
    """A post with the same idempotency key has not finished yet.

    Raised by ``post_once`` of a driver whose post is not a single atomic
    step (MongoDB) while another request holding the key is between
    recording it and committing; nothing was stored. Retrying later gets
    that post's answer.
    """

    def __init__(self, queue: str) -> None:
        super().__init__(
            f'A request with this idempotency key to queue {queue} is still '
            f'being processed; retry it in a moment.'
        )


class MetadataChanged(Conflict):
    """The queue's metadata is not what a checked post was validated with.

    Raised by ``post_checked``; nothing was stored. The caller reads the
    metadata again and validates the post anew. Never reaches a client.
    """

    def __init__(self, queue: str) -> None:
        super().__init__(f'The metadata of queue {queue} changed during the post.')


class Unsupported(Exception):
    """The storage driver does not offer an optional capability.

    Not a StorageError: retrying cannot help, so clients get a 400 that
    names what is missing, not a 503. The text reaches clients, so it names
    the kind of driver only, never where it keeps its data.

    Attributes:
        capability: What is missing, e.g. ``subscriptions``.
    """

    def __init__(
        self, capability: str, driver: str, *, provider: str = 'storage driver'
    ) -> None:
        """Name the capability, and what lacks it.

        Args:
            capability: What is missing, e.g. ``subscriptions``.
            driver: The kind of driver (class name), or the stage's name.
            provider: What ``driver`` names: a storage driver, or a
                pipeline stage that does the driver's work itself.
        """
        super().__init__(
            f'The {provider} of this server ({driver}) does not support {capability}.'
        )
        self.capability = capability


class MetadataConflict(Conflict):
    """The queue's metadata no longer is what the caller read."""

    def __init__(self, name: str, project: str) -> None:
        super().__init__(
            f'Metadata of queue {name} in project {project} changed concurrently'
        )


class OperationRefused(StorageError):
    """Policy refuses the operation (a quota, a guard); clients see a 403.

    Raised by pipeline stages rather than drivers. The message is shown to
    the client as the error description, so it must say what to do.
    """


class NotPermitted(StorageError):
    """The operation conflicts with the state of a claimed message."""


class MessageIsClaimed(NotPermitted):
    """The message is under an active claim that the caller did not quote."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f'Message {message_id} is claimed')


class MessageNotClaimed(NotPermitted):
    """A claim id was given, but the message is not currently claimed."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f'Message {message_id} is not claimed')


class InvalidClaimId(NotPermitted):
    """A claim id was given whose shape no claim of this driver can have."""

    def __init__(self, claim_id: str) -> None:
        super().__init__(f'Claim id {claim_id!r} is not valid')
