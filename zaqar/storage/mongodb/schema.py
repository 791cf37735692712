"""Collections, documents and indexes of the MongoDB driver.

Field names are one or two letters: they are repeated in every document, and
MongoDB stores them in each one. The same letter means different things in
different collections (``t`` is a message's TTL but the time a counter last
changed), so the code never spells them out: it names them through the
per-collection classes below, which say what each field holds. The stored
names are what existing databases hold; changing one means migrating data.

``queues``: one document per queue (:class:`QueueField`).

``counters``: one document per queue that ever had a message; deleting the
queue keeps it, so markers are never reused (:class:`CounterField`, and
:mod:`.counters` for how they are used).

``messages``: one document per message (:class:`MessageField`).

``claims``: one document per claim (:class:`ClaimField`).

``subscriptions``: one document per subscription (:class:`SubscriptionField`).

``idempotency``: one document per idempotency key a ``post_once`` holds or
held (:class:`IdempotencyField`, and :mod:`.idempotency` for how).

Every document also has MongoDB's own ``_id``: an ObjectId for queues and
counters, the 16 bytes of the message or claim id for messages and claims,
the subscription id itself, as text, for subscriptions (a listing pages
after a marker that the client chose, which need not be an id at all, and
text compares with any marker the way the other drivers compare ids;
subscriptions are few, so the bytes saved would not matter), and an
ObjectId for idempotency keys.

Bodies and metadata are stored as JSON text rather than BSON documents: JSON
keys may start with ``$`` or contain dots, integers may exceed 64 bits, and
the driver never queries inside them. Ids are stored as 16 bytes rather than
32 hex digits, which halves them in documents and in every index entry.
Expiry times are BSON dates so that TTL indexes can use them.
"""

from __future__ import annotations

from typing import Any
from typing import Final

from pymongo import ASCENDING
from pymongo import IndexModel


class QueueField:
    """Fields of a ``queues`` document."""

    PROJECT: Final = 'p'  # the project the queue belongs to
    NAME: Final = 'n'  # the queue's name
    METADATA: Final = 'm'  # the queue's metadata, as JSON text


class CounterField:
    """Fields of a ``counters`` document."""

    PROJECT: Final = 'p'  # the project of the queue counted
    QUEUE: Final = 'q'  # the name of the queue counted
    VALUE: Final = 'v'  # highest committed marker
    REVISION: Final = 'r'  # +1 on every change of the document
    WRITER: Final = 'w'  # token of the post that made the last commit; None before
    BASE: Final = 'b'  # the VALUE before the last commit
    CHANGED: Final = 't'  # when the document last changed (driver clock, seconds)
    # The _id of the idempotency document of the post that made the last
    # commit, when that post had a key; absent otherwise.
    KEY: Final = 'i'


class MessageField:
    """Fields of a ``messages`` document.

    The last five are only there for a while (see :mod:`.counters`): the
    post or dead-letter move that writes the document stamps it (the origin
    fields are a move's only), and the stamp is removed once the next post
    to the queue commits, or gc() finds the queue idle.
    """

    PROJECT: Final = 'p'  # the project of the message's queue
    QUEUE: Final = 'q'  # the name of the message's queue
    MARKER: Final = 'k'  # the message's position in its queue
    BODY: Final = 'b'  # the body, as JSON text
    TTL: Final = 't'  # the TTL reported to clients (seconds)
    CREATED: Final = 'c'  # when it was posted (driver clock, seconds)
    EXPIRES: Final = 'e'  # when it expires (Date)
    DELAYED_UNTIL: Final = 'd'  # visible from then on (Date; only if delayed)
    CLIENT_ID: Final = 'u'  # the poster's client id, for echo
    CLAIM_ID: Final = 'ci'  # the id of the claim it records (absent when none)
    CLAIM_EXPIRES: Final = 'ce'  # that claim's expiry (Date; absent when none)
    CLAIM_COUNT: Final = 'cc'  # how often it was claimed (absent means 0)
    PENDING_REVISION: Final = 'pr'  # the counter revision its writer read
    PENDING_WRITER: Final = 'pw'  # a token of its writer's attempt
    PENDING_SINCE: Final = 'pt'  # when it was stamped (driver clock, seconds)
    ORIGIN_QUEUE: Final = 'oq'  # queue a dead-letter move in flight came from
    ORIGIN_MARKER: Final = 'ok'  # its marker in that queue


class ClaimField:
    """Fields of a ``claims`` document."""

    PROJECT: Final = 'p'  # the project of the claimed queue
    QUEUE: Final = 'q'  # the name of the claimed queue
    TTL: Final = 't'  # the claim's TTL (seconds)
    GRACE: Final = 'g'  # the grace its messages get past it (seconds)
    UPDATED: Final = 'u'  # created or last renewed (driver clock, seconds)
    EXPIRES: Final = 'e'  # when it expires (Date)


class SubscriptionField:
    """Fields of a ``subscriptions`` document."""

    PROJECT: Final = 'p'  # the project of the subscription
    SOURCE: Final = 's'  # the queue (or topic) name subscribed to
    SUBSCRIBER: Final = 'u'  # where to deliver (URL or mailto:)
    TTL: Final = 't'  # the subscription's TTL (seconds)
    UPDATED: Final = 'c'  # created or TTL last changed (driver clock, seconds)
    EXPIRES: Final = 'e'  # when it expires (Date)
    OPTIONS: Final = 'o'  # the options, as JSON text
    CONFIRMED: Final = 'k'  # whether the subscriber confirmed it (bool)


class IdempotencyField:
    """Fields of an ``idempotency`` document.

    A document is *pending* from the moment a post records the key until it
    is marked *done* (see :mod:`.idempotency`); the last two fields are only
    there while it is pending.
    """

    PROJECT: Final = 'p'  # the project of the queue posted to
    QUEUE: Final = 'q'  # the name of the queue posted to
    KEY: Final = 'k'  # the client's key
    FINGERPRINT: Final = 'f'  # the request's digest (binary)
    IDS: Final = 'i'  # the post's message ids, 16 bytes each (binary)
    EXPIRES: Final = 'e'  # when the key is forgotten (Date)
    DONE: Final = 'd'  # True once the post committed; absent while pending
    WRITER: Final = 'w'  # token of the post's current attempt; None before one
    STAMPED: Final = 't'  # when WRITER was last set (driver clock, seconds)


# Indexes that queries name in a hint, so that the two cannot drift apart.
CLAIMABLE_INDEX: Final = 'claimable'
HELD_INDEX: Final = 'held'
PENDING_INDEX: Final = 'pending'

# Every query the driver makes is served by one of these. TTL indexes
# (expireAfterSeconds=0) also let the server reclaim space by its own clock
# should no collector run; reads never rely on them: they filter expired
# documents by the driver's clock, and gc() deletes by it too.
INDEXES: dict[str, list[IndexModel]] = {
    'queues': [
        # Lookups, listing in name order, counting, and create's uniqueness.
        IndexModel(
            [(QueueField.PROJECT, ASCENDING), (QueueField.NAME, ASCENDING)],
            name='queue',
            unique=True,
        ),
    ],
    'counters': [
        IndexModel(
            [(CounterField.PROJECT, ASCENDING), (CounterField.QUEUE, ASCENDING)],
            name='queue',
            unique=True,
        ),
    ],
    'messages': [
        # Marker order for listing, stats and posts; uniqueness is what
        # keeps two posts from taking the same markers (see counters.py).
        IndexModel(
            [
                (MessageField.PROJECT, ASCENDING),
                (MessageField.QUEUE, ASCENDING),
                (MessageField.MARKER, ASCENDING),
            ],
            name='marker',
            unique=True,
        ),
        # Unclaimed messages in marker order: they have no claim expiry
        # (indexed as null, an equality, so the scan runs in marker order).
        IndexModel(
            [
                (MessageField.PROJECT, ASCENDING),
                (MessageField.QUEUE, ASCENDING),
                (MessageField.CLAIM_EXPIRES, ASCENDING),
                (MessageField.MARKER, ASCENDING),
            ],
            name=CLAIMABLE_INDEX,
        ),
        # Messages that record a claim, lapsed or not, in marker order: the
        # scan for lapsed claims reads these keys in marker order, checks
        # the claim expiry in the key and stops after as many as it wants,
        # instead of sorting every lapsed message in memory. Equality, sort,
        # then range fields, as MongoDB advises; partial (queries must repeat
        # the filter), so unclaimed messages take no room.
        IndexModel(
            [
                (MessageField.PROJECT, ASCENDING),
                (MessageField.QUEUE, ASCENDING),
                (MessageField.MARKER, ASCENDING),
                (MessageField.CLAIM_EXPIRES, ASCENDING),
            ],
            name=HELD_INDEX,
            partialFilterExpression={MessageField.CLAIM_EXPIRES: {'$exists': True}},
        ),
        # A claim's messages; sparse, as most messages record no claim.
        IndexModel([(MessageField.CLAIM_ID, ASCENDING)], name='claim', sparse=True),
        # Pending documents by the time they were stamped, for gc() to find
        # the ones left too long (see counters.py); sparse, as only posts in
        # flight and each queue's last batch carry a stamp.
        IndexModel(
            [(MessageField.PENDING_SINCE, ASCENDING)], name=PENDING_INDEX, sparse=True
        ),
        IndexModel(
            [(MessageField.EXPIRES, ASCENDING)], name='expiry', expireAfterSeconds=0
        ),
    ],
    'claims': [
        IndexModel(
            [(ClaimField.PROJECT, ASCENDING), (ClaimField.QUEUE, ASCENDING)],
            name='queue',
        ),
        IndexModel(
            [(ClaimField.EXPIRES, ASCENDING)], name='expiry', expireAfterSeconds=0
        ),
    ],
    'subscriptions': [
        # One document per subscriber of a source: what keeps two concurrent
        # creates (or updates) from both succeeding. It counts expired
        # documents too, so a write first deletes an expired one in its way
        # (see subscriptions.py).
        IndexModel(
            [
                (SubscriptionField.PROJECT, ASCENDING),
                (SubscriptionField.SOURCE, ASCENDING),
                (SubscriptionField.SUBSCRIBER, ASCENDING),
            ],
            name='subscriber',
            unique=True,
        ),
        # Listing a source's subscriptions in id (creation) order.
        IndexModel(
            [
                (SubscriptionField.PROJECT, ASCENDING),
                (SubscriptionField.SOURCE, ASCENDING),
                ('_id', ASCENDING),
            ],
            name='source',
        ),
        IndexModel(
            [(SubscriptionField.EXPIRES, ASCENDING)],
            name='expiry',
            expireAfterSeconds=0,
        ),
    ],
    'idempotency': [
        # One document per key of a queue: what makes one of two concurrent
        # posts with a key the one that stores messages. It counts expired
        # documents too, so a post first deletes an expired one in its way
        # (see idempotency.py).
        IndexModel(
            [
                (IdempotencyField.PROJECT, ASCENDING),
                (IdempotencyField.QUEUE, ASCENDING),
                (IdempotencyField.KEY, ASCENDING),
            ],
            name='key',
            unique=True,
        ),
        IndexModel(
            [(IdempotencyField.EXPIRES, ASCENDING)],
            name='expiry',
            expireAfterSeconds=0,
        ),
    ],
}

# An $unset of the fields of a message that only exist while its post or
# move is in flight.
PENDING_FIELDS: dict[str, Any] = {
    MessageField.PENDING_REVISION: '',
    MessageField.PENDING_WRITER: '',
    MessageField.PENDING_SINCE: '',
    MessageField.ORIGIN_QUEUE: '',
    MessageField.ORIGIN_MARKER: '',
}
