"""Queues: ``/v2/queues`` and ``/v2/queues/{queue_name}`` (fact sheet §4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import falcon

from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.base import QueueController
from zaqar.storage.models import Metadata
from zaqar.storage.models import QueueInfo
from zaqar.transport import json_patch
from zaqar.transport.validation import InvalidBody
from zaqar.transport.validation import ValidationFailed
from zaqar.transport.validation import Validator
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi import query
from zaqar.transport.wsgi import representation

JSON_PATCH_MEDIA_TYPE = 'application/openstack-messaging-v2.0-json-patch'

# Query parameters of a queue listing; any other one filters on metadata.
_LISTING_PARAMS = frozenset({'marker', 'limit', 'detailed', 'name', 'with_count'})

DEFAULT_QUEUE_PAGE = 10
# Rounds of read, patch, compare-and-set before a PATCH gives up with 409.
PATCH_ATTEMPTS = 5


def stored_metadata(queues: QueueController, name: str, project: str) -> Metadata:
    """Return a queue's stored metadata; a missing queue has none."""
    try:
        return queues.get_metadata(name, project)
    except storage_errors.QueueDoesNotExist:
        # NOTE: queues are lazy; reading a missing one is not an error.
        return {}


class QueueCollection:
    """``GET /v2/queues``: list the project's queues by name.

    Args:
        storage: The storage driver.
        validator: Validator holding the configured limits.
    """

    def __init__(self, storage: DataDriver, validator: Validator) -> None:
        self._storage = storage
        self._validator = validator

    @errors.failure_description('Queues could not be listed.')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List queues, optionally detailed, filtered and counted."""
        project = req.context.project_id
        paging = self._paging(req)
        filters = _metadata_filters(req)
        queues = self._storage.queues.list(
            project,
            marker=paging['marker'],
            limit=paging['limit'] or DEFAULT_QUEUE_PAGE,
            detailed=bool(paging['detailed']),
            name_contains=paging['name'],
            metadata_filter=filters or None,
        )
        document: dict[str, Any] = {
            'queues': [self._queue(info) for info in queues],
            'links': _links(req.path, queues, paging, filters),
        }
        if paging['with_count']:
            count = self._storage.queues.count(project)
            if count:
                document['count'] = count
        resp.media = document

    def _paging(self, req: falcon.Request) -> dict[str, Any]:
        """Parse the listing parameters a next link repeats."""
        limit = req.get_param_as_int('limit')
        self._validator.queue_listing(limit)
        return {
            'marker': req.get_param('marker'),
            'limit': limit,
            'detailed': req.get_param_as_bool('detailed'),
            'name': req.get_param('name'),
            'with_count': req.get_param_as_bool('with_count'),
        }

    def _queue(self, info: QueueInfo) -> dict[str, Any]:
        document: dict[str, Any] = {
            'name': info.name,
            'href': representation.queue_href(info.name),
        }
        if info.metadata is not None:
            document['metadata'] = self._validator.with_defaults(info.metadata)
        return document


def _metadata_filters(req: falcon.Request) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for name, value in req.params.items():
        if name in _LISTING_PARAMS:
            continue
        # NOTE: a repeated key filters on its last value, like get_param().
        text = value[-1] if isinstance(value, list) else value
        filters[name] = query.filter_value(text)
    return filters


def _links(
    path: str,
    queues: Sequence[QueueInfo],
    paging: dict[str, Any],
    filters: dict[str, Any],
) -> list[dict[str, Any]]:
    if not queues:
        return []
    # NOTE: unlike upstream, the link keeps the metadata filters, so that the
    # next page lists the same selection.
    params = {name: value for name, value in paging.items() if value is not None}
    params.update(filters)
    params['marker'] = queues[-1].name
    return [representation.next_link(path, params)]


class QueueItem:
    """``/v2/queues/{queue_name}``: create, read, update, delete a queue.

    Args:
        storage: The storage driver.
        validator: Validator holding the configured limits.
    """

    def __init__(self, storage: DataDriver, validator: Validator) -> None:
        self._storage = storage
        self._validator = validator

    def _too_large(self, error: type[ValidationFailed]) -> ValidationFailed:
        size = self._validator.limits.max_queue_metadata
        return error(f'Queue metadata is too large. Max size: {size}')

    @errors.failure_description('Queue could not be created.')
    def on_put(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Create the queue; 204 when it exists (the body is then ignored)."""
        limit = self._validator.limits.max_queue_metadata
        document = media.read_json(req, limit, self._too_large(ValidationFailed))
        metadata = {} if document is None else document
        if not isinstance(metadata, dict):
            raise InvalidBody('Document type not supported.')
        self._validator.queue_metadata(metadata)
        created = self._storage.queues.create(
            queue_name, metadata, req.context.project_id
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_204
        resp.location = representation.queue_href(queue_name)

    @errors.failure_description('Queue metadata could not be retrieved.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Return the metadata with reserved defaults; a missing queue too."""
        metadata = stored_metadata(
            self._storage.queues, queue_name, req.context.project_id
        )
        resp.media = self._validator.with_defaults(metadata)

    @errors.failure_description('Queue could not be queried.')
    def on_head(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Answer 204 if the queue exists, 404 otherwise."""
        project = req.context.project_id
        if not self._storage.queues.exists(queue_name, project):
            raise storage_errors.QueueDoesNotExist(queue_name, project)
        resp.status = falcon.HTTP_204

    @errors.failure_description('Queue could not be updated.')
    def on_patch(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Apply a JSON-patch document to the metadata of an existing queue."""
        project = req.context.project_id
        changes = self._read_patch(req)
        # NOTE: compare-and-set, retried: two PATCHes of one queue at once
        # must both take effect, not the last one silently undo the first.
        for attempt in range(PATCH_ATTEMPTS):
            stored = self._storage.queues.get_metadata(queue_name, project)
            metadata = self._patched(stored, changes)
            try:
                self._storage.queues.set_metadata(
                    queue_name, metadata, project, expected=stored
                )
                break
            except storage_errors.MetadataConflict:
                if attempt == PATCH_ATTEMPTS - 1:
                    raise
        resp.media = self._validator.with_defaults(metadata)

    def _patched(
        self, stored: Metadata, changes: list[json_patch.PatchOperation]
    ) -> Metadata:
        """Return a validated copy of ``stored`` with ``changes`` applied."""
        metadata = dict(stored)
        reserved = self._validator.queue_defaults()
        for change in changes:
            json_patch.apply(metadata, change, reserved)
        self._validator.queue_metadata(metadata, error=InvalidBody)
        return metadata

    def _read_patch(self, req: falcon.Request) -> list[json_patch.PatchOperation]:
        limit = self._validator.limits.max_queue_metadata
        too_large = self._too_large(InvalidBody)
        if req.content_length is not None and req.content_length > limit:
            raise too_large
        media_type = (req.content_type or '').split(';', 1)[0].strip().lower()
        if media_type != JSON_PATCH_MEDIA_TYPE:
            raise falcon.HTTPUnsupportedMediaType(
                description=f'Accepted media type for PATCH: {JSON_PATCH_MEDIA_TYPE}.',
                headers={'Accept-Patch': JSON_PATCH_MEDIA_TYPE},
            )
        data = media.read_body(req, limit, too_large)
        if not data:
            raise InvalidBody('PATCH body could not be empty for update.')
        return json_patch.parse(media.parse_json(data))

    @errors.failure_description('Queue could not be deleted.')
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Delete the queue and its messages; idempotent."""
        self._storage.queues.delete(queue_name, req.context.project_id)
        resp.status = falcon.HTTP_204
