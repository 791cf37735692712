"""``zaqar-gc``: remove expired messages and claims from storage.

Runs as a daemon, collecting every ``[gc] gc_interval`` seconds until it
gets SIGTERM or SIGINT, or once with ``--once`` (for cron). Several
collectors may run at once against the same storage.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from oslo_config import cfg

from zaqar.cmd import common
from zaqar.conf import audit
from zaqar.conf import gc as gc_conf
from zaqar.gc import collector
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.version import __version__

LOG = logging.getLogger('zaqar.gc')

CLI_OPTS = [
    cfg.BoolOpt(
        'once',
        default=False,
        help='Collect once and exit (status 1 if the run failed), for cron.',
    ),
]


def parse_args(argv: Sequence[str]) -> cfg.ConfigOpts:
    """Parse the command line and configuration files."""
    return common.parse_command_line(
        argv,
        prog='zaqar-gc',
        description='Remove expired messages and claims from the storage named '
        'by [drivers] message_store, every [gc] gc_interval seconds or once '
        'with --once. Safe to run on several hosts at once.',
        cli_opts=CLI_OPTS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the collector; return the exit status."""
    common.setup_logging()
    conf = parse_args(sys.argv[1:] if argv is None else argv)
    storage = common.load_checked_storage(conf, 'zaqar-gc')
    if storage is None:
        return 2
    audit.warn_about_unread_options(conf)
    try:
        if conf.once:
            return _collect_once(storage)
        return _collect_until_signalled(storage, conf[gc_conf.GROUP_NAME].gc_interval)
    finally:
        storage.close()


def _collect_once(storage: DataDriver) -> int:
    try:
        collector.collect(storage)
    except errors.StorageError as ex:
        LOG.error('gc run failed: %s', ex)
        return 1
    return 0


def _collect_until_signalled(storage: DataDriver, interval: float) -> int:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        LOG.info(
            'received %s; stopping after the current run', signal.Signals(signum).name
        )
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    LOG.info(
        'zaqar-gc %s collecting every %g s from %s',
        __version__,
        interval,
        storage.describe(),
    )
    collector.run_until_stopped(storage, interval, stop)
    LOG.info('zaqar-gc stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
