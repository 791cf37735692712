"""The route table of the v2 API: every path and the resource serving it."""

from __future__ import annotations

from zaqar.operations.kinds import Kind
from zaqar.transport.wsgi import claims
from zaqar.transport.wsgi import health
from zaqar.transport.wsgi import homedoc
from zaqar.transport.wsgi import messages
from zaqar.transport.wsgi import openapi
from zaqar.transport.wsgi import ping
from zaqar.transport.wsgi import queues
from zaqar.transport.wsgi import share
from zaqar.transport.wsgi import subscriptions
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
        *_container_routes(deps, Kind.QUEUE),
        (f'{QUEUE}/share', share.Share(deps)),
        (f'{QUEUE}/claims', claims.ClaimCollection(deps)),
        (f'{QUEUE}/claims/{{claim_id}}', claims.ClaimItem(deps)),
        *_container_routes(deps, Kind.TOPIC),
    ]
    if deps.admin_mode:
        routes.append(('/v2/health', health.Health(deps)))
    return routes


def _container_routes(deps: Dependencies, kind: Kind) -> list[Route]:
    """The routes queues and topics share, served by the same resources.

    Topic paths name ``{topic_name}``; the request checks validate it and
    hand it to the responders as ``queue_name``.
    """
    collection = f'/v2/{kind.collection}'
    item = f'{collection}/{{{kind.value}_name}}'
    subscription = f'{item}/subscriptions/{{subscription_id}}'
    return [
        (collection, queues.QueueCollection(deps, kind)),
        (item, queues.QueueItem(deps, kind)),
        (f'{item}/stats', queues.Stats(deps, kind)),
        (f'{item}/purge', queues.Purge(deps, kind)),
        (f'{item}/messages', messages.MessageCollection(deps, kind)),
        (f'{item}/messages/{{message_id}}', messages.MessageItem(deps, kind)),
        (f'{item}/subscriptions', subscriptions.SubscriptionCollection(deps, kind)),
        (subscription, subscriptions.SubscriptionItem(deps, kind)),
        (f'{subscription}/confirm', subscriptions.SubscriptionConfirmation(deps, kind)),
    ]
