"""Hostile HTTP/1.1 requests, and a raw client that checks each answer.

:class:`Generator` makes requests from the OpenAPI description with
mutated paths, queries, headers and bodies (seeded, so a run repeats).
:class:`Connection` sends them over one keep-alive TCP connection, as raw
bytes (so nothing is normalised on the way), reads each answer with
``http.client`` and holds the server to what the answer said about the
connection: after ``Connection: close`` the server closes it; otherwise the
next request on it gets an answer.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import random
import select
import socket
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

KIB = 1024
MIB = 1024 * KIB
# How long one request may take before the run counts it as a hang.
ANSWER_TIMEOUT = 30.0
HTTP_METHODS = ('get', 'put', 'post', 'delete', 'head', 'patch')
JSON_PATCH = b'application/openstack-messaging-v2.0-json-patch'
CLIENT_ID = b'3381af92-2b9e-11e3-b191-71861300734c'


@dataclasses.dataclass(frozen=True)
class Hostile:
    """One request, as bytes, and how its body is framed."""

    method: bytes
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes | None
    framing: str  # 'length', 'chunked' or 'none'
    chunk_sizes: tuple[int, ...] = ()
    version: bytes = b'HTTP/1.1'
    # The whole request as sent, when its framing is itself the attack.
    raw: bytes | None = None

    def encode(self) -> bytes:
        """The request on the wire."""
        if self.raw is not None:
            return self.raw
        lines = [b'%s %s %s' % (self.method, self.target, self.version)]
        lines += [name + b': ' + value for name, value in self.headers]
        body = self.body or b''
        if self.framing == 'length':
            lines.append(b'Content-Length: %d' % len(body))
        elif self.framing == 'chunked':
            lines.append(b'Transfer-Encoding: chunked')
            body = _chunked(body, self.chunk_sizes)
        return b'\r\n'.join(lines) + b'\r\n\r\n' + body

    def summary(self) -> str:
        """A short description for failure messages."""
        if self.raw is not None:
            return f'raw request {self.raw[:400]!r}'
        names = b','.join(name for name, _ in self.headers)
        size = len(self.body) if self.body is not None else 0
        return (
            f'{self.method.decode("latin-1")} {self.target[:120]!r} '
            f'[{self.framing}, {size} bytes, headers {names[:200]!r}, '
            f'body {(self.body or b"")[:80]!r}]'
        )


def _chunked(body: bytes, sizes: tuple[int, ...]) -> bytes:
    chunks = []
    position = 0
    index = 0
    while position < len(body):
        size = sizes[index % len(sizes)] if sizes else len(body)
        chunk = body[position : position + size]
        extension = b';note=x' if index % 3 == 1 else b''
        chunks.append(b'%x%s\r\n%s\r\n' % (len(chunk), extension, chunk))
        position += size
        index += 1
    trailer = b'X-Trailer: t\r\n' if len(chunks) % 2 else b''
    return b''.join(chunks) + b'0\r\n' + trailer + b'\r\n'


class Generator:
    """Seeded hostile requests from the description.

    Args:
        rng: The random source (seeded by the caller).
        description: The OpenAPI description.
        known: Values of path parameters that name existing data.
        project: The project of well-formed requests.
    """

    def __init__(
        self,
        rng: random.Random,
        description: Mapping[str, Any],
        known: Mapping[str, str],
        project: str,
    ) -> None:
        self.rng = rng
        self.known = dict(known)
        self.project = project.encode()
        self.operations = [
            (method.upper(), path, operation)
            for path, item in description['paths'].items()
            for method, operation in item.items()
            if method in HTTP_METHODS
        ]
        self.parameters = description['components']['parameters']

    # Requests

    def request(self) -> Hostile:
        """The next hostile request."""
        rng = self.rng
        if rng.random() < 0.05:
            return self._bad_framing()
        method, template, operation = rng.choice(self.operations)
        if rng.random() < 0.15:
            method = rng.choice(
                ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PURGE']
            )
        target = self._path(template) + self._query(operation)
        body = self._body(method, template)
        headers = self._headers(method, template, body is not None)
        framing = 'none' if body is None else 'length'
        if body is not None and rng.random() < 0.3:
            framing = 'chunked'
        sizes = tuple(rng.choice([1, 7, 512, 4 * KIB, 64 * KIB]) for _ in range(4))
        version = b'HTTP/1.0' if rng.random() < 0.03 else b'HTTP/1.1'
        return Hostile(
            method.encode(),
            target,
            tuple(headers),
            body,
            framing,
            sizes,
            version,
        )

    def _bad_framing(self) -> Hostile:
        """A request whose length or encoding is ambiguous or malformed."""
        rng = self.rng
        head = (
            b'POST /v2/queues/fuzz/messages HTTP/1.1\r\nHost: x\r\n'
            b'Client-ID: ' + CLIENT_ID + b'\r\nX-Project-ID: ' + self.project + b'\r\n'
            b'Content-Type: application/json\r\n'
        )
        body = b'{"messages": [{"body": 1}]}'
        chunk = b'%x\r\n%s\r\n0\r\n\r\n' % (len(body), body)
        framing = rng.choice(
            [
                b'Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n' % len(chunk)
                + chunk,
                # NOTE: the second length is the smaller one: with the larger
                # one last, zaqar-server's worker waits for the client's
                # timeout instead of answering (tests/server/test_slow_clients.py,
                # test_a_request_with_two_content_lengths_is_refused_at_once).
                b'Content-Length: %d\r\nContent-Length: %d\r\n\r\n'
                % (len(body), len(body) - 1)
                + body,
                b'Content-Length: -1\r\n\r\n',
                b'Content-Length: 1_0\r\n\r\n',
                b'Content-Length: +27\r\n\r\n' + body,
                b'Transfer-Encoding: chunked, identity\r\n\r\n' + chunk,
                b'Transfer-Encoding: identity\r\n\r\n',
                b'Transfer-Encoding: xchunked\r\n\r\n' + chunk,
                b'Transfer-Encoding: chunked\r\n\r\nzz\r\n' + body + b'\r\n0\r\n\r\n',
                # NOTE: a chunk size larger than the data sent is waited on
                # (the client may still send it), so sizes here are honest.
                b'Transfer-Encoding: chunked\r\n\r\n'
                + b'001B ;x=1\r\n'
                + body
                + b'\r\n0\r\n\r\n',
                b'Transfer-Encoding: chunked\r\n\r\n1b\r\n' + body + b'XX0\r\n\r\n',
                b'X-Folded: a\r\n b\r\nContent-Length: %d\r\n\r\n' % len(body) + body,
                b'Bad Header: x\r\nContent-Length: %d\r\n\r\n' % len(body) + body,
                b'X-Nul: a\x00b\r\nContent-Length: %d\r\n\r\n' % len(body) + body,
            ]
        )
        raw = head + framing
        return Hostile(b'POST', b'/v2/queues/fuzz/messages', (), body, 'none', raw=raw)

    def _path(self, template: str) -> bytes:
        rng = self.rng
        parts = []
        for part in template.split('/'):
            if part.startswith('{') and part.endswith('}'):
                name = part[1:-1]
                value = (
                    self.known.get(name, 'x')
                    if rng.random() < 0.6
                    else self._mutated_segment()
                )
                parts.append(value)
            else:
                parts.append(part)
        path = '/'.join(parts)
        roll = rng.random()
        if roll < 0.04:
            path += '/'
        elif roll < 0.08:
            path += '/' + self._mutated_segment()
        elif roll < 0.1:
            path = path.replace('/v2/', '/v2//')
        return path.encode('latin-1', 'replace')

    def _mutated_segment(self) -> str:
        rng = self.rng
        return rng.choice(
            [
                '',
                'x' * rng.choice([65, 300, 2000, 5000]),
                urllib.parse.quote('caf\u00e9-\u2603-\U0001f600'),
                '%FF%FE',
                '%00',
                '..',
                '%2e%2e',
                'a%2Fb',
                uuid.uuid4().hex,
                str(rng.randint(-(2**70), 2**70)),
                urllib.parse.quote(self._text(rng.randint(1, 40)), safe=''),
                'queue.with.dots',
                '-' * 64,
            ]
        )

    def _text(self, length: int) -> str:
        rng = self.rng
        alphabet = 'aZ09_-.,;:!?"\'\\/{}[]<>%&=+ \t\u00e9\u2603\U0001f600\x00\x01\x7f'
        return ''.join(rng.choice(alphabet) for _ in range(length))

    def _query(self, operation: Mapping[str, Any]) -> bytes:
        rng = self.rng
        pairs: list[tuple[str, str]] = []
        for parameter in operation.get('parameters', []):
            definition = self._resolve(parameter)
            if definition.get('in') != 'query' or rng.random() < 0.5:
                continue
            name = definition['name']
            if name == 'metadata_filters':
                name = rng.choice(['team', 'k', '_default_message_ttl', '\u00e9'])
            pairs.append((name, self._query_value(definition)))
            if rng.random() < 0.1:
                pairs.append((name, self._query_value(definition)))
        if rng.random() < 0.1:
            pairs.append((self._text(rng.randint(1, 10)), self._text(5)))
        if not pairs:
            return b''
        query = urllib.parse.urlencode(pairs, safe=',')
        if rng.random() < 0.05:
            query += '&%FF=%FE&x=%zz'
        return b'?' + query.encode('latin-1', 'replace')

    def _query_value(self, definition: Mapping[str, Any]) -> str:
        rng = self.rng
        schema = definition.get('schema', {})
        kind = schema.get('type')
        if rng.random() < 0.5:
            if kind == 'integer':
                return str(
                    rng.randint(schema.get('minimum', 1), schema.get('maximum', 20))
                )
            if kind == 'boolean':
                return rng.choice(['true', 'false', 'yes', '0'])
            if kind == 'array':
                known = self.known.get('message_id', 'x')
                return ','.join([known] * rng.randint(1, 25))
            return self.known.get(definition['name'], 'a')
        return rng.choice(
            [
                '',
                '-1',
                '0',
                '9' * rng.choice([19, 20, 400, 2000]),
                '1e3',
                '0x10',
                ' 5',
                'true' * 3,
                self._text(rng.randint(1, 60)),
                ',' * 30,
                'x' * rng.choice([100, 1000, 3000]),
            ]
        )

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        reference = node.get('$ref')
        if isinstance(reference, str):
            resolved: Mapping[str, Any] = self.parameters[reference.rsplit('/', 1)[1]]
            return resolved
        return node

    def _headers(
        self, method: str, template: str, with_body: bool
    ) -> list[tuple[bytes, bytes]]:
        rng = self.rng
        headers: list[tuple[bytes, bytes]] = [(b'Host', b'zaqar.test')]
        if rng.random() < 0.9:
            headers.append(
                (b'Client-ID', CLIENT_ID if rng.random() < 0.9 else self._raw())
            )
        if rng.random() < 0.92:
            project = self.project if rng.random() < 0.85 else self._raw()
            headers.append((b'X-Project-ID', project))
        if rng.random() < 0.3:
            headers.append((b'X-Roles', rng.choice([b'admin', b'reader,admin', b''])))
        if with_body:
            patch = method == 'PATCH' and template.count('/') == 3
            content_type = JSON_PATCH if patch else b'application/json'
            if rng.random() < 0.15:
                content_type = rng.choice(
                    [
                        b'text/plain',
                        b'application/x-www-form-urlencoded',
                        b'application/json; charset=latin-1',
                        b'multipart/form-data; boundary=x',
                        self._raw(),
                    ]
                )
            headers.append((b'Content-Type', content_type))
        roll = rng.random()
        if roll < 0.05:
            headers.append((b'Accept', rng.choice([b'text/html', b'*/*;q=x', b';;;'])))
        elif roll < 0.1:
            size = rng.choice([1 * KIB, 4 * KIB, 8 * KIB, 12 * KIB])
            headers.append((b'X-Huge', b'h' * size))
        elif roll < 0.14:
            headers.append(
                (b'X-Garbage', bytes(rng.randrange(128, 256) for _ in range(64)))
            )
        elif roll < 0.17:
            headers += [
                (b'X-Many-%d' % n, b'v') for n in range(rng.choice([20, 90, 150]))
            ]
        elif roll < 0.2:
            headers.append((b'URL-Signature', self._raw()))
            headers.append((b'URL-Expires', b'2099-01-01T00:00:00Z'))
            headers.append((b'URL-Paths', b'/v2/queues/fuzz/messages'))
            headers.append((b'URL-Methods', b'GET'))
        elif roll < 0.22:
            headers.append((b'Client-ID', CLIENT_ID))
        elif roll < 0.24 and with_body:
            headers.append((b'Expect', b'100-continue'))
        if self.rng.random() < 0.1:
            headers.append((b'Connection', b'close'))
        return headers

    def _raw(self) -> bytes:
        """A header value of a kind clients get wrong (no CR, LF or NUL)."""
        rng = self.rng
        return rng.choice(
            [
                b'',
                b' ',
                'caf\u00e9'.encode(),
                b'\xff\xfe\x80',
                b'x' * rng.choice([37, 300, 3000]),
                b'\x01\x02',
                b'{' + uuid.uuid4().hex.encode() + b'}',
                b'urn:uuid:' + str(uuid.uuid4()).encode(),
            ]
        )

    # Bodies

    def _body(self, method: str, template: str) -> bytes | None:
        rng = self.rng
        if (
            method in ('GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE')
            and rng.random() < 0.9
        ):
            return None
        roll = rng.random()
        if roll < 0.35:
            return json.dumps(self._document(template)).encode()
        if roll < 0.5:
            return json.dumps(self._json(0)).encode()
        if roll < 0.6:
            depth = rng.choice([63, 64, 65, 70, 1000, 50000])
            opening, closing = rng.choice([(b'[', b']'), (b'{"a":', b'}')])
            inner = opening * depth + b'1' + closing * depth
            return b'{"messages": [{"body": ' + inner + b'}]}'
        if roll < 0.68:
            count = rng.choice([1000, 99_990, 100_010, 300_000])
            return b'{"messages": [{"body": [' + b'0,' * count + b'0]}]}'
        if roll < 0.78:
            size = rng.choice([60 * KIB, 256 * KIB, 300 * KIB, 1 * MIB, 3 * MIB // 2])
            return json.dumps({'messages': [{'body': 'x' * size}]}).encode()
        if roll < 0.9:
            return rng.choice(
                [
                    b'{"messages": [',
                    b'{"a": 1,}',
                    b'\xef\xbb\xbf{}',
                    b'[NaN]',
                    b'{"ttl": 1e999}',
                    b'{"messages": [{"body": "\\ud800"}]}',
                    b'\xff\xfe\xfd',
                    b'null',
                    b'[' + b'9' * 5000 + b']',
                ]
            )
        if roll < 0.95:
            return bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))
        return b''

    def _document(self, template: str) -> Any:
        """A plausible body for the operation, with odd values in it."""
        rng = self.rng
        value = rng.choice(
            [60, 300, 0, -1, 2**63, 1.5, True, None, 'x', [], {}, 43200, 1209600]
        )
        if template.endswith('/messages'):
            count = rng.choice([1, 2, 20, 200])
            return {
                'messages': [
                    {'body': self._json(0), 'ttl': value} for _ in range(count)
                ]
            }
        if template.endswith('/claims') or '/claims/' in template:
            return {'ttl': value, 'grace': rng.choice([60, value])}
        if template.endswith('/subscriptions') or '/subscriptions/' in template:
            return {
                'subscriber': rng.choice(
                    ['http://127.0.0.1:9/x', 'mailto:a@b.c', 'ftp://x', '', 'http://']
                ),
                'ttl': value,
                'options': rng.choice(
                    [{}, {'post_data': 1}, [], {'_retry_policy': {}}]
                ),
            }
        if template.endswith('/confirm'):
            return {'confirmed': rng.choice([True, False, 'yes', None])}
        if template.endswith('/purge'):
            return {'resource_types': rng.choice([['messages'], ['x'], 'messages', []])}
        if template.endswith('/share'):
            return {'paths': ['messages'], 'methods': ['GET'], 'expires': value}
        if template.count('/') == 3:
            if rng.random() < 0.5:
                return [
                    {
                        'op': rng.choice(['add', 'replace', 'remove', 'move', 'x']),
                        'path': rng.choice(['/metadata/k', '/metadata', '/x', '']),
                        'value': self._json(0),
                    }
                ]
            return {'_default_message_ttl': value, 'k': self._json(0)}
        return self._json(0)

    def _json(self, depth: int) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth > 4 or roll < 0.4:
            return rng.choice(
                [0, -1, 2**63 - 1, -(2**63), 1.5e300, True, None, '', self._text(8)]
            )
        if roll < 0.7:
            return [self._json(depth + 1) for _ in range(rng.randint(0, 5))]
        return {self._text(4): self._json(depth + 1) for _ in range(rng.randint(0, 5))}


class Dropped(Exception):
    """The server closed or reset a connection it had promised to keep."""


class Hang(Exception):
    """The server did not answer in time."""


@dataclasses.dataclass
class Answer:
    """An answer read from the wire."""

    status: int
    headers: dict[str, str]
    body: bytes
    will_close: bool
    early: bool  # given before the whole request was sent


class Connection:
    """One client connection, kept open while the server keeps it."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=ANSWER_TIMEOUT)
        self.used = 0

    def close(self) -> None:
        self.sock.close()

    def exchange(self, request: Hostile) -> Answer:
        """Send ``request`` and read its answer.

        Raises:
            Dropped: The connection was closed or reset before an answer
                began (only an error when it was kept alive).
            Hang: No answer within :data:`ANSWER_TIMEOUT`.
        """
        reused = self.used > 0
        self.used += 1
        early = self._send(request.encode(), reused)
        response = http.client.HTTPResponse(self.sock, method=request.method.decode())
        try:
            response.begin()
            body = response.read()
        except TimeoutError:
            raise Hang(request.summary()) from None
        except (http.client.RemoteDisconnected, ConnectionResetError) as ex:
            raise Dropped(f'{type(ex).__name__} after {request.summary()}') from None
        finally:
            response.close()
        return Answer(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            body,
            response.will_close,
            early,
        )

    def _send(self, data: bytes, reused: bool) -> bool:
        """Send the request; return True if the answer began before its end.

        The server may answer (and close) before reading a whole body it
        refuses; the rest is then not sent, and the answer read.
        """
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            readable, writable, _ = select.select(
                [self.sock], [self.sock], [], ANSWER_TIMEOUT
            )
            if not readable and not writable:
                raise Hang(f'could not send ({sent} of {len(data)} bytes sent)')
            if readable:
                if self._interim_answer():
                    continue
                return True
            try:
                sent += self.sock.send(view[sent : sent + 64 * KIB])
            except (BrokenPipeError, ConnectionResetError) as ex:
                if reused and sent == 0:
                    raise Dropped(
                        f'{type(ex).__name__} on a kept-alive connection'
                    ) from None
                return True
        return False

    def _interim_answer(self) -> bool:
        """Consume a ``100 Continue`` waiting on the socket, if it is one."""
        try:
            peeked = self.sock.recv(64, socket.MSG_PEEK)
        except (ConnectionResetError, BrokenPipeError):
            return False
        if not peeked.startswith(b'HTTP/1.1 100'):
            return False
        head = b''
        while not head.endswith(b'\r\n\r\n'):
            head += self.sock.recv(1)
        return True
