"""Storage rules every driver applies alike, kept in one place.

How a queue listing's metadata filter matches. Drivers call this rather than
restating it, so the three built-in stores cannot drift apart. (How the
dead-letter settings read is in :mod:`zaqar.common.queue_metadata`.)
"""

from __future__ import annotations

from zaqar.storage.models import Metadata


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
