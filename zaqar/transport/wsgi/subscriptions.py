"""Subscriptions: ``/v2/{queues,topics}/{name}/subscriptions[/{id}[/confirm]]``."""

from __future__ import annotations

import falcon

from zaqar.transport import policy
from zaqar.transport import representation
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi.resource import Resource


class SubscriptionCollection(Resource):
    """Subscribe to a queue (or topic), and list its subscriptions."""

    @policy.enforce('subscription:create')
    @errors.failure_description('Subscription could not be created.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Subscribe: 201 with the id (also for an unconfirmed duplicate)."""
        subscribed = self._of_kind.subscriptions.create(
            queue_name, req.context.project_id, media.read_json(req)
        )
        resp.status = falcon.HTTP_201
        # NOTE: upstream's Location names the collection, not the new item.
        resp.location = representation.subscriptions_href(queue_name, self._kind)
        resp.media = {'subscription_id': subscribed.subscription_id}

    @policy.enforce('subscription:get_all')
    @errors.failure_description('Subscriptions could not be listed.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """List subscriptions in creation order, page by page."""
        page = self._of_kind.subscriptions.list(
            queue_name,
            req.context.project_id,
            marker=req.get_param('marker'),
            limit=req.get_param_as_int('limit'),
        )
        resp.media = representation.subscription_listing(req.path, page)


class SubscriptionItem(Resource):
    """Read, change or delete one subscription."""

    @policy.enforce('subscription:get')
    @errors.failure_description('Subscription could not be retrieved.')
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        subscription_id: str,
    ) -> None:
        """Return the subscription."""
        subscription = self._of_kind.subscriptions.get(
            queue_name, req.context.project_id, subscription_id
        )
        resp.media = representation.subscription(subscription)

    @policy.enforce('subscription:update')
    @errors.failure_description('Subscription could not be updated.')
    def on_patch(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        subscription_id: str,
    ) -> None:
        """Change the subscriber, TTL or options."""
        self._of_kind.subscriptions.update(
            queue_name,
            req.context.project_id,
            subscription_id,
            media.read_json(req),
        )
        resp.status = falcon.HTTP_204
        resp.location = req.path

    @policy.enforce('subscription:delete')
    @errors.failure_description('Subscription could not be deleted.')
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        subscription_id: str,
    ) -> None:
        """Delete the subscription; idempotent."""
        self._of_kind.subscriptions.delete(
            queue_name, req.context.project_id, subscription_id
        )
        resp.status = falcon.HTTP_204


class SubscriptionConfirmation(Resource):
    """``PUT .../confirm``: the subscriber confirms, or cancels."""

    @policy.enforce('subscription:confirm')
    @errors.failure_description('Subscription could not be confirmed.')
    def on_put(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        subscription_id: str,
    ) -> None:
        """Set ``confirmed`` from the body's boolean."""
        self._of_kind.subscriptions.confirm(
            queue_name,
            req.context.project_id,
            subscription_id,
            media.read_json(req, required=True),
        )
        resp.status = falcon.HTTP_204
        resp.location = req.path
