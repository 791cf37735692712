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
"""

from __future__ import annotations

import dataclasses
import re
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn import http
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

_READ_SIZE = 64 * 1024
_HEAD_END = b'\r\n\r\n'
_CONTENT_LENGTH = re.compile(rb'^content-length[ \t]*:[ \t]*(\d+)[ \t]*$', re.I | re.M)
_CHUNKED = re.compile(rb'^transfer-encoding[ \t]*:.*chunked', re.I | re.M)


@dataclasses.dataclass
class _Request:
    """The bytes of one request as they arrive, and whether it is whole.

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

    def is_whole(self) -> bool:
        """Tell whether a thread can serve the request without waiting."""
        head_end = self.data.find(_HEAD_END)
        if head_end < 0:
            return len(self.data) > HEAD_LIMIT
        head = bytes(self.data[:head_end])
        body = len(self.data) - head_end - len(_HEAD_END)
        if _CHUNKED.search(head):
            return body > self.body_limit or _chunked_body_is_whole(
                bytes(self.data[head_end + len(_HEAD_END) :])
            )
        length = _CONTENT_LENGTH.search(head)
        if length is None:
            return True
        declared = int(length.group(1))
        return declared > self.body_limit or body >= declared


def _chunked_body_is_whole(body: bytes) -> bool:
    """Tell whether a chunked body holds its last chunk and trailers.

    A body that cannot be parsed counts as whole: the thread's parser
    refuses it at once, without waiting.
    """
    position = 0
    while True:
        line_end = body.find(b'\r\n', position)
        if line_end < 0:
            return False
        size_text = body[position:line_end].split(b';', 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return True
        if size == 0:
            # The trailer section ends with an empty line.
            return body.find(b'\r\n\r\n', line_end) >= 0
        position = line_end + 2 + size + 2
        if position > len(body):
            return False


class BufferingThreadWorker(ThreadWorker):
    """A threaded worker whose threads never wait on a slow client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: dict[TConn, _Request] = {}
        # zaqar-server's application says how long clients may take, and
        # the largest body it reads.
        self._client_timeout = float(
            getattr(self.app, 'client_timeout', DEFAULT_CLIENT_TIMEOUT)
        )
        self._body_limit = int(getattr(self.app, 'body_limit', DEFAULT_BODY_LIMIT))

    def _buffers(self) -> bool:
        """Tell whether this worker buffers (plain HTTP/1 only)."""
        cleartext_h2 = getattr(self.cfg, 'http2_cleartext', 'off')
        return not self.cfg.is_ssl and cleartext_h2 in ('off', False, None)

    def accept(self, listener: socket.socket) -> None:
        """Accept a connection and read its first request without a thread."""
        if not self._buffers():
            super().accept(listener)
            return
        try:
            client_sock, client_addr = listener.accept()
        except BlockingIOError:
            return
        except OSError:
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._read_request(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection has its next request: read it first."""
        if not self._buffers():
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
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
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
