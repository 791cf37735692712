"""Messages on MongoDB.

Reads that page or select by marker (list, pop, claims, stats) read the
queue's counter first and see only committed messages (see
:mod:`.counters`). Reads by id skip that round trip: an uncommitted
document's id is known only to the post that wrote it, which has not
returned it to anyone, except a dead-letter move in flight, which get by id
may find already in its new queue.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence

from pymongo import ASCENDING
from pymongo.collection import Collection

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import claim_rule
from zaqar.storage import errors
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import NewMessage
from zaqar.storage.mongodb.common import Collections
from zaqar.storage.mongodb.common import Controller
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import dump_json
from zaqar.storage.mongodb.common import is_claimed
from zaqar.storage.mongodb.common import message_from_document
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.common import to_key
from zaqar.storage.mongodb.common import to_keys
from zaqar.storage.mongodb.common import translate_errors
from zaqar.storage.mongodb.counters import KeyTakenOver
from zaqar.storage.mongodb.idempotency import Answered
from zaqar.storage.mongodb.queues import ensure_queue
from zaqar.storage.mongodb.queues import restore_queue
from zaqar.storage.mongodb.schema import CLAIMABLE_INDEX
from zaqar.storage.mongodb.schema import HELD_INDEX
from zaqar.storage.mongodb.schema import ClaimField
from zaqar.storage.mongodb.schema import MessageField

# A pop first holds its messages like a short claim, then deletes them; a pop
# that dies in between releases them when this many seconds have passed.
POP_HOLD_SECONDS = 30


class MessageController(Controller, base.MessageController):
    """Messages: one document each, ordered within a queue by marker."""

    @translate_errors
    def post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str]:
        """Store all messages under consecutive markers, or none of them.

        The queue is created before the messages are stored, and again after
        they are committed in case a concurrent delete removed it meanwhile
        (see :meth:`.QueueController.delete` for why that is enough).
        """
        now = self._now()
        message_ids = ids.new_ids(len(messages))
        documents = _new_documents(
            message_ids, messages, queue, project, client_id, now
        )
        queues = self._collections().queues
        ensure_queue(queues, queue, project)
        self._driver.counters.append(project, queue, documents)
        restore_queue(queues, queue, project)
        return message_ids

    @translate_errors
    def post_once(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str]:
        """Hold the key, then post as :meth:`post` does, stamping the key.

        See :mod:`.idempotency`: a repeat answers from the key's document,
        and the messages commit together with the key (one compare-and-set
        of the counter). A post whose key a repeat took over (it looked
        abandoned) has nothing left stored, and looks the key up again.
        """
        for _ in range(self._driver.max_attempts):
            now = self._now()
            message_ids = ids.new_ids(len(messages))
            held = self._driver.idempotency.hold(
                project, queue, idempotency_key, message_ids
            )
            if isinstance(held, Answered):
                return held.ids
            documents = _new_documents(
                message_ids, messages, queue, project, client_id, now
            )
            queues = self._collections().queues
            ensure_queue(queues, queue, project)
            try:
                self._driver.counters.append(project, queue, documents, held.key)
            except KeyTakenOver:
                continue
            restore_queue(queues, queue, project)
            return message_ids
        raise errors.StorageUnavailable(
            f'The idempotency key of a post to queue {queue} kept changing; try again'
        )

    @translate_errors
    def get_many(
        self, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message]:
        """Return the live messages among ``message_ids``."""
        keys = to_keys(list(message_ids))
        if not keys:
            return []
        now = self._now()
        documents = self._collections().messages.find(
            {'_id': {'$in': keys}, **_in_queue(project, queue), **_live(now)},
            sort=[(MessageField.MARKER, ASCENDING)],
        )
        return [message_from_document(document, now) for document in documents]

    @translate_errors
    def delete(
        self,
        queue: str,
        message_id: str,
        project: str,
        claim_id: str | None = None,
    ) -> None:
        """Delete one message if its claim allows it (see the contract).

        The delete itself re-checks the claim state it relies on, so a claim
        taken concurrently is never deleted through.
        """
        claim_key = None if claim_id is None else to_key(claim_id)
        if claim_id is not None and claim_key is None:
            raise errors.InvalidClaimId(claim_id)
        key = to_key(message_id)
        if key is None:
            return
        messages = self._collections().messages
        where = {'_id': key, **_in_queue(project, queue)}
        for _ in range(self._driver.max_attempts):
            now = self._now()
            if claim_key is not None:
                # Its live claim, or an expired one nobody released or replaced.
                allowed: Document = {MessageField.CLAIM_ID: claim_key}
            else:
                allowed = {MessageField.CLAIM_EXPIRES: {'$not': {'$gt': to_date(now)}}}
            if messages.delete_one({**where, **allowed}).deleted_count:
                return
            found = messages.find_one(
                {**where, **_live(now)},
                {MessageField.CLAIM_ID: 1, MessageField.CLAIM_EXPIRES: 1},
            )
            if found is None:
                return
            error = claim_rule.delete_refusal(
                message_id, _claim_state(found, now), claim_id
            )
            if error is not None:
                raise error
            # Allowed now, refused at the delete: its claim changed in
            # between; retry.
        raise errors.StorageUnavailable(f'Message {message_id} keeps changing')

    @translate_errors
    def delete_many(
        self,
        queue: str,
        message_ids: Sequence[str],
        project: str,
        claim_ids: Sequence[str] | None = None,
    ) -> None:
        """Delete the listed messages; with ``claim_ids``, see below.

        MongoDB gives this driver no transaction over several documents, so
        a claim-checked delete is two steps. First every listed message is
        checked, and if one fails, nothing is deleted. Then the checked
        messages are deleted by one ``delete_many`` whose filter checks each
        document again: it must still record one of ``claim_ids``. A message
        whose claim changed in between (released, or claimed anew after its
        claim expired) is thus never deleted through a claim that no longer
        holds it; but the other messages are deleted, and the call then
        raises the error that message fails with now. So, unlike on SQLite
        and Redis, a refused delete may have deleted some of the messages,
        when a claim changed during the request.
        """
        quoted = None if claim_ids is None else claim_rule.checked_claim_ids(claim_ids)
        keys = to_keys(list(message_ids))
        if not keys:
            return
        where = {'_id': {'$in': keys}, **_in_queue(project, queue)}
        if quoted is None:
            self._collections().messages.delete_many(where)
            return
        found = self._claim_states(where)
        claim_rule.check_held(message_ids, found, quoted)
        if found and self._delete_held(where, found, quoted) < len(found):
            # Some changed in between: report the first that fails now.
            claim_rule.check_held(message_ids, self._claim_states(where), quoted)

    def _claim_states(self, where: Document) -> dict[str, claim_rule.ClaimState]:
        """The claim state of each live message ``where`` selects, by id."""
        now = self._now()
        documents = self._collections().messages.find(
            {**where, **_live(now)},
            {MessageField.CLAIM_ID: 1, MessageField.CLAIM_EXPIRES: 1},
        )
        return {
            document['_id'].hex(): _claim_state(document, now) for document in documents
        }

    def _delete_held(
        self,
        where: Document,
        found: dict[str, claim_rule.ClaimState],
        quoted: frozenset[str],
    ) -> int:
        """Delete the checked messages still recording a quoted claim.

        Returns:
            How many were deleted.
        """
        held = {**where, '_id': {'$in': [bytes.fromhex(key) for key in found]}}
        claims = [bytes.fromhex(claim_id) for claim_id in sorted(quoted)]
        deleted = self._collections().messages.delete_many(
            {**held, MessageField.CLAIM_ID: {'$in': claims}}
        )
        return deleted.deleted_count

    @translate_errors
    def pop(self, queue: str, limit: int, project: str) -> list[Message]:
        """Remove and return up to ``limit`` unclaimed messages, oldest first.

        Candidates are first held with a token of this pop, by an update
        that re-checks they are unclaimed, so that of two concurrent pops
        each message goes to exactly one; the pop then deletes, one by one,
        what it still holds, and returns only what it deleted.
        """
        snapshot = self._driver.counters.read(project, queue)
        if snapshot is None:
            return []
        collections = self._collections()
        for _ in range(self._driver.max_attempts):
            now = self._now()
            query = {**snapshot.committed(), **_live(now)}
            candidates = find_in_marker_order(
                collections.messages, query, limit, to_date(now), unclaimed_only=True
            )
            if not candidates:
                return []
            held = _hold_for_pop(collections, candidates, now)
            if held:
                return [
                    message_from_document(d, now, claim_id_shown=False) for d in held
                ]
            # Every candidate went to a concurrent pop or claim: look again.
        return []

    @translate_errors
    def purge(self, queue: str, project: str) -> None:
        """Delete every message and claim of the queue.

        Messages as of a fence of the counter, so that a post in flight is
        removed whole or kept whole (see :meth:`.Counters.clear`).
        """
        self._driver.counters.clear(project, queue)
        self._collections().claims.delete_many(
            {ClaimField.PROJECT: project, ClaimField.QUEUE: queue}
        )

    @translate_errors
    def list(
        self,
        queue: str,
        project: str,
        client_id: str,
        marker: int | None = None,
        limit: int = 10,
        echo: bool = False,
        include_claimed: bool = False,
        include_delayed: bool = False,
    ) -> list[Message]:
        """List committed live messages after ``marker`` in marker order."""
        snapshot = self._driver.counters.read(project, queue)
        after = max(0, marker or 0)
        if snapshot is None or after >= snapshot.value:
            return []
        now = self._now()
        now_date = to_date(now)
        query = {**snapshot.committed(after), **_live(now)}
        if not include_delayed:
            query[MessageField.DELAYED_UNTIL] = {'$not': {'$gt': now_date}}
        if not echo:
            query[MessageField.CLIENT_ID] = {'$ne': client_id}
        documents = find_in_marker_order(
            self._collections().messages,
            query,
            limit,
            now_date,
            unclaimed_only=not include_claimed,
        )
        return [message_from_document(document, now) for document in documents]


def find_in_marker_order(
    messages: Collection[Document],
    query: Document,
    limit: int,
    now: datetime.datetime,
    unclaimed_only: bool,
) -> list[Document]:
    """Return up to ``limit`` documents matching ``query``, lowest marker first.

    Args:
        messages: The messages collection.
        query: Filter on the queue's fields, without the claim expiry.
        limit: At most this many documents.
        now: The time at which claims are judged.
        unclaimed_only: Skip messages under a live claim.
    """
    if limit <= 0:
        return []  # NOTE: pymongo reads a limit of 0 as "no limit".
    order = [(MessageField.MARKER, ASCENDING)]
    if not unclaimed_only:
        return list(messages.find(query, sort=order, limit=limit))
    # PERF: two scans in marker order, each ending after ``limit`` documents,
    # rather than one filtered scan of the marker index, which would read
    # every claimed message at the queue's head (most of what it reads under
    # many consumers): lapsed claims (claim expiry in the past) on the index
    # of messages that record a claim, and messages never or no longer
    # claimed (no claim expiry) on the claimable index. Both name their index
    # in a hint: the planner could otherwise race a plan that sorts in memory
    # or filters every message of the queue.
    #
    # NOTE: lapsed first, its cursor drained before the second query is
    # sent. The two reads are not one snapshot, and a message can change
    # state between them. A message claimable at both reads is found by one
    # of them unless it went from "no claim" to "lapsed" in between, and no
    # write does that: a claim or pop sets the claim expiry to its own now
    # plus a TTL, in the future of this read's now while clocks agree.
    # The other way round (lapsed to unclaimed, by a release) happens at any
    # time, which reading unclaimed first would miss. A message found by
    # both reads is returned once, as the later read saw it. Each read is
    # cut at ``limit``, so a message that is missing from the merged result
    # because of a cut has ``limit`` others below it: it is beyond the page,
    # never skipped by a reader paging on.
    lapsed = messages.find(
        # $exists repeats the held index's filter: a query must, to use it.
        {**query, MessageField.CLAIM_EXPIRES: {'$exists': True, '$lte': now}},
        sort=order,
        limit=limit,
        hint=HELD_INDEX,
    )
    found = {document['_id']: document for document in lapsed}
    unclaimed = messages.find(
        {**query, MessageField.CLAIM_EXPIRES: None},
        sort=order,
        limit=limit,
        hint=CLAIMABLE_INDEX,
    )
    found.update((document['_id'], document) for document in unclaimed)
    merged = sorted(found.values(), key=lambda document: document[MessageField.MARKER])
    return merged[:limit]


def _hold_for_pop(
    collections: Collections, candidates: list[Document], now: float
) -> list[Document]:
    """Hold the unclaimed candidates with a token, delete and return them.

    Each message is deleted on its own, and only while it still carries this
    pop's token: a pop that stalls for longer than its hold may find some
    taken by a claim or another pop, which then own them. Only what this
    pop deleted is returned, in marker order.
    """
    token = os.urandom(16)
    now_date = to_date(now)
    keys = [candidate['_id'] for candidate in candidates]
    first = candidates[0]
    where = _in_queue(first[MessageField.PROJECT], first[MessageField.QUEUE])
    held = collections.messages.update_many(
        {
            '_id': {'$in': keys},
            **where,
            **_live(now),
            MessageField.CLAIM_EXPIRES: {'$not': {'$gt': now_date}},
        },
        {
            '$set': {
                MessageField.CLAIM_ID: token,
                MessageField.CLAIM_EXPIRES: to_date(now + POP_HOLD_SECONDS),
            }
        },
    )
    if held.modified_count == 0:
        return []
    taken = []
    for key in keys:
        deleted = collections.messages.find_one_and_delete(
            {'_id': key, **where, MessageField.CLAIM_ID: token}
        )
        if deleted is not None:
            taken.append(deleted)
    return taken


def _new_documents(
    message_ids: Sequence[str],
    messages: Sequence[NewMessage],
    queue: str,
    project: str,
    client_id: str,
    now: float,
) -> list[Document]:
    return [
        _new_document(message_id, message, queue, project, client_id, now)
        for message_id, message in zip(message_ids, messages, strict=True)
    ]


def _new_document(
    message_id: str,
    message: NewMessage,
    queue: str,
    project: str,
    client_id: str,
    now: float,
) -> Document:
    document: Document = {
        '_id': bytes.fromhex(message_id),
        MessageField.PROJECT: project,
        MessageField.QUEUE: queue,
        MessageField.BODY: dump_json(message.body),
        MessageField.TTL: message.ttl,
        MessageField.CREATED: now,
        MessageField.EXPIRES: to_date(now + message.ttl),
        MessageField.CLIENT_ID: client_id,
    }
    if message.delay > 0:
        document[MessageField.DELAYED_UNTIL] = to_date(now + message.delay)
    return document


def _claim_state(document: Document, now: float) -> claim_rule.ClaimState:
    """The claim state of a live message document at ``now``."""
    claim_key = document.get(MessageField.CLAIM_ID)
    return claim_rule.ClaimState(
        recorded=None if claim_key is None else bytes(claim_key).hex(),
        claimed=is_claimed(document, to_date(now)),
    )


def _in_queue(project: str, queue: str) -> Document:
    """Filter for the queue's messages."""
    return {MessageField.PROJECT: project, MessageField.QUEUE: queue}


def _live(now: float) -> Document:
    """Filter for messages that have not expired."""
    return {MessageField.EXPIRES: {'$gt': to_date(now)}}
