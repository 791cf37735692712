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
from zaqar.storage.redis.common import message_from_reply
from zaqar.storage.redis.common import text


class ClaimController(Controller, base.ClaimController):
    """Claims: create, read, renew and release, each one script call."""

    def create(
        self, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Claim the oldest claimable messages, moving dead letters aside."""
        now = self._now()
        claim_id = ids.new_id()
        replies = self._run(
            self._scripts.create_claim, project, queue, now, claim_id, ttl, grace, limit
        )
        if not replies:
            return None
        messages = [message_from_reply(reply, now) for reply in replies]
        return Claim(id=claim_id, ttl=ttl, age=0, messages=messages)

    def get(self, queue: str, claim_id: str, project: str) -> Claim:
        """Return a live claim with its remaining messages."""
        # NOTE: claim ids become part of key names: only well-formed ones
        # may reach the scripts.
        if not ids.is_valid_id(claim_id):
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        now = self._now()
        reply = self._run(self._scripts.get_claim, project, queue, now, claim_id)
        if reply is None:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        ttl, updated, replies = reply
        return Claim(
            id=claim_id,
            ttl=int(ttl),
            age=max(0, int(now - float(text(updated)))),
            messages=[message_from_reply(item, now) for item in replies],
        )

    def update(
        self, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> None:
        """Renew a live claim from now, extending short-lived messages."""
        if not ids.is_valid_id(claim_id):
            raise errors.ClaimDoesNotExist(claim_id, queue, project)
        renewed = self._run(
            self._scripts.update_claim,
            project,
            queue,
            self._now(),
            claim_id,
            ttl,
            grace,
        )
        if not renewed:
            raise errors.ClaimDoesNotExist(claim_id, queue, project)

    def delete(self, queue: str, claim_id: str, project: str) -> None:
        """Release the claim; its messages become claimable at once."""
        if ids.is_valid_id(claim_id):
            self._run(
                self._scripts.release_claim, project, queue, self._now(), claim_id
            )
