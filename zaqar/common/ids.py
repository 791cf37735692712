"""Opaque identifiers for messages, claims and subscriptions.

Ids are 32 lowercase hex digits. Clients recover claim ids from hrefs as the
text after the last ``=``, so ids must never contain ``=``; hex digits never
do.
"""

from __future__ import annotations

import os
import re
import uuid

_ID_RE = re.compile(r'[0-9a-f]{32}')


def new_id() -> str:
    """Return a fresh random id."""
    return uuid.uuid4().hex


def is_valid_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of an id made by :func:`new_id`."""
    return bool(_ID_RE.fullmatch(value))


def new_ordered_id(now: float) -> str:
    """Return a fresh id that sorts after the ids made at earlier times.

    The first 12 hex digits are milliseconds since the epoch, the other 20
    random, so listings ordered by id follow creation order (within a
    millisecond, in no particular order). ``now`` is the driver clock's.
    """
    millis = int(now * 1000) & 0xFFFF_FFFF_FFFF
    return f'{millis:012x}{os.urandom(10).hex()}'
