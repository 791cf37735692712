"""The JSON-home document: ``GET /v2`` and ``GET /v2/``.

Only relations this service implements are listed; clients merely display
the document.
"""

from __future__ import annotations

import json
from typing import Any

import falcon

from zaqar.transport import policy

JSON_HOME = 'application/json-home'
CACHE_CONTROL = 'max-age=86400'

_QUEUE = '/v2/queues/{queue_name}'
_QUEUE_VARS = {'queue_name': 'param/queue_name'}
_MESSAGE_VARS = {**_QUEUE_VARS, 'message_id': 'param/message_id'}
_CLAIM_VARS = {**_QUEUE_VARS, 'claim_id': 'param/claim_id'}


def _relation(
    template: str, variables: dict[str, str], methods: list[str], **hints: Any
) -> dict[str, Any]:
    return {
        'href-template': template,
        'href-vars': variables,
        'hints': {'allow': methods, 'formats': {'application/json': {}}, **hints},
    }


def _params(*names: str) -> dict[str, str]:
    return {name: f'param/{name}' for name in names}


def _subscription_relations() -> dict[str, Any]:
    subscriptions = f'{_QUEUE}/subscriptions'
    item = f'{subscriptions}/{{subscription_id}}'
    item_vars = {**_QUEUE_VARS, 'subscription_id': 'param/subscription_id'}
    post = {'accept-post': ['application/json']}
    return {
        'rel/subscriptions_get': _relation(
            f'{subscriptions}{{?marker,limit}}',
            {**_QUEUE_VARS, **_params('marker', 'limit')},
            ['GET'],
        ),
        'rel/subscriptions_post': _relation(
            subscriptions, _QUEUE_VARS, ['POST'], **post
        ),
        'rel/subscription': _relation(item, item_vars, ['GET', 'DELETE']),
        'rel/subscription_patch': _relation(item, item_vars, ['PATCH']),
        'rel/subscription_confirm': _relation(f'{item}/confirm', item_vars, ['PUT']),
    }


def _container_relations(noun: str) -> dict[str, Any]:
    """The relations queues and topics share: listing, item, stats, purge.

    Args:
        noun: ``queue`` or ``topic``.
    """
    collection = f'/v2/{noun}s'
    item = f'{collection}/{{{noun}_name}}'
    item_vars = _params(f'{noun}_name')
    return {
        f'rel/{noun}s': _relation(
            f'{collection}{{?marker,limit,detailed}}',
            _params('marker', 'limit', 'detailed'),
            ['GET'],
        ),
        f'rel/{noun}': _relation(item, item_vars, ['GET', 'HEAD', 'PUT', 'DELETE']),
        f'rel/{noun}_patch': _relation(item, item_vars, ['PATCH']),
        f'rel/{noun}_stats': _relation(f'{item}/stats', item_vars, ['GET']),
        f'rel/{noun}_purge': _relation(f'{item}/purge', item_vars, ['POST']),
    }


def _topic_relations() -> dict[str, Any]:
    topic = '/v2/topics/{topic_name}'
    topic_vars = _params('topic_name')
    return {
        **_container_relations('topic'),
        'rel/topic_messages': _relation(
            f'{topic}/messages', topic_vars, ['GET', 'POST', 'DELETE']
        ),
        'rel/topic_subscriptions': _relation(
            f'{topic}/subscriptions', topic_vars, ['GET', 'POST']
        ),
    }


def build(admin_mode: bool) -> dict[str, Any]:
    """Return the home document; admin relations only in admin mode."""
    post = {'accept-post': ['application/json']}
    resources = {
        **_container_relations('queue'),
        'rel/queue_share': _relation(f'{_QUEUE}/share', _QUEUE_VARS, ['POST']),
        'rel/messages': _relation(
            f'{_QUEUE}/messages{{?marker,limit,echo,include_claimed}}',
            {**_QUEUE_VARS, **_params('marker', 'limit', 'echo', 'include_claimed')},
            ['GET'],
        ),
        'rel/post_messages': _relation(
            f'{_QUEUE}/messages', _QUEUE_VARS, ['POST'], **post
        ),
        'rel/messages_delete': _relation(
            f'{_QUEUE}/messages{{?ids,pop}}',
            {**_QUEUE_VARS, **_params('ids', 'pop')},
            ['DELETE'],
        ),
        'rel/message_get': _relation(
            f'{_QUEUE}/messages/{{message_id}}', _MESSAGE_VARS, ['GET']
        ),
        'rel/message_delete': _relation(
            f'{_QUEUE}/messages/{{message_id}}{{?claim}}',
            {**_MESSAGE_VARS, **_params('claim')},
            ['DELETE'],
        ),
        'rel/post_claim': _relation(
            f'{_QUEUE}/claims{{?limit}}',
            {**_QUEUE_VARS, **_params('limit')},
            ['POST'],
            **post,
        ),
        'rel/claim': _relation(f'{_QUEUE}/claims/{{claim_id}}', _CLAIM_VARS, ['GET']),
        'rel/patch_claim': _relation(
            f'{_QUEUE}/claims/{{claim_id}}', _CLAIM_VARS, ['PATCH']
        ),
        'rel/delete_claim': _relation(
            f'{_QUEUE}/claims/{{claim_id}}', _CLAIM_VARS, ['DELETE']
        ),
        'rel/ping': {'href': '/v2/ping', 'hints': {'allow': ['GET', 'HEAD']}},
        **_subscription_relations(),
        **_topic_relations(),
    }
    if admin_mode:
        resources['rel/health'] = {
            'href': '/v2/health',
            'hints': {'allow': ['GET'], 'formats': {'application/json': {}}},
        }
    return {'resources': resources}


class HomeDocument:
    """Serve the JSON-home document, cacheable for a day.

    Args:
        admin_mode: Whether admin relations are listed.
    """

    def __init__(self, admin_mode: bool = False) -> None:
        self._body = json.dumps(build(admin_mode), ensure_ascii=False)

    # NOTE: no rule, as upstream: any authenticated caller may read it.
    @policy.no_rule()
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the document as ``application/json-home``."""
        resp.content_type = JSON_HOME
        resp.cache_control = [CACHE_CONTROL]
        resp.text = self._body
