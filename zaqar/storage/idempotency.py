"""What the drivers share to keep idempotency keys (``post_once``).

A key's record holds the ids its post returned, which every driver stores
as 16 bytes each rather than 32 hex digits: ids are what a record is mostly
made of, and records are kept for a whole window.
"""

from __future__ import annotations

from collections.abc import Sequence

# Bytes of one packed id.
ID_BYTES = 16


def pack_ids(message_ids: Sequence[str]) -> bytes:
    """Pack ids made by :func:`zaqar.common.ids.new_id`, in order."""
    return b''.join(bytes.fromhex(message_id) for message_id in message_ids)


def unpack_ids(packed: bytes) -> list[str]:
    """The ids :func:`pack_ids` packed, in order.

    Raises:
        ValueError: ``packed`` is not a whole number of ids.
    """
    if len(packed) % ID_BYTES:
        raise ValueError(f'{len(packed)} bytes are no whole number of ids')
    return [
        packed[start : start + ID_BYTES].hex()
        for start in range(0, len(packed), ID_BYTES)
    ]
