"""Options of the ``[DEFAULT]`` group."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'DEFAULT'

admin_mode = cfg.BoolOpt(
    'admin_mode',
    default=False,
    help='Serve the admin API (GET /v2/health); who may call it is decided by '
    'the policy rule "health:get" (the admin role by default).',
)

enable_checksum = cfg.BoolOpt(
    'enable_checksum',
    default=False,
    help='Add an MD5 "checksum" field to every message returned.',
)

# Names of the strategies, as code compares them.
NOAUTH = 'noauth'
KEYSTONE = 'keystone'
API_KEY = 'api_key'

auth_strategy = cfg.StrOpt(
    'auth_strategy',
    default='',
    choices=[
        (
            '',
            'No authentication: the project is the X-Project-ID header and the '
            'roles the X-Roles header, trusted as sent. Anyone who can reach '
            'the port acts as any project: listen on loopback only.',
        ),
        (NOAUTH, 'Same as the empty value.'),
        (
            KEYSTONE,
            'Validate OpenStack Identity (Keystone) tokens with '
            "keystonemiddleware's auth_token middleware, configured in "
            '[keystone_authtoken]; needs the "keystone" extra of the package.',
        ),
        (
            API_KEY,
            'Accept the keys listed in [api_key] key_file, each mapped to a '
            'project and roles.',
        ),
    ],
    help='How requests are authenticated. With keystone or api_key the project '
    'and roles of a request come from its credentials, never from its '
    'headers; GET /, GET /v2/openapi.json and requests carrying URL-Signature '
    '(checked against [signed_url] secret_key) need no credentials.',
)

ALL_OPTS = [admin_mode, enable_checksum, auth_strategy]


def strategy(value: str) -> str:
    """The strategy an ``auth_strategy`` value names ('' is noauth)."""
    return value or NOAUTH
