"""Webhook deliveries against real HTTP servers on the loopback interface."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.selfsigned import make_certificate
from zaqar.common.clock import ManualClock
from zaqar.notification import payload
from zaqar.notification import webhook
from zaqar.notification.results import Outcome
from zaqar.notification.settings import Settings
from zaqar.notification.webhook import WebhookSender

NOTIFICATION = payload.notification('orders', {'event': 'BackupStarted'}, 300)


@dataclasses.dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Subscriber:
    """A real HTTP server that records POSTs and answers ``status``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.received: list[Received] = []
        self.status = 200
        subscriber = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get('Content-Length', '0'))
                subscriber.received.append(
                    Received(
                        self.command,
                        self.path,
                        {name.lower(): value for name, value in self.headers.items()},
                        self.rfile.read(length),
                    )
                )
                self.send_response(subscriber.status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        # A short poll interval keeps shutdown() (at teardown) quick.
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.02,), daemon=True
        )
        self.thread.start()
        scheme = 'https' if tls else 'http'
        self.url = f'{scheme}://127.0.0.1:{self.server.server_address[1]}'

    @property
    def last(self) -> Received:
        assert self.received, 'nothing was POSTed'
        return self.received[-1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.close()


def sender(
    secret: str | None = None, timeout: float = 5.0, clock: ManualClock | None = None
) -> WebhookSender:
    return WebhookSender(
        Settings(webhook_timeout=timeout, webhook_signing_secret=secret),
        clock or ManualClock(),
    )


def test_the_payload_is_posted_as_json(subscriber: Subscriber) -> None:
    result = sender().send(f'{subscriber.url}/hook?x=1', {}, NOTIFICATION)
    assert result.delivered
    assert result.outcome is Outcome.DELIVERED
    assert result.status == 200
    assert result.reason == 'HTTP 200 OK'
    received = subscriber.last
    assert received.method == 'POST'
    assert received.path == '/hook?x=1'
    assert received.headers['content-type'] == 'application/json'
    assert json.loads(received.body) == {
        'ttl': 300,
        'body': {'event': 'BackupStarted'},
        'Message_Type': 'Notification',
        'queue_name': 'orders',
    }
    assert webhook.SIGNATURE_HEADER.lower() not in received.headers


def test_post_headers_are_added_and_may_replace_the_content_type(
    subscriber: Subscriber,
) -> None:
    options = {'post_headers': {'X-Token': 'abc', 'content-type': 'text/plain'}}
    assert sender().send(subscriber.url, options, NOTIFICATION).delivered
    headers = subscriber.last.headers
    assert headers['x-token'] == 'abc'
    assert headers['content-type'] == 'text/plain'


def test_post_data_is_a_template_for_the_payload(subscriber: Subscriber) -> None:
    options = {'post_data': '{"wrapped": "$zaqar_message$", "n": 1}'}
    assert sender().send(subscriber.url, options, NOTIFICATION).delivered
    assert json.loads(subscriber.last.body) == {'wrapped': NOTIFICATION, 'n': 1}


def test_post_data_that_is_not_a_string_fails_for_good(subscriber: Subscriber) -> None:
    options = {'post_data': {'wrapped': '$zaqar_message$'}}
    result = sender().send(subscriber.url, options, NOTIFICATION)
    assert result.permanent
    assert result.reason == 'post_data must be a string.'
    assert subscriber.received == []


@pytest.mark.parametrize(
    'headers',
    [
        {'Content-Length': '1'},
        {'X-Zaqar-Signature': 'forged'},
        {'X-Bad': 'a\r\nInjected: yes'},
        {'Bad Name': 'x'},
        {'X-Number': 1},
        {'X-Text': 'snowman ☃'},
        ['X-List'],
    ],
)
def test_unsafe_post_headers_fail_for_good(
    subscriber: Subscriber, headers: object
) -> None:
    result = sender().send(subscriber.url, {'post_headers': headers}, NOTIFICATION)
    assert result.permanent
    assert 'post_headers' in result.reason
    assert subscriber.received == []


def test_the_configured_secret_signs_the_exact_body(subscriber: Subscriber) -> None:
    clock = ManualClock(1_800_000_000.0)
    options = {'post_data': '{"m": "$zaqar_message$"}'}
    result = sender('conf-secret', clock=clock).send(
        subscriber.url, options, NOTIFICATION
    )
    assert result.delivered
    received = subscriber.last
    header = received.headers['x-zaqar-signature']
    assert header.startswith('t=1800000000,v1=')
    assert webhook.verify('conf-secret', header, received.body, now=clock.now())
    assert not webhook.verify('other', header, received.body, now=clock.now())
    assert not webhook.verify(
        'conf-secret', header, received.body + b' ', now=clock.now()
    )
    # Replayed too late, or with a clock too far behind.
    assert not webhook.verify(
        'conf-secret', header, received.body, now=clock.now() + 301
    )
    assert webhook.verify(
        'conf-secret', header, received.body, now=clock.now() + 301, tolerance=400
    )
    assert 'conf-secret' not in result.reason


def test_the_subscriptions_secret_wins_over_the_configured_one(
    subscriber: Subscriber,
) -> None:
    options = {'signing_secret': 'own-secret'}
    assert sender('conf-secret').send(subscriber.url, options, NOTIFICATION).delivered
    received = subscriber.last
    header = received.headers['x-zaqar-signature']
    now = ManualClock().now()
    assert webhook.verify('own-secret', header, received.body, now=now)
    assert not webhook.verify('conf-secret', header, received.body, now=now)


def test_an_empty_or_non_string_secret_is_refused(subscriber: Subscriber) -> None:
    for secret in ('', 42):
        result = sender().send(subscriber.url, {'signing_secret': secret}, NOTIFICATION)
        assert result.permanent
        assert result.reason == 'signing_secret must be a non-empty string.'
    assert subscriber.received == []


def test_signature_format_and_verification() -> None:
    body = b'{"a": 1}'
    header = webhook.sign('k', body, 1000)
    expected = hmac.new(b'k', b'1000.' + body, hashlib.sha256).hexdigest()
    assert header == f't=1000,v1={expected}'
    assert webhook.verify('k', header, body, now=1000)
    # Any of several v1 entries may match; order does not matter.
    assert webhook.verify('k', f'v1=00ff, t=1000 ,v1={expected}', body, now=1000)
    for broken in (
        '',
        't=1000',
        f'v1={expected}',
        f't=x,v1={expected}',
        f't=1000,t=1001,v1={expected}',
        'garbage',
    ):
        assert not webhook.verify('k', broken, body, now=1000)
    assert not webhook.verify('k', f't=1000,v1={expected}é', body, now=1000)


@pytest.mark.parametrize(
    ('status', 'outcome'),
    [
        (200, Outcome.DELIVERED),
        (201, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (500, Outcome.RETRYABLE),
        (502, Outcome.RETRYABLE),
        (503, Outcome.RETRYABLE),
        (408, Outcome.RETRYABLE),
        (429, Outcome.RETRYABLE),
        (400, Outcome.PERMANENT),
        (401, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (410, Outcome.PERMANENT),
        (302, Outcome.PERMANENT),
    ],
)
def test_answers_are_classified(
    subscriber: Subscriber, status: int, outcome: Outcome
) -> None:
    subscriber.status = status
    result = sender().send(subscriber.url, {}, NOTIFICATION)
    assert result.outcome is outcome
    assert result.status == status
    assert result.reason.startswith(f'HTTP {status} ')


def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.
    result = sender().send(f'http://127.0.0.1:{port}/', {}, NOTIFICATION)
    assert result.retryable
    assert result.status is None
    assert result.reason == 'connection refused'


def test_a_server_that_never_answers_times_out_and_is_retryable() -> None:
    with socket.socket() as silent:
        # Listening but never accepting: the kernel completes the
        # connection and takes the request, and no answer ever comes.
        silent.bind(('127.0.0.1', 0))
        silent.listen(1)
        url = f'http://127.0.0.1:{silent.getsockname()[1]}/'
        started = time.monotonic()
        result = sender(timeout=0.3).send(url, {}, NOTIFICATION)
        elapsed = time.monotonic() - started
    assert result.retryable
    assert result.reason == 'no answer within 0.3 s'
    assert 0.25 < elapsed < 3


def test_a_trickling_answer_is_cut_at_the_timeout() -> None:
    """Each read has a timeout; the deadline bounds their sum too."""
    stop = threading.Event()
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)

        def trickle() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b'HTTP/1.1 200 OK\r\n')
                while not stop.wait(0.05):
                    try:
                        connection.sendall(b'X')
                    except OSError:
                        return

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        url = f'http://127.0.0.1:{listener.getsockname()[1]}/'
        started = time.monotonic()
        result = sender(timeout=0.5).send(url, {}, NOTIFICATION)
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(5)
    assert result.retryable
    assert elapsed < 3


def test_an_untrusted_certificate_is_refused_and_retryable(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    server = Subscriber(tls=certificate.server_context())
    try:
        result = sender().send(server.url, {}, NOTIFICATION)
    finally:
        server.close()
    assert result.retryable
    assert result.reason.startswith('TLS certificate refused')
    assert server.received == []


def test_https_with_a_trusted_certificate(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    server = Subscriber(tls=certificate.server_context())
    try:
        trusting = WebhookSender(
            Settings(webhook_timeout=5.0), tls_context=certificate.client_context()
        )
        result = trusting.send(f'{server.url}/hook', {}, NOTIFICATION)
    finally:
        server.close()
    assert result.delivered, result
    assert json.loads(server.last.body) == NOTIFICATION


def test_credentials_in_the_url_become_basic_authentication(
    subscriber: Subscriber,
) -> None:
    port = subscriber.url.rsplit(':', 1)[1]
    url = f'http://user:p%40ss@127.0.0.1:{port}/hook'
    result = sender().send(url, {}, NOTIFICATION)
    assert result.delivered
    token = subscriber.last.headers['authorization'].removeprefix('Basic ')
    assert base64.b64decode(token) == b'user:p@ss'
    assert 'p%40ss' not in result.reason


def test_paths_are_escaped_as_a_browser_would(subscriber: Subscriber) -> None:
    url = f'{subscriber.url}/hooks/café here?q=a%20b&r=é'
    assert sender().send(url, {}, NOTIFICATION).delivered
    assert subscriber.last.path == '/hooks/caf%C3%A9%20here?q=a%20b&r=%C3%A9'


@pytest.mark.parametrize(
    'url',
    ['ftp://127.0.0.1/', 'http:///no-host', 'http://127.0.0.1:notaport/', 'mailto:a@b'],
)
def test_urls_that_cannot_be_posted_to_fail_for_good(url: str) -> None:
    result = sender().send(url, {}, NOTIFICATION)
    assert result.permanent
    assert url not in result.reason


def test_confirmations_are_posted_with_the_subscriptions_options(
    subscriber: Subscriber,
) -> None:
    confirmation = payload.Confirmation(
        source='orders',
        project='p1',
        paths=('/v2/queues/orders/subscriptions/s1/confirm',),
        methods=('PUT',),
        expires='2030-01-01T00:00:00',
        signature='sig',
    )
    options = {'post_headers': {'X-Token': 'abc'}}
    result = sender().send_confirmation(subscriber.url, options, confirmation)
    assert result.delivered
    received = subscriber.last
    assert received.headers['x-token'] == 'abc'
    document = json.loads(received.body)
    assert document['Message_Type'] == 'SubscriptionConfirmation'
    assert document['URL-Signature'] == 'sig'
    assert document['queue_name'] == 'orders'


def test_options_problem_accepts_upstreams_options() -> None:
    assert (
        webhook.options_problem(
            {
                'post_data': '{"m": "$zaqar_message$"}',
                'post_headers': {'X-Token': 'abc'},
                'signing_secret': 's',
                '_retry_policy': {},
                'other': 1,
            }
        )
        is None
    )
