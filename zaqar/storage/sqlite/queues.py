"""Queues on SQLite."""

from __future__ import annotations

import sqlite3

from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import Metadata
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.rules import metadata_matches
from zaqar.storage.sqlite.common import LIVE
from zaqar.storage.sqlite.common import UNCLAIMED
from zaqar.storage.sqlite.common import Controller
from zaqar.storage.sqlite.common import dump_metadata
from zaqar.storage.sqlite.common import load_metadata
from zaqar.storage.sqlite.common import select_metadata

# Rows read per round when metadata filters are applied in Python.
_FILTER_BATCH = 100


class QueueController(Controller, base.QueueController):
    """Queues: one row each, metadata as JSON text."""

    def create(self, name: str, metadata: Metadata, project: str) -> bool:
        """Create the queue unless it exists; True if created."""
        with self._driver.write() as connection:
            cursor = connection.execute(
                'INSERT INTO queues (project, name, metadata) VALUES (?, ?, ?) '
                'ON CONFLICT DO NOTHING',
                (project, name, dump_metadata(metadata)),
            )
            return cursor.rowcount == 1

    def exists(self, name: str, project: str) -> bool:
        """Tell whether the queue exists."""
        with self._driver.read() as connection:
            return select_metadata(connection, name, project) is not None

    def get_metadata(self, name: str, project: str) -> Metadata:
        """Return the stored metadata; QueueDoesNotExist if missing."""
        with self._driver.read() as connection:
            text = select_metadata(connection, name, project)
        if text is None:
            raise errors.QueueDoesNotExist(name, project)
        return load_metadata(text)

    def set_metadata(
        self,
        name: str,
        metadata: Metadata,
        project: str,
        expected: Metadata | None = None,
    ) -> None:
        """Replace the stored metadata, if still ``expected`` when given."""
        with self._driver.write() as connection:
            stored = select_metadata(connection, name, project)
            if stored is None:
                raise errors.QueueDoesNotExist(name, project)
            if expected is not None and load_metadata(stored) != expected:
                raise errors.MetadataConflict(name, project)
            connection.execute(
                'UPDATE queues SET metadata = ? WHERE project = ? AND name = ?',
                (dump_metadata(metadata), project, name),
            )

    def delete(self, name: str, project: str) -> None:
        """Delete the queue, its messages and claims; keep its counter."""
        with self._driver.write() as connection:
            for table, column in (
                ('queues', 'name'),
                ('messages', 'queue'),
                ('claims', 'queue'),
            ):
                connection.execute(
                    f'DELETE FROM {table} WHERE project = ? AND {column} = ?',
                    (project, name),
                )

    def list(
        self,
        project: str,
        marker: str | None = None,
        limit: int = 10,
        detailed: bool = False,
        name_contains: str | None = None,
        metadata_filter: Metadata | None = None,
    ) -> list[QueueInfo]:
        """List queues by name after ``marker``, filtered."""
        found: list[QueueInfo] = []
        after = marker or ''
        batch = _FILTER_BATCH if metadata_filter else limit
        with self._driver.read() as connection:
            while len(found) < limit:
                rows = _select_names(connection, project, after, name_contains, batch)
                for name, text in rows:
                    metadata = load_metadata(text)
                    if (
                        metadata_matches(metadata, metadata_filter)
                        and len(found) < limit
                    ):
                        found.append(QueueInfo(name, metadata if detailed else None))
                if len(rows) < batch:
                    break
                after = rows[-1][0]
        return found

    def count(self, project: str) -> int:
        """Return how many queues the project has."""
        with self._driver.read() as connection:
            (total,) = connection.execute(
                'SELECT COUNT(*) FROM queues WHERE project = ?', (project,)
            ).fetchone()
        return int(total)

    def stats(self, name: str, project: str) -> QueueStats:
        """Count live messages as claimed or free; find oldest and newest."""
        now = self._now()
        where = f'project = ? AND queue = ? AND {LIVE}'
        params = (project, name, now)
        with self._driver.read() as connection:
            total, free = connection.execute(
                f'SELECT COUNT(*), COALESCE(SUM({UNCLAIMED}), 0) '
                f'FROM messages WHERE {where}',
                (now, *params),
            ).fetchone()
            ends = [
                connection.execute(
                    f'SELECT id, created FROM messages WHERE {where} '
                    f'ORDER BY marker {order} LIMIT 1',
                    params,
                ).fetchone()
                for order in ('ASC', 'DESC')
            ]
        oldest, newest = (_summary(row, now) for row in ends)
        return QueueStats(free=free, claimed=total - free, oldest=oldest, newest=newest)


def _select_names(
    connection: sqlite3.Connection,
    project: str,
    after: str,
    name_contains: str | None,
    limit: int,
) -> list[tuple[str, str]]:
    query = 'SELECT name, metadata FROM queues WHERE project = ? AND name > ?'
    params: list[object] = [project, after]
    if name_contains:
        # instr() rather than LIKE: case-sensitive and no wildcards to escape.
        query += ' AND instr(name, ?) > 0'
        params.append(name_contains)
    query += ' ORDER BY name LIMIT ?'
    params.append(limit)
    return connection.execute(query, params).fetchall()


def _summary(row: tuple[str, float] | None, now: float) -> MessageSummary | None:
    if row is None:
        return None
    message_id, created = row
    return MessageSummary(
        id=message_id, age=max(0, int(now - created)), created=created
    )
