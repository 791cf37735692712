"""Claims on Redis.

A claim is a record in ``c:<tag>``, an entry in ``e:<tag>`` while it has
not expired, and the set ``k:<claim>:<tag>`` of the messages recording it;
each claimed message also records the claim id and expiry itself.
"""

from __future__ import annotations

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Claim
from zaqar.storage.redis.common import Controller


class ClaimController(Controller, base.ClaimController):
    """Claims: create, read, renew and release, each one script call."""

    def create(
        self, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Claim the oldest claimable messages, moving dead letters aside."""
        return self._scripts.create_claim(
            project, queue, self._now(), ttl=ttl, grace=grace, limit=limit
        )

    def get(self, queue: str, claim_id: str, project: str) -> Claim:
        """Return a live claim with its remaining messages."""
        # NOTE: claim ids become part of key names: only well-formed ones
        # may reach the scripts.
        if not ids.is_valid_id(claim_id):
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        claim = self._scripts.get_claim(project, queue, self._now(), claim_id)
        if claim is None:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        return claim

    def update(
        self, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> None:
        """Renew a live claim from now, extending short-lived messages."""
        if not ids.is_valid_id(claim_id):
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        renewed = self._scripts.update_claim(
            project, queue, self._now(), claim_id, ttl=ttl, grace=grace
        )
        if not renewed:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)

    def delete(self, queue: str, claim_id: str, project: str) -> None:
        """Release the claim; its messages become claimable at once."""
        if ids.is_valid_id(claim_id):
            self._scripts.release_claim(project, queue, self._now(), claim_id)
