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
    default=2,
    min=1,
    help='Number of gunicorn worker processes.',
)

threads = cfg.IntOpt(
    'threads',
    default=4,
    min=1,
    help='Request-handling threads per worker process.',
)

ALL_OPTS = [bind, port, workers, threads]
