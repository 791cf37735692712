"""Options of ``[drivers:message_store:redis]``, the Redis store."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'drivers:message_store:redis'

uri = cfg.StrOpt(
    'uri',
    default='redis://127.0.0.1:6379/0',
    secret=True,
    help='Where the Redis server is. Forms: '
    '"redis://[:password@]host[:port][/db]", '
    '"rediss://..." (the same over TLS), '
    '"unix:///path/to/redis.sock[?db=N&password=...]", and, to follow a '
    'failover, "redis+sentinel://[:password@]host[:port][,host[:port]...]'
    '/service_name[/db]" (sentinel port 26379 by default; the password is '
    "the master's). The upstream sentinel form "
    '"redis://host:port,host:port?master=service_name" is accepted too. '
    'Percent-encode reserved characters in the password (# as %23) and '
    'write a "$" as "$$" (oslo.config substitutes "$name"). Needs '
    'Redis 6.2 or later, with maxmemory-policy noeviction: a policy that '
    'evicts keys loses messages when memory is full.',
)

namespace = cfg.StrOpt(
    'namespace',
    default='zaqar',
    regex=r'^[A-Za-z0-9_.-]+$',
    help='Prefix of every key this service writes, so that several '
    'deployments (or other applications) can share one Redis database. '
    'zaqar-gc only touches keys under this prefix.',
)

socket_timeout = cfg.FloatOpt(
    'socket_timeout',
    default=5.0,
    min=0.1,
    help='Seconds to wait for Redis to answer one command before the '
    'request fails with 503 (storage unavailable).',
)

ALL_OPTS = [uri, namespace, socket_timeout]
