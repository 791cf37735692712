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
import json
import threading

from zaqar.common.limits import Limits
from zaqar.common.queue_metadata import Metadata
from zaqar.common.queue_metadata import PostSettings
from zaqar.operations.queues import BodyLimit

# Bytes of memory one process may spend remembering queues' metadata. A queue
# with default metadata costs about 300 bytes, so some 50,000 queues fit; a
# queue's metadata may be up to [transport] max_queue_metadata (64 KiB by
# default), which is why the bound is in bytes, not queues.
MEMORY_BUDGET = 16 * 1024 * 1024

# The estimate of what remembering one queue costs: the entry itself (its
# key, its place in the dictionary, an empty metadata dictionary) plus up to
# 5 bytes of Python objects per byte of the metadata's JSON text (measured
# with tracemalloc: 270 bytes for {}, 5 bytes per byte for many short keys,
# 1 per byte for one long string).
_ENTRY_BYTES = 300
_BYTES_PER_TEXT_BYTE = 5


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


def remembered_cost(metadata: Metadata) -> int:
    """The estimated bytes of memory remembering ``metadata`` costs."""
    return _ENTRY_BYTES + _BYTES_PER_TEXT_BYTE * len(json.dumps(metadata))


class MetadataMemory:
    """The metadata each queue had when this process last read it for a post.

    Shared by the threads of a process; the queues remembered longest ago
    are forgotten first when the memory would spend more than ``budget``
    bytes (estimated by :func:`remembered_cost`). Disabled for good once
    storage says it cannot post checked (then remembering would only cost
    memory).
    """

    def __init__(self, budget: int = MEMORY_BUDGET) -> None:
        self._budget = budget
        self._items: dict[tuple[str, str], tuple[Metadata, int]] = {}
        self._spent = 0
        self._lock = threading.Lock()
        self.enabled = True

    def get(self, scope: str, queue: str) -> Metadata | None:
        """The remembered metadata of the queue, if any."""
        item = self._items.get((scope, queue)) if self.enabled else None
        return None if item is None else item[0]

    def put(self, scope: str, queue: str, metadata: Metadata) -> None:
        """Remember the metadata just read for the queue.

        Metadata that alone would spend more than the budget is not
        remembered (posts to its queue read it each time).
        """
        if not self.enabled:
            return
        cost = remembered_cost(metadata)
        with self._lock:
            self._drop((scope, queue))
            if cost > self._budget:
                return
            while self._spent + cost > self._budget:
                self._drop(next(iter(self._items)))
            self._items[(scope, queue)] = (metadata, cost)
            self._spent += cost

    def forget(self, scope: str, queue: str) -> None:
        """Drop what is remembered of the queue (it is out of date)."""
        with self._lock:
            self._drop((scope, queue))

    def disable(self) -> None:
        """Stop remembering: storage cannot check remembered metadata."""
        self.enabled = False
        with self._lock:
            self._items.clear()
            self._spent = 0

    def _drop(self, key: tuple[str, str]) -> None:
        """Forget one queue, holding the lock."""
        item = self._items.pop(key, None)
        if item is not None:
            self._spent -= item[1]
