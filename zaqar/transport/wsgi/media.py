"""Request bodies over HTTP: bounded reading, then JSON parsing.

Falcon's ``req.media`` is not used: the declared size is checked before
anything is read, and parsing follows :mod:`zaqar.transport.json_body`.
"""

from __future__ import annotations

from typing import Any

import falcon

from zaqar.operations.errors import InvalidBody
from zaqar.operations.queues import BodyLimit
from zaqar.transport.json_body import parse_json

# Upper bound for bodies no option limits (claims, purge, share): they are
# tiny.
SMALL_DOCUMENT = BodyLimit(
    64 * 1024, f'Request body is too large. Max size: {64 * 1024}'
)

# Bytes pulled from the input per read() when no length is declared.
_CHUNK_SIZE = 64 * 1024


def media_type(req: falcon.Request) -> str:
    """The request's Content-Type without parameters, lowercase; '' if none."""
    return (req.content_type or '').split(';', 1)[0].strip().lower()


def read_body(req: falcon.Request, limit: BodyLimit) -> bytes:
    """Read at most ``limit.size`` bytes of the request body.

    The declared Content-Length is checked before anything is read. Without
    one (chunked uploads), the body is read only if the server marks its
    input as terminated, and never more than ``limit.size`` + 1 bytes.

    Raises:
        ValidationFailed: The body is larger than the limit (the limit's
            refusal).
    """
    length = req.content_length
    if length is not None:
        if length > limit.size:
            raise limit.refusal()
        return _read_up_to(req.bounded_stream, length)
    if not req.env.get('wsgi.input_terminated'):
        # NOTE: without a length or a terminated input a read could block
        # until the client gives up, so the body is treated as absent.
        return b''
    data = _read_up_to(req.stream, limit.size + 1)
    if len(data) > limit.size:
        raise limit.refusal()
    return data


def read_json(
    req: falcon.Request, limit: BodyLimit = SMALL_DOCUMENT, required: bool = False
) -> Any:
    """Read and parse an optional JSON body.

    Returns:
        The parsed document, or None when the body is empty and not required.

    Raises:
        ValidationFailed: The body is over the limit.
        InvalidBody: Empty required body, or unparseable JSON.
    """
    return parse_body(read_body(req, limit), required)


def parse_body(data: bytes, required: bool = False) -> Any:
    """Parse a body :func:`read_body` read (see :func:`read_json`)."""
    if not data:
        if required:
            raise InvalidBody('Request body can not be empty')
        return None
    return parse_json(data)


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
