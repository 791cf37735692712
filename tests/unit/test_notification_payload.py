"""Notification and confirmation payloads: upstream's shapes."""

from __future__ import annotations

import json
import urllib.parse

from zaqar.notification import payload
from zaqar.notification.payload import Confirmation
from zaqar.storage.models import NewMessage


def grant(**changes: object) -> Confirmation:
    values: dict[str, object] = {
        'source': 'orders',
        'project': 'project-1',
        'paths': ('/v2/queues/orders/subscriptions/s1/confirm',),
        'methods': ('PUT',),
        'expires': '2030-01-02T03:04:05',
        'signature': 'abc123',
    }
    values.update(changes)
    return Confirmation(**values)  # type: ignore[arg-type]


def test_notification_is_the_message_plus_type_and_queue_name() -> None:
    body = {'event': 'BackupStarted', 'size': 3}
    assert payload.notification('orders', body, 300) == {
        'ttl': 300,
        'body': body,
        'Message_Type': 'Notification',
        'queue_name': 'orders',
    }
    with_delay = payload.notification('orders', 'text', 60, delay=10)
    assert list(with_delay) == ['ttl', 'body', 'delay', 'Message_Type', 'queue_name']
    assert with_delay['delay'] == 10


def test_notification_of_a_posted_message_names_a_delay_only_when_set() -> None:
    plain = payload.notification_of('topic-a', NewMessage(body=[1], ttl=90))
    assert plain == {
        'ttl': 90,
        'body': [1],
        'Message_Type': 'Notification',
        'queue_name': 'topic-a',
    }
    delayed = payload.notification_of('q', NewMessage(body=None, ttl=90, delay=30))
    assert delayed['delay'] == 30


def test_confirmation_path_for_queues_and_topics() -> None:
    assert (
        payload.confirmation_path('orders', 's1')
        == '/v2/queues/orders/subscriptions/s1/confirm'
    )
    assert (
        payload.confirmation_path('news', 's2', topic=True)
        == '/v2/topics/news/subscriptions/s2/confirm'
    )


def test_subscription_confirmation_has_upstreams_fields() -> None:
    document = payload.confirmation_payload(
        grant(subscribe_url='http://zaqar.example/v2/queues/orders/x')
    )
    assert document['Message_Type'] == 'SubscriptionConfirmation'
    assert document['URL-Signature'] == 'abc123'
    assert document['URL-Methods'] == 'PUT'
    assert document['URL-Paths'] == '/v2/queues/orders/subscriptions/s1/confirm'
    assert document['X-Project-ID'] == 'project-1'
    assert document['URL-Expires'] == '2030-01-02T03:04:05'
    assert document['SubscribeBody'] == {'confirmed': True}
    assert document['UnsubscribeBody'] == {'confirmed': False}
    assert document['queue_name'] == 'orders'
    assert document['WSGISubscribeURL'] == 'http://zaqar.example/v2/queues/orders/x'
    assert 'WebSocketSubscribeURL' not in document
    assert 'orders' in document['Message']
    json.dumps(document)


def test_unsubscribe_confirmation_and_optional_urls() -> None:
    document = payload.confirmation_payload(
        grant(unsubscribed=True, websocket_subscribe_url='ws://zaqar.example/')
    )
    assert document['Message_Type'] == 'UnsubscribeConfirmation'
    assert document['WebSocketSubscribeURL'] == 'ws://zaqar.example/'
    assert 'WSGISubscribeURL' not in document


def test_the_signature_stays_out_of_repr() -> None:
    assert 'abc123' not in repr(grant())


def test_confirmation_link_has_upstreams_parameters_in_order() -> None:
    link = payload.confirmation_link('https://confirm.example/page', grant())
    assert link == (
        'https://confirm.example/page?Signature=abc123&Methods=PUT'
        '&Paths=/v2/queues/orders/subscriptions/s1/confirm&Project=project-1'
        '&Expires=2030-01-02T03:04:05&Url=&Queue=orders'
    )


def test_confirmation_link_encodes_what_would_break_it() -> None:
    link = payload.confirmation_link(
        'https://confirm.example/page?lang=en',
        grant(source='a&b c', subscribe_url='http://z/x?y=1'),
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query['lang'] == ['en']
    assert query['Queue'] == ['a&b c']
    assert query['Url'] == ['http://z/x?y=1']
