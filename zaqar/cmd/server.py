"""``zaqar-server``: serve the Zaqar v2 HTTP API with gunicorn.

The configuration is parsed once in the gunicorn master; each worker process
builds its own app (and storage connections) after the fork, from that same
configuration.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import falcon
from gunicorn.app.base import BaseApplication
from oslo_config import cfg

from zaqar import bootstrap
from zaqar import conf as zaqar_conf
from zaqar import pipeline
from zaqar.cmd import common
from zaqar.cmd import worker
from zaqar.common.limits import Limits
from zaqar.conf import audit
from zaqar.conf import notification as notification_conf
from zaqar.conf import storage as storage_conf
from zaqar.conf import wsgi as wsgi_conf
from zaqar.notification import notifier
from zaqar.notification.delivery import DeliveryService
from zaqar.notification.delivery import DeliverySettings
from zaqar.notification.senders import Senders
from zaqar.notification.settings import Settings
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.transport.wsgi import auth
from zaqar.version import __version__

LOG = logging.getLogger('zaqar.server')

# Flags of this command only; everything else lives in zaqar.conf and can be
# set in the configuration file.
CLI_OPTS = [
    cfg.StrOpt(
        'bind',
        metavar='HOST:PORT',
        help='Listen on this address, overriding [drivers:transport:wsgi] '
        'bind and port (default 127.0.0.1:8888).',
    ),
    cfg.IntOpt(
        'workers',
        min=1,
        help='Number of worker processes, overriding [drivers:transport:wsgi] '
        'workers (default: two per CPU core).',
    ),
]


# Settings only some gunicorn releases know; skipped where unknown.
# NOTE: gunicorn >= 25.1 opens a control socket at one fixed path per user
# by default, so two servers of one user would fight over it; we have no use
# for it.
OPTIONAL_SETTINGS = frozenset({'control_socket_disable'})


class ZaqarApplication(BaseApplication):
    """A gunicorn application whose workers each call ``create_app``."""

    def __init__(self, conf: cfg.ConfigOpts, options: dict[str, object]) -> None:
        self._conf = conf
        self._options = options
        self._deliveries: DeliveryService | None = None
        # Read by the worker class (zaqar.cmd.worker) in each worker.
        self.client_timeout = conf[wsgi_conf.GROUP_NAME].client_timeout
        self.body_limit = largest_body(conf)
        super().__init__(prog='zaqar-server')

    def load_config(self) -> None:
        """Hand our settings to gunicorn."""
        assert self.cfg is not None
        for key, value in self._options.items():
            if key in OPTIONAL_SETTINGS and key not in self.cfg.settings:
                continue
            self.cfg.set(key, value)

    def load(self) -> falcon.App[falcon.Request, falcon.Response]:
        """Build the WSGI app; runs in each worker after the fork.

        With notifications on, the worker also starts its senders, which
        deliver what posts recorded (see zaqar.notification.delivery).
        """
        # Imported here so the master never imports the transport's deps
        # before it has checked the configuration.
        from zaqar.transport.wsgi.app import create_app

        storage = bootstrap.load_storage(self._conf)
        app = create_app(self._conf, storage)
        self._deliveries = delivery_service(self._conf, storage)
        if self._deliveries is not None:
            self._deliveries.start()
        return app

    def stop_deliveries(self) -> None:
        """Stop this worker's senders, if it has any."""
        if self._deliveries is not None:
            self._deliveries.stop()


# Worker processes per CPU core by default. A worker's threads share one
# interpreter lock and wait on storage and clients part of the time, so one
# worker per core leaves cores idle: on two cores, four workers served about
# a fifth more batch posts than two on Redis (p99 lower too), and a tenth
# more on SQLite (p99 12 -> 15 ms, within its latency target); see
# doc/performance.md, "Worker counts".
WORKERS_PER_CORE = 2


def parse_args(argv: Sequence[str]) -> cfg.ConfigOpts:
    """Parse the command line and configuration files."""
    return common.parse_command_line(
        argv,
        prog='zaqar-server',
        description='Serve the Zaqar v2 HTTP API (queues, messages, claims). '
        'With no configuration file it listens on 127.0.0.1:8888 and keeps its '
        'data in SQLite at ~/.local/share/zaqar/zaqar.db.',
        cli_opts=CLI_OPTS,
    )


def gunicorn_options(conf: cfg.ConfigOpts) -> dict[str, object]:
    """Translate the configuration into gunicorn settings.

    Raises:
        InvalidOption: ``--bind`` is not HOST:PORT with a valid port.
    """
    wsgi = conf[wsgi_conf.GROUP_NAME]
    return {
        'bind': [bind_address(conf)],
        'workers': conf.workers or wsgi.workers or default_workers(),
        # gunicorn's threaded worker, reading each request before a thread
        # serves it: see zaqar.cmd.worker.
        'worker_class': worker.worker_class_path(),
        'threads': wsgi.threads,
        'accesslog': '-',
        'proc_name': 'zaqar-server',
        'post_worker_init': log_worker_ready,
        'worker_exit': stop_worker_deliveries,
        'control_socket_disable': True,
    }


def default_workers() -> int:
    """Worker processes when neither ``--workers`` nor the option says.

    :data:`WORKERS_PER_CORE` per CPU core this process may run on (its
    affinity, which containers and ``taskset`` narrow), at least 2.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux
        cores = os.cpu_count() or 1
    return max(2, WORKERS_PER_CORE * cores)


def bind_address(conf: cfg.ConfigOpts) -> str:
    """Return the HOST:PORT to listen on: ``--bind``, else the options.

    Raises:
        InvalidOption: ``--bind`` is not HOST:PORT with a valid port.
    """
    if conf.bind:
        return check_bind(conf.bind)
    wsgi = conf[wsgi_conf.GROUP_NAME]
    return f'{_bracket(wsgi.bind)}:{wsgi.port}'


def largest_body(conf: cfg.ConfigOpts) -> int:
    """The largest request body the application reads, in bytes."""
    limits = Limits.from_conf(conf)
    return max(limits.max_messages_post_size, limits.max_queue_metadata, 64 * 1024)


def log_worker_ready(worker: object) -> None:
    """Gunicorn hook: say a worker has built its app and handles signals.

    Operators see every worker come up; the tests wait for these lines, as
    a worker stopped before this point may not have its handlers yet.
    """
    LOG.info('worker %s ready', getattr(worker, 'pid', '?'))


def stop_worker_deliveries(server: object, worker: object) -> None:
    """Gunicorn hook: a worker stopping stops its senders first."""
    application = getattr(worker, 'app', None)
    if isinstance(application, ZaqarApplication):
        application.stop_deliveries()


def delivery_service(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> DeliveryService | None:
    """The senders a worker runs, or None when nothing is ever delivered.

    Deliveries exist when the notifier stage is in ``[storage]
    message_pipeline`` or confirmations are required.
    """
    group = conf[notification_conf.GROUP_NAME]
    listed = notifier.NAME in conf[storage_conf.GROUP_NAME].message_pipeline
    if not (listed or group.require_confirmation):
        return None
    settings = Settings.from_conf(conf)
    return DeliveryService(
        pipeline.unwrapped(storage),
        Senders(settings, clock=storage.clock),
        DeliverySettings(
            workers=group.max_notifier_workers,
            attempt_timeout=max(settings.webhook_timeout, settings.smtp_timeout),
            require_confirmation=group.require_confirmation,
        ),
    )


def check_storage(conf: cfg.ConfigOpts) -> str:
    """Build the storage stack once in the master to fail fast; describe it.

    Raises:
        ConfigurationError: The storage configuration is unusable.
    """
    storage = bootstrap.load_storage(conf)
    try:
        if not storage.is_alive():
            LOG.warning('storage does not answer yet; requests will get 503')
        return storage.describe()
    finally:
        storage.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until it is stopped; return the exit status."""
    common.setup_logging()
    conf = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        zaqar_conf.check_values(conf)
        # NOTE: a missing keystonemiddleware, a bad key or policy file stop
        # the server here rather than fail every request in the workers.
        auth.check_configuration(conf)
        options = gunicorn_options(conf)
        store = check_storage(conf)
    except (zaqar_conf.InvalidOption, errors.ConfigurationError) as ex:
        print(f'zaqar-server: configuration error: {ex}', file=sys.stderr)
        return 2
    LOG.info(
        'zaqar-server %s listening on http://%s with %s worker(s); storage: %s',
        __version__,
        bind_address(conf),
        options['workers'],
        store,
    )
    exposure = auth.noauth_exposure(conf, bind_address(conf))
    if exposure is not None:
        LOG.log(*exposure)
    # NOTE: after the storage stack is loaded: drivers and stages register
    # options of their own.
    audit.warn_about_unread_options(conf)
    ZaqarApplication(conf, options).run()
    return 0


def check_bind(value: str) -> str:
    """Return a ``--bind`` value after checking it is HOST:PORT.

    Raises:
        InvalidOption: No port (gunicorn would quietly pick 8000), or a port
            outside 0-65535 (0 lets the system choose a free one).
    """
    host, _, port = value.rpartition(':')
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise zaqar_conf.InvalidOption(
            f'--bind {value!r}: expected HOST:PORT with a port from 0 to 65535, '
            f'e.g. 127.0.0.1:8888 or [::1]:8888'
        )
    return value


def _bracket(host: str) -> str:
    """Bracket an IPv6 literal for use in HOST:PORT."""
    return f'[{host}]' if ':' in host and not host.startswith('[') else host


if __name__ == '__main__':
    sys.exit(main())
