"""Messages on Redis: one hash field per message, indexed by sorted sets."""

from __future__ import annotations

from collections.abc import Sequence

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import claim_rule
from zaqar.storage import errors
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.redis.common import Controller
from zaqar.storage.redis.scripts import DeleteOutcome
from zaqar.storage.redis.scripts import KeyOutcome


class MessageController(Controller, base.MessageController):
    """Messages: post, read, delete, pop and purge, each one script call."""

    def post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str]:
        """Store all messages with consecutive markers in one script call."""
        return self._post(queue, messages, project, client_id, None)

    def post_checked(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata,
    ) -> list[str]:
        """Compare the metadata and post, in one script call."""
        return self._post(queue, messages, project, client_id, metadata)

    def _post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata | None,
    ) -> list[str]:
        posted = self._scripts.post(
            project, queue, self._now(), messages, client_id, metadata
        )
        if posted is None:
            raise errors.MetadataChanged(queue)
        return posted

    def post_once(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str]:
        """Look the key up, post and record it, in one script call.

        Redis runs one script at a time, so a concurrent post with the same
        key runs wholly before or after this one: none is ever "in flight"
        to another.
        """
        posted = self._scripts.post_once(
            project, queue, self._now(), messages, client_id, idempotency_key
        )
        if posted.outcome is KeyOutcome.REUSED:
            raise errors.IdempotencyKeyReused(queue)
        return posted.ids

    def get_many(
        self, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message]:
        """Return the live messages among ``message_ids``, in marker order."""
        return self._scripts.get_messages(project, queue, self._now(), message_ids)

    def delete(
        self,
        queue: str,
        message_id: str,
        project: str,
        claim_id: str | None = None,
    ) -> None:
        """Delete one message if its claim allows it (see the contract)."""
        if claim_id is not None and not ids.is_valid_id(claim_id):
            raise errors.InvalidClaimId(claim_id)
        outcome = self._scripts.delete_message(
            project, queue, self._now(), message_id, claim_id
        )
        _raise_refusal(outcome, message_id)

    def delete_many(
        self,
        queue: str,
        message_ids: Sequence[str],
        project: str,
        claim_ids: Sequence[str] | None = None,
    ) -> None:
        """Delete the listed messages; with ``claim_ids``, all or none.

        One script call checks every message and deletes them, so no claim
        taken or released meanwhile can slip between the two.
        """
        quoted = None
        if claim_ids is not None:
            quoted = sorted(claim_rule.checked_claim_ids(claim_ids))
        deleted = self._scripts.delete_messages(
            project, queue, self._now(), message_ids, quoted
        )
        _raise_refusal(deleted.outcome, deleted.message_id)

    def pop(self, queue: str, limit: int, project: str) -> list[Message]:
        """Remove and return up to ``limit`` unclaimed messages, oldest first."""
        return self._scripts.pop(project, queue, self._now(), limit)

    def purge(self, queue: str, project: str) -> None:
        """Delete every message and claim of the queue."""
        self._scripts.purge(project, queue, self._now())

    def list(
        self,
        queue: str,
        project: str,
        client_id: str,
        marker: int | None = None,
        limit: int = 10,
        echo: bool = False,
        include_claimed: bool = False,
        include_delayed: bool = False,
    ) -> list[Message]:
        """List live messages after ``marker`` in marker order.

        Each script call examines a bounded number of entries (see
        :mod:`.scripts`); when one runs out before the page is full, it says
        where it stopped and the next call goes on from there.
        """
        now = self._now()
        found: list[Message] = []
        after = marker
        while len(found) < limit:
            batch = self._scripts.list_messages(
                project,
                queue,
                now,
                client_id,
                after=after,
                limit=limit - len(found),
                echo=echo,
                include_claimed=include_claimed,
                include_delayed=include_delayed,
            )
            found += batch.messages
            if not batch.cut_short:
                break
            after = batch.resume_after
        return found


def _raise_refusal(outcome: DeleteOutcome, message_id: str) -> None:
    """Raise the error of a delete script that refused ``message_id``."""
    if outcome is DeleteOutcome.CLAIMED:
        raise errors.MessageIsClaimed(message_id)
    if outcome is DeleteOutcome.NOT_CLAIMED:
        raise errors.MessageNotClaimed(message_id)
