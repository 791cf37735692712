"""mongomock, adapted to answer the MongoDB driver as a server does.

No MongoDB server can be installed on our machines, so without one the
MongoDB driver's tests run on mongomock, an in-process imitation of
pymongo. Wherever mongomock answers differently from a server, the
difference is made up here, in the tests, and never in the driver, whose
code is what a real server needs. :func:`new_database` is the only way the
tests build a mongomock database. What it adapts:

* Atomicity. A server applies each single-document write atomically,
  whatever the number of client threads. mongomock does not: it checks a
  unique index and then inserts, or reads a document and then writes it
  back, so two threads can both pass the check. Every call on a collection
  here runs under one lock, and cursors are read before the lock is
  released. That is stronger than a server (a multi-document update is
  atomic as a whole here, one document at a time there); the driver never
  relies on it.
* Index hints. mongomock refuses the ``hint`` keyword; a server plans the
  query on the index it names, and refuses a name no index has. Here the
  hint is checked, then dropped: it must name an index of the collection
  (refused as a server would otherwise), and a query hinted at a partial
  index must repeat that index's filter, without which the index cannot
  serve it.
* Grouping nothing. On a server, a ``$group`` stage of no documents makes
  no group, even one by ``_id: None``; mongomock makes one group of empty
  accumulators (a count of 0, firsts and lasts of None).
* The topology. A pymongo client describes the servers it knows or was
  given (``topology_description``), which mongomock's client cannot; here
  it describes mongomock's one address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import mongomock
import pymongo.errors
from pymongo import IndexModel

_CURSORS = (mongomock.collection.Cursor, mongomock.command_cursor.CommandCursor)

Document = dict[str, Any]


def new_database(name: str = 'zaqar') -> StandInDatabase:
    """A new, empty mongomock database, adapted as the module docstring says."""
    return StandInDatabase(mongomock.MongoClient()[name])


class StandInDatabase:
    """A mongomock database whose collections answer as a server's do."""

    def __init__(self, database: Any) -> None:
        self._database = database
        self.client = StandInClient(database.client)
        self.lock = threading.RLock()
        # The partial indexes' filters, by collection and index name:
        # mongomock keeps no partialFilterExpression of its own.
        self.partial_filters: dict[tuple[str, str], Document] = {}

    def __getitem__(self, name: str) -> StandInCollection:
        return StandInCollection(self, self._database[name])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)


class StandInClient:
    """A mongomock client that describes its topology as pymongo's does."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def topology_description(self) -> _Topology:
        return _Topology(tuple(self._client.address))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Topology:
    """The part of pymongo's TopologyDescription the driver reads."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address

    def server_descriptions(self) -> dict[tuple[str, int], None]:
        return {self._address: None}


class StandInCollection:
    """A mongomock collection, serialized, with hints and groups as a server's.

    Methods that are not adapted are looked up on the mongomock collection
    and serialized on the way. A test may still replace one of them on an
    instance (``monkeypatch.setattr(collection, 'find', ...)``): the
    driver's collections are created once per driver.
    """

    def __init__(self, database: StandInDatabase, collection: Any) -> None:
        self._database = database
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        def serialized(*args: Any, **kwargs: Any) -> Any:
            with self._database.lock:
                if 'hint' in kwargs:
                    self._check_hint(kwargs.pop('hint'), _filter_of(args, kwargs))
                return _drained(attribute(*args, **kwargs))

        return serialized

    def create_indexes(self, indexes: list[IndexModel], **kwargs: Any) -> list[str]:
        with self._database.lock:
            for index in indexes:
                partial = index.document.get('partialFilterExpression')
                if partial is not None:
                    key = (self._collection.name, index.document['name'])
                    self._database.partial_filters[key] = partial
            names: list[str] = self._collection.create_indexes(indexes, **kwargs)
            return names

    def aggregate(self, pipeline: Iterable[Document], **kwargs: Any) -> list[Document]:
        stages = list(pipeline)
        with self._database.lock:
            if any(_groups_everything(stage) for stage in stages[:-1]):
                raise NotImplementedError(
                    'mongomock_stand_in only adapts a $group by None that ends '
                    'the pipeline'
                )
            if stages and _groups_everything(stages[-1]):
                grouped = self._collection.aggregate([*stages[:-1], {'$limit': 1}])
                if not list(grouped):
                    return []  # As a server: no documents, no group.
            return list(self._collection.aggregate(stages, **kwargs))

    def _check_hint(self, hint: Any, query: Mapping[str, Any]) -> None:
        indexes = self._collection.index_information()
        if isinstance(hint, str):
            name = hint
        else:
            keys = [(field, direction) for field, direction in hint]
            found = [n for n, index in indexes.items() if list(index['key']) == keys]
            name = found[0] if found else ''
        if name not in indexes:
            raise pymongo.errors.OperationFailure(
                'error processing query: planner returned error :: caused by :: '
                'hint provided does not correspond to an existing index',
                code=2,
            )
        partial = self._database.partial_filters.get((self._collection.name, name))
        if partial is not None and not _repeats(query, partial):
            raise AssertionError(
                f'a query hinted at the partial index {name!r} must repeat its '
                f'filter {partial!r}; it was {dict(query)!r}'
            )


def _filter_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The filter of a collection method call (its first argument)."""
    if args:
        query: Mapping[str, Any] = args[0] or {}
        return query
    return kwargs.get('filter') or {}


def _repeats(query: Mapping[str, Any], partial: Mapping[str, Any]) -> bool:
    """Tell whether ``query`` states each condition of a partial filter.

    Stricter than the server's own test (it knows, say, that ``$gt: 5``
    implies ``$exists: true``): the driver's queries repeat the filter
    word for word, and this makes sure they go on doing so.
    """
    for field, condition in partial.items():
        stated = query.get(field)
        if isinstance(condition, Mapping):
            if not isinstance(stated, Mapping) or any(
                stated.get(operator) != value for operator, value in condition.items()
            ):
                return False
        elif stated != condition:
            return False
    return True


def _groups_everything(stage: Mapping[str, Any]) -> bool:
    group = stage.get('$group')
    return isinstance(group, Mapping) and group.get('_id') is None


def _drained(result: Any) -> Any:
    return list(result) if isinstance(result, _CURSORS) else result
