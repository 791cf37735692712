"""Storage rules every driver applies alike, kept in one place.

Pure functions of queue metadata: how the dead-letter settings read, and how
a queue listing's metadata filter matches. Drivers call these rather than
restating them, so the three built-in stores cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import TypeGuard

from zaqar.storage import base
from zaqar.storage.models import Metadata


@dataclasses.dataclass(frozen=True)
class DeadLetterPolicy:
    """A queue's dead-letter settings; active only when both keys are set.

    Attributes:
        max_claims: ``_max_claim_count``, when an integer.
        queue: ``_dead_letter_queue``, when a non-empty string.
        ttl: ``_dead_letter_queue_messages_ttl``, when a positive integer;
            otherwise a moved message keeps its own TTL.
    """

    max_claims: int | None = None
    queue: str | None = None
    ttl: int | None = None

    @classmethod
    def of(cls, metadata: Metadata) -> DeadLetterPolicy:
        """Read the policy from a queue's stored metadata."""
        max_claims = metadata.get(base.MAX_CLAIM_COUNT)
        queue = metadata.get(base.DEAD_LETTER_QUEUE)
        ttl = metadata.get(base.DEAD_LETTER_QUEUE_MESSAGES_TTL)
        return cls(
            max_claims if _is_int(max_claims) else None,
            queue if isinstance(queue, str) and queue else None,
            ttl if _is_int(ttl) and ttl > 0 else None,
        )

    @property
    def active(self) -> bool:
        """Tell whether claims move exhausted messages anywhere."""
        return self.queue is not None and self.max_claims is not None

    def is_exhausted(self, claim_count: int) -> bool:
        """Tell whether a message with this many claims goes to the DLQ."""
        return self.active and claim_count >= (self.max_claims or 0)


def metadata_matches(metadata: Metadata, metadata_filter: Metadata | None) -> bool:
    """Tell whether ``metadata`` has every key of the filter, equal in JSON."""
    if not metadata_filter:
        return True
    return all(
        key in metadata and same_json(metadata[key], value)
        for key, value in metadata_filter.items()
    )


def same_json(stored: object, wanted: object) -> bool:
    """Compare JSON values as JSON does: ``true`` is not ``1``."""
    return stored == wanted and isinstance(stored, bool) == isinstance(wanted, bool)


def _is_int(value: Any) -> TypeGuard[int]:
    # NOTE: JSON true is not a count, though Python calls bool an int.
    return isinstance(value, int) and not isinstance(value, bool)
