"""Idempotency keys on MongoDB: who may post under a key, and when.

A key is one document of the ``idempotency`` collection (see
:class:`.schema.IdempotencyField`), unique per ``(project, queue, key)`` by
an index. The post that inserts it *holds* the key: it alone stores
messages under it, with the marker protocol of :mod:`.counters`, whose
docstring (*Idempotency keys*) says how the key's commit is tied to the
messages' commit. The document is:

* *pending* from its insert until its post is known to have committed:
  ``w`` is the token of the post's current attempt (None before the first
  one) and ``t`` when it was stamped;
* *done* (``d``) once that post committed; ``w`` and ``t`` are then gone.

A pending document whose stamp is the counter's ``w`` is done already (its
post committed and was not marked yet): whoever replaces ``w`` marks it
first. So a reader that reads the counter *and then* the document knows
whether its post committed: done, or stamped with the ``w`` it read.

A repeat (another post with the key) that finds the document:

* expired (driver clock): the key is forgotten; it removes the document (a
  pending one as it takes a key over, below) and inserts its own;
* with another fingerprint: IdempotencyKeyReused;
* done, or committed by the counter: it answers the document's ids;
* pending and stamped less than ``repair_delay`` seconds ago: its post is
  *in flight*, and the repeat raises IdempotencyKeyInFlight;
* pending for longer: its writer is presumed dead, and the repeat *takes
  the key over*: it fences the counter it read (after which no attempt that
  read that revision or an older one can commit), deletes the messages the
  stamped attempt inserted, then the document if it still bears the stamp
  it read, and starts over. A writer that was only slow finds its commit
  refused, discards its messages and fails to stamp the document again
  (KeyTakenOver): it starts over too, as a repeat. Safety never depends on
  the delay or on clocks: the fence does.

What is not covered: an expired document is removed by gc() and by the
server's TTL index whatever its state, so a post that stalls for longer
than the whole window between holding the key and committing may commit
after a repeat stored the messages again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from zaqar.storage import errors
from zaqar.storage.idempotency import pack_ids
from zaqar.storage.idempotency import unpack_ids
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.mongodb.common import Collections
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import back_off
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.counters import Snapshot
from zaqar.storage.mongodb.counters import mark_key_done
from zaqar.storage.mongodb.schema import IdempotencyField

if TYPE_CHECKING:
    from zaqar.storage.mongodb.driver import MongoDriver


@dataclasses.dataclass(frozen=True)
class Held:
    """The key is this post's to post under: its pending document's _id."""

    key: ObjectId


@dataclasses.dataclass(frozen=True)
class Answered:
    """A post with the key committed already: the ids it returned."""

    ids: list[str]


class IdempotencyKeys:
    """Holding keys and reading their state, on behalf of one driver."""

    def __init__(self, driver: MongoDriver) -> None:
        self._driver = driver

    def hold(
        self,
        project: str,
        queue: str,
        idempotency_key: IdempotencyKey,
        message_ids: Sequence[str],
    ) -> Held | Answered:
        """Hold the key for a post of ``message_ids``, or answer a repeat.

        Raises:
            IdempotencyKeyReused: The key is remembered with another
                fingerprint.
            IdempotencyKeyInFlight: Another post holds the key and has not
                committed.
            StorageUnavailable: Still undecided after ``max_attempts`` (the
                key kept changing hands).
        """
        collections = self._driver.collections()
        for attempt in range(self._driver.max_attempts):
            if attempt:
                back_off(attempt, self._driver.max_retry_sleep)
            now = self._now()
            document: Document = {
                '_id': ObjectId(),
                IdempotencyField.PROJECT: project,
                IdempotencyField.QUEUE: queue,
                IdempotencyField.KEY: idempotency_key.key,
                IdempotencyField.FINGERPRINT: idempotency_key.fingerprint,
                IdempotencyField.IDS: pack_ids(message_ids),
                IdempotencyField.EXPIRES: to_date(now + idempotency_key.window),
                IdempotencyField.WRITER: None,
                IdempotencyField.STAMPED: now,
            }
            try:
                collections.idempotency.insert_one(document)
            except DuplicateKeyError:
                answer = self._read(collections, project, queue, idempotency_key)
                if answer is not None:
                    return answer
                continue
            return Held(document['_id'])
        raise errors.StorageUnavailable(
            f'The idempotency key of a post to queue {queue} kept changing; try again'
        )

    def _read(
        self,
        collections: Collections,
        project: str,
        queue: str,
        idempotency_key: IdempotencyKey,
    ) -> Answered | None:
        """Answer from the key's document, or clear the way (returns None).

        See the module docstring for each case.
        """
        where = _key_of(project, queue, idempotency_key.key)
        found = collections.idempotency.find_one(where)
        if found is None or found.get(IdempotencyField.DONE):
            # None: it was removed since the insert collided; try again.
            return self._settled(collections, found, idempotency_key, queue)
        # Pending: read the counter first, then the document again (see the
        # module docstring for why this order tells whether it committed).
        snapshot = self._driver.counters.read(project, queue)
        found = collections.idempotency.find_one(where)
        if found is None or found.get(IdempotencyField.DONE):
            return self._settled(collections, found, idempotency_key, queue)
        now = self._now()
        if _expired(found, now):
            self._take_over(collections, found, snapshot)
            return None
        _check_fingerprint(found, idempotency_key, queue)
        writer = found[IdempotencyField.WRITER]
        if snapshot is not None and writer is not None and snapshot.writer == writer:
            mark_key_done(collections, found['_id'], writer, quietly=True)
            return Answered(unpack_ids(found[IdempotencyField.IDS]))
        if now - found[IdempotencyField.STAMPED] < self._driver.repair_delay:
            raise errors.IdempotencyKeyInFlight(queue)
        self._take_over(collections, found, snapshot)
        return None

    def _settled(
        self,
        collections: Collections,
        found: Document | None,
        idempotency_key: IdempotencyKey,
        queue: str,
    ) -> Answered | None:
        """Answer from a done document; None when there is none to answer."""
        if found is None:
            return None
        if _expired(found, self._now()):
            collections.idempotency.delete_one(
                {
                    '_id': found['_id'],
                    IdempotencyField.EXPIRES: found[IdempotencyField.EXPIRES],
                }
            )
            return None
        _check_fingerprint(found, idempotency_key, queue)
        return Answered(unpack_ids(found[IdempotencyField.IDS]))

    def _take_over(
        self,
        collections: Collections,
        found: Document,
        snapshot: Snapshot | None,
    ) -> None:
        """Remove a pending document whose post can then never commit.

        ``snapshot`` is the counter read just before ``found``. A stamped
        post may have inserted messages: the counter is fenced first, then
        its messages are deleted (the fence just reset the counter's idle
        time, so no repair would clear them soon), and the document is
        deleted only if it still bears the same stamp. If the fence fails,
        nothing is done, and the caller looks again.
        """
        writer = found[IdempotencyField.WRITER]
        if writer is not None:
            counters = self._driver.counters
            if snapshot is None or not counters.fence(snapshot):
                return
            counters.discard_writer(snapshot.project, snapshot.queue, writer)
        collections.idempotency.delete_one(
            {
                '_id': found['_id'],
                IdempotencyField.WRITER: writer,
                IdempotencyField.DONE: {'$exists': False},
            }
        )

    def _now(self) -> float:
        return self._driver.clock.now()


def _key_of(project: str, queue: str, key: str) -> Document:
    """Filter selecting the document of one key of one queue."""
    return {
        IdempotencyField.PROJECT: project,
        IdempotencyField.QUEUE: queue,
        IdempotencyField.KEY: key,
    }


def _expired(found: Document, now: float) -> bool:
    return bool(found[IdempotencyField.EXPIRES] <= to_date(now))


def _check_fingerprint(found: Document, key: IdempotencyKey, queue: str) -> None:
    if bytes(found[IdempotencyField.FINGERPRINT]) != key.fingerprint:
        raise errors.IdempotencyKeyReused(queue)
