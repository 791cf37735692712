"""The route table of the v2 API: every path and the resource serving it."""

from __future__ import annotations

from zaqar.transport.wsgi import claims
from zaqar.transport.wsgi import health
from zaqar.transport.wsgi import homedoc
from zaqar.transport.wsgi import messages
from zaqar.transport.wsgi import openapi
from zaqar.transport.wsgi import ping
from zaqar.transport.wsgi import queues
from zaqar.transport.wsgi import share
from zaqar.transport.wsgi import versions
from zaqar.transport.wsgi.resource import Dependencies

Route = tuple[str, object]

QUEUE = '/v2/queues/{queue_name}'


def build_routes(deps: Dependencies) -> list[Route]:
    """Return ``(path template, resource)`` pairs for every v2 route.

    Args:
        deps: What the resources need; ``deps.admin_mode`` adds the
            admin-only routes (``/v2/health``).
    """
    home = homedoc.HomeDocument(deps.admin_mode)
    routes: list[Route] = [
        ('/', versions.Versions()),
        # NOTE: upstream serves only /v2/; python-zaqarclient asks for /v2/
        # but humans type /v2, so both answer.
        ('/v2', home),
        ('/v2/', home),
        ('/v2/openapi.json', openapi.OpenAPIDocument()),
        ('/v2/ping', ping.Ping(deps)),
        ('/v2/queues', queues.QueueCollection(deps)),
        (QUEUE, queues.QueueItem(deps)),
        (f'{QUEUE}/stats', queues.Stats(deps)),
        (f'{QUEUE}/purge', queues.Purge(deps)),
        (f'{QUEUE}/share', share.Share(deps)),
        (f'{QUEUE}/messages', messages.MessageCollection(deps)),
        (f'{QUEUE}/messages/{{message_id}}', messages.MessageItem(deps)),
        (f'{QUEUE}/claims', claims.ClaimCollection(deps)),
        (f'{QUEUE}/claims/{{claim_id}}', claims.ClaimItem(deps)),
    ]
    if deps.admin_mode:
        routes.append(('/v2/health', health.Health(deps)))
    return routes
