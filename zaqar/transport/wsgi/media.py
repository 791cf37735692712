"""Request bodies: bounded reading and JSON parsing with Zaqar's rules.

Falcon's ``req.media`` is not used: Zaqar checks the declared size before
reading anything, refuses integers that do not fit in 64 bits, NaN and
Infinity, and answers with its own error texts (fact sheet §1.7).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import falcon

from zaqar.transport.validation import InvalidBody
from zaqar.transport.validation import ValidationFailed

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

PARSE_FAILED = 'Request body could not be parsed.'

# Upper bound for bodies no option limits (claims, purge): they are tiny.
SMALL_DOCUMENT_LIMIT = 64 * 1024

# Bytes pulled from the input per read() when no length is declared.
_CHUNK_SIZE = 64 * 1024

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


def read_body(req: falcon.Request, limit: int, too_large: ValidationFailed) -> bytes:
    """Read at most ``limit`` bytes of the request body.

    The declared Content-Length is checked before anything is read. Without
    one (chunked uploads), the body is read only if the server marks its
    input as terminated, and never more than ``limit`` + 1 bytes.

    Args:
        req: The request.
        limit: Largest accepted body, in bytes.
        too_large: Raised when the body is larger than ``limit``.
    """
    length = req.content_length
    if length is not None:
        if length > limit:
            raise too_large
        return _read_up_to(req.bounded_stream, length)
    if not req.env.get('wsgi.input_terminated'):
        # NOTE: without a length or a terminated input a read could block
        # until the client gives up, so the body is treated as absent.
        return b''
    data = _read_up_to(req.stream, limit + 1)
    if len(data) > limit:
        raise too_large
    return data


def read_json(
    req: falcon.Request,
    limit: int,
    too_large: ValidationFailed,
    required: bool = False,
) -> Any:
    """Read and parse an optional JSON body.

    Args:
        req: The request.
        limit: Largest accepted body, in bytes.
        too_large: Raised when the body is larger than ``limit``.
        required: Whether an empty body is an error.

    Returns:
        The parsed document, or None when the body is empty and not required.

    Raises:
        InvalidBody: Empty required body, or unparseable JSON.
    """
    data = read_body(req, limit, too_large)
    if not data:
        if required:
            raise InvalidBody('Request body can not be empty')
        return None
    return parse_json(data)


def read_small_json(req: falcon.Request, required: bool = False) -> Any:
    """Read a JSON body no option limits, capped at 64 KiB."""
    too_large = ValidationFailed(
        f'Request body is too large. Max size: {SMALL_DOCUMENT_LIMIT}'
    )
    return read_json(req, SMALL_DOCUMENT_LIMIT, too_large, required=required)


def _read_up_to(stream: Any, size: int) -> bytes:
    """Read until ``size`` bytes or end of input, in bounded chunks."""
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK_SIZE))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b''.join(chunks)


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
