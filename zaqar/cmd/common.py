"""What every console script does first: logging and the command line."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from oslo_config import cfg

from zaqar import conf as zaqar_conf
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
