"""Options of ``[signed_url]``: pre-signed queue URLs (``POST .../share``)."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'signed_url'

secret_key = cfg.StrOpt(
    'secret_key',
    secret=True,
    help='Secret used to sign and check pre-signed URLs. While unset, '
    'POST /v2/queues/{name}/share is refused and requests carrying '
    'URL-Signature headers are answered 404.',
)

ALL_OPTS = [secret_key]
