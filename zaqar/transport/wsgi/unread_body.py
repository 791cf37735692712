"""Keep a connection usable after an answer that did not read the body.

Many answers come before the request body is read, or without reading it
at all: a body over the size limit refused from its Content-Length, a bad
queue name or header, a 404 or 405, a body sent with GET or DELETE. On a
keep-alive connection the unread bytes would then be taken for the start of
the next request. gunicorn discards at most 64 KiB of them and otherwise
closes the connection, after having answered ``Connection: keep-alive``:
the client's *next* request then fails.

So once the application has answered, :class:`UnreadBody` reads and
discards what is left, up to :data:`DRAIN_LIMIT` bytes. When more is left
(or the body cannot be read), the connection is closed honestly: the answer
carries ``Connection: close``. This module knows WSGI only, not Falcon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from zaqar.operations.errors import InvalidBody

LOG = logging.getLogger(__name__)

# Largest remainder read and discarded to keep a connection open; anything
# larger costs more than a new connection, so the connection is closed.
DRAIN_LIMIT = 1024 * 1024

_CHUNK = 64 * 1024


class BodyUnreadable(InvalidBody):
    """The request body could not be read: malformed framing, or a client
    that went away while sending it. Answered 400; the connection closes.
    """


class _TrackedInput:
    """A ``wsgi.input`` that counts what the application read.

    A failure of the server's input (a malformed chunk, a client gone
    mid-body) becomes :class:`BodyUnreadable`, answered 400 instead of
    falling through as an unexpected error.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.consumed = 0
        self.at_end = False
        self.failed = False

    def read(self, size: int | None = -1) -> bytes:
        try:
            data: bytes = (
                self._stream.read() if size is None else self._stream.read(size)
            )
        except Exception as ex:
            raise self._unreadable(ex) from ex
        self._account(data, size)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        try:
            data: bytes = self._stream.readline(-1 if size is None else size)
        except Exception as ex:
            raise self._unreadable(ex) from ex
        self._account(data, size)
        return data

    def _unreadable(self, ex: Exception) -> BodyUnreadable:
        self.failed = True
        # NOTE: one line, not a traceback: a client that goes away or sends a
        # broken body is the client's business, worth a note, not an alarm.
        if isinstance(ex, OSError) or type(ex).__name__ == 'NoMoreData':
            LOG.info('client went away while sending its request body')
        else:
            LOG.info('request body could not be read: %s', type(ex).__name__)
        return BodyUnreadable('Request body could not be read.')

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return list(iter(self.readline, b''))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b'')

    def _account(self, data: bytes, size: int | None) -> None:
        self.consumed += len(data)
        if not data and size != 0:
            self.at_end = True


class UnreadBody:
    """Tracks one request's body; :meth:`finish` deals with the remainder.

    Construct it before the application runs: it replaces ``wsgi.input``
    in ``environ`` with a counting wrapper.
    """

    def __init__(self, environ: dict[str, Any], limit: int = DRAIN_LIMIT) -> None:
        self._input = _TrackedInput(environ['wsgi.input'])
        environ['wsgi.input'] = self._input
        self._length = _declared_length(environ)
        self._chunked = 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()
        self._limit = limit

    def finish(self, start_response: Callable[..., Any]) -> None:
        """Discard the unread body, or have the server close the connection.

        Call it after the application returned, before the server sends the
        answer. Never raises.
        """
        if self._input.failed:
            _close_after_answer(start_response)
            return
        try:
            drained = self._drain()
        except Exception as ex:
            # NOTE: whatever the failure (a client gone mid-body, a malformed
            # chunk), where the next request would start is unknown.
            LOG.info('request body could not be read to its end: %s', ex)
            drained = False
        if not drained:
            _close_after_answer(start_response)

    def _drain(self) -> bool:
        """Read the rest of the body; tell whether it was all read."""
        if self._input.at_end:
            return True
        if self._length is not None:
            remaining = self._length - self._input.consumed
            if remaining <= 0:
                return True
            if remaining > self._limit:
                return False
            return self._discard(remaining) == remaining
        if not self._chunked:
            return True
        self._discard(self._limit + 1)
        return self._input.at_end

    def _discard(self, size: int) -> int:
        """Read and drop up to ``size`` bytes; return how many were read."""
        read = 0
        while read < size:
            data = self._input.read(min(_CHUNK, size - read))
            if not data:
                break
            read += len(data)
        return read


def _declared_length(environ: dict[str, Any]) -> int | None:
    value = environ.get('CONTENT_LENGTH', '')
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _close_after_answer(start_response: Callable[..., Any]) -> None:
    """Make the server answer ``Connection: close`` and close afterwards.

    WSGI has no way to say this: servers drop a ``Connection`` header set by
    the application. gunicorn's ``start_response`` is a method of its
    response object, whose ``force_close()`` does exactly this, provided it
    is called before the headers are sent, which is the case here.
    """
    response = getattr(start_response, '__self__', None)
    force_close = getattr(response, 'force_close', None)
    if callable(force_close):
        force_close()
    else:
        LOG.debug('the WSGI server offers no way to close the connection')
