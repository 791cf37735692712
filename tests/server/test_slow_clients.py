"""Slow clients (slowloris) cannot starve a real zaqar-server.

Fifty connections send their request a byte at a time and never finish it;
meanwhile normal requests must still be answered. Each test is bounded in
time (the client timeouts below), and asserts that an answer came, never
how fast.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.server.conftest import Server

SLOW_CONNECTIONS = 50
# A normal request must be answered within this bound; well above any
# answer time, it only keeps a broken server from hanging the test.
ANSWER_BOUND = 20.0


def address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@contextlib.contextmanager
def trickling(
    server: Server, start: bytes, count: int = SLOW_CONNECTIONS
) -> Iterator[list[socket.socket]]:
    """Open ``count`` connections that send ``start``, then a byte now and then."""
    stop = threading.Event()
    sockets = [
        socket.create_connection(address(server), timeout=5) for _ in range(count)
    ]
    for sock in sockets:
        sock.sendall(start)

    def trickle() -> None:
        while not stop.wait(0.5):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b'X')

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        yield sockets
    finally:
        stop.set()
        sender.join(timeout=5)
        for sock in sockets:
            sock.close()


SLOW_HEAD = b'GET /v2/ping HTTP/1.1\r\nHost: zaqar\r\nX-Slow: '
SLOW_BODY = (
    b'POST /v2/queues/slow/messages HTTP/1.1\r\nHost: zaqar\r\n'
    b'Client-ID: 6ba7b810-9dad-11d1-80b4-00c04fd430c8\r\nX-Project-ID: slow\r\n'
    b'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"messages": ['
)


# The same body with Content-Length before another header, where its line
# ends in "\r\n" rather than at the end of the head: a worker that missed
# it there would hand the request to a thread before the body arrived, and
# the thread would wait for it.
SLOW_BODY_LENGTH_FIRST = (
    b'POST /v2/queues/slow/messages HTTP/1.1\r\nHost: zaqar\r\n'
    b'Content-Length: 100000\r\nContent-Type: application/json\r\n'
    b'Client-ID: 6ba7b810-9dad-11d1-80b4-00c04fd430c8\r\nX-Project-ID: slow\r\n'
    b'\r\n{"messages": ['
)


@pytest.mark.parametrize(
    'start',
    [
        SLOW_HEAD,
        SLOW_BODY,
        SLOW_BODY_LENGTH_FIRST,
    ],
    ids=['head', 'body', 'body-length-not-last'],
)
def test_slow_clients_do_not_starve_normal_requests(
    server_factory: Callable[..., Server], start: bytes
) -> None:
    server = server_factory({})
    with trickling(server, start):
        # Let the slow connections reach the server (and, with a worker that
        # gives each a thread, take every thread) before the normal request.
        time.sleep(1)
        for _ in range(5):
            answer = requests.post(
                f'{server.url}/v2/queues/normal/messages',
                json={'messages': [{'body': 'still served'}]},
                headers=server.headers(),
                timeout=ANSWER_BOUND,
            )
            assert answer.status_code == 201, answer.text


def test_a_client_too_slow_to_send_its_request_is_disconnected(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory({'drivers:transport:wsgi': {'client_timeout': 1}})
    with trickling(server, SLOW_HEAD, count=3) as sockets:
        for sock in sockets:
            sock.settimeout(ANSWER_BOUND)
            # The server closes the connection without an answer; reading
            # then gives the end of the stream (or a reset).
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(1024) == b''


TWO_LENGTHS = (
    b'POST /v2/queues/framing/messages HTTP/1.1\r\nHost: zaqar\r\n'
    b'Client-ID: 6ba7b810-9dad-11d1-80b4-00c04fd430c8\r\nX-Project-ID: slow\r\n'
    b'Content-Type: application/json\r\n'
    b'Content-Length: 27\r\nContent-Length: 28\r\n\r\n{"messages": [{"body": 1}]}'
)


def test_a_request_with_two_content_lengths_is_refused_at_once(
    server_factory: Callable[..., Server],
) -> None:
    """Refused as soon as it is sent, not after the client timeout."""
    server = server_factory({'drivers:transport:wsgi': {'client_timeout': 20}})
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(TWO_LENGTHS)
        assert sock.recv(1024).startswith(b'HTTP/1.1 400 ')


def test_a_request_head_ending_in_bare_line_feeds_is_answered_at_once(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory({'drivers:transport:wsgi': {'client_timeout': 20}})
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b'GET /v2/ping HTTP/1.1\nHost: zaqar\n\n')
        assert sock.recv(1024).startswith(b'HTTP/1.1 ')
