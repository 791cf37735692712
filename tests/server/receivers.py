"""Real subscribers for the notification tests: HTTP and SMTP on loopback."""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

# Longest a test waits for something a server should do soon; a bound on a
# test's run time, not a speed requirement.
PATIENCE = 60.0


@dataclasses.dataclass(frozen=True)
class Received:
    """One request a webhook receiver got."""

    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def document(self) -> Any:
        return json.loads(self.raw)


class WebhookReceiver:
    """An HTTP server on a free loopback port that records every POST.

    Args:
        statuses: Statuses to answer, in order, before answering 200.
        hang: While set to a non-set Event, every request blocks on it.
        port: Listen on this port (0: a free one).
    """

    def __init__(
        self,
        statuses: tuple[int, ...] = (),
        hang: threading.Event | None = None,
        port: int = 0,
    ) -> None:
        self.received: list[Received] = []
        self.in_handler = threading.Event()
        self._statuses = list(statuses)
        self._hang = hang
        self._changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def do_POST(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length)
                receiver._record(Received(self.path, dict(self.headers), raw))
                if receiver._hang is not None:
                    receiver.in_handler.set()
                    receiver._hang.wait(PATIENCE)
                status = receiver._next_status()
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._hang is not None:
            self._hang.set()
        self._server.shutdown()
        self._server.server_close()

    def _record(self, received: Received) -> None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()

    def _next_status(self) -> int:
        with self._changed:
            return self._statuses.pop(0) if self._statuses else 200

    def documents(self, path: str | None = None) -> list[Any]:
        """The JSON bodies received so far (to ``path`` only, if given)."""
        with self._changed:
            return [
                item.document
                for item in self.received
                if path is None or item.path == path
            ]

    def wait_for(self, condition: Callable[[WebhookReceiver], bool]) -> None:
        """Wait until ``condition(self)`` holds; fail after :data:`PATIENCE`."""
        deadline = time.monotonic() + PATIENCE
        with self._changed:
            while not condition(self):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f'gave up waiting; received {self.received}'
                self._changed.wait(remaining)


class _Inbox:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        assert isinstance(message, email.message.EmailMessage)
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        return '250 OK'


class SmtpSink:
    """A real SMTP server on a free loopback port that keeps what it gets."""

    def __init__(self) -> None:
        self._inbox = _Inbox()
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            self.port: int = probe.getsockname()[1]
        self._controller = Controller(self._inbox, hostname='127.0.0.1', port=self.port)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def wait_for_messages(self, count: int) -> list[email.message.EmailMessage]:
        """Wait until ``count`` messages arrived; fail after :data:`PATIENCE`."""
        deadline = time.monotonic() + PATIENCE
        with self._inbox.changed:
            while len(self._inbox.messages) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, 'no email arrived'
                self._inbox.changed.wait(remaining)
            return list(self._inbox.messages)
