"""Claims: ``/v2/queues/{queue_name}/claims[/{claim_id}]``."""

from __future__ import annotations

import falcon

from zaqar.transport import policy
from zaqar.transport import representation
from zaqar.transport.wsgi import errors
from zaqar.transport.wsgi import media
from zaqar.transport.wsgi.resource import Resource


class ClaimCollection(Resource):
    """``POST``: claim a batch of the oldest claimable messages."""

    @policy.enforce('claims:create')
    @errors.failure_description('Claim could not be created.')
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, queue_name: str
    ) -> None:
        """Claim messages: 201 with them, or 204 when none is claimable."""
        limit = req.get_param_as_int('limit')
        claim = self._ops.claims.create(
            queue_name, req.context.project_id, limit, media.read_json(req)
        )
        if claim is None:
            resp.status = falcon.HTTP_204
            return
        document = representation.claim(claim, queue_name, self._deps.with_checksum)
        resp.status = falcon.HTTP_201
        resp.location = document['href']
        resp.media = {'messages': document['messages']}


class ClaimItem(Resource):
    """Read, renew or release one claim."""

    @policy.enforce('claims:get')
    @errors.failure_description('Claim could not be queried.')
    def on_get(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        claim_id: str,
    ) -> None:
        """Return the claim's age, TTL and the messages it still holds."""
        claim = self._ops.claims.get(queue_name, req.context.project_id, claim_id)
        resp.media = representation.claim(claim, queue_name, self._deps.with_checksum)

    @policy.enforce('claims:update')
    @errors.failure_description('Claim could not be updated.')
    def on_patch(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        claim_id: str,
    ) -> None:
        """Renew the claim with a new TTL (and grace)."""
        options = media.read_json(req, required=True)
        self._ops.claims.renew(queue_name, req.context.project_id, claim_id, options)
        resp.status = falcon.HTTP_204

    @policy.enforce('claims:delete')
    @errors.failure_description('Claim could not be deleted.')
    def on_delete(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        queue_name: str,
        claim_id: str,
    ) -> None:
        """Release the claim; idempotent."""
        self._ops.claims.release(queue_name, req.context.project_id, claim_id)
        resp.status = falcon.HTTP_204
