"""Queue counters: markers, all-or-nothing posts, and repair after a crash.

A queue's counter document (see :mod:`.schema`) holds ``v``, the highest
*committed* marker, and ``r``, a revision that every change of the document
increments; ``w`` names the post that made the last commit and ``b`` is the
value ``v`` had before it.

This docstring uses the stored field names, as they appear in a database;
the code names them through :class:`.schema.CounterField` (``v`` VALUE,
``r`` REVISION, ``w`` WRITER, ``b`` BASE, ``t`` CHANGED, ``i`` KEY) and
:class:`.schema.MessageField` (``k`` MARKER; the pending stamp ``pr``,
``pw``, ``pt`` is PENDING_REVISION, PENDING_WRITER, PENDING_SINCE; ``oq``
and ``ok`` are ORIGIN_QUEUE and ORIGIN_MARKER).

The protocol
------------
A post of N messages:

1. reads the counter: ``(v, r, w, b)``;
2. inserts its N documents with markers ``v+1 .. v+N``, each stamped
   *pending* with ``pr = r``, ``pw =`` a random token of this attempt and
   ``pt =`` now, in one ordered ``insert_many``. The unique index on
   ``(p, q, k)`` rejects it with a duplicate key if any of those markers
   is taken; the post then deletes whatever it inserted (by id and
   token), backs off, and starts again at 1;
3. *finalizes the previous commit*: unsets the pending stamp of the
   messages with ``pw == w`` and ``b < k <= v`` (and marks done the
   idempotency key ``i`` of that commit, if it had one);
4. *commits* with one compare-and-set on the counter: where ``r`` is still
   the revision it read, set ``v += N``, ``r += 1``, ``w =`` its token,
   ``b =`` the ``v`` it read (and ``i`` to its idempotency key's document,
   if it has one). If no document matched, the post deletes its documents
   and starts again at 1.

Readers read the counter first, then select only *committed* messages:
``k <= v`` and ``pw`` absent or equal to ``w``.

Why this keeps the contract
---------------------------
* Commits are serial and leave no gaps: a compare-and-set from revision
  ``r`` succeeds at most once, and moves ``v`` from the value read with
  ``r`` to that value plus N.
* A commit's N documents are in place when it succeeds: the ordered insert
  of all N returned without error, and until the commit nobody else could
  commit those markers (a post that read the same revision needed the same
  markers, which the unique index refused it; any other change of the
  counter bumped ``r``). Expiry may remove them in between, which is as if
  it happened right after the post. Purge and queue deletion fence the
  counter before they delete, so a post whose documents they reach can no
  longer commit (see *Clearing a queue*).
* Readers select exactly the committed documents. A committed document has
  ``k <= v``; its ``pw`` is its post's token, which stays ``w`` until the
  next commit, and the next committer unsets that stamp (step 3) before its
  own compare-and-set replaces ``w`` (``gc()`` may unset it earlier).
  Conversely, tokens are unique per attempt, so the only documents stamped
  ``pw == w`` are the last commit's, at ``b < k <= v``; every other stamped
  document is uncommitted, whatever its marker. That includes a *stale*
  post that read the counter long ago and inserted at markers whose
  committed messages were already consumed (the unique index cannot stop
  it there): its token never becomes ``w``.
* Hence a batch becomes visible all at once (one single-document write),
  after every lower marker and never in part: a reader paging by marker
  sees each message once and skips none that stays live. Markers are never
  reused: ``v`` only grows, new posts take markers above it, and the
  markers of uncommitted documents were never visible to anyone. Counter
  documents survive queue deletion.

Idempotency keys
----------------
A post with an idempotency key (``post_once``) first inserts the key's
document, *pending*, then runs the protocol above with ``i`` set to that
document, and stamps the document with each attempt's token before the
attempt inserts anything (by compare-and-set on the previous stamp). Its
commit is the counter's compare-and-set: the key's post has committed
exactly when the document is marked *done* or its stamp is the counter's
``w``. That holds because whoever replaces ``w`` finalizes the previous
commit first (step 3), and marks its key done there. After committing,
the post marks the document done itself, at once; if it dies before that,
step 3 of the next post, or the first repeat that reads the counter, does.
So a crash anywhere leaves the messages committed with their key, or
neither committed. :mod:`.idempotency` says how a repeat reads the state
and takes over the key of a writer that died.

Repair after a crashed writer
-----------------------------
A post that dies between steps 2 and 4 leaves pending documents at
``v+1 ..`` that make every later post collide. A colliding post looks at
``t``, when the counter last changed: if that was ``repair_delay`` seconds
ago or more (driver clock), it repairs, then retries as usual:

1. *fence*: compare-and-set ``r -> r+1`` (``v`` and ``w`` unchanged, so
   readers see no difference). From then on no post that read revision
   ``r`` or older can commit;
2. remove the documents with ``k > v`` and ``pr <= r``: pending documents
   of posts that can no longer commit. Writes stamped after the fence carry
   ``pr = r+1`` and are left alone. A dead-letter move in flight is
   returned instead of being deleted (see *Dead-letter moves* below).

``gc()`` does the same without waiting for a post to collide (a queue
that gets no more posts, such as a dead-letter queue, would otherwise keep
a crashed move forever). It looks up pending documents stamped (``pt``,
driver clock) ``repair_delay`` seconds ago or more, and for each one's
queue reads the counter:

* ``pw == w``: the last commit, on a queue idle since; it finalizes it
  (step 3, which any post may do at any time);
* ``pr < r``: a writer that can never commit (its compare-and-set needs
  ``r == pr``, and ``r`` only grows); it removes the document, by id *and*
  ``pw``, so a document its writer re-stamped since is left alone;
* ``pr == r``: a writer that read the current revision that long ago and
  has not committed; it fences first, then removes as above.

Safety never depends on the delay or on clocks agreeing: a writer that was
only slow finds its commit refused, removes its documents and retries. The
delay only trades how soon a crashed writer's queue recovers against how
often a slow one is made to retry. (The first two concurrent posts after a
queue sat idle for the delay also fence each other once: the one fenced
off retries at once.)

Dead-letter moves
-----------------
A move (:meth:`Counters.move`) is a post of one message whose step 2
re-stamps the existing document into the target queue, recording in
``oq``/``ok`` where it came from; until its commit the message is visible
in neither queue. A move that fails with an error puts the message back at
once, best effort: it fences the target counter (so its own commit, if
still in flight, can no longer land), checks that it did not commit after
all, and returns the document. A repair, or ``gc()``, returns the moves of
writers that crashed. Returning means: back to queue ``oq`` at marker
``ok`` (committed there at once: that marker is at most ``oq``'s counter)
if that queue exists. When it does not, or ``ok`` is held by an
uncommitted document of a stale post, the move is *completed* instead:
committed to the target queue under its next marker, as its writer meant
to, and that queue re-created if it was deleted meanwhile. The existence of
``oq`` is checked again after the return: a delete of ``oq`` that came in
between may have cleared its messages already, so the message then moves
on from there to the target queue after all. A repair never deletes a
move; it is only ever left pending when even completing fails, for the
next repair. (Known limits: a returned message reappears below markers
that readers of ``oq`` may have paged past; and one returned to ``oq``
after a purge of ``oq``, or after ``oq`` was deleted and created again,
comes back there although the purge or delete began while it was away.)

Clearing a queue
----------------
Purge and queue deletion must not remove part of a post in flight (its
documents are inserted one by one) and let it commit the rest. They fence
the counter (``r -> r+1``, reading ``v``), then delete the committed
messages, ``k <= v``, and the pending documents stamped ``pr <= r``. A post
that read revision ``r`` or older cannot commit any more: it removes what
is left of its documents and retries, whole, after the fence. A post that
read the counter after the fence stamps ``pr > r`` and writes above ``v``:
it is untouched, and commits as if it came after the purge. A pending
move into the queue that read the counter before the fence is deleted: as
if it had committed just before the purge.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError
from pymongo.errors import PyMongoError

from zaqar.storage import errors
from zaqar.storage.mongodb.common import LOG
from zaqar.storage.mongodb.common import Collections
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import back_off
from zaqar.storage.mongodb.common import is_duplicate_key
from zaqar.storage.mongodb.queues import queue_exists
from zaqar.storage.mongodb.queues import restore_queue
from zaqar.storage.mongodb.schema import PENDING_FIELDS
from zaqar.storage.mongodb.schema import PENDING_INDEX
from zaqar.storage.mongodb.schema import CounterField
from zaqar.storage.mongodb.schema import IdempotencyField
from zaqar.storage.mongodb.schema import MessageField

if TYPE_CHECKING:
    from zaqar.storage.mongodb.driver import MongoDriver

# What the repairs read of a pending document.
_STAMP_FIELDS = {
    MessageField.PROJECT: 1,
    MessageField.QUEUE: 1,
    MessageField.MARKER: 1,
    MessageField.PENDING_REVISION: 1,
    MessageField.PENDING_WRITER: 1,
    MessageField.ORIGIN_QUEUE: 1,
    MessageField.ORIGIN_MARKER: 1,
}

# Tries a repair gives completing an abandoned move before leaving it to the
# next repair: it runs on behalf of a post or of gc(), which must not wait
# long on a busy queue.
_COMPLETION_ATTEMPTS = 10


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A queue's counter document as read at one moment."""

    project: str
    queue: str
    value: int
    revision: int
    writer: bytes | None
    base: int
    changed_at: float
    key: ObjectId | None = None

    @classmethod
    def of(cls, document: Document) -> Snapshot:
        """Build a snapshot from a counter document."""
        return cls(
            project=document[CounterField.PROJECT],
            queue=document[CounterField.QUEUE],
            value=document[CounterField.VALUE],
            revision=document[CounterField.REVISION],
            writer=document.get(CounterField.WRITER),
            base=document[CounterField.BASE],
            changed_at=document[CounterField.CHANGED],
            key=document.get(CounterField.KEY),
        )

    def committed(self, after: int = 0) -> Document:
        """Filter selecting the queue's committed messages above ``after``."""
        return {
            **self.where(),
            MessageField.MARKER: {'$gt': after, '$lte': self.value},
            MessageField.PENDING_WRITER: {'$in': [None, self.writer]},
        }

    def stamp(self, token: bytes, offset: int, now: float) -> Document:
        """Fields of the pending document at position ``offset`` of a post."""
        return {
            MessageField.MARKER: self.value + 1 + offset,
            MessageField.PENDING_REVISION: self.revision,
            MessageField.PENDING_WRITER: token,
            MessageField.PENDING_SINCE: now,
        }

    def where(self) -> Document:
        """Filter selecting the queue's messages."""
        return _messages_of(self.project, self.queue)

    def unchanged(self) -> Document:
        """Filter matching the counter while it still has this revision."""
        return {
            **_counter_of(self.project, self.queue),
            CounterField.REVISION: self.revision,
        }


class Counters:
    """The marker protocol, on behalf of one driver."""

    def __init__(self, driver: MongoDriver) -> None:
        self._driver = driver

    def read(self, project: str, queue: str) -> Snapshot | None:
        """Return the queue's counter, or None if it never had a message."""
        counters = self._driver.collections().counters
        found = counters.find_one(_counter_of(project, queue))
        return None if found is None else Snapshot.of(found)

    def append(
        self,
        project: str,
        queue: str,
        documents: list[Document],
        key: ObjectId | None = None,
    ) -> None:
        """Store new message documents with the queue's next markers.

        Runs the protocol of this module's docstring; fills in each
        document's marker and pending stamp.

        Args:
            project: The queue's project.
            queue: The queue's name.
            documents: The new messages, in order.
            key: The pending idempotency document the post holds, stamped
                with each attempt's token (it must still bear no stamp).

        Raises:
            StorageUnavailable: Still no markers after ``max_attempts``.
            KeyTakenOver: A repeat took ``key`` over (nothing of the post
                is left stored).
        """
        collections = self._driver.collections()
        keys = [document['_id'] for document in documents]
        stamped: bytes | None = None
        for attempt in range(self._driver.max_attempts):
            if attempt:
                back_off(attempt, self._driver.max_retry_sleep)
            snapshot = self._read_for_write(collections, project, queue)
            token = _new_token()
            now = self._now()
            if key is not None:
                # Before anything is inserted, so that a repeat that sees
                # the stamp can fence off exactly this attempt.
                _stamp_key(collections, key, stamped, token, now)
                stamped = token
            for offset, document in enumerate(documents):
                document.update(snapshot.stamp(token, offset, now))
            try:
                collections.messages.insert_many(documents, ordered=True)
            except PyMongoError as ex:
                if not is_duplicate_key(ex):
                    self._discard_quietly(collections, keys, token)
                    raise
                self._discard(collections, keys, token)
                self._repair_if_stuck(collections, snapshot)
                continue
            try:
                self._finalize_previous(collections, snapshot)
            except PyMongoError:
                self._discard_quietly(collections, keys, token)
                raise
            if self._compare_and_set(collections, snapshot, token, len(documents), key):
                if key is not None:
                    mark_key_done(collections, key, token, quietly=True)
                return
            self._discard(collections, keys, token)
        raise _contended(project, queue)

    def move(
        self,
        key: bytes,
        source: Document,
        changes: Document,
        project: str,
        queue: str,
    ) -> bool:
        """Move one stored message into ``queue`` under its next marker.

        The protocol of a post of one message, where step 2 is an update of
        the existing document rather than an insert: ``source`` selects it
        (and must re-check that it may still move), ``changes`` is the rest
        of the update (a ``$set`` and an ``$unset``), which must record in
        ``oq``/``ok`` where it came from. Between that update and the
        commit the message is visible in neither queue. When the commit is
        refused, the pending document is re-stamped with fresh markers
        rather than deleted. On any error the message is put back at once,
        best effort (see *Dead-letter moves* in the module docstring).

        Returns:
            True once moved; False if ``source`` matched nothing (another
            request took the message first, or a repair returned it).

        Raises:
            StorageUnavailable: Still not committed after ``max_attempts``.
        """
        attempts = self._driver.max_attempts
        return self._move(key, source, changes, project, queue, attempts, put_back=True)

    def clear(self, project: str, queue: str) -> None:
        """Delete the queue's messages; a post in flight goes whole or stays.

        See *Clearing a queue* in the module docstring. Claims are the
        caller's to delete.

        Raises:
            StorageUnavailable: The counter kept changing under the fence.
        """
        collections = self._driver.collections()
        snapshot = self._fence_current(collections, project, queue)
        if snapshot is None:
            # Nothing was ever committed: the posts in flight come after.
            return
        where = snapshot.where()
        collections.messages.delete_many(
            {**where, MessageField.MARKER: {'$lte': snapshot.value}}
        )
        collections.messages.delete_many(
            {
                **where,
                MessageField.MARKER: {'$gt': snapshot.value},
                MessageField.PENDING_REVISION: {'$lte': snapshot.revision},
            }
        )

    def collect_abandoned(self, limit: int) -> None:
        """Repair queues that crashed writers left pending documents in.

        Looks at up to ``limit`` documents stamped ``repair_delay`` seconds
        ago or more, oldest first, and deals with each as the module
        docstring says (*Repair after a crashed writer*); needs no post.
        """
        collections = self._driver.collections()
        messages = collections.messages
        now = self._now()
        found = messages.find(
            {MessageField.PENDING_SINCE: {'$lte': now - self._driver.repair_delay}},
            _STAMP_FIELDS,
            sort=[(MessageField.PENDING_SINCE, ASCENDING)],
            limit=limit,
            # Else the planner may race a plan that reads every message.
            hint=PENDING_INDEX,
        )
        by_queue: dict[tuple[str, str], list[Document]] = {}
        for document in found:
            queue_key = (document[MessageField.PROJECT], document[MessageField.QUEUE])
            by_queue.setdefault(queue_key, []).append(document)
        for (project, queue), documents in by_queue.items():
            self._collect_queue(collections, project, queue, documents, now)

    def _move(
        self,
        key: bytes,
        source: Document,
        changes: Document,
        project: str,
        queue: str,
        attempts: int,
        *,
        put_back: bool,
    ) -> bool:
        """:meth:`move`; without ``put_back``, an error leaves it pending."""
        collections = self._driver.collections()
        token: bytes | None = None  # the stamp the document is known to carry
        fresh: bytes | None = None  # the stamp being written, which may land
        snapshot: Snapshot | None = None
        try:
            for attempt in range(attempts):
                if attempt:
                    back_off(attempt, self._driver.max_retry_sleep)
                snapshot = self._read_for_write(collections, project, queue)
                fresh = _new_token()
                stamp = snapshot.stamp(fresh, 0, self._now())
                if token is None:
                    target = source
                    update = {**changes, '$set': {**changes['$set'], **stamp}}
                else:
                    target = {
                        '_id': key,
                        **_messages_of(project, queue),
                        MessageField.PENDING_WRITER: token,
                    }
                    update = {'$set': stamp}
                try:
                    result = collections.messages.update_one(target, update)
                except PyMongoError as ex:
                    if not is_duplicate_key(ex):
                        raise
                    self._repair_if_stuck(collections, snapshot)
                    continue
                if result.matched_count == 0:
                    return False
                token = fresh
                self._finalize_previous(collections, snapshot)
                if self._compare_and_set(collections, snapshot, token, 1):
                    return True
            raise _contended(project, queue)
        except Exception:
            if put_back:
                stamps = [value for value in (token, fresh) if value is not None]
                self._abandon_move(collections, key, project, queue, stamps, snapshot)
            raise

    def _abandon_move(
        self,
        collections: Collections,
        key: bytes,
        project: str,
        queue: str,
        stamps: list[bytes],
        snapshot: Snapshot | None,
    ) -> None:
        """After an error, return a move that may be pending, best effort.

        Fencing the counter the last commit attempt read makes sure that
        attempt can no longer land (its request may still be on its way);
        if the fence comes too late, the counter tells whether the move
        committed. A move that committed and was then finalized no longer
        carries any of ``stamps`` and is left alone.
        """
        if not stamps:
            return
        try:
            if snapshot is not None and not self._fence(
                collections, snapshot, self._now()
            ):
                current = self.read(project, queue)
                if current is not None and current.writer in stamps:
                    return  # It committed after all.
            pending = collections.messages.find_one(
                {
                    '_id': key,
                    **_messages_of(project, queue),
                    MessageField.PENDING_WRITER: {'$in': stamps},
                },
                _STAMP_FIELDS,
            )
            if pending is not None:
                self._return_move(collections, pending)
        except Exception as ex:  # best effort: a repair returns it later
            LOG.warning(
                'Could not return dead-letter move of message %s at once (%s); '
                'a repair will',
                key.hex(),
                type(ex).__name__,
            )

    def _return_move(self, collections: Collections, pending: Document) -> bool:
        """Put an abandoned move back where it came from, or else complete it.

        Args:
            collections: The driver's collections.
            pending: The moved document's ``_id``, project, queue, pending
                writer and origin (queue and marker). Its writer must be
                unable to commit.

        Returns:
            Whether this call resolved it (False: it had changed meanwhile,
            so someone else did).
        """
        key, project = pending['_id'], pending[MessageField.PROJECT]
        target = pending[MessageField.QUEUE]
        origin = pending[MessageField.ORIGIN_QUEUE]
        old_marker = pending[MessageField.ORIGIN_MARKER]
        where = {
            '_id': key,
            **_messages_of(project, target),
            MessageField.PENDING_WRITER: pending[MessageField.PENDING_WRITER],
        }
        if queue_exists(collections.queues, origin, project):
            try:
                result = collections.messages.update_one(
                    where,
                    {
                        '$set': {
                            MessageField.QUEUE: origin,
                            MessageField.MARKER: old_marker,
                        },
                        '$unset': PENDING_FIELDS,
                    },
                )
            except DuplicateKeyError:
                # An uncommitted document of a stale post holds the marker.
                LOG.warning(
                    'Dead-letter move of message %s: its old marker in queue %r '
                    'is taken; completing the move instead',
                    key.hex(),
                    origin,
                )
                return self._complete_move(key, where, {'$set': {}}, project, target)
            if result.matched_count == 0:
                return False
            if queue_exists(collections.queues, origin, project):
                # If the queue is deleted from now on, its delete fences the
                # counter afterwards and removes the message with the rest.
                return True
            # Deleted while it went back, possibly after the delete removed
            # the queue's messages: move it on from there after all.
            return self._complete_move(
                key,
                {
                    '_id': key,
                    **_messages_of(project, origin),
                    MessageField.MARKER: old_marker,
                },
                {
                    '$set': {
                        MessageField.QUEUE: target,
                        MessageField.ORIGIN_QUEUE: origin,
                        MessageField.ORIGIN_MARKER: old_marker,
                    },
                    '$unset': {
                        MessageField.CLAIM_ID: '',
                        MessageField.CLAIM_EXPIRES: '',
                    },
                },
                project,
                target,
            )
        # Its queue is gone: rather than lose it, complete the move.
        return self._complete_move(key, where, {'$set': {}}, project, target)

    def _complete_move(
        self, key: bytes, source: Document, changes: Document, project: str, queue: str
    ) -> bool:
        """Commit a move its writer gave up, into the queue it was going to.

        An error leaves it pending (for the next repair) rather than trying
        to return it again.
        """
        attempts = min(self._driver.max_attempts, _COMPLETION_ATTEMPTS)
        moved = self._move(
            key, source, changes, project, queue, attempts, put_back=False
        )
        if moved:
            restore_queue(self._driver.collections().queues, queue, project)
        return moved

    def _read_for_write(
        self, collections: Collections, project: str, queue: str
    ) -> Snapshot:
        """Read the counter, creating it at 0 for a queue's first post."""
        where = _counter_of(project, queue)
        found = collections.counters.find_one(where)
        if found is None:
            initial = {
                **where,
                CounterField.VALUE: 0,
                CounterField.REVISION: 0,
                CounterField.WRITER: None,
                CounterField.BASE: 0,
                CounterField.CHANGED: self._now(),
            }
            try:
                collections.counters.insert_one(initial)
            except DuplicateKeyError:
                pass  # A concurrent first post created it.
            found = collections.counters.find_one(where)
            # NOTE: counters are never deleted; only a write rolled back by a
            # failover can make the one just upserted disappear.
            if found is None:
                raise errors.StorageUnavailable(
                    f'The counter of queue {queue} vanished'
                )
        return Snapshot.of(found)

    @staticmethod
    def _finalize_previous(collections: Collections, snapshot: Snapshot) -> None:
        """Step 3: unset the pending stamp of the last commit's messages.

        And mark its idempotency key done: the commit about to replace
        ``w`` is what would otherwise make that key look uncommitted.
        """
        if snapshot.writer is not None:
            collections.messages.update_many(
                {
                    **snapshot.where(),
                    MessageField.PENDING_WRITER: snapshot.writer,
                    MessageField.MARKER: {'$gt': snapshot.base, '$lte': snapshot.value},
                },
                {'$unset': PENDING_FIELDS},
            )
            if snapshot.key is not None:
                mark_key_done(collections, snapshot.key, snapshot.writer)

    def discard_writer(self, project: str, queue: str, token: bytes) -> None:
        """Delete what the post attempt ``token`` inserted into the queue.

        Only for an attempt fenced off already (it can never commit): its
        documents would otherwise stand in the way of the next post until
        a repair, which waits for the counter to stand still.
        """
        self._driver.collections().messages.delete_many(
            {**_messages_of(project, queue), MessageField.PENDING_WRITER: token}
        )

    def fence(self, snapshot: Snapshot) -> bool:
        """Bump the revision from the snapshot's, changing nothing else.

        Returns:
            Whether the counter still had the snapshot's revision: then no
            writer that read it or an older one can commit any more.
        """
        return self._fence(self._driver.collections(), snapshot, self._now())

    def _compare_and_set(
        self,
        collections: Collections,
        snapshot: Snapshot,
        token: bytes,
        count: int,
        key: ObjectId | None = None,
    ) -> bool:
        """Step 4: commit ``count`` markers after the snapshot's value.

        ``key`` is the idempotency document of the post, if it has one.

        Returns:
            Whether the counter still had the snapshot's revision. When this
            raises instead, the commit may or may not have happened, so the
            caller leaves its documents as they are (a repair clears them if
            it did not).
        """
        update: Document = {
            '$set': {
                CounterField.VALUE: snapshot.value + count,
                CounterField.REVISION: snapshot.revision + 1,
                CounterField.WRITER: token,
                CounterField.BASE: snapshot.value,
                CounterField.CHANGED: self._now(),
            }
        }
        if key is None:
            update['$unset'] = {CounterField.KEY: ''}
        else:
            update['$set'][CounterField.KEY] = key
        committed = collections.counters.update_one(snapshot.unchanged(), update)
        return committed.matched_count == 1

    @staticmethod
    def _fence(collections: Collections, snapshot: Snapshot, now: float) -> bool:
        """Bump the revision from the snapshot's, changing nothing else.

        Returns:
            Whether the counter still had the snapshot's revision: then no
            writer that read it or an older one can commit any more.
        """
        fenced = collections.counters.update_one(
            snapshot.unchanged(),
            {
                '$set': {
                    CounterField.REVISION: snapshot.revision + 1,
                    CounterField.CHANGED: now,
                }
            },
        )
        return fenced.matched_count == 1

    def _fence_current(
        self, collections: Collections, project: str, queue: str
    ) -> Snapshot | None:
        """Fence the counter as it is now; return what it was before.

        Returns:
            None if the queue has no counter (never had a message).
        """
        for attempt in range(self._driver.max_attempts):
            if attempt:
                back_off(attempt, self._driver.max_retry_sleep)
            snapshot = self.read(project, queue)
            if snapshot is None or self._fence(collections, snapshot, self._now()):
                return snapshot
        raise _contended(project, queue)

    @staticmethod
    def _discard(collections: Collections, keys: list[bytes], token: bytes) -> None:
        """Delete what this attempt of a post inserted, and nothing else."""
        collections.messages.delete_many(
            {'_id': {'$in': keys}, MessageField.PENDING_WRITER: token}
        )

    @classmethod
    def _discard_quietly(
        cls, collections: Collections, keys: list[bytes], token: bytes
    ) -> None:
        """Try to discard after a failed insert, so others need no repair.

        The insert may have stored part of the batch before failing; if the
        backend is still unreachable, the repair clears it later instead.
        """
        try:
            cls._discard(collections, keys, token)
        except PyMongoError:
            pass

    def _repair_if_stuck(self, collections: Collections, snapshot: Snapshot) -> None:
        """Fence off and clear a crashed writer's leftovers, if it is time."""
        now = self._now()
        if now - snapshot.changed_at < self._driver.repair_delay:
            return
        if not self._fence(collections, snapshot, now):
            return  # The counter moved after all: nothing is stuck.
        leftovers = {
            **snapshot.where(),
            MessageField.MARKER: {'$gt': snapshot.value},
            MessageField.PENDING_REVISION: {'$lte': snapshot.revision},
        }
        # Posts first, so that completing a move finds their markers free.
        # Moves are never deleted, even one stamped since that find.
        removed = collections.messages.delete_many(
            {**leftovers, MessageField.ORIGIN_QUEUE: {'$exists': False}}
        ).deleted_count
        moves = collections.messages.find(
            {**leftovers, MessageField.ORIGIN_QUEUE: {'$exists': True}}, _STAMP_FIELDS
        )
        returned = self._return_moves(collections, list(moves))
        if not removed and not returned:
            return  # Only a live post was in the way (see the module docstring).
        LOG.warning(
            'Queue %r of project %r: its counter had not moved for %.1f s while '
            'posts collided; cleared %d pending message(s) of writers that can '
            'no longer commit and returned %d dead-letter move(s)',
            snapshot.queue,
            snapshot.project,
            now - snapshot.changed_at,
            removed,
            returned,
        )

    def _collect_queue(
        self,
        collections: Collections,
        project: str,
        queue: str,
        documents: list[Document],
        now: float,
    ) -> None:
        """Deal with one queue's long-pending documents (see collect_abandoned).

        The documents were read before the counter, so a document whose
        writer committed shows ``pw == w``, or has been finalized since and
        no longer carries the ``pw`` it is deleted by.
        """
        snapshot = self.read(project, queue)
        if snapshot is None:
            return  # Counters are never deleted; nothing safe to decide.
        writer = MessageField.PENDING_WRITER
        if any(document[writer] == snapshot.writer for document in documents):
            self._finalize_previous(collections, snapshot)
        stuck = [d for d in documents if d[writer] != snapshot.writer]
        if not stuck:
            return
        read_at = MessageField.PENDING_REVISION
        revision = snapshot.revision
        if any(d[read_at] >= revision for d in stuck) and self._fence(
            collections, snapshot, now
        ):
            revision += 1
        dead = [d for d in stuck if d[read_at] < revision]
        posts = [d for d in dead if MessageField.ORIGIN_QUEUE not in d]
        moves = [d for d in dead if MessageField.ORIGIN_QUEUE in d]
        removed = 0
        if posts:
            removed = collections.messages.delete_many(
                {
                    '_id': {'$in': [d['_id'] for d in posts]},
                    **snapshot.where(),
                    writer: {'$in': [d[writer] for d in posts]},
                }
            ).deleted_count
        returned = self._return_moves(collections, moves)
        if removed or returned:
            LOG.warning(
                'Queue %r of project %r: cleared %d pending message(s) and '
                'returned %d dead-letter move(s) of writers that stopped '
                'before committing',
                queue,
                project,
                removed,
                returned,
            )

    def _return_moves(self, collections: Collections, moves: list[Document]) -> int:
        """Return abandoned moves (see _return_move); count those returned.

        In marker order, so that a move completed in its queue takes its own
        place rather than one another move still holds. A move that cannot
        be resolved now stays pending for the next repair.
        """
        returned = 0
        for move in sorted(moves, key=lambda move: move[MessageField.MARKER]):
            try:
                returned += self._return_move(collections, move)
            except (PyMongoError, errors.StorageUnavailable) as ex:
                LOG.error(
                    'Could not return dead-letter move of message %s (%s); it '
                    'stays pending until a later repair',
                    move['_id'].hex(),
                    type(ex).__name__,
                )
        return returned

    def _now(self) -> float:
        return self._driver.clock.now()


class KeyTakenOver(Exception):
    """A repeat took over the idempotency key a post held.

    It did so because the post's stamp looked abandoned, after fencing the
    counter, so nothing the post stored can commit any more; what it stored
    was discarded. Internal to the driver: the post looks the key up again.
    """


def _stamp_key(
    collections: Collections,
    key: ObjectId,
    previous: bytes | None,
    token: bytes,
    now: float,
) -> None:
    """Stamp the pending idempotency document with an attempt's token.

    Raises:
        KeyTakenOver: It no longer bears ``previous``: a repeat took it
            over (see :mod:`.idempotency`).
    """
    stamped = collections.idempotency.update_one(
        {
            '_id': key,
            IdempotencyField.WRITER: previous,
            IdempotencyField.DONE: {'$exists': False},
        },
        {'$set': {IdempotencyField.WRITER: token, IdempotencyField.STAMPED: now}},
    )
    if stamped.matched_count == 0:
        raise KeyTakenOver()


def mark_key_done(
    collections: Collections, key: ObjectId, writer: bytes, *, quietly: bool = False
) -> None:
    """Mark an idempotency document done, if ``writer`` still stamps it.

    Only for a writer known to have committed. With ``quietly``, a failure
    is ignored: the commit stands, and the next commit to the queue, or a
    repeat that reads the counter, marks it instead.
    """
    try:
        collections.idempotency.update_one(
            {'_id': key, IdempotencyField.WRITER: writer},
            {
                '$set': {IdempotencyField.DONE: True},
                '$unset': {IdempotencyField.WRITER: '', IdempotencyField.STAMPED: ''},
            },
        )
    except PyMongoError:
        if not quietly:
            raise


def _counter_of(project: str, queue: str) -> Document:
    """Filter selecting the queue's counter document."""
    return {CounterField.PROJECT: project, CounterField.QUEUE: queue}


def _messages_of(project: str, queue: str) -> Document:
    """Filter selecting the queue's messages."""
    return {MessageField.PROJECT: project, MessageField.QUEUE: queue}


def _new_token() -> bytes:
    """A token unique to one attempt of one post (64 random bits)."""
    return os.urandom(8)


def _contended(project: str, queue: str) -> errors.StorageUnavailable:
    LOG.error(
        'Queue %r of project %r: gave up on a marker after too many collisions',
        queue,
        project,
    )
    return errors.StorageUnavailable(
        f'Too many concurrent posts to queue {queue}; try again'
    )
