"""Tables and indexes of the SQLite driver.

Every statement is idempotent (``IF NOT EXISTS``) and the driver runs them
all on its first connection to a database, so a database file that an
earlier version of zaqar made gains what was added since (the
``subscriptions`` table, for one) the first time this version opens it,
and keeps everything it holds. Hence the only schema change allowed is
appending statements: never alter or drop what earlier versions created
and still read.
"""

from __future__ import annotations

# NOTE: counters live apart from queues so that deleting a queue keeps its
# counter: a re-created queue continues after the last marker it gave out, and
# a reader holding an old marker never skips the new messages.
STATEMENTS = (
    """
    CREATE TABLE IF NOT EXISTS queues (
        project TEXT NOT NULL,
        name TEXT NOT NULL,
        metadata TEXT NOT NULL,
        PRIMARY KEY (project, name)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS counters (
        project TEXT NOT NULL,
        queue TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (project, queue)
    ) WITHOUT ROWID
    """,
    # visible_at is created + delay; claim_expires is 0 when never claimed or
    # released. claim_id stays after its claim expires (until released or
    # replaced) so a slow worker can still delete with the id it holds.
    """
    CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        queue TEXT NOT NULL,
        marker INTEGER NOT NULL,
        body TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        visible_at REAL NOT NULL,
        client_id TEXT NOT NULL,
        claim_id TEXT,
        claim_expires REAL NOT NULL DEFAULT 0,
        claim_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE UNIQUE INDEX IF NOT EXISTS messages_by_marker
        ON messages (project, queue, marker)
    """,
    'CREATE INDEX IF NOT EXISTS messages_by_claim ON messages (claim_id)',
    'CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires)',
    """
    CREATE TABLE IF NOT EXISTS claims (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        queue TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        grace INTEGER NOT NULL,
        updated REAL NOT NULL,
        expires REAL NOT NULL
    )
    """,
    'CREATE INDEX IF NOT EXISTS claims_by_expiry ON claims (expires)',
    # Subscriptions came after the tables above: appended, so that older
    # files gain them (see above). updated is when the TTL last (re)started:
    # creation or the last TTL change. The unique index keeps one row per
    # subscriber of a source, live or expired: a create or update first
    # deletes an expired row in its way, in the same write transaction.
    """
    CREATE TABLE IF NOT EXISTS subscriptions (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        source TEXT NOT NULL,
        subscriber TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        updated REAL NOT NULL,
        expires REAL NOT NULL,
        options TEXT NOT NULL,
        confirmed INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE UNIQUE INDEX IF NOT EXISTS subscriptions_by_subscriber
        ON subscriptions (project, source, subscriber)
    """,
    """
    CREATE INDEX IF NOT EXISTS subscriptions_by_source
        ON subscriptions (project, source, id)
    """,
    """
    CREATE INDEX IF NOT EXISTS subscriptions_by_expiry
        ON subscriptions (expires)
    """,
    # Idempotency keys came after subscriptions, appended likewise. One row
    # per key a post_once stored messages under, written in the same write
    # transaction as its messages; kept apart from queues so that deleting
    # or purging the queue keeps it, as the contract wants. ids are the
    # post's message ids, 16 bytes each (zaqar.storage.idempotency), and
    # fingerprint the request's digest.
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        project TEXT NOT NULL,
        queue TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint BLOB NOT NULL,
        ids BLOB NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (project, queue, key)
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry
        ON idempotency_keys (expires)
    """,
)
