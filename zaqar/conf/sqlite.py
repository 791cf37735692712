"""Options of ``[drivers:message_store:sqlite]``, the embedded default store."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'drivers:message_store:sqlite'

DEFAULT_DATABASE = '~/.local/share/zaqar/zaqar.db'

database = cfg.StrOpt(
    'database',
    default=DEFAULT_DATABASE,
    help='Path of the SQLite database file; "~" is expanded and missing '
    'directories are created on first start.',
)

busy_timeout = cfg.FloatOpt(
    'busy_timeout',
    default=10.0,
    min=0.1,
    help='Seconds a writer waits for the database lock held by another '
    'process or thread before the request fails with 503.',
)

ALL_OPTS = [database, busy_timeout]
