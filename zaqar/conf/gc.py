"""Options of ``[gc]``: the ``zaqar-gc`` garbage collector."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'gc'

gc_interval = cfg.FloatOpt(
    'gc_interval',
    default=30.0,
    min=1.0,
    help='Seconds between the starts of two collection runs of zaqar-gc. '
    'Reads never return expired data, so this only decides how long expired '
    'messages and claims occupy storage.',
)

ALL_OPTS = [gc_interval]
