"""A connection stays usable after any answer that did not read the body.

Each case sends a request whose body the server answers without reading
(or without reading all of it) on one HTTP/1.1 connection, then a second
request on that same connection. The answer must either keep the
connection (``Connection: keep-alive``) and then serve the second request,
or say ``Connection: close`` and close it. A keep-alive answer followed by
a closed connection is the defect these tests exist for.
"""

from __future__ import annotations

import http
import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.server.conftest import Server

KIB = 1024
# Over gunicorn's own 64 KiB discard, under the server's 1 MiB drain limit.
BIG = 300 * KIB
DRAIN_LIMIT = 1024 * KIB


def headers(**extra: str) -> dict[str, str]:
    return {
        'Client-ID': str(uuid.uuid4()),
        'X-Project-ID': 'keepalive',
        'Content-Type': 'application/json',
        **extra,
    }


def json_of_size(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes."""
    prefix, suffix = b'{"messages": [{"body": "', b'"}]}'
    return prefix + b'x' * (size - len(prefix) - len(suffix)) + suffix


def connect(server: Server) -> http.client.HTTPConnection:
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    return http.client.HTTPConnection(address.hostname, address.port, timeout=30)


def assert_connection_usable_or_closed(
    conn: http.client.HTTPConnection, response: http.client.HTTPResponse
) -> str:
    """Check the promise the answer made about the connection; return it."""
    announced = (response.getheader('Connection') or '').lower()
    assert announced in ('keep-alive', 'close'), announced
    sock = conn.sock
    if announced == 'close':
        assert response.will_close
        return announced
    conn.request('GET', '/v2/ping', headers=headers())
    follow_up = conn.getresponse()
    follow_up.read()
    assert follow_up.status == 204
    assert conn.sock is sock, 'the follow-up needed a new connection'
    return announced


MESSAGES = '/v2/queues/q/messages'
CASES = [
    pytest.param('POST', MESSAGES, json_of_size(BIG), 400, id='post-size'),
    pytest.param('PUT', '/v2/queues/q', json_of_size(BIG), 400, id='queue-metadata'),
    pytest.param('PATCH', '/v2/queues/q', json_of_size(BIG), 400, id='queue-patch'),
    pytest.param('POST', '/v2/queues/q$/messages', json_of_size(BIG), 400, id='name'),
    pytest.param('POST', '/v2/queues/q/claims?limit=x', b'{' * BIG, 400, id='query'),
    pytest.param('GET', MESSAGES, b'x' * BIG, 200, id='get-body'),
    pytest.param('DELETE', '/v2/queues/gone', b'x' * BIG, 204, id='delete-body'),
    pytest.param('POST', '/v2/nowhere', b'x' * BIG, 404, id='not-found'),
    pytest.param('POST', '/v2/ping', b'x' * BIG, 405, id='not-allowed'),
    pytest.param('POST', MESSAGES, b'{"messages": [', 400, id='bad-json'),
]


@pytest.mark.parametrize(('method', 'path', 'body', 'status'), CASES)
def test_a_refused_body_leaves_the_connection_usable(
    server: Server, method: str, path: str, body: bytes, status: int
) -> None:
    conn = connect(server)
    try:
        for _ in range(3):
            conn.request(method, path, body=body, headers=headers())
            response = conn.getresponse()
            response.read()
            assert response.status == status
            # Under the drain limit the server keeps the connection.
            assert assert_connection_usable_or_closed(conn, response) == 'keep-alive'
    finally:
        conn.close()


def test_a_missing_header_leaves_the_connection_usable(server: Server) -> None:
    conn = connect(server)
    try:
        bare = {'X-Project-ID': 'keepalive', 'Content-Type': 'application/json'}
        conn.request('POST', MESSAGES, json_of_size(BIG), bare)
        response = conn.getresponse()
        assert response.status == 400
        assert json.loads(response.read())['title'] == 'Missing header value'
        assert assert_connection_usable_or_closed(conn, response) == 'keep-alive'
    finally:
        conn.close()


def chunks(data: bytes, size: int = 16 * KIB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_refused_chunked_body_leaves_the_connection_usable(server: Server) -> None:
    conn = connect(server)
    try:
        conn.request(
            'POST',
            MESSAGES,
            body=chunks(json_of_size(BIG)),
            headers=headers(),
            encode_chunked=True,
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 400
        assert assert_connection_usable_or_closed(conn, response) == 'keep-alive'
    finally:
        conn.close()


def post_head(framing: str) -> str:
    """The head of a raw message post whose body is framed by ``framing``."""
    return (
        f'POST {MESSAGES} HTTP/1.1\r\n'
        'Host: zaqar\r\n'
        'Client-ID: 6ba7b810-9dad-11d1-80b4-00c04fd430c8\r\n'
        'X-Project-ID: keepalive\r\n'
        'Content-Type: application/json\r\n'
        f'{framing}\r\n\r\n'
    )


def raw_request(server: Server, head: str) -> socket.socket:
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    sock = socket.create_connection((address.hostname, address.port), timeout=30)
    sock.sendall(head.encode('latin-1'))
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b''
    try:
        while data := sock.recv(64 * KIB):
            received += data
    except ConnectionResetError:
        # The server reset a connection we were still sending on, after
        # its answer: what arrived before the reset is the answer.
        pass
    return received


def test_a_body_over_the_drain_limit_closes_the_connection_honestly(
    server: Server,
) -> None:
    declared = 8 * DRAIN_LIMIT
    sock = raw_request(server, post_head(f'Content-Length: {declared}'))
    try:
        # Only a little of the body is ever sent: the answer must not wait
        # for the rest, and must not promise to read another request.
        sock.sendall(b'x' * (16 * KIB))
        answer = read_until_closed(sock)
    finally:
        sock.close()
    status_line, _, rest = answer.partition(b'\r\n')
    assert status_line == b'HTTP/1.1 400 Bad Request'
    head_part = rest.split(b'\r\n\r\n', 1)[0].lower()
    assert b'connection: close' in head_part.split(b'\r\n')


def test_an_endless_chunked_body_closes_the_connection_honestly(
    server: Server,
) -> None:
    sock = raw_request(server, post_head('Transfer-Encoding: chunked'))
    stop = threading.Event()

    def send_forever() -> None:
        chunk = b'%x\r\n%s\r\n' % (64 * KIB, b'x' * (64 * KIB))
        try:
            while not stop.is_set():
                sock.sendall(chunk)
        except OSError:
            pass  # the server closed the connection, as it should

    sender = threading.Thread(target=send_forever, daemon=True)
    sender.start()
    try:
        answer = read_until_closed(sock)
    finally:
        stop.set()
        sock.close()
        sender.join(timeout=30)
    head_part = answer.split(b'\r\n\r\n', 1)[0].lower().split(b'\r\n')
    assert head_part[0] == b'http/1.1 400 bad request'
    assert b'connection: close' in head_part


def test_a_malformed_chunk_is_a_400_and_closes_the_connection(server: Server) -> None:
    sock = raw_request(server, post_head('Transfer-Encoding: chunked'))
    try:
        sock.sendall(b'zz\r\n{}\r\n0\r\n\r\n')
        answer = read_until_closed(sock)
    finally:
        sock.close()
    head_part, _, body = answer.partition(b'\r\n\r\n')
    lines = head_part.lower().split(b'\r\n')
    assert lines[0] == b'http/1.1 400 bad request'
    assert b'connection: close' in lines
    document = json.loads(
        body.split(b'\r\n')[1] if b'chunked' in head_part.lower() else body
    )
    assert document == {
        'title': 'Invalid request body',
        'description': 'Request body could not be read.',
    }


def test_a_client_gone_mid_body_is_one_line_in_the_log(server: Server) -> None:
    sock = raw_request(server, post_head('Transfer-Encoding: chunked'))
    # A first chunk, then the client leaves without the rest.
    sock.sendall(b'5\r\n{"mes\r\n')
    sock.close()
    deadline = time.monotonic() + 10
    while 'went away while sending its request' not in server.output():
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.1)
    assert 'Traceback' not in server.output()


@pytest.mark.parametrize(
    ('head', 'status'),
    [
        pytest.param(
            'GET /v2/queues HTTP/1.1\r\nHost: zaqar\r\nX-Big: '
            + 'h' * 9000
            + '\r\n\r\n',
            431,
            id='header-too-large',
        ),
        pytest.param(
            'GET /v2/queues?marker=' + '9' * 5000 + ' HTTP/1.1\r\nHost: zaqar\r\n\r\n',
            414,
            id='uri-too-long',
        ),
        pytest.param(
            'POST /v2/queues/q/messages HTTP/1.1\r\nHost: zaqar\r\n'
            'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x',
            400,
            id='two-lengths',
        ),
        pytest.param(
            'POST /v2/queues/q/messages HTTP/1.1\r\nHost: zaqar\r\n'
            'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
            501,
            id='unknown-coding',
        ),
    ],
)
def test_malformed_http_is_refused_with_a_zaqar_error_body(
    server: Server, head: str, status: int
) -> None:
    sock = raw_request(server, head)
    try:
        answer = read_until_closed(sock)
    finally:
        sock.close()
    head_part, _, body = answer.partition(b'\r\n\r\n')
    lines = head_part.lower().split(b'\r\n')
    phrase = http.HTTPStatus(status).phrase
    assert lines[0] == f'http/1.1 {status} {phrase}'.lower().encode()
    assert b'connection: close' in lines
    assert b'content-type: application/json' in lines
    # A title and a description, never the offending input.
    document = json.loads(body)
    assert set(document) == {'title', 'description'}
    assert document['title'] == phrase
