"""Claims: ``/v2/queues/{queue_name}/claims[/{claim_id}]`` (fact sheet §6)."""

from __future__ import annotations

import falcon

from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi import representation
from zaqar.transport.wsgi.resource import ValidatedResource

DEFAULT_CLAIM_LIMIT = 10


class ClaimCollection(ValidatedResource):
    """``POST``: claim a batch of the oldest claimable messages."""

    @errors.failure_description('Claim could not be created.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Claim messages: 201 with them, or 204 when none is claimable."""
        limit = req.get_param_as_int('limit')
        self._validator.claim_limit(limit)
        ttl, grace = self._validator.claim_options(media.read_small_json(req))
        claim = self._storage.claims.create(
            queue_name,
            req.context.project_id,
            ttl=ttl,
            grace=grace,
            limit=limit or DEFAULT_CLAIM_LIMIT,
        )
        if claim is None:
            resp.status = falcon.HTTP_204
            return
        document = representation.claim(claim, queue_name, self._with_checksum)
        resp.status = falcon.HTTP_201
        resp.location = document['href']
        resp.media = {'messages': document['messages']}


class ClaimItem(ValidatedResource):
    """Read, renew or release one claim."""

    @errors.failure_description('Claim could not be queried.')
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        claim_id: str,
    ) -> None:
        """Return the claim's age, TTL and the messages it still holds."""
        claim = self._storage.claims.get(queue_name, claim_id, req.context.project_id)
        resp.media = representation.claim(claim, queue_name, self._with_checksum)

    @errors.failure_description('Claim could not be updated.')
    def on_patch(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        claim_id: str,
    ) -> None:
        """Renew the claim with a new TTL (and grace)."""
        document = media.read_small_json(req, required=True)
        ttl, grace = self._validator.claim_options(document, renewal=True)
        self._storage.claims.update(
            queue_name, claim_id, req.context.project_id, ttl=ttl, grace=grace
        )
        resp.status = falcon.HTTP_204

    @errors.failure_description('Claim could not be deleted.')
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        claim_id: str,
    ) -> None:
        """Release the claim; idempotent."""
        self._storage.claims.delete(queue_name, claim_id, req.context.project_id)
        resp.status = falcon.HTTP_204
