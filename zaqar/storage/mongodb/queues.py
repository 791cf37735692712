"""Queues on MongoDB: one document each, metadata as JSON text."""

from __future__ import annotations

import re

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import Metadata
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.mongodb.common import Controller
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import dump_json
from zaqar.storage.mongodb.common import load_document
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.common import translate_errors
from zaqar.storage.mongodb.schema import ClaimField
from zaqar.storage.mongodb.schema import MessageField
from zaqar.storage.mongodb.schema import QueueField
from zaqar.storage.rules import metadata_matches

# Queues read per round when metadata filters are applied in Python.
_FILTER_BATCH = 100


class QueueController(Controller, base.QueueController):
    """Queues: create, metadata, delete, list, count and stats."""

    @translate_errors
    def create(self, name: str, metadata: Metadata, project: str) -> bool:
        """Create the queue unless it exists; True if created."""
        return ensure_queue(self._collections().queues, name, project, metadata)

    @translate_errors
    def exists(self, name: str, project: str) -> bool:
        """Tell whether the queue exists."""
        return queue_exists(self._collections().queues, name, project)

    @translate_errors
    def get_metadata(self, name: str, project: str) -> Metadata:
        """Return the stored metadata; QueueDoesNotExist if missing."""
        found = self._collections().queues.find_one(_where(name, project))
        if found is None:
            raise errors.QueueDoesNotExist(name, project)
        return load_document(found[QueueField.METADATA])

    @translate_errors
    def set_metadata(
        self,
        name: str,
        metadata: Metadata,
        project: str,
        expected: Metadata | None = None,
    ) -> None:
        """Replace the stored metadata, if still ``expected`` when given."""
        queues = self._collections().queues
        where = _where(name, project)
        replace = {'$set': {QueueField.METADATA: dump_json(metadata)}}
        if expected is None:
            if queues.update_one(where, replace).matched_count == 0:
                raise errors.QueueDoesNotExist(name, project)
            return
        found = queues.find_one(where)
        if found is None:
            raise errors.QueueDoesNotExist(name, project)
        stored = found[QueueField.METADATA]
        if load_document(stored) != expected:
            raise errors.MetadataConflict(name, project)
        # Compare-and-set on the exact text read: a concurrent replacement
        # makes this match nothing.
        swapped = queues.update_one(
            {'_id': found['_id'], QueueField.METADATA: stored}, replace
        )
        if swapped.matched_count == 0:
            if queues.find_one(where, {'_id': 1}) is None:
                raise errors.QueueDoesNotExist(name, project)
            raise errors.MetadataConflict(name, project)

    @translate_errors
    def delete(self, name: str, project: str) -> None:
        """Delete the queue, its messages and claims; keep its counter.

        The queue document goes first, then the messages as of a fence of
        the counter (see :meth:`.Counters.clear`: every post in flight is
        removed whole or kept whole), then the claims. A post kept whole
        commits after the fence, hence after the queue document was
        deleted, and it re-creates the queue after its commit
        (:func:`restore_queue`): no committed message is left behind in a
        queue that does not exist. (A post that committed before the fence
        loses its messages to this delete, and may still re-create the
        queue afterwards, empty and with default metadata: harmless, as a
        missing queue reads like an empty one, but visible to listings.)
        """
        collections = self._collections()
        collections.queues.delete_one(_where(name, project))
        self._driver.counters.clear(project, name)
        collections.claims.delete_many(
            {ClaimField.PROJECT: project, ClaimField.QUEUE: name}
        )

    @translate_errors
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
        queues = self._collections().queues
        found: list[QueueInfo] = []
        after = marker or ''
        batch = _FILTER_BATCH if metadata_filter else limit
        while len(found) < limit:
            documents = _names_after(queues, project, after, name_contains, batch)
            for document in documents:
                metadata = load_document(document[QueueField.METADATA])
                if metadata_matches(metadata, metadata_filter) and len(found) < limit:
                    queue_name = document[QueueField.NAME]
                    info = QueueInfo(queue_name, metadata if detailed else None)
                    found.append(info)
            if len(documents) < batch:
                break
            after = documents[-1][QueueField.NAME]
        return found

    @translate_errors
    def count(self, project: str) -> int:
        """Return how many queues the project has."""
        return self._collections().queues.count_documents({QueueField.PROJECT: project})

    @translate_errors
    def stats(self, name: str, project: str) -> QueueStats:
        """Count committed live messages as claimed or free; find the ends."""
        snapshot = self._driver.counters.read(project, name)
        if snapshot is None:
            return QueueStats()
        now = self._now()
        now_date = to_date(now)
        # One pass in marker order over the live messages, via the marker
        # index: counts plus the first and last.
        claim_expires = f'${MessageField.CLAIM_EXPIRES}'
        created = f'${MessageField.CREATED}'
        pipeline: list[Document] = [
            {
                '$match': {
                    **snapshot.committed(),
                    MessageField.EXPIRES: {'$gt': now_date},
                }
            },
            {'$sort': {MessageField.MARKER: ASCENDING}},
            {
                '$group': {
                    '_id': None,
                    'total': {'$sum': 1},
                    'claimed': {
                        '$sum': {'$cond': [{'$gt': [claim_expires, now_date]}, 1, 0]}
                    },
                    'oldest_id': {'$first': '$_id'},
                    'oldest_created': {'$first': created},
                    'newest_id': {'$last': '$_id'},
                    'newest_created': {'$last': created},
                }
            },
        ]
        groups = list(self._collections().messages.aggregate(pipeline))
        # No live committed message: a $group of no documents outputs none.
        if not groups:
            return QueueStats()
        (group,) = groups
        return QueueStats(
            free=group['total'] - group['claimed'],
            claimed=group['claimed'],
            oldest=_summary(group['oldest_id'], group['oldest_created'], now),
            newest=_summary(group['newest_id'], group['newest_created'], now),
        )


def ensure_queue(
    queues: Collection[Document],
    name: str,
    project: str,
    metadata: Metadata | None = None,
) -> bool:
    """Create the queue with ``metadata`` (default empty) unless it exists.

    Returns:
        True if this call created it.
    """
    try:
        result = queues.update_one(
            _where(name, project),
            {'$setOnInsert': {QueueField.METADATA: dump_json(metadata or {})}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # A concurrent upsert inserted it first.
    return result.upserted_id is not None


def queue_exists(queues: Collection[Document], name: str, project: str) -> bool:
    """Tell whether the queue document exists."""
    return queues.find_one(_where(name, project), {'_id': 1}) is not None


def restore_queue(queues: Collection[Document], name: str, project: str) -> None:
    """Re-create the queue, empty, if a concurrent delete removed it.

    Called after a post (or move) committed messages to it: a delete that
    ran in between would otherwise leave them in a queue that does not exist
    (see :meth:`QueueController.delete` for why checking after the commit is
    enough). A read first, as the queue almost always exists.
    """
    if not queue_exists(queues, name, project):
        ensure_queue(queues, name, project)


def queue_metadata(queues: Collection[Document], name: str, project: str) -> Metadata:
    """Return the queue's stored metadata; a missing queue has none."""
    found = queues.find_one(_where(name, project), {QueueField.METADATA: 1})
    return {} if found is None else load_document(found[QueueField.METADATA])


def _names_after(
    queues: Collection[Document],
    project: str,
    after: str,
    name_contains: str | None,
    limit: int,
) -> list[Document]:
    names: Document = {'$gt': after}
    if name_contains:
        # Escaped: a literal, case-sensitive substring, as in the other drivers.
        names['$regex'] = re.escape(name_contains)
    return list(
        queues.find(
            {QueueField.PROJECT: project, QueueField.NAME: names},
            {QueueField.NAME: 1, QueueField.METADATA: 1},
            sort=[(QueueField.NAME, ASCENDING)],
            limit=limit,
        )
    )


def _where(name: str, project: str) -> Document:
    """Filter selecting the queue's document."""
    return {QueueField.PROJECT: project, QueueField.NAME: name}


def _summary(key: bytes, created: float, now: float) -> MessageSummary:
    return MessageSummary(id=key.hex(), age=max(0, int(now - created)), created=created)
