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

synchronous = cfg.StrOpt(
    'synchronous',
    default='normal',
    choices=[
        (
            'normal',
            'Commits survive the crash of any zaqar process; the last ones '
            'may be lost if the machine loses power or its kernel crashes.',
        ),
        (
            'full',
            'Commits also survive power loss and kernel crashes: each one '
            'waits for the disk (fsync), which costs speed.',
        ),
    ],
    help="When a write is acknowledged relative to the disk (SQLite's "
    'synchronous setting, in WAL mode).',
)

ALL_OPTS = [database, busy_timeout, synchronous]
