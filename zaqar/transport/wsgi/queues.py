"""Queues and topics: ``/v2/{queues,topics}[/{name}[/stats|/purge]]``."""

from __future__ import annotations

from typing import Any

import falcon

from zaqar.transport import policy
from zaqar.transport import representation
from zaqar.transport.json_body import parse_json
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi.resource import Resource

JSON_PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch'

# Query parameters of a queue listing; any other one filters on metadata.
_LISTING_PARAMS = frozenset({'marker', 'limit', 'detailed', 'name', 'with_count'})


class QueueCollection(Resource):
    """``GET /v2/queues`` (or topics): list the project's queues by name."""

    @policy.enforce('queues:get_all', 'topics:get_all')
    @errors.failure_description('Queues could not be listed.')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List queues, optionally detailed, filtered and counted."""
        limit = req.get_param_as_int('limit')
        listing = self._of_kind.containers.list(
            req.context.project_id,
            marker=req.get_param('marker'),
            limit=limit,
            detailed=req.get_param_as_bool('detailed'),
            name=req.get_param('name'),
            with_count=req.get_param_as_bool('with_count'),
            filters=_metadata_filters(req),
        )
        resp.media = representation.queue_listing(req.path, listing, self._kind)


def _metadata_filters(req: falcon.Request) -> dict[str, str]:
    filters: dict[str, str] = {}
    for name, value in req.params.items():
        if name in _LISTING_PARAMS:
            continue
        # NOTE: a repeated key filters on its last value, like get_param().
        filters[name] = value[-1] if isinstance(value, list) else value
    return filters


class QueueItem(Resource):
    """``/v2/queues/{queue_name}``: create, read, update, delete a queue."""

    @policy.enforce('queues:create', 'topics:create')
    @errors.failure_description('Queue could not be created.')
    def on_put(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Create the queue; 204 when it exists (the body is then ignored)."""
        metadata = media.read_json(req, self._of_kind.containers.metadata_limit)
        created = self._of_kind.containers.create(
            queue_name, req.context.project_id, metadata
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_204
        resp.location = representation.queue_href(queue_name, self._kind)

    @policy.enforce('queues:get', 'topics:get')
    @errors.failure_description('Queue metadata could not be retrieved.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Return the metadata with reserved defaults; a missing queue too."""
        resp.media = self._of_kind.containers.get_metadata(
            queue_name, req.context.project_id
        )

    @policy.enforce('queues:get', 'topics:get')
    @errors.failure_description('Queue could not be queried.')
    def on_head(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Answer 204 if the queue exists, 404 otherwise."""
        project = req.context.project_id
        if not self._of_kind.containers.exists(queue_name, project):
            raise falcon.HTTPNotFound()
        resp.status = falcon.HTTP_204

    @policy.enforce('queues:update', 'topics:update')
    @errors.failure_description('Queue could not be updated.')
    def on_patch(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Apply a JSON-patch document to the metadata of an existing queue."""
        resp.media = self._of_kind.containers.patch(
            queue_name, req.context.project_id, self._read_patch(req)
        )

    def _read_patch(self, req: falcon.Request) -> Any:
        """Read the JSON-patch body: size first, then media type, then JSON."""
        limit = self._of_kind.containers.patch_limit
        if req.content_length is not None and req.content_length > limit.size:
            raise limit.refusal()
        if media.media_type(req) != JSON_PATCH_MEDIA_TYPE:
            raise falcon.HTTPUnsupportedMediaType(
                description=f'Accepted media type for PATCH: {JSON_PATCH_MEDIA_TYPE}.',
                headers={'Accept-Patch': JSON_PATCH_MEDIA_TYPE},
            )
        data = media.read_body(req, limit)
        return parse_json(data) if data else None

    @policy.enforce('queues:delete', 'topics:delete')
    @errors.failure_description('Queue could not be deleted.')
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Delete the queue and its messages; idempotent."""
        self._of_kind.containers.delete(queue_name, req.context.project_id)
        resp.status = falcon.HTTP_204


class Stats(Resource):
    """``GET /v2/queues/{queue_name}/stats``: message counts of a queue."""

    @policy.enforce('queues:stats', 'topics:stats')
    @errors.failure_description('Queue stats could not be read.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Return free, claimed and total counts, oldest and newest."""
        record = self._of_kind.containers.stats(queue_name, req.context.project_id)
        resp.media = representation.stats(record, queue_name, self._kind)


class Purge(Resource):
    """``POST /v2/queues/{queue_name}/purge``: remove a queue's contents."""

    @policy.enforce('queues:purge', 'topics:purge')
    @errors.failure_description('Queue could not be purged.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Purge the resource types named in the body; all without a body."""
        self._of_kind.containers.purge(
            queue_name, req.context.project_id, media.read_json(req)
        )
        resp.status = falcon.HTTP_204
