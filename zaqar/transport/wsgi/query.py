"""Query-string helpers beyond Falcon's ``get_param_as_*``.

Blank values are dropped by the app (``keep_blank_qs_values = False``), so
every helper here treats ``?name=`` as an absent parameter.
"""

from __future__ import annotations

import re

import falcon

_MARKER_RE = re.compile(r'[0-9]{1,19}')
_INT64_MAX = 2**63 - 1
_INT_RE = re.compile(r'-?[0-9]{1,19}')
_INT64_MIN = -(2**63)

# Markers are counter values, never negative.
INVALID_MARKER = -1


def get_list(req: falcon.Request, name: str) -> list[str] | None:
    """Return a list parameter given as ``a,b`` and/or as repeated keys.

    Returns:
        The non-empty items in order, or None when the parameter is absent.
    """
    values = req.get_param_as_list(name)
    if values is None:
        return None
    return [item for value in values for item in value.split(',') if item]


def get_message_marker(req: falcon.Request) -> int | None:
    """Return the decimal message marker of a listing, None when absent.

    Returns :data:`INVALID_MARKER` for a value no message can have; the
    listing is then empty, as upstream answers.
    """
    value = req.get_param('marker')
    if value is None:
        return None
    if not _MARKER_RE.fullmatch(value) or int(value) > _INT64_MAX:
        return INVALID_MARKER
    return int(value)


def filter_value(value: str) -> str | int:
    """Return a metadata filter value, as an int when it reads as one."""
    if _INT_RE.fullmatch(value) and _INT64_MIN <= int(value) <= _INT64_MAX:
        return int(value)
    return value
