"""Options of the ``[DEFAULT]`` group."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'DEFAULT'

admin_mode = cfg.BoolOpt(
    'admin_mode',
    default=False,
    help='Serve the admin API (GET /v2/health) to requests with the admin role.',
)

enable_checksum = cfg.BoolOpt(
    'enable_checksum',
    default=False,
    help='Add an MD5 "checksum" field to every message returned.',
)

auth_strategy = cfg.StrOpt(
    'auth_strategy',
    default='',
    choices=[
        ('', 'Trust X-Project-ID (no authentication).'),
        ('noauth', 'Same as the empty value.'),
    ],
    help='How requests are authenticated. Only header trust is built in: put '
    'an authenticating proxy in front of the service for anything else.',
)

ALL_OPTS = [admin_mode, enable_checksum, auth_strategy]
