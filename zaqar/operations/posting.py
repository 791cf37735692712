"""What a message post is validated with: its queue's metadata, read or remembered.

A queue's metadata decides how a post is validated (the size limit, the TTL
and delay defaults), so every post used to read it first: a storage round
trip of its own, about a fifth of a post's time on Redis. Metadata rarely
changes, so each process remembers what it last read per queue, and posts
with it through ``post_checked``: the driver stores the messages only if
the queue still has that metadata, in the same atomic step. When it has
changed, or the remembered settings refuse the post, the post reads the
metadata and is validated again, exactly as without memory. No post is ever
stored under settings its queue no longer had when it was stored.
"""

from __future__ import annotations

import dataclasses
import threading

from zaqar.common.limits import Limits
from zaqar.common.queue_metadata import Metadata
from zaqar.common.queue_metadata import PostSettings
from zaqar.operations.queues import BodyLimit

# Queues whose metadata one process remembers; each costs its metadata
# document (small: a few hundred bytes at most for most queues).
REMEMBERED_QUEUES = 4096


@dataclasses.dataclass(frozen=True)
class PostTarget:
    """A queue about to receive messages, with what its metadata decides.

    Made by :meth:`zaqar.operations.messages.MessageOperations.target`, so
    that a transport learns how much body to read before it reads it.

    Attributes:
        queue: The queue (or topic) name.
        project: The client's project.
        metadata: The queue's stored metadata (``{}`` for a missing queue).
        settings: What ``metadata`` decides about posting.
        largest_body: The most any queue accepts (``[transport]
            max_messages_post_size``).
        remembered: ``metadata`` was remembered from an earlier post, not
            read for this one: it may be out of date.
    """

    queue: str
    project: str
    metadata: Metadata
    settings: PostSettings
    largest_body: int
    remembered: bool = False

    @classmethod
    def of(
        cls,
        queue: str,
        project: str,
        metadata: Metadata,
        limits: Limits,
        remembered: bool = False,
    ) -> PostTarget:
        """The target of a post to ``queue``, whose metadata is ``metadata``."""
        return cls(
            queue,
            project,
            metadata,
            PostSettings.of(metadata, limits),
            limits.max_messages_post_size,
            remembered,
        )

    @property
    def body_limit(self) -> BodyLimit:
        """The largest POST body to read, and how to refuse a larger one.

        A remembered size limit may be out of date, and an old smaller one
        must not refuse a body the queue now accepts: then the transport
        reads up to what any queue accepts, and the post compares the body's
        size with the queue's limit (see ``body_size`` of ``post``).
        """
        size = self.largest_body if self.remembered else self.settings.size_limit
        return BodyLimit(size, self.size_refusal_text)

    @property
    def size_refusal_text(self) -> str:
        """What a body over the queue's size limit is told."""
        size = self.settings.size_limit
        return f'Message collection size is too large. Max size {size}'


class MetadataMemory:
    """The metadata each queue had when this process last read it for a post.

    Shared by the threads of a process; the oldest entry is forgotten first
    when :data:`REMEMBERED_QUEUES` are held. Disabled for good once storage
    says it cannot post checked (then remembering would only cost memory).
    """

    def __init__(self, capacity: int = REMEMBERED_QUEUES) -> None:
        self._capacity = capacity
        self._items: dict[tuple[str, str], Metadata] = {}
        self._lock = threading.Lock()
        self.enabled = True

    def get(self, scope: str, queue: str) -> Metadata | None:
        """The remembered metadata of the queue, if any."""
        return self._items.get((scope, queue)) if self.enabled else None

    def put(self, scope: str, queue: str, metadata: Metadata) -> None:
        """Remember the metadata just read for the queue."""
        if not self.enabled:
            return
        with self._lock:
            self._items.pop((scope, queue), None)
            if len(self._items) >= self._capacity:
                del self._items[next(iter(self._items))]
            self._items[(scope, queue)] = metadata

    def forget(self, scope: str, queue: str) -> None:
        """Drop what is remembered of the queue (it is out of date)."""
        with self._lock:
            self._items.pop((scope, queue), None)

    def disable(self) -> None:
        """Stop remembering: storage cannot check remembered metadata."""
        self.enabled = False
        with self._lock:
            self._items.clear()
