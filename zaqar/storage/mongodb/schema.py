"""Collections, documents and indexes of the MongoDB driver.

Field names are one or two letters: they are repeated in every document, and
MongoDB stores them in each one.

``queues``: one document per queue::

    {_id: ObjectId, p: project, n: name, m: metadata as JSON text}

``counters``: one document per queue that ever had a message; deleting the
queue keeps it, so markers are never reused (see :mod:`.counters`)::

    {_id: ObjectId, p: project, q: queue,
     v: highest committed marker, r: revision (+1 on every change),
     w: token of the post that made the last commit (None before any),
     b: value of v before the last commit,
     t: when it last changed (driver clock, seconds)}

``messages``: one document per message::

    {_id: 16-byte id, p: project, q: queue, k: marker,
     b: body as JSON text, t: reported TTL (seconds), c: created (driver
     clock, seconds), e: expires (Date), d: visible from (Date; only on
     delayed messages), u: the poster's client id,
     ci: id of the claim it records (absent when none), ce: that claim's
     expiry (Date; absent when none), cc: claim count (absent means 0),
     pr, pw, pt: pending stamp of the post that wrote it (revision read,
     token of the post's attempt, and when it was stamped, driver clock
     seconds; removed once the next post commits or gc() finds the
     queue idle),
     oq, ok: queue and marker a dead-letter move in flight came from}

``claims``: one document per claim::

    {_id: 16-byte id, p: project, q: queue, t: TTL, g: grace,
     u: created or last renewed (driver clock, seconds), e: expires (Date)}

Bodies and metadata are stored as JSON text rather than BSON documents: JSON
keys may start with ``$`` or contain dots, integers may exceed 64 bits, and
the driver never queries inside them. Ids are stored as 16 bytes rather than
32 hex digits, which halves them in documents and in every index entry.
Expiry times are BSON dates so that TTL indexes can use them.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo import IndexModel

# Every query the driver makes is served by one of these. TTL indexes
# (expireAfterSeconds=0) also let the server reclaim space by its own clock
# should no collector run; reads never rely on them: they filter expired
# documents by the driver's clock, and gc() deletes by it too.
INDEXES: dict[str, list[IndexModel]] = {
    'queues': [
        # Lookups, listing in name order, counting, and create's uniqueness.
        IndexModel([('p', ASCENDING), ('n', ASCENDING)], name='queue', unique=True),
    ],
    'counters': [
        IndexModel([('p', ASCENDING), ('q', ASCENDING)], name='queue', unique=True),
    ],
    'messages': [
        # Marker order for listing, stats and posts; uniqueness is what
        # keeps two posts from taking the same markers (see counters.py).
        IndexModel(
            [('p', ASCENDING), ('q', ASCENDING), ('k', ASCENDING)],
            name='marker',
            unique=True,
        ),
        # Unclaimed messages in marker order: they have no ``ce`` (indexed as
        # null, an equality, so the scan runs in marker order).
        IndexModel(
            [('p', ASCENDING), ('q', ASCENDING), ('ce', ASCENDING), ('k', ASCENDING)],
            name='claimable',
        ),
        # Messages that record a claim, lapsed or not, in marker order: the
        # scan for lapsed claims reads these keys in marker order, checks
        # ``ce`` in the key and stops after as many as it wants, instead of
        # sorting every lapsed message in memory. Equality, sort, then range
        # fields, as MongoDB advises; partial (queries must name the filter,
        # ``ce: {$exists: true}``), so unclaimed messages take no room.
        IndexModel(
            [('p', ASCENDING), ('q', ASCENDING), ('k', ASCENDING), ('ce', ASCENDING)],
            name='held',
            partialFilterExpression={'ce': {'$exists': True}},
        ),
        # A claim's messages; sparse, as most messages record no claim.
        IndexModel([('ci', ASCENDING)], name='claim', sparse=True),
        # Pending documents by the time they were stamped, for gc() to find
        # the ones left too long (see counters.py); sparse, as only posts in
        # flight and each queue's last batch carry a stamp.
        IndexModel([('pt', ASCENDING)], name='pending', sparse=True),
        IndexModel([('e', ASCENDING)], name='expiry', expireAfterSeconds=0),
    ],
    'claims': [
        IndexModel([('p', ASCENDING), ('q', ASCENDING)], name='queue'),
        IndexModel([('e', ASCENDING)], name='expiry', expireAfterSeconds=0),
    ],
}

# Fields of a message that only exist while its post or move is in flight.
PENDING_FIELDS: dict[str, Any] = {'pr': '', 'pw': '', 'pt': '', 'oq': '', 'ok': ''}
