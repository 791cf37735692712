"""Claims on MongoDB.

A claim is a document in ``claims`` plus the claim id and claim expiry
fields of the messages it holds (``MessageField.CLAIM_ID`` and
``CLAIM_EXPIRES``); the expiry on the messages decides whether they are
claimed.
Without transactions the two are written one after the other, so every
step is ordered to be safe on its own:

* Taking messages is one ``update_many`` whose filter re-checks, message by
  message, that each is still unclaimed (the server applies each document's
  update atomically). Of two concurrent claims that selected the same
  message, only one update matches it: a message is never in two live
  claims. The claim then knows what it got from the update's count (all of
  its candidates) or by reading back the messages that carry its id.
* The claim document is written only once messages are held, and a claim
  without messages does not exist for ``get``/``update``; a claimer that
  dies in between leaves messages that its expiry releases.
* Releasing clears the claim from its messages whether or not the claim
  document still exists (it may have expired and been collected).
* A claim that fails after holding messages (writing its document, or a
  dead-letter move of a later round, raised) releases them before the error
  goes up, lowering their claim counts again: its id was never returned, so
  nobody else could. If that release fails too, the claim's expiry does it.
"""

from __future__ import annotations

import dataclasses

from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from zaqar.common import ids
from zaqar.common.queue_metadata import DeadLetterPolicy
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Claim
from zaqar.storage.mongodb.common import LOG
from zaqar.storage.mongodb.common import Collections
from zaqar.storage.mongodb.common import Controller
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import message_from_document
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.common import to_key
from zaqar.storage.mongodb.common import translate_errors
from zaqar.storage.mongodb.counters import Snapshot
from zaqar.storage.mongodb.dead_letter import move_to_dead_letter_queue
from zaqar.storage.mongodb.messages import find_in_marker_order
from zaqar.storage.mongodb.queues import queue_metadata
from zaqar.storage.mongodb.schema import ClaimField
from zaqar.storage.mongodb.schema import MessageField

# Clears a claim from its messages.
_RELEASE: Document = {
    '$unset': {MessageField.CLAIM_ID: '', MessageField.CLAIM_EXPIRES: ''}
}


@dataclasses.dataclass(frozen=True)
class _Terms:
    """A claim being created: its id and times."""

    key: bytes
    now: float
    ttl: int
    grace: int

    @property
    def expires(self) -> float:
        return self.now + self.ttl


class ClaimController(Controller, base.ClaimController):
    """Claims: create, read, renew and release."""

    @translate_errors
    def create(
        self, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Claim the oldest claimable messages, moving dead letters aside."""
        snapshot = self._driver.counters.read(project, queue)
        if snapshot is None:
            return None
        collections = self._collections()
        policy = DeadLetterPolicy.of(queue_metadata(collections.queues, queue, project))
        claim_id = ids.new_id()
        terms = _Terms(bytes.fromhex(claim_id), self._now(), ttl, grace)
        try:
            held = self._take(collections, snapshot, terms, limit, policy)
            if held is None:
                return None
            collections.claims.insert_one(
                {
                    '_id': terms.key,
                    ClaimField.PROJECT: project,
                    ClaimField.QUEUE: queue,
                    ClaimField.TTL: ttl,
                    ClaimField.GRACE: grace,
                    ClaimField.UPDATED: terms.now,
                    ClaimField.EXPIRES: to_date(terms.expires),
                }
            )
            _extend_lives(collections, terms.key, project, queue, terms.now, ttl, grace)
            if not held:
                # Some updates matched only part of their candidates: read back.
                held = _held_by(collections, terms.key, project, queue, terms.now)
        except Exception:
            # Nobody will ever learn this claim's id: release what it holds.
            _undo_quietly(collections, terms.key, project, queue)
            raise
        messages = [message_from_document(d, terms.now) for d in held]
        return Claim(id=claim_id, ttl=ttl, age=0, messages=messages)

    @translate_errors
    def get(self, queue: str, claim_id: str, project: str) -> Claim:
        """Return a live claim with the messages it still holds."""
        key = to_key(claim_id)
        if key is None:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        now = self._now()
        collections = self._collections()
        found = collections.claims.find_one(
            {
                **_claim(key, project, queue),
                ClaimField.EXPIRES: {'$gt': to_date(now)},
            }
        )
        held = [] if found is None else _held_by(collections, key, project, queue, now)
        if found is None or not held:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        return Claim(
            id=claim_id,
            ttl=found[ClaimField.TTL],
            age=max(0, int(now - found[ClaimField.UPDATED])),
            messages=[message_from_document(d, now) for d in held],
        )

    @translate_errors
    def update(
        self, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> None:
        """Renew a live claim from now, extending short-lived messages.

        The messages are renewed first, by an update that only matches
        messages still live under this claim; matching none means the claim
        has expired, was released, or lost all its messages.
        """
        key = to_key(claim_id)
        if key is None:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        now = self._now()
        now_date, expires = to_date(now), to_date(now + ttl)
        collections = self._collections()
        renewed = collections.messages.update_many(
            {
                **_held(key, project, queue),
                MessageField.CLAIM_EXPIRES: {'$gt': now_date},
                MessageField.EXPIRES: {'$gt': now_date},
            },
            {'$set': {MessageField.CLAIM_EXPIRES: expires}},
        )
        if renewed.matched_count == 0:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        collections.claims.update_one(
            _claim(key, project, queue),
            {
                '$set': {
                    ClaimField.TTL: ttl,
                    ClaimField.GRACE: grace,
                    ClaimField.UPDATED: now,
                    ClaimField.EXPIRES: expires,
                }
            },
        )
        _extend_lives(collections, key, project, queue, now, ttl, grace)

    @translate_errors
    def delete(self, queue: str, claim_id: str, project: str) -> None:
        """Release the claim; its messages become claimable at once."""
        key = to_key(claim_id)
        if key is None:
            return
        collections = self._collections()
        collections.claims.delete_one(_claim(key, project, queue))
        # NOTE: also when the claim document is gone (expired and collected):
        # releasing must not depend on whether GC ran.
        collections.messages.update_many(_held(key, project, queue), _RELEASE)

    def _take(
        self,
        collections: Collections,
        snapshot: Snapshot,
        terms: _Terms,
        limit: int,
        policy: DeadLetterPolicy,
    ) -> list[Document] | None:
        """Hold up to ``limit`` claimable messages, dead-lettering exhausted ones.

        Only messages committed when the claim began are considered: a
        dead-letter queue naming the queue itself re-posts moved messages
        at its tail, and they must not be met again.

        Returns:
            None if nothing was held; else the held documents as they now
            are, or an empty list when some candidates went to concurrent
            requests and the caller must read back which ones it holds.
        """
        now_date = to_date(terms.now)
        ready = {
            MessageField.EXPIRES: {'$gt': now_date},
            MessageField.DELAYED_UNTIL: {'$not': {'$gt': now_date}},
        }
        held: list[Document] = []
        count, after, exact = 0, 0, True
        while count < limit:
            wanted = limit - count
            candidates = find_in_marker_order(
                collections.messages,
                {**snapshot.committed(after), **ready},
                wanted,
                now_date,
                unclaimed_only=True,
            )
            claimable = self._set_aside_dead_letters(
                collections, candidates, policy, terms.now
            )
            taken = _hold(collections, claimable, terms) if claimable else 0
            count += taken
            exact = exact and taken == len(claimable)
            held += claimable
            if len(candidates) < wanted:
                break
            after = candidates[-1][MessageField.MARKER]
        if count == 0:
            return None
        return held if exact else []

    def _set_aside_dead_letters(
        self,
        collections: Collections,
        candidates: list[Document],
        policy: DeadLetterPolicy,
        now: float,
    ) -> list[Document]:
        """Move exhausted candidates to the DLQ; return the others."""
        claimable = []
        for candidate in candidates:
            if policy.is_exhausted(candidate.get(MessageField.CLAIM_COUNT, 0)):
                move_to_dead_letter_queue(
                    self._driver.counters, collections, candidate, policy, now
                )
            else:
                claimable.append(candidate)
        return claimable


def _hold(collections: Collections, candidates: list[Document], terms: _Terms) -> int:
    """Put the still unclaimed candidates under the claim; return how many.

    On success the candidate documents are updated in place to match what
    was stored, so that the claim can be returned without reading back.
    """
    now_date, expires = to_date(terms.now), to_date(terms.expires)
    first = candidates[0]
    held = collections.messages.update_many(
        {
            '_id': {'$in': [candidate['_id'] for candidate in candidates]},
            MessageField.PROJECT: first[MessageField.PROJECT],
            MessageField.QUEUE: first[MessageField.QUEUE],
            MessageField.EXPIRES: {'$gt': now_date},
            MessageField.CLAIM_EXPIRES: {'$not': {'$gt': now_date}},
        },
        {
            '$set': {
                MessageField.CLAIM_ID: terms.key,
                MessageField.CLAIM_EXPIRES: expires,
            },
            '$inc': {MessageField.CLAIM_COUNT: 1},
        },
    )
    for candidate in candidates:
        candidate[MessageField.CLAIM_ID] = terms.key
        candidate[MessageField.CLAIM_EXPIRES] = expires
        candidate[MessageField.CLAIM_COUNT] = (
            candidate.get(MessageField.CLAIM_COUNT, 0) + 1
        )
        if candidate[MessageField.EXPIRES] < expires:
            # As _extend_lives will store it.
            candidate[MessageField.EXPIRES] = to_date(terms.expires + terms.grace)
            candidate[MessageField.TTL] = terms.ttl + terms.grace
    return held.modified_count


def _undo_quietly(
    collections: Collections, key: bytes, project: str, queue: str
) -> None:
    """Undo a claim that failed before it was returned, best effort.

    Its messages are released, each with the claim count it had before (the
    filter re-checks each still records this claim, so one a later claim
    took is left alone), and its document deleted in case it was written.
    If the backend is unreachable, the claim's expiry releases them instead,
    with the count raised.
    """
    try:
        collections.messages.update_many(
            _held(key, project, queue),
            {**_RELEASE, '$inc': {MessageField.CLAIM_COUNT: -1}},
        )
        collections.claims.delete_one(_claim(key, project, queue))
    except PyMongoError as ex:
        LOG.warning(
            'Could not release the messages of failed claim %s (%s); they are '
            'held until it expires',
            key.hex(),
            type(ex).__name__,
        )


def _extend_lives(
    collections: Collections,
    key: bytes,
    project: str,
    queue: str,
    now: float,
    ttl: int,
    grace: int,
) -> None:
    """Keep the claim's messages alive until it ends plus ``grace``.

    A message that would expire before its claim does lives on until the
    claim ends plus ``grace``, so a slow worker can still delete it.
    """
    expires = to_date(now + ttl)
    collections.messages.update_many(
        {
            **_held(key, project, queue),
            MessageField.CLAIM_EXPIRES: expires,
            MessageField.EXPIRES: {'$lt': expires},
        },
        {
            '$set': {
                MessageField.EXPIRES: to_date(now + ttl + grace),
                MessageField.TTL: ttl + grace,
            }
        },
    )


def _held_by(
    collections: Collections, key: bytes, project: str, queue: str, now: float
) -> list[Document]:
    """The live messages under a live claim with this key, in marker order."""
    now_date = to_date(now)
    return list(
        collections.messages.find(
            {
                **_held(key, project, queue),
                MessageField.CLAIM_EXPIRES: {'$gt': now_date},
                MessageField.EXPIRES: {'$gt': now_date},
            },
            sort=[(MessageField.MARKER, ASCENDING)],
        )
    )


def _claim(key: bytes, project: str, queue: str) -> Document:
    """Filter selecting the claim's document."""
    return {'_id': key, ClaimField.PROJECT: project, ClaimField.QUEUE: queue}


def _held(key: bytes, project: str, queue: str) -> Document:
    """Filter selecting the messages that record the claim, lapsed or not."""
    return {
        MessageField.CLAIM_ID: key,
        MessageField.PROJECT: project,
        MessageField.QUEUE: queue,
    }
