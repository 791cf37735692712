"""Claims on SQLite.

A claim is a row in ``claims`` plus the ``claim_id``/``claim_expires``
columns of the messages it took; both are written in one transaction.
"""

from __future__ import annotations

import sqlite3

from zaqar.common import ids
from zaqar.common.queue_metadata import DeadLetterPolicy
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Claim
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.sqlite.common import LIVE
from zaqar.storage.sqlite.common import MESSAGE_COLUMNS
from zaqar.storage.sqlite.common import UNCLAIMED
from zaqar.storage.sqlite.common import VISIBLE
from zaqar.storage.sqlite.common import Controller
from zaqar.storage.sqlite.common import ensure_queue
from zaqar.storage.sqlite.common import load_metadata
from zaqar.storage.sqlite.common import message_from_row
from zaqar.storage.sqlite.common import reserve_markers

_IN_QUEUE = 'project = ? AND queue = ?'


class ClaimController(Controller, base.ClaimController):
    """Claims: create, read, renew and release."""

    def create(
        self, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Claim the oldest claimable messages, moving dead letters aside."""
        now = self._now()
        claim_id = ids.new_id()
        with self._driver.write() as connection:
            policy = DeadLetterPolicy.of(_queue_metadata(connection, queue, project))
            taken = _take_claimable(connection, queue, project, limit, now, policy)
            if not taken:
                return None
            connection.execute(
                'INSERT INTO claims (id, project, queue, ttl, grace, updated, expires) '
                'VALUES (?, ?, ?, ?, ?, ?, ?)',
                (claim_id, project, queue, ttl, grace, now, now + ttl),
            )
            connection.executemany(
                'UPDATE messages SET claim_count = claim_count + 1 WHERE id = ?',
                [(message_id,) for message_id in taken],
            )
            _apply_claim(connection, claim_id, taken, now, ttl, grace)
            messages = _claimed_messages(connection, claim_id, now)
        return Claim(id=claim_id, ttl=ttl, age=0, messages=messages)

    def get(self, queue: str, claim_id: str, project: str) -> Claim:
        """Return a live claim with its remaining messages."""
        now = self._now()
        with self._driver.read() as connection:
            row = _live_claim(connection, queue, claim_id, project, now)
            messages = _claimed_messages(connection, claim_id, now) if row else []
        if row is None or not messages:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        ttl, updated = row
        return Claim(
            id=claim_id, ttl=ttl, age=max(0, int(now - updated)), messages=messages
        )

    def update(
        self, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> None:
        """Renew a live claim from now, extending short-lived messages."""
        now = self._now()
        with self._driver.write() as connection:
            row = _live_claim(connection, queue, claim_id, project, now)
            held = [
                message.id for message in _claimed_messages(connection, claim_id, now)
            ]
            if row is None or not held:
                raise errors.ClaimDoesNotExist(claim_id, queue, project)
            connection.execute(
                'UPDATE claims SET ttl = ?, grace = ?, updated = ?, expires = ? '
                'WHERE id = ?',
                (ttl, grace, now, now + ttl, claim_id),
            )
            _apply_claim(connection, claim_id, held, now, ttl, grace)

    def delete(self, queue: str, claim_id: str, project: str) -> None:
        """Release the claim; its messages become claimable at once."""
        with self._driver.write() as connection:
            connection.execute(
                f'DELETE FROM claims WHERE id = ? AND {_IN_QUEUE}',
                (claim_id, project, queue),
            )
            # NOTE: also when the claim row is gone (expired and collected):
            # releasing must not depend on whether GC ran.
            connection.execute(
                f'UPDATE messages SET claim_id = NULL, claim_expires = 0 '
                f'WHERE claim_id = ? AND {_IN_QUEUE}',
                (claim_id, project, queue),
            )


def _queue_metadata(
    connection: sqlite3.Connection, queue: str, project: str
) -> Metadata:
    row = connection.execute(
        'SELECT metadata FROM queues WHERE project = ? AND name = ?', (project, queue)
    ).fetchone()
    return load_metadata(row[0] if row else None)


def _take_claimable(
    connection: sqlite3.Connection,
    queue: str,
    project: str,
    limit: int,
    now: float,
    policy: DeadLetterPolicy,
) -> list[str]:
    """Select up to ``limit`` claimable ids, dead-lettering exhausted ones.

    Dead-lettered messages leave the queue, so selection goes on past them
    until ``limit`` messages are taken or none is left. Only messages that
    were in the queue when the claim began are considered: a dead-letter
    queue naming the queue itself re-posts moved messages at its tail, and
    they must not be met again.
    """
    last = _last_marker(connection, queue, project)
    taken: list[str] = []
    after = 0
    while len(taken) < limit:
        wanted = limit - len(taken)
        rows = connection.execute(
            f'SELECT id, marker, ttl, claim_count FROM messages '
            f'WHERE {_IN_QUEUE} AND {LIVE} AND {UNCLAIMED} AND {VISIBLE} '
            f'AND marker > ? AND marker <= ? ORDER BY marker LIMIT ?',
            (project, queue, now, now, now, after, last, wanted),
        ).fetchall()
        for message_id, _, ttl, claim_count in rows:
            if policy.is_exhausted(claim_count):
                _move_to_dead_letter_queue(
                    connection, message_id, ttl, project, now, policy
                )
            else:
                taken.append(message_id)
        if len(rows) < wanted:
            break
        after = rows[-1][1]
    return taken


def _last_marker(connection: sqlite3.Connection, queue: str, project: str) -> int:
    row = connection.execute(
        'SELECT value FROM counters WHERE project = ? AND queue = ?', (project, queue)
    ).fetchone()
    return int(row[0]) if row else 0


def _move_to_dead_letter_queue(
    connection: sqlite3.Connection,
    message_id: str,
    ttl: int,
    project: str,
    now: float,
    policy: DeadLetterPolicy,
) -> None:
    assert policy.queue is not None
    ensure_queue(connection, policy.queue, project)
    marker = reserve_markers(connection, policy.queue, project, 1)
    new_ttl = policy.ttl or ttl
    connection.execute(
        'UPDATE messages SET queue = ?, marker = ?, ttl = ?, expires = ?, '
        'visible_at = ?, claim_id = NULL, claim_expires = 0, claim_count = 0 '
        'WHERE id = ?',
        (policy.queue, marker, new_ttl, now + new_ttl, now, message_id),
    )


def _apply_claim(
    connection: sqlite3.Connection,
    claim_id: str,
    message_ids: list[str],
    now: float,
    ttl: int,
    grace: int,
) -> None:
    """Mark messages as held until now + ttl; keep them alive past it.

    A message that would expire before its claim does lives on until the
    claim ends plus ``grace``, so a slow worker can still delete it.
    """
    claim_expires = now + ttl
    connection.executemany(
        'UPDATE messages SET claim_id = ?, claim_expires = ?, '
        'ttl = CASE WHEN expires < ? THEN ? ELSE ttl END, '
        'expires = CASE WHEN expires < ? THEN ? ELSE expires END '
        'WHERE id = ?',
        [
            (
                claim_id,
                claim_expires,
                claim_expires,
                ttl + grace,
                claim_expires,
                claim_expires + grace,
                message_id,
            )
            for message_id in message_ids
        ],
    )


def _live_claim(
    connection: sqlite3.Connection, queue: str, claim_id: str, project: str, now: float
) -> tuple[int, float] | None:
    row: tuple[int, float] | None = connection.execute(
        f'SELECT ttl, updated FROM claims WHERE id = ? AND {_IN_QUEUE} AND expires > ?',
        (claim_id, project, queue, now),
    ).fetchone()
    return row


def _claimed_messages(
    connection: sqlite3.Connection, claim_id: str, now: float
) -> list[Message]:
    rows = connection.execute(
        f'SELECT {MESSAGE_COLUMNS} FROM messages '
        f'WHERE claim_id = ? AND claim_expires > ? AND {LIVE} ORDER BY marker',
        (claim_id, now, now),
    ).fetchall()
    return [message_from_row(row, now) for row in rows]
