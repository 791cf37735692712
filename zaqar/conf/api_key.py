"""Options of ``[api_key]``: keys of ``auth_strategy = api_key``."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'api_key'

key_file = cfg.StrOpt(
    'key_file',
    help='YAML or JSON file listing the accepted API keys by their SHA-256 '
    'hash, each with the project and roles it acts as: {"keys": [{"hash": '
    '"sha256:<hex>", "project": "p", "roles": ["admin"], "name": "ci"}]}. '
    'The zaqar-api-key command makes a key and its entry. Changes are picked '
    'up within a second, without a restart. Required with auth_strategy = '
    'api_key.',
)

ALL_OPTS = [key_file]
