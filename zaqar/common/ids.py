"""Opaque identifiers for messages and claims.

Ids are 32 lowercase hex digits (a random UUID4 without dashes). Clients
recover claim ids from hrefs as the text after the last ``=``, so ids must
never contain ``=``; hex digits never do.
"""

from __future__ import annotations

import re
import uuid

_ID_RE = re.compile(r'[0-9a-f]{32}')


def new_id() -> str:
    """Return a fresh random id."""
    return uuid.uuid4().hex


def is_valid_id(value: str) -> bool:
    """Tell whether ``value`` has the shape of an id made by :func:`new_id`."""
    return bool(_ID_RE.fullmatch(value))
