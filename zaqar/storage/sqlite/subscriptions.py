"""Subscriptions on SQLite.

One row each. Writes run in one write transaction (``BEGIN IMMEDIATE``),
which serializes them across threads and processes: a create's check for a
live duplicate and its insert cannot be split by another create. The unique
index on ``(project, source, subscriber)`` backs that up; it also covers
expired rows, so a write first deletes an expired row in its way.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Metadata
from zaqar.storage.models import Subscription
from zaqar.storage.sqlite.common import LIVE
from zaqar.storage.sqlite.common import Controller

_COLUMNS = 'id, source, subscriber, ttl, updated, options, confirmed'
_OF_SOURCE = 'project = ? AND source = ?'
# One subscription of the source, if live; takes the id, project, source, now.
_LIVE_ONE = f'id = ? AND {_OF_SOURCE} AND {LIVE}'


class SubscriptionController(Controller, base.SubscriptionController):
    """Subscriptions: create, read, change, confirm, delete and list."""

    def create(
        self,
        source: str,
        subscriber: str,
        ttl: int,
        options: Metadata,
        project: str,
    ) -> str:
        """Insert an unconfirmed subscription unless a live one has the subscriber."""
        now = self._now()
        subscription_id = ids.new_ordered_id(now)
        with self._driver.write() as connection:
            _make_room_for(connection, project, source, subscriber, now)
            connection.execute(
                'INSERT INTO subscriptions (id, project, source, subscriber, ttl, '
                'updated, expires, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                (
                    subscription_id,
                    project,
                    source,
                    subscriber,
                    ttl,
                    now,
                    now + ttl,
                    json.dumps(options),
                ),
            )
        return subscription_id

    def get(self, source: str, subscription_id: str, project: str) -> Subscription:
        """Return the live subscription; SubscriptionDoesNotExist if none."""
        now = self._now()
        with self._driver.read() as connection:
            found = _live(connection, project, source, subscription_id, now)
        if found is None:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        return found

    def update(
        self,
        source: str,
        subscription_id: str,
        project: str,
        subscriber: str | None = None,
        ttl: int | None = None,
        options: Metadata | None = None,
    ) -> None:
        """Change what is given; a new TTL counts from now."""
        now = self._now()
        changes: dict[str, Any] = {}
        if ttl is not None:
            changes.update(ttl=ttl, updated=now, expires=now + ttl)
        if options is not None:
            changes['options'] = json.dumps(options)
        with self._driver.write() as connection:
            current = _live(connection, project, source, subscription_id, now)
            if current is None:
                raise errors.SubscriptionDoesNotExist(subscription_id)
            if subscriber is not None and subscriber != current.subscriber:
                _make_room_for(connection, project, source, subscriber, now)
                changes['subscriber'] = subscriber
            if changes:
                assignments = ', '.join(f'{column} = ?' for column in changes)
                connection.execute(
                    f'UPDATE subscriptions SET {assignments} WHERE id = ?',
                    (*changes.values(), subscription_id),
                )

    def confirm(
        self, source: str, subscription_id: str, project: str, confirmed: bool
    ) -> None:
        """Record whether the subscriber confirmed the subscription."""
        now = self._now()
        with self._driver.write() as connection:
            cursor = connection.execute(
                f'UPDATE subscriptions SET confirmed = ? WHERE {_LIVE_ONE}',
                (int(confirmed), subscription_id, project, source, now),
            )
            if cursor.rowcount == 0:
                raise errors.SubscriptionDoesNotExist(subscription_id)

    def delete(self, source: str, subscription_id: str, project: str) -> None:
        """Delete the subscription if the source has it."""
        with self._driver.write() as connection:
            connection.execute(
                f'DELETE FROM subscriptions WHERE id = ? AND {_OF_SOURCE}',
                (subscription_id, project, source),
            )

    def purge(self, source: str, project: str) -> None:
        """Delete every subscription of the source, live or expired."""
        with self._driver.write() as connection:
            connection.execute(
                f'DELETE FROM subscriptions WHERE {_OF_SOURCE}', (project, source)
            )

    def list(
        self,
        source: str,
        project: str,
        marker: str | None = None,
        limit: int = 10,
    ) -> list[Subscription]:
        """List live subscriptions with an id after ``marker``, by id."""
        if limit <= 0:
            return []  # NOTE: SQLite reads a negative LIMIT as "no limit".
        now = self._now()
        with self._driver.read() as connection:
            rows = connection.execute(
                f'SELECT {_COLUMNS} FROM subscriptions '
                f'WHERE {_OF_SOURCE} AND id > ? AND {LIVE} ORDER BY id LIMIT ?',
                (project, source, marker or '', now, limit),
            ).fetchall()
        return [_subscription(row, now) for row in rows]


def _make_room_for(
    connection: sqlite3.Connection,
    project: str,
    source: str,
    subscriber: str,
    now: float,
) -> None:
    """Clear the way for ``subscriber`` in the source, inside a write.

    An expired subscription with that subscriber is deleted (it must not
    block a new one, and the unique index counts it); a live one is raised.

    Raises:
        SubscriptionAlreadyExists: A live subscription has the subscriber.
    """
    connection.execute(
        f'DELETE FROM subscriptions WHERE {_OF_SOURCE} AND subscriber = ? '
        f'AND expires <= ?',
        (project, source, subscriber, now),
    )
    row = connection.execute(
        f'SELECT {_COLUMNS} FROM subscriptions WHERE {_OF_SOURCE} AND subscriber = ?',
        (project, source, subscriber),
    ).fetchone()
    if row is not None:
        raise errors.SubscriptionAlreadyExists(_subscription(row, now))


def _live(
    connection: sqlite3.Connection,
    project: str,
    source: str,
    subscription_id: str,
    now: float,
) -> Subscription | None:
    """The live subscription ``subscription_id`` of the source, or None."""
    row = connection.execute(
        f'SELECT {_COLUMNS} FROM subscriptions WHERE {_LIVE_ONE}',
        (subscription_id, project, source, now),
    ).fetchone()
    return None if row is None else _subscription(row, now)


def _subscription(row: tuple[Any, ...], now: float) -> Subscription:
    """Build a Subscription from a row selected with _COLUMNS."""
    subscription_id, source, subscriber, ttl, updated, options, confirmed = row
    return Subscription(
        id=subscription_id,
        source=source,
        subscriber=subscriber,
        ttl=ttl,
        age=max(0, int(now - updated)),
        options=json.loads(options),
        confirmed=bool(confirmed),
    )
