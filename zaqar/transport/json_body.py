"""JSON request documents: parsing with Zaqar's rules, for any transport.

Integers must fit in 64 bits; NaN and Infinity are refused, and so are
unpaired UTF-16 surrogate escapes (no answer could carry them back); the top
level must be an object or an array. A document holds at most
:data:`MAX_ELEMENTS` array items and object members in all, counted on the
raw bytes before any Python object is built (so a body that breaks the
bound costs about two copies of its bytes, never millions of objects), and
nests at most :data:`MAX_DEPTH` arrays and objects, checked once the
document, bounded by then, is parsed. Every failure is an
:class:`~zaqar.operations.errors.InvalidBody` with upstream's texts.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from zaqar.operations.errors import InvalidBody

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

PARSE_FAILED = 'Request body could not be parsed.'

# Arrays and objects open at once, the top level counting as 1. Clients
# nest a few levels; the envelopes add up to 3 (``{"messages": [{"body":
# ...}]}``), so a message body itself may nest 61 levels. Far below the
# nesting a storage backend refuses (MongoDB: 100 levels) or Python's
# recursion limit (about 1000), which would otherwise decide.
MAX_DEPTH = 64
# Array items and object members in the whole document (keys are not
# counted apart from their member). With the default size limits a body
# holds far fewer than this unless it is nothing but tiny values; the
# bound keeps the objects built for a body (tens of bytes each) bounded
# whatever size limits an operator sets.
MAX_ELEMENTS = 100_000

TOO_DEEP = (
    f'{PARSE_FAILED[:-1]}: arrays and objects may not be nested more than '
    f'{MAX_DEPTH} levels deep.'
)
TOO_MANY_ELEMENTS = (
    f'{PARSE_FAILED[:-1]}: it may not hold more than {MAX_ELEMENTS} array '
    'items and object members in all.'
)

# A JSON string literal, escapes included; possessive, so that a long one
# costs no backtracking state.
_STRING_RE = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
# An empty array or object with whitespace between its brackets.
_SPACED_EMPTY_RE = re.compile(rb'[\[{][ \t\n\r]++[\]}]')
_WHITESPACE = b' \t\n\r'

# A UTF-16 surrogate left alone by a \uD800-style escape: Python accepts it,
# but no UTF-8 answer can carry it back.
_SURROGATE_RE = re.compile('[\ud800-\udfff]')


class _IntegerTooLarge(ValueError):
    """A JSON integer does not fit in a signed 64-bit integer."""


class _NotFinite(ValueError):
    """A JSON number is NaN or infinite."""


def parse_json(data: bytes) -> Any:
    """Parse a body: UTF-8 JSON whose top level is an object or array.

    Raises:
        InvalidBody: The body is not valid UTF-8 or JSON, is a scalar, nests
            more than :data:`MAX_DEPTH` levels, holds more than
            :data:`MAX_ELEMENTS` elements, an integer outside the signed
            64-bit range, or a non-finite number.
    """
    containers = data.count(b'[') + data.count(b'{')
    _check_elements(data, containers)
    try:
        document = json.loads(
            data.decode('utf-8'),
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except _IntegerTooLarge:
        raise InvalidBody('JSON contains integer that is too large.') from None
    except RecursionError:
        # NOTE: nested deeper than Python's recursion limit (about 1000),
        # which would otherwise escape as a 500.
        raise InvalidBody(TOO_DEEP) from None
    except ValueError:
        raise InvalidBody(PARSE_FAILED) from None
    if not isinstance(document, dict | list):
        raise InvalidBody(PARSE_FAILED)
    # PERF: depth <= containers, so most bodies skip the walk.
    if containers > MAX_DEPTH and _nests_too_deep(document):
        raise InvalidBody(TOO_DEEP)
    # PERF: only \u escapes can produce surrogates; skip the walk otherwise.
    if b'\\u' in data and _holds_surrogate(document):
        raise InvalidBody(
            f'{PARSE_FAILED[:-1]}: it contains an unpaired UTF-16 surrogate escape.'
        )
    return document


def _check_elements(data: bytes, containers: int) -> None:
    """Refuse a body holding too many elements, before parsing it.

    Counted on the bytes with string literals taken out, so commas and
    brackets inside strings do not count: each non-empty array or object
    holds one element more than the commas between its elements. A
    malformed body may be counted wrongly; it is refused either way.

    Args:
        data: The body.
        containers: Its ``[`` and ``{`` bytes, strings included.

    Raises:
        InvalidBody: With :data:`TOO_MANY_ELEMENTS`.
    """
    # PERF: elements <= commas + containers, so most bodies stop here.
    if data.count(b',') + containers <= MAX_ELEMENTS:
        return
    skeleton = _STRING_RE.sub(b'""', data)
    if _SPACED_EMPTY_RE.search(skeleton):
        skeleton = skeleton.translate(None, _WHITESPACE)
    empty = skeleton.count(b'[]') + skeleton.count(b'{}')
    opened = skeleton.count(b'[') + skeleton.count(b'{')
    if skeleton.count(b',') + opened - empty > MAX_ELEMENTS:
        raise InvalidBody(TOO_MANY_ELEMENTS)


def _nests_too_deep(document: Any) -> bool:
    """Tell whether arrays and objects nest more than :data:`MAX_DEPTH` deep."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )
    return False


def _holds_surrogate(document: Any) -> bool:
    """Tell whether any string (key or value) in ``document`` has a surrogate."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE_RE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _parse_int(text: str) -> int:
    # NOTE: the length test comes first so that a megabyte of digits is
    # refused without int() doing quadratic work (and without tripping
    # Python's int max_str_digits guard).
    if len(text.lstrip('-')) > 19:
        raise _IntegerTooLarge(text)
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _IntegerTooLarge(text)
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _reject_constant(name: str) -> None:
    raise _NotFinite(name)
