"""The dead-letter rule: moving exhausted messages aside during a claim."""

from __future__ import annotations

from zaqar.common.queue_metadata import DeadLetterPolicy
from zaqar.storage.mongodb.common import Collections
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.counters import Counters
from zaqar.storage.mongodb.queues import ensure_queue
from zaqar.storage.mongodb.queues import restore_queue
from zaqar.storage.mongodb.schema import MessageField


def move_to_dead_letter_queue(
    counters: Counters,
    collections: Collections,
    document: Document,
    policy: DeadLetterPolicy,
    now: float,
) -> bool:
    """Move a selected message, unclaimed, to the tail of the policy's DLQ.

    It gets the DLQ's next marker, a claim count of 0 and the DLQ's TTL
    (else its own), counted from now, and is visible at once. The move
    re-checks that the message is still where it was selected and still
    unclaimed, so it never takes a message a concurrent claim just took.
    If the move fails, the message is put back, best effort (see
    :meth:`.Counters.move`).

    Returns:
        True if moved; False if another request took the message first.
    """
    assert policy.queue is not None
    project, source = document[MessageField.PROJECT], document[MessageField.QUEUE]
    marker = document[MessageField.MARKER]
    ensure_queue(collections.queues, policy.queue, project)
    ttl = policy.ttl or document[MessageField.TTL]
    now_date = to_date(now)
    selected = {
        '_id': document['_id'],
        MessageField.PROJECT: project,
        MessageField.QUEUE: source,
        MessageField.MARKER: marker,
        MessageField.EXPIRES: {'$gt': now_date},
        MessageField.CLAIM_EXPIRES: {'$not': {'$gt': now_date}},
    }
    changes = {
        '$set': {
            MessageField.QUEUE: policy.queue,
            MessageField.ORIGIN_QUEUE: source,
            MessageField.ORIGIN_MARKER: marker,
            MessageField.TTL: ttl,
            MessageField.EXPIRES: to_date(now + ttl),
        },
        # Claim count 0 is stored as no count; no delay: visible now.
        '$unset': {
            MessageField.CLAIM_ID: '',
            MessageField.CLAIM_EXPIRES: '',
            MessageField.CLAIM_COUNT: '',
            MessageField.DELAYED_UNTIL: '',
        },
    }
    moved = counters.move(document['_id'], selected, changes, project, policy.queue)
    if moved:
        # As after a post: the DLQ may have been deleted during the move.
        restore_queue(collections.queues, policy.queue, project)
    return moved
