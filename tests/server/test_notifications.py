"""Push notifications from a real zaqar-server to real subscribers.

Every test starts servers with the notifier stage in message_pipeline, on
SQLite and on Redis, and real HTTP or SMTP receivers on loopback ports.
Waits are bounded (a test gives up after ``receivers.PATIENCE``); nothing
asserts how fast a delivery is, only that it happens, and in which order
with respect to other events.
"""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.server import receivers
from tests.server.conftest import Config
from tests.server.conftest import Server
from tests.server.conftest import free_port
from tests.server.conftest import server_command
from tests.server.conftest import write_config
from tests.server.receivers import SmtpSink
from tests.server.receivers import WebhookReceiver
from zaqar.notification import webhook

NOTIFIER = 'zaqar.notification.notifier'
SECRET = 'webhook-signing-secret'
# Fast retries, so that a test sees several attempts soon.
FAST_RETRIES = {
    'retries_with_no_delay': 1,
    'minimum_delay_retries': 20,
    'minimum_delay': 1,
    'maximum_delay': 11,
    'maximum_delay_retries': 1,
}


def notifying(store: Config, **notification: object) -> Config:
    """``store`` with the notifier stage on and ``[notification]`` options."""
    return {
        **store,
        'storage': {'message_pipeline': NOTIFIER},
        'notification': {'webhook_signing_secret': SECRET, **notification},
    }


class Client:
    """One project's calls to a server, over HTTP."""

    def __init__(self, server: Server, project: str = 'notified') -> None:
        self.server = server
        self.headers = server.headers(project)

    def call(self, method: str, path: str, body: object = None) -> requests.Response:
        return requests.request(
            method,
            self.server.url + path,
            json=body,
            headers=self.headers,
            timeout=receivers.PATIENCE,
        )

    def subscribe(self, source: str, subscriber: str, **options: Any) -> str:
        response = self.call(
            'POST',
            f'{source}/subscriptions',
            {'subscriber': subscriber, 'options': options},
        )
        assert response.status_code == 201, response.text
        subscription_id: str = response.json()['subscription_id']
        return subscription_id

    def set_metadata(self, queue: str, key: str, value: object) -> None:
        response = requests.patch(
            self.server.url + queue,
            data=json.dumps(
                [{'op': 'add', 'path': f'/metadata/{key}', 'value': value}]
            ),
            headers={
                **self.headers,
                'Content-Type': 'application/openstack-messaging-v2.0-json-patch',
            },
            timeout=receivers.PATIENCE,
        )
        assert response.status_code == 200, response.text

    def post(self, source: str, *bodies: object) -> None:
        messages = [{'body': body, 'ttl': 600} for body in bodies]
        response = self.call('POST', f'{source}/messages', {'messages': messages})
        assert response.status_code == 201, response.text


def bodies(receiver: WebhookReceiver, path: str | None = None) -> list[Any]:
    return [document.get('body') for document in receiver.documents(path)]


def test_every_message_reaches_queue_and_topic_subscribers(
    server_factory: Callable[..., Server], store: Config
) -> None:
    client = Client(server_factory(notifying(store)))
    with WebhookReceiver() as receiver:
        client.subscribe('/v2/queues/orders', f'{receiver.url}/queue')
        for name in ('a', 'b', 'c'):
            client.subscribe('/v2/topics/news', f'{receiver.url}/topic-{name}')
        client.post('/v2/queues/orders', 1, 2, 3)
        client.post('/v2/topics/news', 'x', 'y')

        def all_arrived(receiver: WebhookReceiver) -> bool:
            return len(receiver.received) == 3 + 3 * 2

        receiver.wait_for(all_arrived)

    assert sorted(bodies(receiver, '/queue')) == [1, 2, 3]
    for name in ('a', 'b', 'c'):
        assert sorted(bodies(receiver, f'/topic-{name}')) == ['x', 'y']
    first = receiver.documents('/queue')[0]
    assert first['Message_Type'] == 'Notification'
    assert first['queue_name'] == 'orders'
    assert first['ttl'] == 600
    assert receiver.documents('/topic-a')[0]['queue_name'] == 'news'
    for item in receiver.received:
        assert item.headers['Content-Type'] == 'application/json'
        header = item.headers['X-Zaqar-Signature']
        assert webhook.verify(SECRET, header, item.raw)
        assert not webhook.verify('another-secret', header, item.raw)


def test_a_subscriber_answering_500_gets_the_message_again(
    server_factory: Callable[..., Server], store: Config
) -> None:
    server = server_factory(notifying(store))
    client = Client(server)
    with WebhookReceiver(statuses=(500, 503)) as receiver:
        client.subscribe('/v2/queues/flaky', receiver.url)
        client.post('/v2/queues/flaky', 'persist')
        receiver.wait_for(lambda r: len(r.received) == 3)
    assert bodies(receiver) == ['persist', 'persist', 'persist']
    log = server.output()
    assert 'attempt 1 of notification' in log
    assert 'attempt 2 of notification' in log
    assert '(HTTP 500' in log or 'HTTP 500' in log


def test_a_message_answered_201_survives_kill_9_of_every_server_process(
    server_factory: Callable[..., Server], store: Config, tmp_path: Path
) -> None:
    # Short attempts: the deliveries of the killed processes are held that
    # long (plus a margin) before the new ones take them.
    config = notifying(store, webhook_timeout=2, smtp_timeout=2)
    config['drivers:message_store:sqlite'] = {'database': tmp_path / 'kept.db'}
    first = server_factory(config)
    client = Client(first)
    port = free_port()
    # Nothing listens there yet: no attempt can succeed before the crash.
    client.subscribe('/v2/queues/durable', f'http://127.0.0.1:{port}/hook')
    client.set_metadata('/v2/queues/durable', '_retry_policy', FAST_RETRIES)
    client.post('/v2/queues/durable', {'order': 42})
    first.kill_all()

    with WebhookReceiver(port=port) as receiver:
        server_factory(config)
        receiver.wait_for(lambda r: {'order': 42} in bodies(r))


def test_a_hanging_subscriber_holds_back_neither_producers_nor_others(
    server_factory: Callable[..., Server], store: Config
) -> None:
    client = Client(server_factory(notifying(store, webhook_timeout=30)))
    release = threading.Event()
    with (
        WebhookReceiver(hang=release) as slow,
        WebhookReceiver() as fast,
    ):
        client.subscribe('/v2/queues/mixed', slow.url)
        client.subscribe('/v2/queues/mixed', fast.url)
        client.post('/v2/queues/mixed', 'first')
        assert slow.in_handler.wait(receivers.PATIENCE)

        # The slow subscriber holds its request open: a producer still gets
        # its 201, and the other subscriber still gets both messages.
        client.post('/v2/queues/mixed', 'second')
        fast.wait_for(lambda r: sorted(bodies(r)) == ['first', 'second'])
        # ... all while the slow subscriber still holds its first request.
        assert not release.is_set()
        assert slow.in_handler.is_set()

        release.set()
        slow.wait_for(lambda r: 'second' in bodies(r))
    assert sorted(set(bodies(slow))) == ['first', 'second']


def test_an_email_subscriber_receives_readable_mail(
    server_factory: Callable[..., Server], store: Config
) -> None:
    with SmtpSink() as sink:
        config = notifying(
            store,
            smtp_mode='self_local',
            smtp_host='127.0.0.1',
            smtp_port=sink.port,
            smtp_security='none',
        )
        client = Client(server_factory(config))
        client.subscribe(
            '/v2/queues/mail',
            'mailto:ops@example.com?subject=Queue%20news',
            **{'from': 'zaqar@example.com'},
        )
        client.post('/v2/queues/mail', {'event': 'backup done', 'size': 12})
        (message,) = sink.wait_for_messages(1)
    assert message['To'] == 'ops@example.com'
    assert message['From'] == 'zaqar@example.com'
    assert message['Subject'] == 'Queue news'
    text = message.get_content()
    assert 'mail' in text
    assert '"event": "backup done"' in text


def test_the_confirmation_flow_end_to_end(
    server_factory: Callable[..., Server], store: Config
) -> None:
    config = {
        **notifying(store, require_confirmation=True),
        'signed_url': {'secret_key': 'signing-key'},
    }
    server = server_factory(config)
    client = Client(server)
    with WebhookReceiver() as receiver:
        subscription = client.subscribe('/v2/queues/confirmed', receiver.url)
        receiver.wait_for(lambda r: len(r.received) == 1)
        request = receiver.documents()[0]
        assert request['Message_Type'] == 'SubscriptionConfirmation'
        path = f'/v2/queues/confirmed/subscriptions/{subscription}/confirm'
        assert request['URL-Paths'] == path
        assert request['URL-Methods'] == 'PUT'

        # Unconfirmed: nothing is owed for this message.
        client.post('/v2/queues/confirmed', 'before confirming')

        def confirm(value: bool) -> None:
            headers = {
                'Client-ID': str(uuid.uuid4()),
                'X-Project-ID': request['X-Project-ID'],
                'URL-Signature': request['URL-Signature'],
                'URL-Methods': request['URL-Methods'],
                'URL-Paths': request['URL-Paths'],
                'URL-Expires': request['URL-Expires'],
            }
            response = requests.put(
                server.url + path,
                json={'confirmed': value},
                headers=headers,
                timeout=receivers.PATIENCE,
            )
            assert response.status_code == 204, response.text

        confirm(True)
        got = client.call('GET', f'/v2/queues/confirmed/subscriptions/{subscription}')
        assert got.json()['confirmed'] is True
        client.post('/v2/queues/confirmed', 'after confirming')
        receiver.wait_for(lambda r: len(r.received) == 2)

        confirm(False)
        receiver.wait_for(lambda r: len(r.received) == 3)
        client.post('/v2/queues/confirmed', 'after unsubscribing')
        confirm(True)
        client.post('/v2/queues/confirmed', 'confirmed again')
        receiver.wait_for(lambda r: 'confirmed again' in bodies(r))

    kinds = [document['Message_Type'] for document in receiver.documents()]
    assert kinds == [
        'SubscriptionConfirmation',
        'Notification',
        'UnsubscribeConfirmation',
        'Notification',
    ]
    assert bodies(receiver) == [None, 'after confirming', None, 'confirmed again']


def test_failed_deliveries_are_kept_and_listed(
    server_factory: Callable[..., Server], store: Config, tmp_path: Path
) -> None:
    config = notifying(store)
    config['drivers:message_store:sqlite'] = {'database': tmp_path / 'kept.db'}
    client = Client(server_factory(config))
    with WebhookReceiver(statuses=(404,)) as receiver:
        client.subscribe('/v2/queues/lost', f'{receiver.url}/gone')
        client.post('/v2/queues/lost', 'undeliverable')
        receiver.wait_for(lambda r: len(r.received) == 1)

    listed: list[dict[str, Any]] = []

    def failed() -> list[dict[str, Any]]:
        conf = write_config(tmp_path / 'deliveries.conf', config)
        result = subprocess.run(
            [
                str(Path(server_command()[0]).with_name('zaqar-deliveries')),
                '--config-file',
                str(conf),
            ],
            capture_output=True,
            text=True,
            timeout=receivers.PATIENCE,
        )
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    # The failure is recorded right after the 404 was answered.
    for _ in range(100):
        listed = failed()
        if listed:
            break
    (delivery,) = listed
    assert delivery['queue'] == 'lost'
    assert delivery['project'] == 'notified'
    assert delivery['payload']['body'] == 'undeliverable'
    assert 'HTTP 404' in delivery['error']
    assert delivery['subscriber'].endswith('/gone')
