"""Opaque identifiers for messages, claims and subscriptions.

Ids are 32 lowercase hex digits. Clients recover claim ids from hrefs as the
text after the last ``=``, so ids must never contain ``=``; hex digits never
do.
"""

from __future__ import annotations

import os
import re

_ID_RE = re.compile(r'[0-9a-f]{32}')


# Random bytes per id: as many as a version 4 UUID has and more (128 bits),
# so that ids made by any number of processes never meet.
_ID_BYTES = 16
_ID_DIGITS = 2 * _ID_BYTES
# The random part of an ordered id (its first 6 bytes are a time).
_ORDERED_RANDOM_BYTES = 10


def new_id() -> str:
    """Return a fresh random id."""
    return os.urandom(_ID_BYTES).hex()


def new_ids(count: int) -> list[str]:
    """Return ``count`` fresh random ids.

    One read of the system's random source for all of them: a post of ten
    messages made ten, each a system call (a tenth of a post's CPU time).
    """
    digits = os.urandom(_ID_BYTES * count).hex()
    return [
        digits[start : start + _ID_DIGITS]
        for start in range(0, len(digits), _ID_DIGITS)
    ]


def is_valid_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of an id made by :func:`new_id`."""
    return bool(_ID_RE.fullmatch(value))


def new_ordered_id(now: float) -> str:
    """Return a fresh id that sorts after the ids made at earlier times.

    The first 12 hex digits are milliseconds since the epoch, the other 20
    random, so listings ordered by id follow creation order (within a
    millisecond, in no particular order). ``now`` is the driver clock's.
    """
    return new_ordered_ids(1, now)[0]


def new_ordered_ids(count: int, now: float) -> list[str]:
    """Return ``count`` ids made as :func:`new_ordered_id` makes one.

    One read of the system's random source for all of them.
    """
    millis = f'{int(now * 1000) & 0xFFFF_FFFF_FFFF:012x}'
    digits = os.urandom(_ORDERED_RANDOM_BYTES * count).hex()
    width = 2 * _ORDERED_RANDOM_BYTES
    return [
        millis + digits[start : start + width] for start in range(0, len(digits), width)
    ]
