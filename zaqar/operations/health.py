"""Ping and health: is the service usable, and how much does it hold."""

from __future__ import annotations

import dataclasses

from zaqar.storage.base import DataDriver
from zaqar.storage.models import QueueStats

# Queues read per storage call while adding up the message volume.
_QUEUE_PAGE = 100


@dataclasses.dataclass(frozen=True)
class MessageVolume:
    """Message counts summed over queues."""

    free: int = 0
    claimed: int = 0

    @property
    def total(self) -> int:
        """All messages, claimed or not."""
        return self.free + self.claimed

    def plus(self, stats: QueueStats) -> MessageVolume:
        """These counts with one more queue's added."""
        return MessageVolume(self.free + stats.free, self.claimed + stats.claimed)


@dataclasses.dataclass(frozen=True)
class HealthReport:
    """Whether storage answers and, if it does, the message volume."""

    storage_reachable: bool
    message_volume: MessageVolume | None = None


class HealthOperations:
    """Ping and detailed health.

    Args:
        storage: The storage stack (pipeline and driver).
    """

    def __init__(self, storage: DataDriver) -> None:
        self._storage = storage

    def ping(self) -> bool:
        """Tell whether storage answers."""
        return self._storage.is_alive()

    def report(self, project: str) -> HealthReport:
        """Say whether storage answers and count the project's messages.

        The volume adds up the stats of every queue of ``project``: the
        storage contract has no cross-project view.
        """
        if not self._storage.is_alive():
            return HealthReport(storage_reachable=False)
        return HealthReport(True, self._volume(project))

    def _volume(self, project: str) -> MessageVolume:
        queues = self._storage.queues
        volume = MessageVolume()
        marker = None
        while True:
            page = queues.list(project, marker=marker, limit=_QUEUE_PAGE)
            for info in page:
                volume = volume.plus(queues.stats(info.name, project))
            if len(page) < _QUEUE_PAGE:
                return volume
            marker = page[-1].name
