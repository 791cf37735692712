"""When the buffering worker hands a request to a thread (zaqar.cmd.worker)."""

from __future__ import annotations

import pytest

from zaqar.cmd.worker import HEAD_LIMIT
from zaqar.cmd.worker import _Request

LIMIT = 1000
POST = b'POST /v2/queues/q/messages HTTP/1.1\r\nHost: zaqar\r\n'
CHUNKED = POST + b'Transfer-Encoding: chunked\r\n\r\n'


def arrived(*parts: bytes) -> list[bool]:
    """Whether the request is whole after each part arrives."""
    request = _Request(deadline=0.0, body_limit=LIMIT)
    verdicts = []
    for part in parts:
        request.data += part
        verdicts.append(request.is_whole())
    return verdicts


def test_a_head_is_whole_once_its_empty_line_arrives() -> None:
    assert arrived(b'GET /v2/ping HTTP/1.1\r\nHost: z', b'aqar\r\n', b'\r\n') == [
        False,
        False,
        True,
    ]


def test_a_head_end_split_across_arrivals_is_found() -> None:
    head = b'GET /v2/ping HTTP/1.1\r\nHost: zaqar\r\n\r\n'
    # One byte at a time: the end is found however it is split.
    assert arrived(*(head[n : n + 1] for n in range(len(head))))[-2:] == [False, True]


def test_a_head_ending_in_bare_line_feeds_is_whole() -> None:
    assert arrived(b'GET /v2/ping HTTP/1.1\nHost: zaqar\n\n') == [True]


def test_a_head_over_the_limit_is_handed_over_unfinished() -> None:
    assert arrived(b'GET / HTTP/1.1\r\nX-Big: ', b'h' * HEAD_LIMIT) == [False, True]


def test_a_body_is_waited_for_up_to_its_content_length() -> None:
    head = POST + b'Content-Length: 10\r\n\r\n'
    assert arrived(head, b'12345', b'67890') == [False, False, True]


@pytest.mark.parametrize(
    'head',
    [
        POST + b'Content-Length: %d\r\n\r\n' % (LIMIT + 1),
        POST + b'Content-Length: 2\r\nContent-Length: 3\r\n\r\n',
        POST + b'Content-Length: x\r\n\r\n',
        POST + b'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
        POST + b'Transfer-Encoding: gzip\r\n\r\n',
    ],
    ids=['over-the-limit', 'two-lengths', 'not-a-number', 'length-and-coding', 'gzip'],
)
def test_a_body_the_parser_refuses_at_once_is_not_waited_for(head: bytes) -> None:
    assert arrived(head) == [True]


def test_a_chunked_body_is_whole_with_its_last_chunk_and_trailers() -> None:
    assert arrived(
        CHUNKED, b'5\r\n{"a":', b'\r\n4;x=y\r\n "b"\r\n', b'0\r\n', b'\r\n'
    ) == [
        False,
        False,
        False,
        False,
        True,
    ]


@pytest.mark.parametrize('size', [b'-6', b'+5', b'zz', b'5_0', b''])
def test_a_chunk_size_the_parser_refuses_is_handed_over(size: bytes) -> None:
    # int() takes a sign and underscores; the parser does not, and a
    # negative size must not walk the body backwards.
    assert arrived(CHUNKED + size + b'\r\nxxxxxx\r\n') == [True]


def test_a_chunked_body_over_the_limit_is_not_waited_for() -> None:
    chunk = b'%x\r\n%s\r\n' % (LIMIT, b'x' * LIMIT)
    assert arrived(CHUNKED, chunk) == [False, True]
