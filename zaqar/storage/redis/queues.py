"""Queues on Redis: a sorted set of names and a hash of metadata per project."""

from __future__ import annotations

from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Metadata
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.redis.common import Controller
from zaqar.storage.redis.common import dump_json
from zaqar.storage.redis.common import load_metadata
from zaqar.storage.redis.common import unavailable_on_redis_error
from zaqar.storage.redis.scripts import MetadataOutcome
from zaqar.storage.rules import metadata_matches

# Names examined per script call when metadata filters apply in Python.
_FILTER_BATCH = 100

# How often set_metadata re-reads when the stored JSON text differs from the
# expected one but means the same metadata (another writer's key order).
_CAS_ATTEMPTS = 5


class QueueController(Controller, base.QueueController):
    """Queues: names in ``q:<project>``, metadata in ``d:<project>``."""

    def create(self, name: str, metadata: Metadata, project: str) -> bool:
        """Create the queue unless it exists; True if created."""
        return self._scripts.create_queue(project, name, self._now(), metadata)

    def exists(self, name: str, project: str) -> bool:
        """Tell whether the queue exists."""
        with unavailable_on_redis_error('HEXISTS'):
            return bool(self._client.hexists(self._key('d', project), name))

    def get_metadata(self, name: str, project: str) -> Metadata:
        """Return the stored metadata; QueueDoesNotExist if missing."""
        with unavailable_on_redis_error('HGET'):
            stored = self._client.hget(self._key('d', project), name)
        if stored is None:
            raise errors.QueueDoesNotExist(name, project)
        return load_metadata(stored)

    def set_metadata(
        self,
        name: str,
        metadata: Metadata,
        project: str,
        expected: Metadata | None = None,
    ) -> None:
        """Replace the stored metadata, if still ``expected`` when given.

        The script compares JSON texts atomically. When they differ but
        decode to equal metadata, it is retried against the stored text, so
        equality is Python's, as for the other drivers.
        """
        expected_json = None if expected is None else dump_json(expected)
        for _ in range(_CAS_ATTEMPTS):
            write = self._scripts.set_metadata(
                project, name, self._now(), metadata, expected_json
            )
            if write.outcome is MetadataOutcome.WRITTEN:
                return
            if write.outcome is MetadataOutcome.QUEUE_MISSING:
                raise errors.QueueDoesNotExist(name, project)
            if load_metadata(write.stored) != expected:
                break
            expected_json = write.stored
        raise errors.MetadataConflict(name, project)

    def delete(self, name: str, project: str) -> None:
        """Delete the queue, its messages and claims; keep its counter."""
        self._scripts.delete_queue(project, name, self._now())

    def list(
        self,
        project: str,
        marker: str | None = None,
        limit: int = 10,
        detailed: bool = False,
        name_contains: str | None = None,
        metadata_filter: Metadata | None = None,
    ) -> list[QueueInfo]:
        """List queues by name after ``marker``, filtered."""
        found: list[QueueInfo] = []
        after = marker or None
        with_metadata = detailed or bool(metadata_filter)
        while len(found) < limit:
            batch = self._scripts.list_queues(
                project,
                self._now(),
                after=after,
                limit=_FILTER_BATCH if metadata_filter else limit - len(found),
                name_contains=name_contains,
                with_metadata=with_metadata,
            )
            for name, metadata in batch.queues:
                if len(found) < limit and metadata_matches(metadata, metadata_filter):
                    found.append(QueueInfo(name, metadata if detailed else None))
            if batch.examined_all:
                break
            after = batch.last or after
        return found

    def count(self, project: str) -> int:
        """Return how many queues the project has."""
        with unavailable_on_redis_error('ZCARD'):
            return int(self._client.zcard(self._key('q', project)))

    def stats(self, name: str, project: str) -> QueueStats:
        """Count live messages as claimed or free; find oldest and newest."""
        return self._scripts.stats(project, name, self._now())
