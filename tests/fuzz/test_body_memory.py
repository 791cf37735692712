"""Bodies the server refuses cost its workers no lasting memory, nor a peak.

A real ``zaqar-server`` (two workers) is sent, on top of a warm-up, 50 of
each hostile body: 10 MB declared with Content-Length and streamed, 10 MB
streamed chunked, 256 KiB nested deeper than the JSON bounds allow
(doc/http-api.md, "Bodies"), and 256 KiB holding more elements than they
allow. Every one is refused with a Zaqar 400. The workers' resident memory
(VmRSS) and its high-water mark (VmHWM, the peak) are read from /proc
before and after; neither may grow by more than :data:`GROWTH_BOUND` in
all.

Memory is measured, never time. (That an element bomb costs no more than
any other refused body of its size, whatever the size limit, is tested in
process, where allocations can be counted exactly:
``tests/functional/test_robustness.py``.)
"""

from __future__ import annotations

import http.client
import json
import select
import socket
from collections.abc import Callable
from collections.abc import Iterator
from urllib.parse import urlsplit

from tests.server.conftest import Server

from . import conftest
from .workers import crash_lines
from .workers import peak_rss_bytes
from .workers import rss_bytes
from .workers import worker_pids

KIB = 1024
MIB = 1024 * KIB
GROWTH_BOUND = 50 * MIB
REPEAT = 50
HEAD = (
    'POST /v2/queues/memory/messages HTTP/1.1\r\nHost: zaqar\r\n'
    'Client-ID: 6ba7b810-9dad-11d1-80b4-00c04fd430c8\r\nX-Project-ID: memory\r\n'
    'Content-Type: application/json\r\n'
)


def _nested(size: int) -> bytes:
    """A message post of ``size`` bytes nesting arrays far too deep."""
    envelope = b'{"messages": [{"body": %s}]}'
    depth = (size - len(envelope) + 2) // 2
    return envelope % (b'[' * depth + b']' * depth)


def _elements(size: int, item: bytes = b'0,') -> bytes:
    """A message post of about ``size`` bytes holding too many elements."""
    envelope = b'{"messages": [{"body": [%s0]}]}'
    return envelope % (item * ((size - len(envelope)) // len(item)))


class Client:
    """Raw requests on one connection, reopened when the server closes it."""

    def __init__(self, server: Server) -> None:
        parts = urlsplit(server.url)
        assert parts.hostname is not None and parts.port is not None
        self._address = (parts.hostname, parts.port)
        self._sock: socket.socket | None = None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def post(self, framing: str, body: Iterator[bytes], length: int = 0) -> dict:
        """Send a body (streamed); return the parsed 400 answer's body."""
        if self._sock is None:
            self._sock = socket.create_connection(self._address, timeout=30)
        sock = self._sock
        if framing == 'length':
            head = HEAD + f'Content-Length: {length}\r\n\r\n'
        else:
            head = HEAD + 'Transfer-Encoding: chunked\r\n\r\n'
        sock.sendall(head.encode())
        for chunk in body:
            data = (
                chunk if framing == 'length' else b'%x\r\n%s\r\n' % (len(chunk), chunk)
            )
            if not _send_unless_answered(sock, data):
                break
        else:
            if framing == 'chunked':
                _send_unless_answered(sock, b'0\r\n\r\n')
        response = http.client.HTTPResponse(sock, method='POST')
        response.begin()
        content = response.read()
        if response.will_close:
            self.close()
        assert response.status == 400, content
        problem = conftest.error_body_problem(
            response.status, dict(response.getheaders()), content, 'POST'
        )
        assert problem is None, problem
        document: dict = json.loads(content)
        return document


def _send_unless_answered(sock: socket.socket, data: bytes) -> bool:
    """Send ``data`` unless the server answered already; tell if it was sent."""
    view = memoryview(data)
    while view:
        readable, writable, _ = select.select([sock], [sock], [], 30)
        if readable:
            return False
        if writable:
            try:
                sent = sock.send(view[: 64 * KIB])
            except (BrokenPipeError, ConnectionResetError):
                return False
            view = view[sent:]
    return True


def _stream(total: int, piece: int = 64 * KIB) -> Iterator[bytes]:
    """``total`` bytes of a JSON string body, ``piece`` at a time."""
    yield b'{"messages": [{"body": "'
    for _ in range(total // piece):
        yield b'x' * piece


def _memory(server: Server) -> tuple[int, int]:
    """The workers' summed VmRSS and VmHWM, in bytes."""
    pids = worker_pids(server.process.pid)
    assert len(pids) == 2, pids
    return (
        sum(rss_bytes(pid) for pid in pids),
        sum(peak_rss_bytes(pid) for pid in pids),
    )


def _send_all(client: Client, kinds: dict[str, Callable[[], dict]], count: int) -> None:
    for name, send in kinds.items():
        for _ in range(count):
            document = send()
            assert document['title'] == 'Invalid request body' or (
                document['title'] == 'Invalid API request'
                and 'too large' in document['description']
            ), (name, document)


def _report(label: str, before: tuple[int, int], after: tuple[int, int]) -> None:
    print(
        f'\n{label}: VmRSS {before[0] / MIB:.1f} -> {after[0] / MIB:.1f} MiB, '
        f'VmHWM {before[1] / MIB:.1f} -> {after[1] / MIB:.1f} MiB (both workers)'
    )


def test_refused_bodies_leave_worker_memory_bounded(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory({})
    client = Client(server)
    limit = 256 * KIB
    nested = _nested(limit)
    elements = _elements(limit)
    assert len(nested) <= limit and len(elements) <= limit
    kinds: dict[str, Callable[[], dict]] = {
        'declared 10 MB': lambda: client.post('length', _stream(10 * MIB), 10 * MIB),
        'chunked 10 MB': lambda: client.post('chunked', _stream(10 * MIB)),
        'nested 256 KiB': lambda: client.post('length', iter([nested]), len(nested)),
        'elements 256 KiB': lambda: client.post(
            'length', iter([elements]), len(elements)
        ),
    }
    try:
        # Warm-up: whatever a worker allocates once (buffers, caches) is
        # allocated before the first measurement.
        _send_all(client, kinds, 5)
        before = _memory(server)
        _send_all(client, kinds, REPEAT)
        after = _memory(server)
    finally:
        client.close()
    _report('refused bodies, default limits', before, after)
    assert after[0] - before[0] < GROWTH_BOUND
    assert after[1] - before[1] < GROWTH_BOUND
    assert crash_lines(server.output()) == []
