"""The gunicorn worker of zaqar-server: threads get complete requests only.

gunicorn's threaded worker gives a connection to a thread as soon as its
first byte arrives; the thread then reads the request head and body at the
client's pace. A client that sends a byte now and then (slowloris) holds a
thread for as long as it likes, and a few dozen such clients hold them all:
normal requests wait.

:class:`BufferingThreadWorker` reads each request in its event loop, without
a thread, until it holds the whole request (the head and the body; a body
larger than any the application reads is not waited for, since it is
refused from its Content-Length), and only then hands the connection, with
those bytes, to a thread, which parses and serves it without waiting on the
client. A connection that has not sent a whole request within
``client_timeout`` seconds is closed. Idle kept-alive connections are
handled as gunicorn does.

TLS and HTTP/2 connections (not configured by zaqar-server) are served as
the threaded worker serves them.

Workers also share new connections out. Every worker polls the one
listening socket, and whichever wakes first accepts; a burst of connections
(a client pool starting up) could all land in one worker, one process on one
core, while the others idle, for as long as those connections are kept
alive. A worker that already holds a connection per thread stops accepting
for :data:`ACCEPT_PAUSE` seconds after each accept, so that idle workers
take the next ones.
"""

from __future__ import annotations

import dataclasses
import http
import json
import re
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn import http as gunicorn_http
from gunicorn import util
from gunicorn.workers.gthread import TConn
from gunicorn.workers.gthread import ThreadWorker

# The largest request body read before a thread serves the request, unless
# the application says otherwise (it knows the largest body it reads).
DEFAULT_BODY_LIMIT = 1024 * 1024
# A request head longer than this is handed over as it is; gunicorn's parser
# refuses it (its own limits are lower).
HEAD_LIMIT = 64 * 1024
# Seconds a client has to send a whole request, by default.
DEFAULT_CLIENT_TIMEOUT = 30.0

# Seconds a worker holding a connection per thread leaves new connections
# to the other workers after each accept: enough for an idle worker, woken
# by the same connection, to accept the next; short enough that a new
# connection never waits noticeably when every worker is that busy.
ACCEPT_PAUSE = 0.002

_READ_SIZE = 64 * 1024
# A head ends with an empty line; clients that end lines with bare LFs are
# answered too (gunicorn's parser decides what to make of them).
_HEAD_END = re.compile(rb'\r?\n\r?\n')
_CONTENT_LENGTH = re.compile(
    rb'^content-length[ \t]*:[ \t]*(\S*)[ \t]*\r?$', re.I | re.M
)
_TRANSFER_ENCODING = re.compile(rb'^transfer-encoding[ \t]*:', re.I | re.M)
_CHUNKED = re.compile(rb'^transfer-encoding[ \t]*:.*chunked', re.I | re.M)
_CHUNK_SIZE = re.compile(rb'[0-9a-fA-F]+')


@dataclasses.dataclass
class _Request:
    """The bytes of one request as they arrive, and whether it is whole.

    Each arrival is scanned once (for the end of the head, then for the
    next chunks), never the whole request again: a client trickling its
    request a byte at a time would otherwise cost the event loop time
    quadratic in its size.

    Attributes:
        deadline: When the client must have sent it all.
        body_limit: The largest body the application may read; a larger
            one is refused from its Content-Length, unread, so it is not
            waited for.
        data: What arrived so far.
    """

    deadline: float
    body_limit: int
    data: bytearray = dataclasses.field(default_factory=bytearray)
    # Where the body starts, once the head has arrived.
    _body_start: int | None = dataclasses.field(default=None, init=False)
    # The body size to wait for; None for a chunked body.
    _expected: int | None = dataclasses.field(default=0, init=False)
    # How far the head's end was looked for, or the chunks walked.
    _scanned: int = dataclasses.field(default=0, init=False)

    def is_whole(self) -> bool:
        """Tell whether a thread can serve the request without waiting."""
        if self._body_start is None:
            # A head end is at most 4 bytes: one not found by the last scan
            # starts in its last 3 bytes at the earliest.
            end = _HEAD_END.search(self.data, max(0, self._scanned - 3))
            if end is None:
                self._scanned = len(self.data)
                return len(self.data) > HEAD_LIMIT
            self._body_start = self._scanned = end.end()
            self._expected = _body_to_wait_for(
                bytes(self.data[: end.start()]), self.body_limit
            )
        body_size = len(self.data) - self._body_start
        if self._expected is not None:
            return body_size >= self._expected
        if body_size > self.body_limit:
            return True
        whole, self._scanned = _walk_chunks(self.data, self._scanned)
        return whole


def _body_to_wait_for(head: bytes, body_limit: int) -> int | None:
    """The body size to wait for after ``head``; None for a chunked body.

    Whatever gunicorn's parser refuses at once (two lengths, a length and a
    coding, a length that is no number) waits for nothing, as does a body
    declared larger than the application reads.
    """
    lengths = _CONTENT_LENGTH.findall(head)
    if _TRANSFER_ENCODING.search(head):
        if lengths or not _CHUNKED.search(head):
            return 0
        return None
    if len(lengths) != 1 or not lengths[0].isdigit():
        return 0
    declared = int(lengths[0])
    return 0 if declared > body_limit else declared


def _walk_chunks(data: bytearray, position: int) -> tuple[bool, int]:
    """Walk the chunks from ``position``: is the body whole, where to resume.

    A body that cannot be parsed counts as whole: the thread's parser
    refuses it at once, without waiting.
    """
    while True:
        line_end = data.find(b'\r\n', position)
        if line_end < 0:
            return False, position
        size_text = bytes(data[position:line_end].split(b';', 1)[0].strip())
        # Hex digits only, as gunicorn's parser takes: int() would also
        # take a sign (a negative size would walk backwards, forever).
        if not _CHUNK_SIZE.fullmatch(size_text):
            return True, position
        size = int(size_text, 16)
        if size == 0:
            # The trailer section ends with an empty line.
            return data.find(b'\r\n\r\n', line_end) >= 0, position
        following = line_end + 2 + size + 2
        if following > len(data):
            return False, position
        position = following


# What the error answers gunicorn writes itself (for requests it cannot
# parse, before the application runs) say, by status: never the offending
# input, which may hold anything.
_REFUSALS = {
    400: 'The request is not valid HTTP/1.1 (its request line, a header or '
    'the framing of its body).',
    403: 'The request is not allowed from this address.',
    414: 'The request line is too long.',
    417: 'The expectation of the request cannot be met.',
    431: 'The request headers are too large.',
    501: 'The transfer coding of the request body is not supported.',
}


def write_json_error(sock: socket.socket, status: int, reason: str, mesg: str) -> None:
    """Write one of gunicorn's own error answers as a Zaqar JSON error.

    gunicorn answers what it cannot parse with an HTML page; the API's
    errors are JSON documents with a title and a description.
    """
    # NOTE: the standard phrase, not gunicorn's reason: it says "Bad
    # Request" for its 501.
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        pass
    document: dict[str, str] = {'title': reason}
    if status in _REFUSALS:
        document['description'] = _REFUSALS[status]
    body = json.dumps(document).encode()
    head = (
        f'HTTP/1.1 {status} {reason}\r\n'
        'Connection: close\r\n'
        'Content-Type: application/json\r\n'
        f'Content-Length: {len(body)}\r\n\r\n'
    )
    util.write_nonblock(sock, head.encode('latin-1') + body)


class BufferingThreadWorker(ThreadWorker):
    """A threaded worker whose threads never wait on a slow client."""

    def init_process(self) -> None:
        """Set up the worker; its own error answers are JSON (see above)."""
        # NOTE: gunicorn writes these through this module function; the
        # replacement lives in this worker process only.
        util.write_error = write_json_error
        super().init_process()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: dict[TConn, _Request] = {}
        # zaqar-server's application says how long clients may take, and
        # the largest body it reads.
        self._client_timeout = float(
            getattr(self.app, 'client_timeout', DEFAULT_CLIENT_TIMEOUT)
        )
        self._body_limit = int(getattr(self.app, 'body_limit', DEFAULT_BODY_LIMIT))
        self._accept_resumes = 0.0
        # Buffering is for plain HTTP/1 only. Decided once: the settings
        # hold for the worker's life, and it is asked on every request.
        cleartext_h2 = getattr(self.cfg, 'http2_cleartext', 'off')
        self._buffers = not self.cfg.is_ssl and cleartext_h2 in ('off', False, None)

    def accept(self, listener: socket.socket) -> None:
        """Accept a connection and read its first request without a thread."""
        if not self._buffers:
            super().accept(listener)
            return
        try:
            client_sock, client_addr = listener.accept()
        except OSError:
            # Nothing to accept after all (BlockingIOError), or the client
            # already left.
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._read_request(conn)
        self._pace_accepting()

    def _pace_accepting(self) -> None:
        """Leave the next connections to other workers if this one is busy."""
        if self.cfg.workers > 1 and self.nr_conns >= self.cfg.threads:
            self._accept_resumes = time.monotonic() + ACCEPT_PAUSE
            super().set_accept_enabled(False)

    def set_accept_enabled(self, enabled: bool) -> None:
        """Accept again only once the pause after the last accept is over."""
        if enabled and time.monotonic() < self._accept_resumes:
            return
        super().set_accept_enabled(enabled)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Wait no longer than the pause, so that accepting resumes on time."""
        left = self._accept_resumes - time.monotonic()
        if not self._accepting and left > 0:
            timeout = min(timeout, left)
        super().wait_for_and_dispatch_events(timeout)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection has its next request: read it first."""
        if not self._buffers:
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_request(conn)

    def _read_request(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        self._reading[conn] = _Request(
            time.monotonic() + self._client_timeout, self._body_limit
        )
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn)
        )

    def _on_readable(self, conn: TConn, client: socket.socket) -> None:
        request = self._reading[conn]
        try:
            data = client.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            if request.data:
                # NOTE: one line, not a traceback: a client leaving is its
                # own business, worth a note for an operator, not an alarm.
                self.log.info(
                    'client %s went away while sending its request (%d bytes received)',
                    _peer(conn),
                    len(request.data),
                )
            self._forget(conn)
            self._close(conn)
            return
        request.data += data
        if request.is_whole():
            self._forget(conn)
            self._hand_over(conn, bytes(request.data))

    def _hand_over(self, conn: TConn, data: bytes) -> None:
        """Give the connection and its buffered bytes to a thread."""
        if conn.parser is None:
            conn.parser = gunicorn_http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(data)
        # The data is there: the thread must not wait for more first.
        conn.data_ready = True
        self.enqueue_req(conn)

    def _forget(self, conn: TConn) -> None:
        del self._reading[conn]
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _close(self, conn: TConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also close connections that took too long to send a request."""
        super().murder_pending()
        now = time.monotonic()
        late = [
            conn for conn, request in self._reading.items() if request.deadline <= now
        ]
        for conn in late:
            self.log.info(
                'client %s did not send a whole request within %g s: disconnected',
                _peer(conn),
                self._client_timeout,
            )
            self._forget(conn)
            self._close(conn)


def _peer(conn: TConn) -> str:
    client = conn.client
    if isinstance(client, tuple) and len(client) >= 2:
        return f'{client[0]}:{client[1]}'
    return str(client)


def worker_class_path() -> str:
    """The dotted path gunicorn loads the worker class from."""
    return f'{__name__}.{BufferingThreadWorker.__name__}'
