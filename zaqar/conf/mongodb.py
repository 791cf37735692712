"""Options of ``[drivers:message_store:mongodb]``, the MongoDB store."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'drivers:message_store:mongodb'

uri = cfg.StrOpt(
    'uri',
    default='mongodb://127.0.0.1:27017',
    secret=True,
    help='MongoDB connection string, as pymongo takes it: '
    '"mongodb://[user:password@]host[:port][,host[:port]...][/?options]" '
    'or "mongodb+srv://...". TLS, replica set and authentication options '
    'go in its query string (for example "?tls=true&replicaSet=rs0"). The '
    'driver always sets w, journal, timeoutMS, readPreference, retryWrites '
    'and appname from its own options and needs; they override the same '
    'options given here. A database in the path only names the '
    'authentication database; [drivers:message_store:mongodb] database '
    'names where data goes. Write a "$" as "$$" (oslo.config substitutes '
    '"$name").',
)

database = cfg.StrOpt(
    'database',
    default='zaqar',
    regex=r'^[^/\\. "$]{1,63}$',
    help='Database that holds the queues, messages, claims and counters.',
)

write_concern = cfg.StrOpt(
    'write_concern',
    default='majority',
    regex=r'^(majority|[1-9][0-9]*)$',
    help='Acknowledgement every write waits for: "majority", or how many '
    'members must acknowledge it (1 for a standalone server). Anything '
    'below majority can lose acknowledged messages on a replica set '
    'failover. 0 (unacknowledged) is refused: the driver must see the '
    'duplicate-key errors that tell concurrent posts apart.',
)

journal = cfg.BoolOpt(
    'journal',
    default=True,
    help='Wait until writes are in the on-disk journal before acknowledging '
    'them, so an acknowledged message survives a server crash.',
)

operation_timeout = cfg.FloatOpt(
    'operation_timeout',
    default=5.0,
    min=0.1,
    help='Seconds one MongoDB operation may take in all (finding a usable '
    'server, waiting for the reply, retries) before the request fails with '
    '503; also sent to the server, which stops the operation then. It also '
    'bounds how long a request waits while no server can be reached.',
)

max_attempts = cfg.IntOpt(
    'max_attempts',
    default=1000,
    min=1,
    help='How many times a post retries after losing the race for its '
    'markers to a concurrent post on the same queue, before it fails with '
    '503.',
)

max_retry_sleep = cfg.FloatOpt(
    'max_retry_sleep',
    default=0.1,
    min=0.0,
    help='Longest back-off, in seconds, between two such attempts; the '
    'back-off grows with each attempt and is jittered.',
)

ALL_OPTS = [
    uri,
    database,
    write_concern,
    journal,
    operation_timeout,
    max_attempts,
    max_retry_sleep,
]
