"""The Redis data driver: client, scripts and housekeeping."""

from __future__ import annotations

import threading
from typing import Any

import redis
import redis.sentinel
from oslo_config import cfg
from redis.backoff import NoBackoff
from redis.retry import Retry

from zaqar.common.clock import Clock
from zaqar.conf import redis as redis_conf
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import GCReport
from zaqar.storage.redis import uri
from zaqar.storage.redis.claims import ClaimController
from zaqar.storage.redis.common import LOG
from zaqar.storage.redis.common import text
from zaqar.storage.redis.common import unavailable_on_redis_error
from zaqar.storage.redis.messages import MessageController
from zaqar.storage.redis.queues import QueueController
from zaqar.storage.redis.scripts import Scripts
from zaqar.storage.redis.subscriptions import SubscriptionController

# One gc() script call visits at most this many queues, removes at most this
# many messages, subscriptions and idempotency keys and retires at most this
# many claims, so that it never blocks the server for long; gc() repeats
# calls until nothing expired is left.
GC_BATCH = 1000

# ``ZADD ... LT``, which the scripts use, came with Redis 6.2.
MIN_SERVER_VERSION = (6, 2)

URI_FORMS = (
    'redis://[:password@]host[:port][/db], rediss://... (TLS), '
    'unix:///path/to/redis.sock[?db=N&password=...] or '
    'redis+sentinel://[:password@]host[:port][,host[:port]...]/service_name[/db]'
)


class RedisDriver(DataDriver):
    """Stores queues, messages, claims and subscriptions in one Redis database.

    Every operation is one Lua script call (or one plain command for simple
    reads), atomic on the server, so threads and worker processes need no
    coordination beyond it. All keys start with ``namespace:``.
    """

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock,
        namespace: str = 'zaqar',
        *,
        description: str | None = None,
    ) -> None:
        # NOTE: a ':' would let one namespace's keys be another's.
        if not namespace or ':' in namespace:
            raise ValueError(f'namespace {namespace!r} must be non-empty, without ":"')
        super().__init__(clock)
        self.client = client
        self.namespace = namespace
        self._description = description or _describe_client(client)
        # NOTE: checked on first use, not here: zaqar-server builds the
        # driver before forking its workers.
        self._server_checked = False
        self._check_lock = threading.Lock()
        # Reads the scripts (package data) and registers them on the client,
        # which needs no server; every script call checks the server first.
        self.scripts = Scripts(client, namespace, self.check_server)
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

    def describe(self) -> str:
        """Name the backend, server and namespace (never the password)."""
        return f'redis ({self._description}, namespace {self.namespace!r})'

    def is_alive(self) -> bool:
        """Tell whether the server answers PING and is recent enough."""
        try:
            self.check_server()
            with unavailable_on_redis_error('PING'):
                return bool(self.client.ping())
        except errors.StorageUnavailable as ex:
            # Handled here, so logged here, with the reason.
            LOG.error('%s', ex)
            return False

    def check_server(self) -> None:
        """Check, once per driver, that the server suits the driver.

        An old server is an error; a ``maxmemory-policy`` that evicts keys
        is logged as a warning (evicted keys are lost messages, claims and
        counters). Until the check passes, every call repeats it.

        Raises:
            StorageUnavailable: The server cannot be reached or is older
                than 6.2.
        """
        if self._server_checked:
            return
        with self._check_lock:
            if self._server_checked:
                return
            with unavailable_on_redis_error('PING'):
                self.client.ping()
            self._check_version()
            self._check_eviction_policy()
            self._server_checked = True

    def _check_version(self) -> None:
        try:
            with unavailable_on_redis_error('INFO', refused_ok=True):
                info = self.client.info('server')
            version = str(info.get('redis_version', ''))
        except redis.exceptions.ResponseError as ex:
            LOG.info(
                'Could not check the version of Redis at %s (%s); the redis '
                'driver needs 6.2 or later',
                self._description,
                ex,
            )
            return
        found = _version(version)
        if found is None:
            LOG.info('Redis at %s reports version %r', self._description, version)
        elif found < MIN_SERVER_VERSION:
            message = (
                f'Redis {version} at {self._description} is too old: the redis '
                'driver needs Redis 6.2 or later'
            )
            raise errors.StorageUnavailable(message)

    def _check_eviction_policy(self) -> None:
        try:
            with unavailable_on_redis_error('CONFIG GET', refused_ok=True):
                settings = self.client.config_get('maxmemory-policy')
        except redis.exceptions.ResponseError as ex:
            # NOTE: managed services often disable or rename CONFIG.
            LOG.info(
                'Could not check the maxmemory-policy of Redis at %s (%s); it '
                'must be noeviction, or a full server loses messages',
                self._description,
                ex,
            )
            return
        policy = str(settings.get('maxmemory-policy', ''))
        if policy != 'noeviction':
            LOG.warning(
                'Redis at %s has maxmemory-policy %r: when its memory is full '
                'it evicts keys, losing messages, claims and queue counters. '
                'Set maxmemory-policy to noeviction (posts then fail with 503 '
                'instead)',
                self._description,
                policy,
            )

    def gc(self) -> GCReport:
        """Remove what expired, in batches; expired claims are retired.

        Messages, claims, subscriptions and idempotency keys alike.

        Safe with several collectors at once: each batch is one script, and
        counts only what that script removed.
        """
        total = GCReport()
        while True:
            batch = self.scripts.gc(self.clock.now(), GC_BATCH)
            total += batch.removed
            # NOTE: a batch may remove nothing yet make progress (queues whose
            # messages were deleted leave ``due``); one that visited no queue
            # means another collector took the rest.
            if not batch.more_due or not batch.queues:
                return total

    def close(self) -> None:
        """Close the client's connections (and the sentinels', if any)."""
        pool = self.client.connection_pool
        manager = getattr(pool, 'sentinel_manager', None)
        with unavailable_on_redis_error('close'):
            self.client.close()
            if isinstance(manager, redis.sentinel.Sentinel):
                for sentinel in manager.sentinels:
                    sentinel.close()


def create_driver(conf: cfg.ConfigOpts, clock: Clock) -> RedisDriver:
    """Build the driver from ``[drivers:message_store:redis]``.

    Connects nothing: redis-py opens connections on first use, so a driver
    built in the gunicorn master leaks no socket into the workers.

    Raises:
        ConfigurationError: The ``uri`` option cannot be parsed.
    """
    group = conf[redis_conf.GROUP_NAME]
    try:
        location = uri.parse(group.uri)
    except uri.InvalidRedisURI as ex:
        raise errors.ConfigurationError(
            f'[{redis_conf.GROUP_NAME}] uri is not valid: {ex}. Use {URI_FORMS}'
        ) from None
    timeout = location.socket_timeout or group.socket_timeout
    return RedisDriver(
        connect(location, timeout),
        clock,
        namespace=group.namespace,
        description=location.describe(),
    )


def connect(location: uri.RedisLocation, socket_timeout: float) -> redis.Redis:
    """Return a client for ``location``, without connecting yet."""
    options: dict[str, Any] = {
        'db': location.db,
        'username': location.username,
        'password': location.password,
        'socket_timeout': socket_timeout,
        'socket_connect_timeout': socket_timeout,
        # NOTE: no command is ever sent twice. A connection that fails after
        # the server ran a script, before its reply arrived, must not run it
        # again (a pop would lose what it popped, a post store a message
        # twice): the request fails with 503 instead. The pool checks a
        # pooled connection before use and reconnects one the server closed.
        'retry': Retry(NoBackoff(), 0),
    }
    if location.service is not None:
        return _sentinel_master(location, socket_timeout, options)
    if location.socket_path is not None:
        return redis.Redis(unix_socket_path=location.socket_path, **options)
    ((host, port),) = location.hosts
    return redis.Redis(host=host, port=port, ssl=location.tls, **options)


def _sentinel_master(
    location: uri.RedisLocation, socket_timeout: float, options: dict[str, Any]
) -> redis.Redis:
    """Return a client of the master the sentinels of ``location`` name.

    NOTE: redis-py annotates its sentinel module in some releases and not in
    others. Calling it through ``Any`` gives mypy the same verdict on both,
    where a ``type: ignore`` would be an error on one of them.
    """
    sentinel_class: Any = redis.sentinel.Sentinel
    sentinel = sentinel_class(
        list(location.hosts),
        sentinel_kwargs={
            'socket_timeout': socket_timeout,
            'socket_connect_timeout': socket_timeout,
        },
    )
    client: redis.Redis = sentinel.master_for(location.service, **options)
    return client


def _version(version: str) -> tuple[int, int] | None:
    """The major and minor number of a version string, if it has them."""
    parts = version.split('.')
    if len(parts) < 2 or not all(part.isdigit() for part in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def _describe_client(client: redis.Redis) -> str:
    """Say where a client given by the caller connects, without secrets."""
    settings = client.connection_pool.connection_kwargs
    db = settings.get('db', 0)
    if settings.get('path'):
        return f'unix://{settings["path"]}?db={db}'
    service = getattr(client.connection_pool, 'service_name', None)
    if service:
        return f'redis+sentinel://{text(service)}/{db}'
    return f'redis://{settings.get("host")}:{settings.get("port")}/{db}'
