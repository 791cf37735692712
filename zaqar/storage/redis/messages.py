"""Messages on Redis: one hash field per message, indexed by sorted sets."""

from __future__ import annotations

from collections.abc import Sequence

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Message
from zaqar.storage.models import NewMessage
from zaqar.storage.redis.common import Controller
from zaqar.storage.redis.common import dump_json
from zaqar.storage.redis.common import message_from_reply
from zaqar.storage.redis.common import text

# Expired messages of the queue a post removes in passing (see scripts.POST).
SWEEP_ON_POST = 32

# Outcomes of scripts.DELETE_MESSAGE.
_CLAIMED = 1
_NOT_CLAIMED = 2


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
        message_ids = [ids.new_id() for _ in messages]
        # Encode every body first: one that cannot be encoded writes nothing.
        args: list[str | int] = [client_id, SWEEP_ON_POST]
        for message_id, message in zip(message_ids, messages, strict=True):
            args += [message_id, message.ttl, message.delay, dump_json(message.body)]
        self._run(self._scripts.post, project, queue, self._now(), *args)
        return message_ids

    def get_many(
        self, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message]:
        """Return the live messages among ``message_ids``, in marker order."""
        wanted = sorted(set(message_ids))
        if not wanted:
            return []
        now = self._now()
        replies = self._run(self._scripts.get_messages, project, queue, now, *wanted)
        return [message_from_reply(reply, now) for reply in replies]

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
        outcome = self._run(
            self._scripts.delete_message,
            project,
            queue,
            self._now(),
            message_id,
            claim_id or '',
        )
        if outcome == _CLAIMED:
            raise errors.MessageIsClaimed(message_id)
        if outcome == _NOT_CLAIMED:
            raise errors.MessageNotClaimed(message_id)

    def delete_many(self, queue: str, message_ids: Sequence[str], project: str) -> None:
        """Delete the listed messages, claimed or not."""
        wanted = sorted(set(message_ids))
        if wanted:
            self._run(
                self._scripts.delete_messages, project, queue, self._now(), *wanted
            )

    def pop(self, queue: str, limit: int, project: str) -> list[Message]:
        """Remove and return up to ``limit`` unclaimed messages, oldest first."""
        now = self._now()
        replies = self._run(self._scripts.pop, project, queue, now, limit)
        return [message_from_reply(reply, now) for reply in replies]

    def purge(self, queue: str, project: str) -> None:
        """Delete every message and claim of the queue."""
        self._run(self._scripts.purge, project, queue, self._now())

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
        after = '' if marker is None else str(int(marker))
        while len(found) < limit:
            views, resume = self._run(
                self._scripts.list_messages,
                project,
                queue,
                now,
                client_id,
                after,
                limit - len(found),
                _flag(echo),
                _flag(include_claimed),
                _flag(include_delayed),
            )
            found += [message_from_reply(view, now) for view in views]
            if not resume:
                break
            where = text(resume)
            after = '' if where == 'start' else where
        return found


def _flag(value: bool) -> str:
    return '1' if value else '0'
