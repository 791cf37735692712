"""Messages on SQLite."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import claim_rule
from zaqar.storage import errors
from zaqar.storage.idempotency import pack_ids
from zaqar.storage.idempotency import unpack_ids
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.sqlite.common import LIVE
from zaqar.storage.sqlite.common import MESSAGE_COLUMNS
from zaqar.storage.sqlite.common import UNCLAIMED
from zaqar.storage.sqlite.common import VISIBLE
from zaqar.storage.sqlite.common import Controller
from zaqar.storage.sqlite.common import dump_metadata
from zaqar.storage.sqlite.common import ensure_queue
from zaqar.storage.sqlite.common import message_from_row
from zaqar.storage.sqlite.common import reserve_markers
from zaqar.storage.sqlite.common import select_metadata

_IN_QUEUE = 'project = ? AND queue = ?'
# The same test, for a query that names its messages by id: the unary +
# keeps SQLite from using the queue's marker index for it, which its planner
# prefers for more than a few ids and which reads the whole queue, instead
# of looking each id up by primary key.
_BY_ID_IN_QUEUE = '+project = ? AND +queue = ?'


class MessageController(Controller, base.MessageController):
    """Messages: one row each, ordered within a queue by marker."""

    def post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str]:
        """Insert all messages with consecutive markers in one transaction."""
        now = self._now()
        with self._driver.write() as connection:
            self._driver.sweep_in_passing(connection)
            return _insert(connection, queue, messages, project, client_id, now)

    def post_checked(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata,
    ) -> list[str]:
        """Compare the metadata and insert, in one write transaction."""
        now = self._now()
        with self._driver.write() as connection:
            stored = select_metadata(connection, queue, project)
            if (stored or dump_metadata({})) != dump_metadata(metadata):
                raise errors.MetadataChanged(queue)
            self._driver.sweep_in_passing(connection)
            return _insert(connection, queue, messages, project, client_id, now)

    def post_once(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str]:
        """Look the key up, then post and record it, in one transaction.

        ``BEGIN IMMEDIATE`` makes the lookup, the inserts and the key's row
        one atomic step that holds the write lock: a concurrent post with
        the same key, in any process, waits for it (up to the busy timeout)
        and then finds the key. So no post is ever "in flight" to another.
        """
        now = self._now()
        key = idempotency_key
        with self._driver.write() as connection:
            self._driver.sweep_in_passing(connection)
            found = connection.execute(
                f'SELECT fingerprint, ids FROM idempotency_keys '
                f'WHERE {_IN_QUEUE} AND key = ? AND expires > ?',
                (project, queue, key.key, now),
            ).fetchone()
            if found is not None:
                if bytes(found[0]) != key.fingerprint:
                    raise errors.IdempotencyKeyReused(queue)
                return unpack_ids(bytes(found[1]))
            message_ids = _insert(connection, queue, messages, project, client_id, now)
            # REPLACE: an expired row of the key that gc() has not removed.
            connection.execute(
                'INSERT OR REPLACE INTO idempotency_keys '
                '(project, queue, key, fingerprint, ids, expires) '
                'VALUES (?, ?, ?, ?, ?, ?)',
                (
                    project,
                    queue,
                    key.key,
                    key.fingerprint,
                    pack_ids(message_ids),
                    now + key.window,
                ),
            )
        return message_ids

    def get_many(
        self, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message]:
        """Return the live messages among ``message_ids``."""
        now = self._now()
        wanted = sorted(set(message_ids))
        with self._driver.read() as connection:
            rows = connection.execute(
                f'SELECT {MESSAGE_COLUMNS} FROM messages '
                f'WHERE {_BY_ID_IN_QUEUE} AND {LIVE} AND id IN ({_marks(wanted)}) '
                f'ORDER BY marker',
                (project, queue, now, *wanted),
            ).fetchall()
        return [message_from_row(row, now) for row in rows]

    def delete(
        self,
        queue: str,
        message_id: str,
        project: str,
        claim_id: str | None = None,
    ) -> None:
        """Delete one message if its claim allows it (see the contract)."""
        if claim_id is not None and not ids.is_valid_id(claim_id):
            raise errors.InvalidClaimId(claim_id)
        now = self._now()
        with self._driver.write() as connection:
            row = connection.execute(
                f'SELECT claim_id, claim_expires FROM messages '
                f'WHERE id = ? AND {_IN_QUEUE} AND {LIVE}',
                (message_id, project, queue, now),
            ).fetchone()
            if row is None:
                return
            state = claim_rule.ClaimState(recorded=row[0], claimed=row[1] > now)
            error = claim_rule.delete_refusal(message_id, state, claim_id)
            if error is not None:
                raise error
            connection.execute('DELETE FROM messages WHERE id = ?', (message_id,))

    def delete_many(
        self,
        queue: str,
        message_ids: Sequence[str],
        project: str,
        claim_ids: Sequence[str] | None = None,
    ) -> None:
        """Delete the listed messages; with ``claim_ids``, all or none.

        The claim check and the delete are one write transaction, so no
        claim taken or released meanwhile can slip between them.
        """
        quoted = None if claim_ids is None else claim_rule.checked_claim_ids(claim_ids)
        wanted = sorted(set(message_ids))
        with self._driver.write() as connection:
            if quoted is not None:
                found = _claim_states(connection, queue, wanted, project, self._now())
                claim_rule.check_held(message_ids, found, quoted)
            connection.execute(
                f'DELETE FROM messages '
                f'WHERE {_BY_ID_IN_QUEUE} AND id IN ({_marks(wanted)})',
                (project, queue, *wanted),
            )

    def pop(self, queue: str, limit: int, project: str) -> list[Message]:
        """Remove and return up to ``limit`` unclaimed messages, oldest first."""
        now = self._now()
        with self._driver.write() as connection:
            rows = connection.execute(
                f'SELECT {MESSAGE_COLUMNS} FROM messages '
                f'WHERE {_IN_QUEUE} AND {LIVE} AND {UNCLAIMED} '
                f'ORDER BY marker LIMIT ?',
                (project, queue, now, now, limit),
            ).fetchall()
            _delete_ids(connection, [row[0] for row in rows])
        return [message_from_row(row, now) for row in rows]

    def purge(self, queue: str, project: str) -> None:
        """Delete every message and claim of the queue."""
        with self._driver.write() as connection:
            for table in ('messages', 'claims'):
                connection.execute(
                    f'DELETE FROM {table} WHERE {_IN_QUEUE}', (project, queue)
                )

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
        """List live messages after ``marker`` in marker order."""
        now = self._now()
        query = f'SELECT {MESSAGE_COLUMNS} FROM messages WHERE {_IN_QUEUE} AND {LIVE}'
        params: list[object] = [project, queue, now]
        if marker is not None:
            query += ' AND marker > ?'
            params.append(marker)
        if not include_claimed:
            query += f' AND {UNCLAIMED}'
            params.append(now)
        if not include_delayed:
            query += f' AND {VISIBLE}'
            params.append(now)
        if not echo:
            query += ' AND client_id != ?'
            params.append(client_id)
        query += ' ORDER BY marker LIMIT ?'
        params.append(limit)
        with self._driver.read() as connection:
            rows = connection.execute(query, params).fetchall()
        return [message_from_row(row, now) for row in rows]


def _insert(
    connection: sqlite3.Connection,
    queue: str,
    messages: Sequence[NewMessage],
    project: str,
    client_id: str,
    now: float,
) -> list[str]:
    """Insert messages with the queue's next markers; return their new ids.

    Must run inside a write transaction (see ``reserve_markers``).
    """
    # NOTE: ids that grow with time: random ones land all over the primary
    # key's B-tree, and once a deep queue's index outgrows SQLite's page
    # cache every insert reads pages of its own.
    message_ids = ids.new_ordered_ids(len(messages), now)
    ensure_queue(connection, queue, project)
    first = reserve_markers(connection, queue, project, len(messages))
    connection.executemany(
        'INSERT INTO messages (id, project, queue, marker, body, ttl, '
        'created, expires, visible_at, client_id) '
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
            (
                message_id,
                project,
                queue,
                first + offset,
                json.dumps(message.body),
                message.ttl,
                now,
                now + message.ttl,
                now + message.delay,
                client_id,
            )
            for offset, (message_id, message) in enumerate(
                zip(message_ids, messages, strict=True)
            )
        ],
    )
    return message_ids


def _claim_states(
    connection: sqlite3.Connection,
    queue: str,
    message_ids: list[str],
    project: str,
    now: float,
) -> dict[str, claim_rule.ClaimState]:
    """The claim state of each live message among ``message_ids``, by id."""
    rows = connection.execute(
        f'SELECT id, claim_id, claim_expires FROM messages '
        f'WHERE {_BY_ID_IN_QUEUE} AND {LIVE} AND id IN ({_marks(message_ids)})',
        (project, queue, now, *message_ids),
    ).fetchall()
    return {
        message_id: claim_rule.ClaimState(recorded=claim_id, claimed=expires > now)
        for message_id, claim_id, expires in rows
    }


def _delete_ids(connection: sqlite3.Connection, message_ids: list[str]) -> None:
    connection.execute(
        f'DELETE FROM messages WHERE id IN ({_marks(message_ids)})', message_ids
    )


def _marks(values: Sequence[object]) -> str:
    """Return the ``?`` placeholders for an IN list of ``values``."""
    return ', '.join('?' * len(values))
