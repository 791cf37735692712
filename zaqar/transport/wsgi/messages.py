"""Messages: ``/v2/queues/{queue_name}/messages[/{message_id}]`` (§5)."""

from __future__ import annotations

from typing import Any

import falcon

from zaqar.storage.base import DataDriver
from zaqar.storage.models import Message
from zaqar.transport.validation import ValidationFailed
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi import query
from zaqar.transport.wsgi import representation
from zaqar.transport.wsgi.queues import stored_metadata
from zaqar.transport.wsgi.resource import ValidatedResource

DEFAULT_MESSAGE_PAGE = 10

# Boolean flags of a listing, repeated in its next link when given.
_LISTING_FLAGS = ('echo', 'include_claimed', 'include_delayed')


class MessageCollection(ValidatedResource):
    """Post, list, get-many, bulk-delete and pop messages of a queue."""

    @errors.failure_description('Messages could not be enqueued.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Post messages, creating the queue if needed."""
        project = req.context.project_id
        metadata = stored_metadata(self._storage.queues, queue_name, project)
        limit = self._validator.post_size_limit(metadata)
        too_large = ValidationFailed(
            f'Message collection size is too large. Max size {limit}'
        )
        document = media.read_json(req, limit, too_large, required=True)
        messages = self._validator.messages(document, metadata)
        ids = self._storage.messages.post(
            queue_name, messages, project, req.context.client_id
        )
        base = f'{representation.queue_href(queue_name)}/messages'
        resp.status = falcon.HTTP_201
        resp.location = f'{base}?ids={",".join(ids)}'
        resp.media = {'resources': [f'{base}/{message_id}' for message_id in ids]}

    @errors.failure_description('Messages could not be listed.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """List messages page by page, or get several by ``ids``."""
        ids = query.get_list(req, 'ids')
        if ids is not None:
            self._get_many(req, resp, queue_name, ids)
            return
        params = self._listing_params(req, queue_name)
        messages = self._list(req, queue_name, params)
        resp.media = {
            'messages': [self._represent(item, queue_name) for item in messages],
            'links': _links(req.path, messages, params),
        }

    def _listing_params(self, req: falcon.Request, queue: str) -> dict[str, Any]:
        """Parse the paging parameters a next link repeats."""
        limit = req.get_param_as_int('limit')
        self._validator.message_listing(limit)
        params: dict[str, Any] = {'limit': limit}
        for flag in _LISTING_FLAGS:
            params[flag] = req.get_param_as_bool(flag)
        if not params['include_delayed'] and not self._is_delay_queue(req, queue):
            # NOTE: only delay queues hide delayed messages (fact sheet §6.9).
            params['include_delayed'] = True
        return params

    def _is_delay_queue(self, req: falcon.Request, queue: str) -> bool:
        project = req.context.project_id
        metadata = stored_metadata(self._storage.queues, queue, project)
        return bool(metadata.get('_default_message_delay'))

    def _list(
        self, req: falcon.Request, queue: str, params: dict[str, Any]
    ) -> list[Message]:
        marker = query.get_message_marker(req)
        if marker == query.INVALID_MARKER:
            return []
        return self._storage.messages.list(
            queue,
            req.context.project_id,
            req.context.client_id,
            marker=marker,
            limit=params['limit'] or DEFAULT_MESSAGE_PAGE,
            echo=bool(params['echo']),
            include_claimed=bool(params['include_claimed']),
            include_delayed=bool(params['include_delayed']),
        )

    def _get_many(
        self, req: falcon.Request, resp: falcon.Response, queue: str, ids: list[str]
    ) -> None:
        self._validator.message_listing(len(ids))
        project = req.context.project_id
        messages = self._storage.messages.get_many(queue, ids, project)
        if not messages:
            raise errors.not_found(
                f'No messages with IDs: {", ".join(ids)} found in the queue '
                f'{queue} for project {project}.'
            )
        resp.media = {'messages': [self._represent(item, queue) for item in messages]}

    @errors.failure_description('Messages could not be deleted.')
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Delete messages by ``ids`` (claimed or not), or ``pop`` some."""
        ids = query.get_list(req, 'ids')
        pop = req.get_param_as_int('pop')
        self._validator.message_deletion(ids, pop)
        project = req.context.project_id
        if pop is not None:
            popped = self._storage.messages.pop(queue_name, pop, project)
            resp.media = {
                'messages': [representation.popped_message(item) for item in popped]
            }
            return
        self._storage.messages.delete_many(queue_name, ids or [], project)
        resp.status = falcon.HTTP_204

    def _represent(self, record: Message, queue: str) -> dict[str, Any]:
        return representation.message(record, queue, self._with_checksum)


def _links(
    path: str, messages: list[Message], params: dict[str, Any]
) -> list[dict[str, Any]]:
    if not messages:
        return []
    given = {name: value for name, value in params.items() if value is not None}
    given['marker'] = messages[-1].marker
    return [representation.next_link(path, given)]


class MessageItem:
    """Get or delete one message.

    Args:
        storage: The storage driver.
        with_checksum: Add ``checksum`` to the returned message.
    """

    def __init__(self, storage: DataDriver, with_checksum: bool = False) -> None:
        self._storage = storage
        self._with_checksum = with_checksum

    @errors.failure_description('Message could not be retrieved.')
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        message_id: str,
    ) -> None:
        """Return the message, claimed or delayed alike."""
        record = self._storage.messages.get(
            queue_name, message_id, req.context.project_id
        )
        resp.media = representation.message(record, queue_name, self._with_checksum)

    @errors.failure_description('Message could not be deleted.')
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        message_id: str,
    ) -> None:
        """Delete the message, quoting its claim with ``?claim_id=``."""
        self._storage.messages.delete(
            queue_name,
            message_id,
            req.context.project_id,
            claim_id=req.get_param('claim_id'),
        )
        resp.status = falcon.HTTP_204
