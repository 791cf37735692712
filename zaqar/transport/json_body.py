"""JSON request documents: parsing with Zaqar's rules, for any transport.

Integers must fit in 64 bits; NaN and Infinity are refused, and so are
unpaired UTF-16 surrogate escapes (no answer could carry them back); the top
level must be an object or an array. Every failure is an
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
        InvalidBody: The body is not valid UTF-8 or JSON, is a scalar, holds
            an integer outside the signed 64-bit range, or a non-finite
            number.
    """
    try:
        document = json.loads(
            data.decode('utf-8'),
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except _IntegerTooLarge:
        raise InvalidBody('JSON contains integer that is too large.') from None
    # NOTE: RecursionError covers absurdly nested documents, which would
    # otherwise escape as a 500.
    except (ValueError, RecursionError):
        raise InvalidBody(PARSE_FAILED) from None
    if not isinstance(document, dict | list):
        raise InvalidBody(PARSE_FAILED)
    # PERF: only \u escapes can produce surrogates; skip the walk otherwise.
    if b'\\u' in data and _holds_surrogate(document):
        raise InvalidBody(
            f'{PARSE_FAILED[:-1]}: it contains an unpaired UTF-16 surrogate escape.'
        )
    return document


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
