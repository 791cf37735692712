"""Options of ``[drivers:transport:wsgi]``: where the HTTP server listens."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'drivers:transport:wsgi'

bind = cfg.HostAddressOpt(
    'bind',
    default='127.0.0.1',
    help='Address on which the HTTP server listens.',
)

port = cfg.PortOpt(
    'port',
    default=8888,
    help='Port on which the HTTP server listens.',
)

workers = cfg.IntOpt(
    'workers',
    min=1,
    help='Number of gunicorn worker processes. Unset: two per CPU core this '
    'process may run on (a worker waits on storage and clients part of the '
    'time, so one per core leaves cores idle).',
)

threads = cfg.IntOpt(
    'threads',
    default=4,
    min=1,
    help='Request-handling threads per worker process.',
)

client_timeout = cfg.FloatOpt(
    'client_timeout',
    default=30.0,
    min=1.0,
    help='Seconds a client has to send a whole request (its head and body) '
    'once it started sending it. Requests are read without tying up a '
    'request-handling thread, so slow clients cannot starve the others; one '
    'slower than this is disconnected.',
)

ALL_OPTS = [bind, port, workers, threads, client_timeout]
