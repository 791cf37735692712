"""The drivers the contract suite runs against, and how each one is built.

Adding a driver is one line at the bottom of this module::

    register('redis', _redis)

where ``_redis(tmp_path, clock)`` returns a new, *empty* driver that uses
``clock``. Each call must get storage no other call sees (a file under
``tmp_path``, or a database, key prefix or collection derived from it), so
tests never share state. Import the backend's client library inside the
factory, so that a missing optional dependency only affects that driver.

When the backend cannot be reached (server down, client library missing),
the factory raises :class:`BackendUnavailable` (or the driver raises
``StorageUnavailable``, or ``is_alive()`` is False). The driver's tests are
then skipped, unless ``ZAQAR_TEST_REQUIRE_SERVICES`` is set (CI sets it to
``1``): then they fail.

``ZAQAR_TEST_DRIVERS`` picks the drivers to run, as a comma-separated list
of registered names (default: all of them).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver

from .. import services

Factory = Callable[[Path, ManualClock], DataDriver]

SELECT_ENV = 'ZAQAR_TEST_DRIVERS'

_FACTORIES: dict[str, Factory] = {}


# A factory's backend cannot be reached; the reason is the message.
BackendUnavailable = services.ServiceUnavailable


def register(name: str, factory: Factory) -> None:
    """Run the contract suite against the drivers ``factory`` builds."""
    if name in _FACTORIES:
        raise ValueError(f'contract driver {name!r} is already registered')
    _FACTORIES[name] = factory


def selected_names() -> list[str]:
    """Return the driver names chosen by ``ZAQAR_TEST_DRIVERS``.

    Raises:
        pytest.UsageError: The variable names an unregistered driver.
    """
    wanted = [
        name.strip()
        for name in os.environ.get(SELECT_ENV, '').split(',')
        if name.strip()
    ]
    unknown = [name for name in wanted if name not in _FACTORIES]
    if unknown:
        raise pytest.UsageError(
            f'{SELECT_ENV} names unregistered drivers {unknown}; registered: '
            f'{sorted(_FACTORIES)} (see tests/contract/drivers.py)'
        )
    return wanted or list(_FACTORIES)


def build(name: str, tmp_path: Path, clock: ManualClock) -> DataDriver:
    """Build the driver registered as ``name``, or skip/fail if unreachable."""
    try:
        driver = _FACTORIES[name](tmp_path, clock)
    except (BackendUnavailable, errors.StorageUnavailable) as ex:
        services.unavailable(f'storage driver {name!r}', str(ex))
    if not driver.is_alive():
        driver.close()
        services.unavailable(f'storage driver {name!r}', 'is_alive() returned False')
    return driver


def _sqlite(tmp_path: Path, clock: ManualClock) -> DataDriver:
    from zaqar.storage.sqlite.driver import SqliteDriver

    return SqliteDriver(database=str(tmp_path / 'contract.db'), clock=clock)


def _redis(tmp_path: Path, clock: ManualClock) -> DataDriver:
    """A driver on the run's real redis-server, in a namespace of its own."""
    import redis

    from zaqar.storage.redis.driver import RedisDriver

    server = services.redis_server()
    client = redis.Redis(host=server.host, port=server.port, db=0)
    return RedisDriver(client, clock, namespace=f'test-{uuid.uuid4().hex}')


def _mongodb(tmp_path: Path, clock: ManualClock) -> DataDriver:
    """A driver on the real MongoDB server named by ZAQAR_TEST_MONGODB_URL."""
    import pymongo

    from zaqar.storage.mongodb.driver import MongoDriver

    url = services.mongodb_url()
    assert url is not None
    _check_mongodb_once(url)
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=5000
    )
    name = f'zaqar_test_{uuid.uuid4().hex}'
    if not _test_databases:
        atexit.register(_drop_test_databases, url)
    _test_databases.append(name)
    return MongoDriver(client[name], clock)


# Why the MongoDB server of ZAQAR_TEST_MONGODB_URL did not answer, if so:
# asked once, so that a wrong address fails every test at once with the
# reason, instead of each one after its own timeout.
_mongodb_failure: list[str] = []


def _check_mongodb_once(url: str) -> None:
    import pymongo

    if not _mongodb_failure:
        try:
            with pymongo.MongoClient(url, serverSelectionTimeoutMS=3000) as client:
                client.admin.command('ping')
            _mongodb_failure.append('')
        except pymongo.errors.PyMongoError as ex:
            _mongodb_failure.append(f'{services.MONGODB_URL_ENV}: {type(ex).__name__}')
    if _mongodb_failure[0]:
        raise BackendUnavailable(_mongodb_failure[0])


# The databases _mongodb() created in this run, dropped together at exit.
_test_databases: list[str] = []


def _drop_test_databases(url: str) -> None:
    import pymongo

    # NOTE: at exit a server that went away must not bury the test report
    # under tracebacks; the databases are throw-away anyway.
    with contextlib.suppress(pymongo.errors.PyMongoError):
        with pymongo.MongoClient(url, serverSelectionTimeoutMS=5000) as client:
            for name in _test_databases:
                client.drop_database(name)


def _mongomock(tmp_path: Path, clock: ManualClock) -> DataDriver:
    """A driver on mongomock, the in-process stand-in for a MongoDB server.

    mongomock is adapted to answer as a server does in one place,
    ``tests/mongomock_stand_in.py``; the driver itself knows nothing of it.
    """
    from typing import Any

    from zaqar.storage.mongodb.driver import MongoDriver

    from ..mongomock_stand_in import new_database

    database: Any = new_database()
    return MongoDriver(database, clock)


register('sqlite', _sqlite)
register('redis', _redis)
# No MongoDB server can be installed on our machines: without a real one the
# MongoDB driver runs on mongomock, under a name that says so.
if services.mongodb_url():
    register('mongodb', _mongodb)
else:
    register('mongodb-mongomock', _mongomock)
