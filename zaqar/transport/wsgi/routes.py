"""The route table of the v2 API: every path and the resource serving it."""

from __future__ import annotations

from zaqar.storage.base import DataDriver
from zaqar.transport.validation import Validator
from zaqar.transport.wsgi import claims
from zaqar.transport.wsgi import health
from zaqar.transport.wsgi import homedoc
from zaqar.transport.wsgi import messages
from zaqar.transport.wsgi import ping
from zaqar.transport.wsgi import purge
from zaqar.transport.wsgi import queues
from zaqar.transport.wsgi import share
from zaqar.transport.wsgi import stats
from zaqar.transport.wsgi import versions

Route = tuple[str, object]

QUEUE = '/v2/queues/{queue_name}'


def build_routes(
    storage: DataDriver,
    validator: Validator,
    admin_mode: bool = False,
    with_checksum: bool = False,
    signing_secret: str | None = None,
) -> list[Route]:
    """Return ``(path template, resource)`` pairs for every v2 route.

    Args:
        storage: The storage driver every resource talks to.
        validator: Validator holding the configured limits.
        admin_mode: Whether to add the admin-only routes (``/v2/health``).
        with_checksum: Whether messages carry a ``checksum``.
        signing_secret: Secret for pre-signed URLs; None refuses sharing.
    """
    home = homedoc.HomeDocument(admin_mode)
    routes: list[Route] = [
        ('/', versions.Versions()),
        # NOTE: upstream serves only /v2/; python-zaqarclient asks for /v2/
        # but humans type /v2, so both answer.
        ('/v2', home),
        ('/v2/', home),
        ('/v2/ping', ping.Ping(storage)),
        ('/v2/queues', queues.QueueCollection(storage, validator)),
        (QUEUE, queues.QueueItem(storage, validator)),
        (f'{QUEUE}/stats', stats.Stats(storage)),
        (f'{QUEUE}/purge', purge.Purge(storage, validator)),
        (f'{QUEUE}/share', share.Share(signing_secret, storage.clock)),
        (
            f'{QUEUE}/messages',
            messages.MessageCollection(storage, validator, with_checksum),
        ),
        (
            f'{QUEUE}/messages/{{message_id}}',
            messages.MessageItem(storage, with_checksum),
        ),
        (
            f'{QUEUE}/claims',
            claims.ClaimCollection(storage, validator, with_checksum),
        ),
        (
            f'{QUEUE}/claims/{{claim_id}}',
            claims.ClaimItem(storage, validator, with_checksum),
        ),
    ]
    if admin_mode:
        routes.append(('/v2/health', health.Health(storage)))
    return routes
