"""Options of the ``[drivers]`` group: which plugins serve the API."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'drivers'

message_store = cfg.StrOpt(
    'message_store',
    default='sqlite',
    help='Storage driver for queues, messages and claims: the name of an '
    'entry point in the zaqar.data.storage group (built in: sqlite, redis, mongodb).',
)

transport = cfg.StrOpt(
    'transport',
    default='wsgi',
    choices=['wsgi'],
    help='Transport driver. Only the WSGI (HTTP) transport exists.',
)

ALL_OPTS = [message_store, transport]
