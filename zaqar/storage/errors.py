"""Storage errors: what a driver may raise, with no knowledge of HTTP.

Drivers translate their backend's exceptions (sqlite3, redis, pymongo) into
these at their edge. The transport maps each family to a status code in one
table (``zaqar.transport.wsgi.errors``). Message texts follow upstream Zaqar,
because they reach clients as error descriptions.
"""

from __future__ import annotations


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


class Conflict(StorageError):
    """The stored state changed in a way that conflicts with the request."""


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
