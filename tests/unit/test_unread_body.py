"""The unread remainder of a body is discarded, or the connection closed."""

from __future__ import annotations

import io
from typing import Any

import pytest

from zaqar.transport.wsgi.unread_body import UnreadBody


class FakeResponse:
    """Stands for the server's response object behind ``start_response``."""

    def __init__(self) -> None:
        self.closed = False

    def force_close(self) -> None:
        self.closed = True

    def start_response(self, status: str, headers: list[Any]) -> None:
        pass


class FailingStream:
    def read(self, size: int = -1) -> bytes:
        raise OSError('client went away')


def environ(body: bytes, length: int | None, chunked: bool = False) -> dict[str, Any]:
    env: dict[str, Any] = {'wsgi.input': io.BytesIO(body)}
    if length is not None:
        env['CONTENT_LENGTH'] = str(length)
    if chunked:
        env['HTTP_TRANSFER_ENCODING'] = 'chunked'
    return env


def finish(env: dict[str, Any], read: int = 0, limit: int = 100) -> tuple[bool, Any]:
    """Let the 'application' read ``read`` bytes, then finish; say if closed."""
    body = UnreadBody(env, limit=limit)
    env['wsgi.input'].read(read)
    response = FakeResponse()
    body.finish(response.start_response)
    return response.closed, env['wsgi.input']


def test_an_unread_body_under_the_limit_is_discarded() -> None:
    stream = io.BytesIO(b'x' * 80)
    closed, _ = finish({'wsgi.input': stream, 'CONTENT_LENGTH': '80'}, read=10)
    assert not closed
    assert stream.tell() == 80


def test_a_remainder_over_the_limit_closes_without_reading_it() -> None:
    stream = io.BytesIO(b'x' * 500)
    closed, _ = finish({'wsgi.input': stream, 'CONTENT_LENGTH': '500'}, read=10)
    assert closed
    assert stream.tell() == 10


def test_a_fully_read_body_changes_nothing() -> None:
    closed, tracked = finish(environ(b'x' * 500, 500), read=500)
    assert not closed
    assert tracked.consumed == 500


def test_a_body_shorter_than_declared_closes() -> None:
    # The client stopped sending: the connection's state is unknown.
    closed, _ = finish(environ(b'x' * 20, 50))
    assert closed


@pytest.mark.parametrize(('size', 'closed'), [(100, False), (101, True)])
def test_a_chunked_body_is_drained_up_to_the_limit(size: int, closed: bool) -> None:
    assert finish(environ(b'x' * size, None, chunked=True))[0] is closed


def test_no_body_at_all_changes_nothing() -> None:
    assert not finish(environ(b'', None))[0]


def test_a_failing_read_closes_and_never_raises() -> None:
    env: dict[str, Any] = {'wsgi.input': FailingStream(), 'CONTENT_LENGTH': '10'}
    body = UnreadBody(env)
    response = FakeResponse()
    body.finish(response.start_response)
    assert response.closed


def test_a_server_without_force_close_is_left_alone() -> None:
    body = UnreadBody(environ(b'x' * 500, 500), limit=10)
    body.finish(lambda status, headers: None)  # nothing to call, nothing raised
