"""Unit tests of request-body reading and JSON parsing."""

from __future__ import annotations

import io

import falcon
import falcon.testing
import pytest

from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.queues import BodyLimit
from zaqar.transport import json_body
from zaqar.transport.wsgi import media


def limit(size: int) -> BodyLimit:
    return BodyLimit(size, 'too large')


class CountingStream(io.BytesIO):
    """A body stream that records how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def make_request(
    body: bytes = b'',
    content_length: str | None = None,
    terminated: bool = False,
) -> tuple[falcon.Request, CountingStream]:
    env = falcon.testing.create_environ(method='POST', body=body)
    env.pop('CONTENT_LENGTH', None)
    if content_length is not None:
        env['CONTENT_LENGTH'] = content_length
    if terminated:
        env['wsgi.input_terminated'] = True
    stream = CountingStream(body)
    env['wsgi.input'] = stream
    return falcon.Request(env), stream


@pytest.mark.parametrize(
    ('data', 'expected'),
    [
        (b'{}', {}),
        (b'[]', []),
        (b'{"a": [1, 2.5, "x", null, true]}', {'a': [1, 2.5, 'x', None, True]}),
        ('{"k": "caf\u00e9"}'.encode(), {'k': 'caf\u00e9'}),
        (b'[9223372036854775807, -9223372036854775808]', [2**63 - 1, -(2**63)]),
        (b'{"b": 1, "a": 2}', {'b': 1, 'a': 2}),
    ],
)
def test_parse_json_accepts_objects_and_arrays(data: bytes, expected: object) -> None:
    assert json_body.parse_json(data) == expected


def test_parse_json_keeps_key_order() -> None:
    assert list(json_body.parse_json(b'{"z": 1, "a": 2, "m": 3}')) == ['z', 'a', 'm']


@pytest.mark.parametrize(
    'data',
    [
        b'[9223372036854775808]',
        b'{"a": -9223372036854775809}',
        b'[' + b'9' * 5000 + b']',
    ],
)
def test_parse_json_refuses_integers_beyond_int64(data: bytes) -> None:
    with pytest.raises(InvalidBody, match='JSON contains integer that is too large.'):
        json_body.parse_json(data)


@pytest.mark.parametrize(
    'data',
    [
        b'',
        b'{',
        b'{"a": 1,}',
        b'"just a string"',
        b'42',
        b'null',
        b'[NaN]',
        b'[Infinity]',
        b'[-Infinity]',
        b'[1e999]',
        b'\xff\xfe{}',
        b'{"a": "\xc3"}',
        b'[' * 100000 + b']' * 100000,
    ],
)
def test_parse_json_refuses_unparseable_bodies(data: bytes) -> None:
    with pytest.raises(InvalidBody, match='Request body could not be parsed.'):
        json_body.parse_json(data)


def test_read_body_checks_content_length_before_reading() -> None:
    req, stream = make_request(b'x' * 100, content_length='100')
    with pytest.raises(ValidationFailed, match='too large'):
        media.read_body(req, limit(99))
    assert stream.bytes_read == 0


def test_read_body_reads_the_declared_length() -> None:
    req, _ = make_request(b'abcdef', content_length='4')
    assert media.read_body(req, limit(10)) == b'abcd'


def test_read_body_without_length_ignores_unterminated_input() -> None:
    req, stream = make_request(b'{"a": 1}')
    assert media.read_body(req, limit(100)) == b''
    assert stream.bytes_read == 0


def test_read_body_without_length_reads_terminated_input_bounded() -> None:
    req, _ = make_request(b'{"a": 1}', terminated=True)
    assert media.read_body(req, limit(100)) == b'{"a": 1}'

    req, stream = make_request(b'x' * 1000, terminated=True)
    with pytest.raises(ValidationFailed):
        media.read_body(req, limit(10))
    assert stream.bytes_read == 11


def test_read_json_returns_none_for_an_optional_empty_body() -> None:
    req, _ = make_request()
    assert media.read_json(req, limit(100)) is None
    req, _ = make_request(content_length='0')
    assert media.read_json(req, limit(100)) is None


def test_read_json_refuses_an_empty_required_body() -> None:
    req, _ = make_request()
    with pytest.raises(InvalidBody, match='Request body can not be empty'):
        media.read_json(req, limit(100), required=True)


def test_read_json_parses_the_body() -> None:
    req, _ = make_request(b'{"ttl": 60}', content_length='11')
    assert media.read_json(req, limit(100), required=True) == {'ttl': 60}


def test_read_json_caps_bodies_at_64_kib_by_default() -> None:
    size = media.SMALL_DOCUMENT.size + 1
    assert size == 64 * 1024 + 1
    req, _ = make_request(b' ' * size, content_length=str(size))
    with pytest.raises(ValidationFailed, match='Request body is too large'):
        media.read_json(req)


def nested(depth: int) -> bytes:
    """An array nesting ``depth`` levels (the top level is 1)."""
    return b'[' * depth + b']' * depth


@pytest.mark.parametrize(
    'data',
    [
        nested(json_body.MAX_DEPTH),
        b'{"a": ' * (json_body.MAX_DEPTH - 1)
        + b'{}'
        + b'}' * (json_body.MAX_DEPTH - 1),
        b'[' + b','.join([b'0'] * json_body.MAX_ELEMENTS)[:-2] + b',0]',
        b'{' + b','.join(b'"k%d": 0' % n for n in range(json_body.MAX_ELEMENTS)) + b'}',
        # Brackets and commas in strings are text, not structure.
        b'["' + b'[{,' * (2 * json_body.MAX_ELEMENTS) + b'"]',
        b'[' + b'[ ],' * (json_body.MAX_ELEMENTS - 1) + b'[\t]]',
    ],
    ids=['deepest', 'deepest-objects', 'most-items', 'most-members', 'text', 'empties'],
)
def test_parse_json_accepts_documents_at_the_bounds(data: bytes) -> None:
    assert isinstance(json_body.parse_json(data), list | dict)


@pytest.mark.parametrize(
    'data',
    [
        nested(json_body.MAX_DEPTH + 1),
        b'{"a": ' * json_body.MAX_DEPTH + b'{}' + b'}' * json_body.MAX_DEPTH,
        b'[1, [2, ' + nested(json_body.MAX_DEPTH - 1) + b']]',
        nested(50_000),
    ],
    ids=['one-too-deep', 'objects', 'inside', 'absurd'],
)
def test_parse_json_refuses_documents_nested_too_deep(data: bytes) -> None:
    with pytest.raises(InvalidBody) as caught:
        json_body.parse_json(data)
    assert str(caught.value) == json_body.TOO_DEEP


@pytest.mark.parametrize(
    'data',
    [
        b'[' + b'0,' * json_body.MAX_ELEMENTS + b'0]',
        b'{'
        + b','.join(b'"k%d": 0' % n for n in range(json_body.MAX_ELEMENTS + 1))
        + b'}',
        b'[' + b'[],' * json_body.MAX_ELEMENTS + b'[]]',
        b'{"messages": [{"body": [' + b'{}, ' * json_body.MAX_ELEMENTS + b'{}]}]}',
        nested(json_body.MAX_ELEMENTS + 2),
    ],
    ids=['items', 'members', 'empty-arrays', 'spaced', 'brackets'],
)
def test_parse_json_refuses_documents_with_too_many_elements(data: bytes) -> None:
    with pytest.raises(InvalidBody) as caught:
        json_body.parse_json(data)
    assert str(caught.value) == json_body.TOO_MANY_ELEMENTS
