"""The MongoDB data driver: client, indexes and housekeeping."""

from __future__ import annotations

import datetime
import logging
import re
import threading
from typing import Any

import pymongo
from oslo_config import cfg
from pymongo import uri_parser
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from zaqar.common.clock import Clock
from zaqar.common.text import describe_exception
from zaqar.conf import mongodb as mongodb_conf
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport
from zaqar.storage.mongodb import schema
from zaqar.storage.mongodb.claims import ClaimController
from zaqar.storage.mongodb.common import Collections
from zaqar.storage.mongodb.common import Document
from zaqar.storage.mongodb.common import to_date
from zaqar.storage.mongodb.common import translate_errors
from zaqar.storage.mongodb.common import unavailable
from zaqar.storage.mongodb.counters import Counters
from zaqar.storage.mongodb.idempotency import IdempotencyKeys
from zaqar.storage.mongodb.messages import MessageController
from zaqar.storage.mongodb.queues import QueueController
from zaqar.storage.mongodb.schema import ClaimField
from zaqar.storage.mongodb.schema import IdempotencyField
from zaqar.storage.mongodb.schema import MessageField
from zaqar.storage.mongodb.schema import SubscriptionField
from zaqar.storage.mongodb.subscriptions import SubscriptionController

LOG = logging.getLogger(__name__)

# gc() deletes at most this many documents of a kind per request, so that a
# large backlog never makes one long-running delete.
GC_BATCH = 1000

_GROUP = mongodb_conf.GROUP_NAME


class MongoDriver(DataDriver):
    """Stores everything in one MongoDB database.

    The driver owns the client of the database it is given and closes it in
    :meth:`close`. Nothing is sent to the server before the first request;
    the indexes are created then, once per driver.
    """

    def __init__(
        self,
        database: Database[Document],
        clock: Clock,
        *,
        max_attempts: int = 1000,
        max_retry_sleep: float = 0.1,
        repair_delay: float = 5.0,
    ) -> None:
        """Build the driver.

        Args:
            database: The pymongo database to store in.
            clock: The source of "now".
            max_attempts: Tries a post makes for its markers, and a
                subscription write for its subscriber, before it fails with
                StorageUnavailable.
            max_retry_sleep: Longest back-off between two tries, in seconds.
            repair_delay: Seconds a queue's counter must have stood still
                while posts collide before they clear a crashed writer's
                leftovers (see :mod:`.counters`).
        """
        super().__init__(clock)
        if max_attempts < 1:
            raise ValueError('max_attempts must be at least 1')
        self.max_attempts = max_attempts
        self.max_retry_sleep = max_retry_sleep
        self.repair_delay = repair_delay
        self._database = database
        self._collections = Collections(
            queues=database['queues'],
            counters=database['counters'],
            messages=database['messages'],
            claims=database['claims'],
            subscriptions=database['subscriptions'],
            idempotency=database['idempotency'],
        )
        self._indexes_ready = False
        self._indexes_lock = threading.Lock()
        self.counters = Counters(self)
        self.idempotency = IdempotencyKeys(self)
        self._queues = QueueController(self)
        self._messages = MessageController(self)
        self._claims = ClaimController(self)
        self._subscriptions = SubscriptionController(self)

    @property
    def queues(self) -> QueueController:
        """The queue controller."""
        return self._queues

    @property
    def messages(self) -> MessageController:
        """The message controller."""
        return self._messages

    @property
    def claims(self) -> ClaimController:
        """The claim controller."""
        return self._claims

    @property
    def subscriptions(self) -> SubscriptionController:
        """The subscription controller."""
        return self._subscriptions

    def collections(self) -> Collections:
        """Return the collections, creating their indexes on first use.

        The marker index's uniqueness is what makes posts safe, so nothing
        is written before the indexes exist. Creating an existing index is a
        no-op on the server, so several processes may race here.
        """
        if not self._indexes_ready:
            with self._indexes_lock:
                if not self._indexes_ready:
                    for collection in self._collections:
                        collection.create_indexes(schema.INDEXES[collection.name])
                    self._indexes_ready = True
        return self._collections

    def describe(self) -> str:
        """Name the backend, its hosts and database (never credentials)."""
        hosts = _hosts(self._database.client)
        where = f' on {hosts}' if hosts else ''
        return f'mongodb (database {self._database.name}{where})'

    def is_alive(self) -> bool:
        """Tell whether the server answers a ping."""
        try:
            self._database.command('ping')
        except PyMongoError as ex:
            # Handled here, so logged here: an operator who sees "storage
            # does not answer" in the server log also sees why.
            LOG.error('%s', unavailable(ex))
            return False
        except Exception:
            # is_alive() never raises, and not everything that can go wrong
            # on the wire is a PyMongoError: a reply pymongo cannot decode
            # raises bson's InvalidBSON, for one.
            LOG.exception('MongoDB ping failed unexpectedly')
            return False
        return True

    @translate_errors
    def gc(self) -> GCReport:
        """Delete what expired, a bounded batch per request.

        Messages, claims, subscriptions and idempotency keys alike.

        Each batch deletes by id *and* expiry, so two collectors that select
        the same batch delete each document once and each counts only what
        its own deletes removed.

        Then repairs what writers that stopped before committing left, up to
        ``GC_BATCH`` of their documents (see :mod:`.counters`): a queue that
        gets no more posts recovers too. That is not counted in the report.
        """
        now = to_date(self.clock.now())
        collections = self.collections()
        report = GCReport(
            messages=_delete_expired(collections.messages, MessageField.EXPIRES, now),
            claims=_delete_expired(collections.claims, ClaimField.EXPIRES, now),
            subscriptions=_delete_expired(
                collections.subscriptions, SubscriptionField.EXPIRES, now
            ),
            idempotency_keys=_delete_expired(
                collections.idempotency, IdempotencyField.EXPIRES, now
            ),
        )
        self.counters.collect_abandoned(GC_BATCH)
        return report

    def close(self) -> None:
        """Close the client: its connections and monitor threads."""
        self._database.client.close()


def _delete_expired(
    collection: Collection[Document], expires: str, now: datetime.datetime
) -> int:
    expired = {expires: {'$lte': now}}
    removed = 0
    while True:
        batch = [
            document['_id']
            for document in collection.find(expired, {'_id': 1}, limit=GC_BATCH)
        ]
        if not batch:
            return removed
        removed += collection.delete_many(
            {'_id': {'$in': batch}, **expired}
        ).deleted_count
        if len(batch) < GC_BATCH:
            return removed


def _hosts(client: pymongo.MongoClient[Document]) -> str:
    """The client's seed or known hosts as ``host:port,...``.

    Only reads the client's state: no request is sent, and neither a closed
    client nor an unreachable server makes it fail (before any connection
    the topology lists the seeds).
    """
    addresses = client.topology_description.server_descriptions()
    return ','.join(
        host if port is None else f'{host}:{port}' for host, port in sorted(addresses)
    )


def _check_uri(uri: str) -> None:
    """Refuse a URI with unknown or invalid options at start-up.

    pymongo itself only warns about them and goes on without them, so
    ``?tls=maybe`` would quietly connect in the clear. An SRV URI is not
    checked here: checking it means a DNS lookup, which may fail for a
    moment without the configuration being wrong.

    Raises:
        ConfigurationError: Names the option, never the password.
    """
    if uri.startswith('mongodb+srv://'):
        return
    try:
        uri_parser.parse_uri(uri, warn=False)
    except (PyMongoError, ValueError) as ex:
        raise errors.ConfigurationError(
            f'[{_GROUP}] uri: {_without_password(describe_exception(ex), uri)}'
        ) from ex


def create_driver(conf: cfg.ConfigOpts, clock: Clock) -> MongoDriver:
    """Build the driver from ``[drivers:message_store:mongodb]``.

    The client is created with ``connect=False``: zaqar-server builds the
    driver in the gunicorn master and again in each worker after the fork,
    and a pymongo client must not cross a fork. Nothing is resolved or
    connected until the first request.

    Reads use the server's default read concern (``local``), not
    ``majority``: a reader may see a commit that a replica set failover
    then rolls back, and the markers it saw would then be given out again
    (with ``write_concern = majority`` only writes that were never
    acknowledged can be rolled back). Majority reads would close that gap,
    but the counter is also read to write, and a majority snapshot that
    lags the primary would make posts collide more; this is left as is.

    Raises:
        ConfigurationError: An option has a value the driver cannot use.
    """
    group = conf[_GROUP]
    uri = _option(group, 'uri')
    # NOTE: keyword options take precedence over the same options in the URI.
    client_options: dict[str, Any] = {
        'w': _write_concern(_option(group, 'write_concern')),
        'journal': _option(group, 'journal'),
        # Client-side operation timeout: bounds each operation as a whole
        # (server selection, connection checkout, waiting for the reply,
        # retries) and is passed on as maxTimeMS, so a server that stops
        # answering fails a request with 503 instead of holding its thread
        # forever (pymongo's default socket timeout is none).
        'timeoutMS': int(_option(group, 'operation_timeout') * 1000),
        'connect': False,
        # The marker protocol reads the counter and then the messages; both
        # must come from the primary (a secondary may lag) ...
        'readPreference': 'primary',
        # ... and stored dates are compared as naive UTC datetimes.
        'tz_aware': False,
        'retryWrites': True,
        'appname': 'zaqar',
    }
    _check_uri(uri)
    try:
        client: pymongo.MongoClient[Document] = pymongo.MongoClient(
            uri, **client_options
        )
    except (PyMongoError, ValueError, TypeError) as ex:
        raise errors.ConfigurationError(
            f'[{_GROUP}] uri: {_without_password(describe_exception(ex), uri)}'
        ) from ex
    return MongoDriver(
        client[_option(group, 'database')],
        clock,
        max_attempts=_option(group, 'max_attempts'),
        max_retry_sleep=_option(group, 'max_retry_sleep'),
    )


def _option(group: Any, name: str) -> Any:
    """Read one option, naming it if its value is invalid."""
    try:
        return getattr(group, name)
    except (ValueError, cfg.Error) as ex:
        raise errors.ConfigurationError(
            f'[{_GROUP}] {name}: {describe_exception(ex)}'
        ) from ex


def _write_concern(value: str) -> str | int:
    # NOTE: the option's pattern refuses 0: unacknowledged writes would never
    # report a duplicate marker, and the marker protocol depends on seeing them.
    return value if value == 'majority' else int(value)


def _without_password(text: str, uri: str) -> str:
    """Mask the URI's password wherever ``text`` repeats it."""
    found = re.match(r'^[^:/]+://[^:@/]*:([^@/]*)@', uri)
    if found and found.group(1):
        text = text.replace(found.group(1), '***')
    return text
