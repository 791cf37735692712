"""Pre-signed URL grants: the upstream signature and the body rules."""

from __future__ import annotations

import datetime
import hashlib
import hmac

import pytest

from zaqar.operations import signed_url
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
QUEUE = '/v2/queues/q'


def test_signature_is_upstreams_hmac_over_backslash_n_joined_fields() -> None:
    """http-api.md, Pre-signed URLs: the separators are the two characters \\ and n."""
    grant = signed_url.Grant.of(
        ['/v2/queues/q/messages', '/v2/queues/q/claims'],
        ['POST', 'GET'],
        'project-1',
        datetime.datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=datetime.UTC),
    )
    text = (
        '/v2/queues/q/claims,/v2/queues/q/messages'
        + '\\n'
        + 'GET,POST'
        + '\\n'
        + 'project-1'
        + '\\n'
        + '2030-01-02T03:04:05'
    )
    expected = hmac.new(b'secret', text.encode(), hashlib.sha256).hexdigest()
    assert grant.signature('secret') == expected
    assert grant.expires_text == '2030-01-02T03:04:05'


def test_a_granted_path_covers_the_paths_below_it_only() -> None:
    grant = signed_url.Grant.of([f'{QUEUE}/messages'], ['GET'], 'p', NOW)
    assert grant.allows('GET', f'{QUEUE}/messages')
    assert grant.allows('GET', f'{QUEUE}/messages/abc')
    assert not grant.allows('DELETE', f'{QUEUE}/messages')
    assert not grant.allows('GET', f'{QUEUE}/messages-other')
    assert not grant.allows('GET', '/v2/queues/xq/messages')
    assert not grant.allows('GET', f'{QUEUE}/claims')


def test_verify_needs_the_right_secret_an_unexpired_grant_and_a_covered_request() -> (
    None
):
    grant = signed_url.Grant.of([f'{QUEUE}/messages'], ['GET'], 'p', NOW)
    signature = grant.signature('secret')
    before = NOW - datetime.timedelta(seconds=1)
    path = f'{QUEUE}/messages'
    assert signed_url.verify('secret', signature, grant, 'GET', path, before)
    assert not signed_url.verify('other', signature, grant, 'GET', path, before)
    assert not signed_url.verify('secret', signature, grant, 'GET', path, NOW)
    assert not signed_url.verify('secret', signature, grant, 'POST', path, before)
    forged = signed_url.Grant.of([f'{QUEUE}/messages'], ['GET', 'POST'], 'p', NOW)
    assert not signed_url.verify('secret', signature, forged, 'POST', path, before)


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('2030-01-01T00:00:00', datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)),
        ('2030-01-01T00:00:00Z', datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)),
        (
            '2030-01-01T02:00:00+02:00',
            datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
        ),
        (
            '2030-01-01T00:00:00.123456',
            datetime.datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=datetime.UTC),
        ),
    ],
)
def test_expiry_parses_iso_8601_in_utc(text: str, expected: datetime.datetime) -> None:
    assert signed_url.parse_expires(text) == expected


@pytest.mark.parametrize('text', ['20300101', '1893456000', 'tomorrow', ''])
def test_expiry_refuses_numbers_and_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        signed_url.parse_expires(text)


def test_body_defaults_to_get_on_messages_for_a_day() -> None:
    grant = signed_url.grant_from_body({}, QUEUE, 'p', NOW)
    assert grant.paths == (f'{QUEUE}/messages',)
    assert grant.methods == ('GET',)
    assert grant.project == 'p'
    assert grant.expires == NOW + datetime.timedelta(days=1)


def test_body_paths_and_methods_are_expanded_and_sorted() -> None:
    grant = signed_url.grant_from_body(
        {
            'paths': ['messages', 'claims'],
            'methods': ['post', 'GET'],
            'expires': '2030-06-01T00:00:00',
        },
        QUEUE,
        'p',
        NOW,
    )
    assert grant.paths == (f'{QUEUE}/claims', f'{QUEUE}/messages')
    assert grant.methods == ('GET', 'POST')


@pytest.mark.parametrize(
    ('body', 'text'),
    [
        ({'paths': ['messages'], 'extra': 1}, "Unknown keys: \\['extra'\\]"),
        ({'paths': ['queues']}, 'Invalid paths'),
        ({'paths': []}, 'Invalid paths'),
        ({'paths': 'messages'}, '"paths" field must be a list'),
        ({'methods': 'GET'}, '"methods" field must be a list'),
        ({'methods': ['FETCH']}, 'Methods must be a list of'),
        ({'expires': 1893456000}, 'ISO 8601'),
        ({'expires': '1893456000'}, 'ISO 8601'),
        ({'expires': '2029-12-31T00:00:00'}, 'must be in the future'),
    ],
)
def test_bad_bodies_are_refused(body: dict, text: str) -> None:
    with pytest.raises(ValidationFailed, match=text):
        signed_url.grant_from_body(body, QUEUE, 'p', NOW)


def test_a_body_that_is_not_an_object_is_a_body_error() -> None:
    with pytest.raises(InvalidBody):
        signed_url.grant_from_body(['messages'], QUEUE, 'p', NOW)


def test_a_non_ascii_signature_simply_fails_to_verify() -> None:
    grant = signed_url.Grant.of([f'{QUEUE}/messages'], ['GET'], 'p', NOW)
    before = NOW - datetime.timedelta(seconds=1)
    assert not signed_url.verify(
        's', '\xe9' * 64, grant, 'GET', f'{QUEUE}/messages', before
    )


@pytest.mark.parametrize(
    'text', ['9999-12-31T23:59:59-05:00', '0001-01-01T00:00:00+05:00']
)
def test_expiry_beyond_the_representable_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        signed_url.parse_expires(text)
    with pytest.raises(ValidationFailed, match='ISO 8601'):
        signed_url.grant_from_body({'expires': text}, QUEUE, 'p', NOW)
