"""What every console script does first: logging, the command line, storage."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from oslo_config import cfg

from zaqar import bootstrap
from zaqar import conf as zaqar_conf
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.version import __version__


def setup_logging() -> None:
    """Log INFO and above to stderr, with the process id (one per worker)."""
    logging.basicConfig(
        level=logging.INFO,
        format='%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s',
    )


def parse_command_line(
    argv: Sequence[str],
    prog: str,
    description: str,
    cli_opts: Sequence[cfg.Opt],
) -> cfg.ConfigOpts:
    """Register every option and the command's flags, then parse ``argv``.

    ``--config-file``, ``--config-dir``, ``--help`` and ``--version`` come
    from oslo.config.
    """
    conf = zaqar_conf.register_all(cfg.ConfigOpts())
    conf.register_cli_opts(list(cli_opts))
    conf(
        list(argv),
        project='zaqar',
        prog=prog,
        version=__version__,
        description=description,
    )
    return conf


def load_checked_storage(conf: cfg.ConfigOpts, prog: str) -> DataDriver | None:
    """Check the option values, then build the storage stack they name.

    Returns:
        The storage; None when the configuration is refused, after saying
        why on stderr (the command then exits with status 2).
    """
    try:
        zaqar_conf.check_values(conf)
        return bootstrap.load_storage(conf)
    except (zaqar_conf.InvalidOption, errors.ConfigurationError) as ex:
        print(f'{prog}: configuration error: {ex}', file=sys.stderr)
        return None
