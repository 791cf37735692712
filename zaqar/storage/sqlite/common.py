"""Helpers shared by the SQLite controllers: base class, rows, counters."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING
from typing import Any

from zaqar.storage.models import Message
from zaqar.storage.models import Metadata

if TYPE_CHECKING:
    from zaqar.storage.sqlite.driver import SqliteDriver

MESSAGE_COLUMNS = 'id, marker, ttl, created, body, claim_id, claim_expires, claim_count'

# SQL conditions; each takes ``now`` as its one parameter.
LIVE = 'expires > ?'
UNCLAIMED = '(claim_id IS NULL OR claim_expires <= ?)'
VISIBLE = 'visible_at <= ?'


class Controller:
    """Base of the SQLite controllers: holds the driver."""

    def __init__(self, driver: SqliteDriver) -> None:
        self._driver = driver

    def _now(self) -> float:
        return self._driver.clock.now()


def message_from_row(row: sqlite3.Row | tuple[Any, ...], now: float) -> Message:
    """Build a Message from a row selected with MESSAGE_COLUMNS."""
    message_id, marker, ttl, created, body, claim_id, claim_expires, count = row
    return Message(
        id=message_id,
        marker=marker,
        ttl=ttl,
        age=max(0, int(now - created)),
        body=json.loads(body),
        created=created,
        claim_id=claim_id if claim_expires > now else None,
        claim_count=count,
    )


def ensure_queue(connection: sqlite3.Connection, name: str, project: str) -> bool:
    """Create the queue with empty metadata if missing; True if created."""
    cursor = connection.execute(
        'INSERT INTO queues (project, name, metadata) VALUES (?, ?, ?) '
        'ON CONFLICT DO NOTHING',
        (project, name, '{}'),
    )
    return cursor.rowcount == 1


def reserve_markers(
    connection: sqlite3.Connection, queue: str, project: str, count: int
) -> int:
    """Advance the queue's counter by ``count``; return the first new value.

    Must run inside a write transaction, which makes the reservation atomic
    with the inserts that use it.
    """
    (last,) = connection.execute(
        'INSERT INTO counters (project, queue, value) VALUES (?, ?, ?) '
        'ON CONFLICT (project, queue) DO UPDATE SET value = value + excluded.value '
        'RETURNING value',
        (project, queue, count),
    ).fetchone()
    return int(last) - count + 1


def load_metadata(text: str | None) -> Metadata:
    """Decode stored queue metadata; a missing queue has none."""
    metadata: Metadata = json.loads(text) if text else {}
    return metadata
