"""Tables and indexes of the SQLite driver."""

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
)
