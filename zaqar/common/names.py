"""What a queue (or topic) name may be, and how long a project id."""

from __future__ import annotations

import re

QUEUE_NAME_MAX_LENGTH = 64
PROJECT_ID_MAX_LENGTH = 256

# NOTE: the dot is allowed, as upstream's pattern does (its error text and
# documentation leave it out).
QUEUE_NAME_RE = re.compile(r'[a-zA-Z0-9_\-.]+')


def is_queue_name(name: str) -> bool:
    """Tell whether ``name`` is a valid queue (or topic) name."""
    return len(name) <= QUEUE_NAME_MAX_LENGTH and bool(QUEUE_NAME_RE.fullmatch(name))
