"""What every Falcon resource is given: one frozen set of dependencies."""

from __future__ import annotations

import dataclasses

from zaqar.operations import Operations
from zaqar.operations.kinds import Kind


@dataclasses.dataclass(frozen=True)
class Dependencies:
    """What resources need, built once per app.

    Attributes:
        ops: The operations layer.
        with_checksum: Add ``checksum`` to returned messages
            (``[DEFAULT] enable_checksum``).
        admin_mode: Whether admin-only routes exist (``[DEFAULT]
            admin_mode``).
    """

    ops: Operations
    with_checksum: bool = False
    admin_mode: bool = False


class Resource:
    """Base of the resources: holds the dependencies.

    Responders parse the request, call one operation, and represent its
    result; nothing else. A resource serves queues or topics: the same
    class is routed under ``/v2/queues`` and ``/v2/topics`` with its kind.

    Args:
        deps: What resources need.
        kind: Whether the routes name queues or topics.
    """

    def __init__(self, deps: Dependencies, kind: Kind = Kind.QUEUE) -> None:
        self._deps = deps
        self._ops = deps.ops
        self._kind = kind
        self._of_kind = deps.ops.of(kind)

    @property
    def kind(self) -> Kind:
        """Whether this resource serves queues or topics."""
        return self._kind
