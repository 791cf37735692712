"""Queues on Redis: a sorted set of names and a hash of metadata per project."""

from __future__ import annotations

from typing import Any

from zaqar.common.queue_metadata import DeadLetterPolicy
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import Metadata
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.redis.common import Controller
from zaqar.storage.redis.common import dump_json
from zaqar.storage.redis.common import load_metadata
from zaqar.storage.redis.common import text
from zaqar.storage.redis.common import unavailable_on_redis_error
from zaqar.storage.rules import metadata_matches

# Names examined per script call when metadata filters apply in Python.
_FILTER_BATCH = 100
# One script call's names and metadata (``list`` names a method in the class).
_Page = list[tuple[str, Metadata]]

# How often set_metadata re-reads when the stored JSON text differs from the
# expected one but means the same metadata (another writer's key order).
_CAS_ATTEMPTS = 5


class QueueController(Controller, base.QueueController):
    """Queues: names in ``q:<project>``, metadata in ``d:<project>``."""

    def create(self, name: str, metadata: Metadata, project: str) -> bool:
        """Create the queue unless it exists; True if created."""
        created = self._run(
            self._scripts.create_queue,
            project,
            name,
            self._now(),
            dump_json(metadata),
            dead_letter_policy(metadata),
        )
        return bool(created)

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
        new = dump_json(metadata)
        policy = dead_letter_policy(metadata)
        condition: tuple[str, ...] = ('0', '')
        if expected is not None:
            condition = ('1', dump_json(expected))
        for _ in range(_CAS_ATTEMPTS):
            reply = self._run(
                self._scripts.set_metadata,
                project,
                name,
                self._now(),
                new,
                policy,
                *condition,
            )
            outcome = text(reply[0])
            if outcome == 'ok':
                return
            if outcome == 'missing':
                raise errors.QueueDoesNotExist(name, project)
            if load_metadata(reply[1]) != expected:
                break
            condition = ('1', text(reply[1]))
        raise errors.MetadataConflict(name, project)

    def delete(self, name: str, project: str) -> None:
        """Delete the queue, its messages and claims; keep its counter."""
        self._run(self._scripts.delete_queue, project, name, self._now())

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
        after = marker or ''
        with_metadata = detailed or bool(metadata_filter)
        while len(found) < limit:
            wanted = _FILTER_BATCH if metadata_filter else limit - len(found)
            examined_all, after, page = self._list_page(
                project, after, wanted, name_contains or '', with_metadata
            )
            for name, metadata in page:
                if len(found) < limit and metadata_matches(metadata, metadata_filter):
                    found.append(QueueInfo(name, metadata if detailed else None))
            if examined_all:
                break
        return found

    def _list_page(
        self,
        project: str,
        after: str,
        limit: int,
        name_contains: str,
        with_metadata: bool,
    ) -> tuple[bool, str, _Page]:
        reply = self._run(
            self._scripts.list_queues,
            project,
            '',
            self._now(),
            after,
            limit,
            name_contains,
            '1' if with_metadata else '0',
        )
        examined_all, last, flat = reply
        page = [
            (text(flat[i]), load_metadata(flat[i + 1]) if with_metadata else {})
            for i in range(0, len(flat), 2)
        ]
        return bool(examined_all), text(last) or after, page

    def count(self, project: str) -> int:
        """Return how many queues the project has."""
        with unavailable_on_redis_error('ZCARD'):
            return int(self._client.zcard(self._key('q', project)))

    def stats(self, name: str, project: str) -> QueueStats:
        """Count live messages as claimed or free; find oldest and newest."""
        now = self._now()
        free, claimed, oldest, newest = self._run(
            self._scripts.stats, project, name, now
        )
        return QueueStats(
            free=int(free),
            claimed=int(claimed),
            oldest=_summary(oldest, now),
            newest=_summary(newest, now),
        )


def dead_letter_policy(metadata: Metadata) -> str:
    """Encode the dead-letter settings the claim script applies, or ''.

    Decided here rather than in Lua, so that the rules are Python's, as for
    the other drivers: active only when both ``_max_claim_count`` (an int)
    and ``_dead_letter_queue`` are set; the TTL counts only if a positive
    int. Format: ``<max claims> <ttl or 0> <queue name>``.
    """
    policy = DeadLetterPolicy.of(metadata)
    if not policy.active:
        return ''
    return f'{policy.max_claims} {policy.ttl or 0} {policy.queue}'


def _summary(reply: list[Any], now: float) -> MessageSummary | None:
    if not reply:
        return None
    message_id, created = reply
    posted = float(text(created))
    return MessageSummary(
        id=text(message_id), age=max(0, int(now - posted)), created=posted
    )
