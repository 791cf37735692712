"""``example_sqlite``: a storage driver with its own option group.

A real driver implements :class:`zaqar.storage.base.DataDriver` and the
three controllers for its backend. This one reuses zaqar's SQLite driver so
that the example stays short; what it shows is the plugin side: the factory
registered under ``zaqar.data.storage``, which registers and validates the
options of ``[drivers:message_store:example_sqlite]`` and raises
:class:`~zaqar.storage.errors.ConfigurationError` with a message an operator
can act on.
"""

from __future__ import annotations

import os
import urllib.parse

from oslo_config import cfg

from zaqar.common.clock import Clock
from zaqar.storage.errors import ConfigurationError
from zaqar.storage.sqlite.driver import SqliteDriver

NAME = 'example_sqlite'
GROUP = f'drivers:message_store:{NAME}'
OPTS = [
    cfg.StrOpt(
        'uri',
        help='Database file as a file URI, e.g. file:///var/lib/zaqar/example.db '
        '(required; its directory must exist and be writable).',
    ),
]

_EXAMPLE_URI = 'file:///var/lib/zaqar/example.db'


class ExampleSqliteDriver(SqliteDriver):
    """zaqar's SQLite driver under another name."""

    def describe(self) -> str:
        """Name the driver and its database file for the server log."""
        return f'{NAME} ({self.database})'


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register this driver's options; safe to call more than once."""
    conf.register_opts(OPTS, group=GROUP)


def create_driver(conf: cfg.ConfigOpts, clock: Clock) -> ExampleSqliteDriver:
    """Build the driver from ``[drivers:message_store:example_sqlite]``.

    zaqar calls this once in the server's master process, to fail fast,
    and once in each worker process after the fork.

    Raises:
        ConfigurationError: ``uri`` is missing or not a file URI, or its
            directory is missing or not writable.
    """
    register_opts(conf)
    path = database_path(conf[GROUP].uri)
    check_directory(os.path.dirname(path))
    return ExampleSqliteDriver(path, clock)


def database_path(uri: str | None) -> str:
    """Return the file path of a ``file://`` URI.

    Raises:
        ConfigurationError: No URI, or not an absolute file URI of a file.
    """
    if not uri:
        raise ConfigurationError(
            f'[{GROUP}] uri is required, e.g. uri = {_EXAMPLE_URI}'
        )
    parts = urllib.parse.urlsplit(uri)
    path = urllib.parse.unquote(parts.path)
    if (
        parts.scheme != 'file'
        or parts.netloc not in ('', 'localhost')
        or parts.query
        or parts.fragment
        or not path.startswith('/')
        or path.endswith('/')
    ):
        raise ConfigurationError(
            f'[{GROUP}] uri = {uri!r} is not the file URI of a database file, '
            f'e.g. {_EXAMPLE_URI}'
        )
    return path


def check_directory(directory: str) -> None:
    """Fail now, not on the first request, if the database cannot be made.

    Raises:
        ConfigurationError: The directory is missing or not writable.
    """
    if not os.path.isdir(directory):
        raise ConfigurationError(f'[{GROUP}] uri: directory {directory} does not exist')
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f'[{GROUP}] uri: directory {directory} is not writable'
        )
