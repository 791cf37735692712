"""Messages: ``/v2/{queues,topics}/{name}/messages[/{message_id}]``."""

from __future__ import annotations

import re

import falcon

from zaqar.transport import policy
from zaqar.transport import representation
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi import query
from zaqar.transport.wsgi.resource import Resource


class MessageCollection(Resource):
    """Post, list, get-many, bulk-delete and pop messages of a queue."""

    @policy.enforce('messages:create')
    @errors.failure_description('Messages could not be enqueued.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Post messages, creating the queue if needed.

        With an ``Idempotency-Key`` header, at most once per key: a repeat
        is answered exactly as the first post was (see http-api.md,
        "Idempotent posts").
        """
        target = self._of_kind.messages.target(queue_name, req.context.project_id)
        body = media.read_body(req, target.body_limit)
        ids = self._of_kind.messages.post(
            target,
            media.parse_body(body, required=True),
            req.context.client_id,
            idempotency_key=idempotency_key(req),
            body_size=len(body),
        )
        resp.status = falcon.HTTP_201
        resp.location, resp.media = representation.posted(queue_name, ids, self._kind)

    @policy.enforce('messages:get_all')
    @errors.failure_description('Messages could not be listed.')
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """List messages page by page, or get several by ``ids``."""
        project = req.context.project_id
        with_checksum = self._deps.with_checksum
        ids = query.get_list(req, 'ids')
        if ids is not None:
            found = self._of_kind.messages.get_many(queue_name, project, ids)
            resp.media = representation.messages(
                found, queue_name, with_checksum, self._kind
            )
            return
        limit = req.get_param_as_int('limit')
        page = self._of_kind.messages.list(
            queue_name,
            project,
            req.context.client_id,
            marker=req.get_param('marker'),
            limit=limit,
            echo=req.get_param_as_bool('echo'),
            include_claimed=req.get_param_as_bool('include_claimed'),
            include_delayed=req.get_param_as_bool('include_delayed'),
        )
        resp.media = representation.message_listing(
            req.path, page, queue_name, with_checksum, self._kind
        )

    @policy.enforce('messages:delete_all')
    @errors.failure_description('Messages could not be deleted.')
    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Delete messages by ``ids``, or ``pop`` some.

        With ``claim_ids``, the messages are deleted only if those claims
        hold them all (see http-api.md, "Message lifecycle"); upstream reads
        ``claim_ids`` only with ``message_delete_with_claim_id``, but a
        client that sends it means it, whatever the option says.
        """
        popped = self._of_kind.messages.delete_many(
            queue_name,
            req.context.project_id,
            ids=query.get_list(req, 'ids'),
            pop=req.get_param_as_int('pop'),
            claim_ids=query.get_list(req, 'claim_ids'),
        )
        if popped is None:
            resp.status = falcon.HTTP_204
            return
        resp.media = {'messages': [representation.popped_message(m) for m in popped]}


class MessageItem(Resource):
    """Get or delete one message."""

    @policy.enforce('messages:get')
    @errors.failure_description('Message could not be retrieved.')
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        message_id: str,
    ) -> None:
        """Return the message, claimed or delayed alike."""
        record = self._of_kind.messages.get(
            queue_name, req.context.project_id, message_id
        )
        resp.media = representation.message(
            record, queue_name, self._deps.with_checksum, kind=self._kind
        )

    @policy.enforce('messages:delete')
    @errors.failure_description('Message could not be deleted.')
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        message_id: str,
    ) -> None:
        """Delete the message, quoting its claim with ``?claim_id=``."""
        self._of_kind.messages.delete(
            queue_name,
            req.context.project_id,
            message_id,
            claim_id=req.get_param('claim_id'),
        )
        resp.status = falcon.HTTP_204


IDEMPOTENCY_KEY = 'Idempotency-Key'

# An escape of a Structured Field string: a backslash and what it keeps.
_SF_ESCAPE = re.compile(r'\\([\\"])')


def idempotency_key(req: falcon.Request) -> str | None:
    """The request's idempotency key, or None without the header.

    The IETF draft writes the value as a Structured Field string, in double
    quotes; clients (and other services) also send it bare. A quoted value
    means the text between the quotes, with its escapes (a backslash before
    a quote or a backslash) undone; any other value, a quoted one with a
    stray quote or backslash inside included, is the key as sent.
    """
    value: str | None = req.get_header(IDEMPOTENCY_KEY)
    if value is None or len(value) < 2 or not value[0] == value[-1] == '"':
        return value
    inner = value[1:-1]
    stray = _SF_ESCAPE.sub('', inner)
    if '"' in stray or '\\' in stray:
        return value
    return _SF_ESCAPE.sub(r'\1', inner)
