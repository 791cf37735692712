"""Unit tests of the wire shapes (the OpenAPI description's schemas)."""

from __future__ import annotations

import hashlib
import urllib.parse

from zaqar.storage.models import Claim
from zaqar.storage.models import Message
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import QueueStats
from zaqar.transport import representation


def make_message(**changes: object) -> Message:
    fields: dict = {
        'id': 'm1',
        'marker': 7,
        'ttl': 300,
        'age': 12,
        'body': {'b': 1, 'a': 'é'},
        'created': 1_700_000_000.0,
    }
    fields.update(changes)
    return Message(**fields)


def test_message_has_exactly_the_client_keys() -> None:
    assert representation.message(make_message(), 'q') == {
        'id': 'm1',
        'href': '/v2/queues/q/messages/m1',
        'ttl': 300,
        'age': 12,
        'body': {'b': 1, 'a': 'é'},
    }


def test_claimed_message_href_quotes_the_claim() -> None:
    document = representation.message(make_message(claim_id='c9'), 'q')
    assert document['href'] == '/v2/queues/q/messages/m1?claim_id=c9'


def test_checksum_is_md5_of_python_json_dumps() -> None:
    expected = hashlib.md5(b'{"b": 1, "a": "\\u00e9"}').hexdigest()
    document = representation.message(make_message(), 'q', with_checksum=True)
    assert document['checksum'] == f'MD5:{expected}'


def test_null_body_has_no_checksum() -> None:
    document = representation.message(make_message(body=None), 'q', with_checksum=True)
    assert 'checksum' not in document


def test_popped_message_has_the_raw_shape() -> None:
    assert representation.popped_message(make_message(claim_count=2)) == {
        'id': 'm1',
        'age': 12,
        'ttl': 300,
        'claim_count': 2,
        'body': {'b': 1, 'a': 'é'},
        'claim_id': None,
    }


def test_claim_lists_messages_under_its_own_id() -> None:
    record = Claim(id='c1', ttl=60, age=3, messages=[make_message()])
    document = representation.claim(record, 'q')
    assert document['href'] == '/v2/queues/q/claims/c1'
    assert (document['age'], document['ttl']) == (3, 60)
    assert document['messages'][0]['href'].endswith('/messages/m1?claim_id=c1')
    assert 'grace' not in document


def test_stats_of_an_empty_queue_have_no_oldest_or_newest() -> None:
    assert representation.stats(QueueStats(), 'q') == {
        'messages': {'free': 0, 'claimed': 0, 'total': 0}
    }


def test_stats_render_oldest_and_newest() -> None:
    record = QueueStats(
        free=2,
        claimed=1,
        oldest=MessageSummary(id='a', age=120, created=1_704_164_645.0),
        newest=MessageSummary(id='b', age=3, created=1_704_164_762.9),
    )
    assert representation.stats(record, 'q') == {
        'messages': {
            'free': 2,
            'claimed': 1,
            'total': 3,
            'oldest': {
                'href': '/v2/queues/q/messages/a',
                'age': 120,
                'created': '2024-01-02T03:04:05Z',
            },
            'newest': {
                'href': '/v2/queues/q/messages/b',
                'age': 3,
                'created': '2024-01-02T03:06:02Z',
            },
        }
    }


def test_next_link_renders_booleans_lowercase_and_sorts_parameters() -> None:
    link = representation.next_link(
        '/v2/queues/q/messages', {'marker': 17, 'echo': True, 'limit': 5}
    )
    assert link == {
        'rel': 'next',
        'href': '/v2/queues/q/messages?echo=true&limit=5&marker=17',
    }


def test_next_link_escapes_values() -> None:
    link = representation.next_link('/v2/queues', {'description': 'a b&c'})
    query = urllib.parse.urlparse(link['href']).query
    assert urllib.parse.parse_qs(query) == {'description': ['a b&c']}
