"""Subscriptions on MongoDB: one document each, the id as ``_id``.

A source has at most one live subscription per subscriber because the
unique index on ``(project, source, subscriber)`` refuses a second document:
of two concurrent creates (or updates to one subscriber), in any number of
processes, one write fails with a duplicate key. The index counts expired
documents too, until gc() (or the TTL index) removes them: a write refused
for a duplicate key looks for the live holder of the subscriber, and
reports it; when there is none, it deletes the expired holder in its way
and tries again. That delete matches only a document expired by the
driver's clock, so it never removes a live one, and a write that takes the
subscriber in between wins: the retry is refused again and reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Metadata
from zaqar.storage.models import Subscription
from zaqar.storage.mongodb.common import Controller
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import dump_json
from zaqar.storage.mongodb.common import load_document
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.common import translate_errors
from zaqar.storage.mongodb.schema import SubscriptionField as Field

_R = TypeVar('_R')


class SubscriptionController(Controller, base.SubscriptionController):
    """Subscriptions: create, read, change, confirm, delete and list."""

    @translate_errors
    def create(
        self,
        source: str,
        subscriber: str,
        ttl: int,
        options: Metadata,
        project: str,
    ) -> str:
        """Insert an unconfirmed subscription unless a live one has the subscriber."""
        subscriptions = self._subscriptions()
        now = self._now()

        def insert() -> str:
            subscription_id = ids.new_ordered_id(now)
            subscriptions.insert_one(
                {
                    '_id': subscription_id,
                    Field.PROJECT: project,
                    Field.SOURCE: source,
                    Field.SUBSCRIBER: subscriber,
                    Field.OPTIONS: dump_json(options),
                    Field.CONFIRMED: False,
                    **_ttl_fields(ttl, now),
                }
            )
            return subscription_id

        return self._give_subscriber(insert, project, source, subscriber, now)

    @translate_errors
    def get(self, source: str, subscription_id: str, project: str) -> Subscription:
        """Return the live subscription; SubscriptionDoesNotExist if none."""
        now = self._now()
        document = self._subscriptions().find_one(
            _live(subscription_id, project, source, now)
        )
        if document is None:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        return _subscription(document, now)

    @translate_errors
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
        subscriptions = self._subscriptions()
        now = self._now()
        where = _live(subscription_id, project, source, now)
        changes: Document = {} if ttl is None else _ttl_fields(ttl, now)
        if options is not None:
            changes[Field.OPTIONS] = dump_json(options)
        if subscriber is None:
            _update(subscriptions, where, changes, subscription_id)
            return
        changes[Field.SUBSCRIBER] = subscriber
        self._give_subscriber(
            lambda: _update(subscriptions, where, changes, subscription_id),
            project,
            source,
            subscriber,
            now,
        )

    @translate_errors
    def confirm(
        self, source: str, subscription_id: str, project: str, confirmed: bool
    ) -> None:
        """Record whether the subscriber confirmed the subscription."""
        where = _live(subscription_id, project, source, self._now())
        _update(
            self._subscriptions(), where, {Field.CONFIRMED: confirmed}, subscription_id
        )

    @translate_errors
    def delete(self, source: str, subscription_id: str, project: str) -> None:
        """Delete the subscription if the source has it."""
        self._subscriptions().delete_one(
            {'_id': subscription_id, **_of_source(project, source)}
        )

    @translate_errors
    def purge(self, source: str, project: str) -> None:
        """Delete every subscription of the source, live or expired."""
        self._subscriptions().delete_many(_of_source(project, source))

    @translate_errors
    def list(
        self,
        source: str,
        project: str,
        marker: str | None = None,
        limit: int = 10,
    ) -> list[Subscription]:
        """List live subscriptions with an id after ``marker``, by id."""
        if limit <= 0:
            return []  # NOTE: pymongo reads a limit of 0 as "no limit".
        now = self._now()
        query: Document = {
            **_of_source(project, source),
            Field.EXPIRES: {'$gt': to_date(now)},
        }
        if marker:
            query['_id'] = {'$gt': marker}
        documents = self._subscriptions().find(
            query, sort=[('_id', ASCENDING)], limit=limit
        )
        return [_subscription(document, now) for document in documents]

    def _subscriptions(self) -> Collection[Document]:
        return self._collections().subscriptions

    def _give_subscriber(
        self,
        write: Callable[[], _R],
        project: str,
        source: str,
        subscriber: str,
        now: float,
    ) -> _R:
        """Run ``write``, which gives ``subscriber`` a subscription of the source.

        A write refused for a duplicate key makes room (see _make_room) and
        runs again, at most ``max_attempts`` times in all.

        Raises:
            SubscriptionAlreadyExists: A live subscription has the subscriber.
            StorageUnavailable: Every attempt was refused.
        """
        for _ in range(self._driver.max_attempts):
            try:
                return write()
            except DuplicateKeyError:
                _make_room(self._subscriptions(), project, source, subscriber, now)
        raise errors.StorageUnavailable(
            f'The subscription of {subscriber} keeps changing; try again'
        )


def _update(
    subscriptions: Collection[Document],
    where: Document,
    changes: Document,
    subscription_id: str,
) -> None:
    """Apply ``changes`` to the document ``where`` selects, which must exist.

    Raises:
        SubscriptionDoesNotExist: ``where`` selects nothing.
        DuplicateKeyError: The change would give the source a second
            document with one subscriber.
    """
    if changes:
        found = subscriptions.update_one(where, {'$set': changes}).matched_count > 0
    else:
        # NOTE: an empty $set is an error on the server; nothing to change.
        found = subscriptions.find_one(where, {'_id': 1}) is not None
    if not found:
        raise errors.SubscriptionDoesNotExist(subscription_id)


def _make_room(
    subscriptions: Collection[Document],
    project: str,
    source: str,
    subscriber: str,
    now: float,
) -> None:
    """After a duplicate key: report or clear the holder of ``subscriber``.

    A live holder is reported; an expired one is deleted, as it must not
    block a new subscription.

    Returns when no live subscription holds it, so that the caller tries
    again (the holder may also have been deleted since).

    Raises:
        SubscriptionAlreadyExists: A live subscription has the subscriber.
    """
    holder = {**_of_source(project, source), Field.SUBSCRIBER: subscriber}
    document = subscriptions.find_one({**holder, Field.EXPIRES: {'$gt': to_date(now)}})
    if document is not None:
        raise errors.SubscriptionAlreadyExists(_subscription(document, now))
    subscriptions.delete_one({**holder, Field.EXPIRES: {'$lte': to_date(now)}})


def _ttl_fields(ttl: int, now: float) -> Document:
    """The fields a TTL that starts ``now`` sets."""
    return {
        Field.TTL: ttl,
        Field.UPDATED: now,
        Field.EXPIRES: to_date(now + ttl),
    }


def _of_source(project: str, source: str) -> Document:
    """Filter for the source's subscriptions."""
    return {Field.PROJECT: project, Field.SOURCE: source}


def _live(subscription_id: str, project: str, source: str, now: float) -> Document:
    """Filter for one live subscription of the source."""
    return {
        '_id': subscription_id,
        **_of_source(project, source),
        Field.EXPIRES: {'$gt': to_date(now)},
    }


def _subscription(document: Document, now: float) -> Subscription:
    return Subscription(
        id=document['_id'],
        source=document[Field.SOURCE],
        subscriber=document[Field.SUBSCRIBER],
        ttl=document[Field.TTL],
        age=max(0, int(now - document[Field.UPDATED])),
        options=load_document(document[Field.OPTIONS]),
        confirmed=bool(document[Field.CONFIRMED]),
    )
