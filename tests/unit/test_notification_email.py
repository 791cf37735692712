"""Email deliveries: to a real SMTP server on loopback, and through a program."""

from __future__ import annotations

import email
import email.message
import email.policy
import shlex
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtpd.controller as aiosmtpd_controller
import aiosmtpd.smtp as aiosmtpd_smtp
import pytest

from tests.selfsigned import Certificate
from tests.selfsigned import make_certificate
from zaqar.notification import payload
from zaqar.notification.email import EmailSender
from zaqar.notification.email import parse_mailto
from zaqar.notification.email import render_text
from zaqar.notification.settings import MailTemplate
from zaqar.notification.settings import Settings

NOTIFICATION = payload.notification(
    'orders', {'event': 'BackupStarted', 'note': 'café'}, 300, delay=10
)
CONFIRMATION = payload.Confirmation(
    source='orders',
    project='project-1',
    paths=('/v2/queues/orders/subscriptions/s1/confirm',),
    methods=('PUT',),
    expires='2030-01-02T03:04:05',
    signature='sig-123',
    subscribe_url='http://zaqar.example/v2/queues/orders/subscriptions/s1/confirm',
)
USER = 'zaqar'
PASSWORD = 'pa55-word'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port: int = probe.getsockname()[1]
        return port


class Mailbox:
    """An aiosmtpd handler keeping what it accepts; replies can be forced."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        return '250 Message accepted for delivery'

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        self.logins.append((data.login, data.password))
        ok = data.login == USER.encode() and data.password == PASSWORD.encode()
        # handled=False: aiosmtpd then answers 535 itself on failure.
        return aiosmtpd_smtp.AuthResult(success=ok, handled=False)

    # NOTE: a method, not a property: aiosmtpd reads every attribute of
    # its handler when it starts.
    def last(self) -> email.message.EmailMessage:
        assert self.envelopes, 'no email was accepted'
        message = email.message_from_bytes(
            self.envelopes[-1].content, policy=email.policy.default
        )
        assert isinstance(message, email.message.EmailMessage)
        return message


class SmtpServer:
    def __init__(self, mailbox: Mailbox, **kwargs: Any) -> None:
        self.port = free_port()
        self.controller = aiosmtpd_controller.Controller(
            mailbox, hostname='127.0.0.1', port=self.port, **kwargs
        )
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path)


@pytest.fixture
def plain_server(mailbox: Mailbox) -> Iterator[SmtpServer]:
    server = SmtpServer(mailbox)
    yield server
    server.stop()


def smtp_settings(port: int, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        'smtp_mode': 'self_local',
        'smtp_host': '127.0.0.1',
        'smtp_port': port,
        'smtp_security': 'none',
        'smtp_timeout': 5.0,
    }
    values.update(changes)
    return Settings(**values)


# Parsing and rendering


def test_mailto_uris_are_parsed_as_upstream() -> None:
    assert parse_mailto('mailto:a@example.com').recipients == ('a@example.com',)
    parsed = parse_mailto('mailto:a@example.com,%20b@example.com?SUBJECT=Hi%20there')
    assert parsed.recipients == ('a@example.com', 'b@example.com')
    assert parsed.subject == 'Hi there'
    for invalid in ('mailto:', 'mailto:nobody', 'http://a@b', 'mailto:a@b%0d%0aX:y'):
        with pytest.raises(ValueError):
            parse_mailto(invalid)


def test_notifications_are_rendered_for_people() -> None:
    text = render_text(NOTIFICATION)
    assert text.splitlines()[:5] == [
        'A message was posted to "orders".',
        '',
        'TTL: 300 seconds',
        'Delay: 10 seconds',
        '',
    ]
    assert '  "event": "BackupStarted",\n  "note": "café"\n' in text
    # Anything else is shown whole.
    assert render_text({'a': 1}) == '{\n  "a": 1\n}\n'
    text_body = payload.notification('q', 'line one\nline two', 60)
    assert '\nBody:\nline one\nline two\n' in render_text(text_body)


# SMTP


def test_a_notification_is_mailed_over_smtp(
    plain_server: SmtpServer, mailbox: Mailbox
) -> None:
    sender = EmailSender(smtp_settings(plain_server.port))
    options = {'from': 'Zaqar <zaqar@example.com>', 'subject': 'ignored'}
    result = sender.send(
        'mailto:a@example.com,b@example.com?subject=Backups', options, NOTIFICATION
    )
    assert result.delivered, result
    assert result.status == 250
    envelope = mailbox.envelopes[-1]
    assert envelope.mail_from == 'zaqar@example.com'
    assert envelope.rcpt_tos == ['a@example.com', 'b@example.com']
    message = mailbox.last()
    assert message['Subject'] == 'Backups'
    assert message['From'] == 'Zaqar <zaqar@example.com>'
    assert message['To'] == 'a@example.com, b@example.com'
    assert message['Message-ID'].endswith('@example.com>')
    # SMTP carries lines ended by CRLF.
    body = message.get_content().replace('\r\n', '\n')
    assert body == render_text(NOTIFICATION)


def test_subject_and_sender_fall_back_as_documented(
    plain_server: SmtpServer, mailbox: Mailbox
) -> None:
    sender = EmailSender(smtp_settings(plain_server.port))
    assert sender.send(
        'mailto:a@example.com', {'subject': 'Opt'}, NOTIFICATION
    ).delivered
    assert mailbox.last()['Subject'] == 'Opt'
    assert sender.send('mailto:a@example.com', {}, NOTIFICATION).delivered
    assert mailbox.last()['Subject'] == 'Zaqar Notification - orders'
    assert mailbox.last()['From'] == 'Zaqar Notifications <no-reply@openstack.org>'


def test_starttls_with_login(certificate: Certificate, mailbox: Mailbox) -> None:
    server = SmtpServer(
        mailbox,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_required=True,
    )
    try:
        settings = smtp_settings(
            server.port,
            smtp_security='starttls',
            smtp_user_name=USER,
            smtp_user_password=PASSWORD,
        )
        sender = EmailSender(settings, certificate.client_context())
        result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    finally:
        server.stop()
    assert result.delivered, result
    assert mailbox.logins == [(USER.encode(), PASSWORD.encode())]
    assert len(mailbox.envelopes) == 1


def test_tls_from_the_first_byte(certificate: Certificate, mailbox: Mailbox) -> None:
    server = SmtpServer(
        mailbox,
        ssl_context=certificate.server_context(),
        authenticator=mailbox.authenticate,
        # aiosmtpd knows of STARTTLS only; this connection is TLS already.
        auth_require_tls=False,
    )
    try:
        settings = smtp_settings(
            server.port,
            smtp_security='ssl',
            smtp_user_name=USER,
            smtp_user_password=PASSWORD,
        )
        sender = EmailSender(settings, certificate.client_context())
        result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    finally:
        server.stop()
    assert result.delivered, result
    assert mailbox.logins == [(USER.encode(), PASSWORD.encode())]


def test_an_untrusted_certificate_is_refused(
    certificate: Certificate, mailbox: Mailbox
) -> None:
    server = SmtpServer(mailbox, ssl_context=certificate.server_context())
    try:
        # No tls_context: the system's authorities, which do not know it.
        sender = EmailSender(smtp_settings(server.port, smtp_security='ssl'))
        result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    finally:
        server.stop()
    assert result.retryable
    assert result.reason.startswith('SMTP TLS certificate refused')
    assert mailbox.envelopes == []


def test_a_refused_login_fails_for_good_without_the_password(
    certificate: Certificate, mailbox: Mailbox
) -> None:
    server = SmtpServer(
        mailbox,
        tls_context=certificate.server_context(),
        authenticator=mailbox.authenticate,
        auth_required=True,
    )
    try:
        settings = smtp_settings(
            server.port,
            smtp_security='starttls',
            smtp_user_name=USER,
            smtp_user_password='wrong-password',
        )
        sender = EmailSender(settings, certificate.client_context())
        result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    finally:
        server.stop()
    assert result.permanent
    assert result.status == 535
    assert 'wrong-password' not in result.reason
    assert 'wrong-password' not in repr(settings)


def test_starttls_missing_on_the_server_fails_for_good(
    plain_server: SmtpServer, mailbox: Mailbox
) -> None:
    sender = EmailSender(smtp_settings(plain_server.port, smtp_security='starttls'))
    result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    assert result.permanent
    assert 'STARTTLS' in result.reason
    assert mailbox.envelopes == []


@pytest.mark.parametrize(
    ('where', 'reply', 'retryable'),
    [
        ('data', '451 4.3.0 Try again later', True),
        ('data', '554 5.6.0 Rejected', False),
        ('rcpt', '450 4.2.1 Mailbox busy', True),
        ('rcpt', '550 5.1.1 No such user', False),
    ],
)
def test_smtp_replies_are_classified(
    plain_server: SmtpServer,
    mailbox: Mailbox,
    where: str,
    reply: str,
    retryable: bool,
) -> None:
    setattr(mailbox, f'{where}_reply', reply)
    sender = EmailSender(smtp_settings(plain_server.port))
    result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    assert result.retryable is retryable
    assert result.permanent is not retryable
    assert result.status == int(reply[:3])
    assert result.reason == f'SMTP {reply}'


def test_a_refused_connection_is_retryable() -> None:
    sender = EmailSender(smtp_settings(free_port()))
    result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    assert result.retryable
    assert result.reason.startswith('SMTP: ')


def test_a_server_that_never_greets_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(('127.0.0.1', 0))
        silent.listen(1)
        sender = EmailSender(smtp_settings(silent.getsockname()[1], smtp_timeout=0.3))
        started = time.monotonic()
        result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
        elapsed = time.monotonic() - started
    assert result.retryable
    assert result.reason == 'no SMTP answer within 0.3 s'
    assert elapsed < 3


def test_without_smtp_host_nothing_is_sent() -> None:
    sender = EmailSender(Settings(smtp_mode='self_local'))
    result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    assert result.permanent
    assert result.reason == 'cannot send email: [notification] smtp_host is not set'


@pytest.mark.parametrize(
    ('subscriber', 'options'),
    [
        ('mailto:a@example.com?subject=a%0d%0aBcc:%20x@example.com', {}),
        ('mailto:a@example.com', {'subject': 'a\nBcc: x@example.com'}),
        ('mailto:a@example.com', {'from': 42}),
        ('mailto:not-an-address', {}),
    ],
)
def test_header_injection_and_invalid_subscribers_fail_for_good(
    plain_server: SmtpServer, mailbox: Mailbox, subscriber: str, options: Any
) -> None:
    sender = EmailSender(smtp_settings(plain_server.port))
    result = sender.send(subscriber, options, NOTIFICATION)
    assert result.permanent
    assert mailbox.envelopes == []


def test_confirmation_emails_use_the_templates(
    plain_server: SmtpServer, mailbox: Mailbox
) -> None:
    settings = smtp_settings(
        plain_server.port,
        external_confirmation_url='https://confirm.example/page',
        unsubscribe_confirmation_email_template=MailTemplate(
            topic='Bye', body='Left {0} of {1}; undo: {2}', sender='ops@example.com'
        ),
    )
    sender = EmailSender(settings)
    result = sender.send_confirmation('mailto:a@example.com', {}, CONFIRMATION)
    assert result.delivered, result
    message = mailbox.last()
    assert message['Subject'] == 'Zaqar Notification - Subscription Confirmation'
    assert message['From'] == 'Zaqar Notifications <no-reply@openstack.org>'
    text = message.get_content()
    assert 'queue: orders' in text
    assert 'project: project-1' in text
    link = text.split('link below: ')[1].strip()
    assert link.startswith('https://confirm.example/page?Signature=sig-123&')
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query == {
        'Signature': ['sig-123'],
        'Methods': ['PUT'],
        'Paths': ['/v2/queues/orders/subscriptions/s1/confirm'],
        'Project': ['project-1'],
        'Expires': ['2030-01-02T03:04:05'],
        'Url': ['http://zaqar.example/v2/queues/orders/subscriptions/s1/confirm'],
        'Queue': ['orders'],
    }

    unsubscribed = payload.Confirmation(
        **{**CONFIRMATION.__dict__, 'unsubscribed': True}
    )
    assert sender.send_confirmation('mailto:a@example.com', {}, unsubscribed).delivered
    message = mailbox.last()
    assert message['Subject'] == 'Bye'
    assert message['From'] == 'ops@example.com'
    assert message.get_content().startswith('Left orders of project-1; undo: https://')


def test_confirmation_emails_need_the_confirmation_page() -> None:
    sender = EmailSender(Settings(smtp_mode='self_local', smtp_host='127.0.0.1'))
    result = sender.send_confirmation('mailto:a@example.com', {}, CONFIRMATION)
    assert result.permanent
    assert 'external_confirmation_url is not set' in result.reason


# A sendmail-like program (third_part)


def fake_sendmail(tmp_path: Path, script: str) -> tuple[str, Path]:
    """Write a program that runs ``script`` with its output file as $1."""
    program = tmp_path / 'fake sendmail'
    program.write_text('#!/bin/sh\n' + script)
    program.chmod(0o755)
    output = tmp_path / 'mail.eml'
    command = f'{shlex.quote(str(program))} {shlex.quote(str(output))}'
    return command, output


def command_settings(command: str, **changes: Any) -> Settings:
    return Settings(smtp_mode='third_part', smtp_command=command, **changes)


def test_the_message_is_piped_to_smtp_command(tmp_path: Path) -> None:
    command, output = fake_sendmail(tmp_path, 'cat > "$1"\n')
    sender = EmailSender(command_settings(command))
    result = sender.send(
        'mailto:a@example.com', {'from': 'z@example.com'}, NOTIFICATION
    )
    assert result.delivered, result
    assert result.status == 0
    message = email.message_from_bytes(output.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    assert message['To'] == 'a@example.com'
    assert message['From'] == 'z@example.com'
    assert message['Subject'] == 'Zaqar Notification - orders'
    assert message.get_content() == render_text(NOTIFICATION)


@pytest.mark.parametrize(
    ('script', 'retryable', 'status'),
    [
        ('echo "queue is full" >&2; exit 75\n', True, 75),
        ('echo "no such user here" >&2; exit 67\n', False, 67),
        ('kill -9 $$\n', True, -9),
    ],
)
def test_exit_statuses_are_classified(
    tmp_path: Path, script: str, retryable: bool, status: int
) -> None:
    command, _ = fake_sendmail(tmp_path, 'cat > /dev/null\n' + script)
    result = EmailSender(command_settings(command)).send(
        'mailto:a@example.com', {}, NOTIFICATION
    )
    assert result.retryable is retryable
    assert result.permanent is not retryable
    assert result.status == status
    if status > 0:
        assert result.reason.endswith(
            'queue is full' if retryable else 'no such user here'
        )


def test_a_command_running_too_long_is_killed_and_retryable(tmp_path: Path) -> None:
    command, _ = fake_sendmail(tmp_path, 'exec sleep 30\n')
    sender = EmailSender(command_settings(command, smtp_timeout=0.3))
    started = time.monotonic()
    result = sender.send('mailto:a@example.com', {}, NOTIFICATION)
    assert time.monotonic() - started < 5
    assert result.retryable
    assert 'ran longer than 0.3 s' in result.reason


def test_a_missing_command_fails_for_good(tmp_path: Path) -> None:
    missing = tmp_path / 'no-sendmail'
    result = EmailSender(command_settings(f'{missing} -t')).send(
        'mailto:a@example.com', {}, NOTIFICATION
    )
    assert result.permanent
    assert result.reason == f'cannot run {missing}: No such file or directory'


def test_confirmation_through_the_command(tmp_path: Path) -> None:
    command, output = fake_sendmail(tmp_path, 'cat > "$1"\n')
    settings = command_settings(
        command, external_confirmation_url='https://confirm.example/'
    )
    result = EmailSender(settings).send_confirmation(
        'mailto:a@example.com', {}, CONFIRMATION
    )
    assert result.delivered
    message = email.message_from_bytes(output.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    assert '?Signature=sig-123&' in message.get_content()


def test_ssl_contexts_are_not_needed_for_the_command(tmp_path: Path) -> None:
    # A sender built with a TLS context still pipes in third_part mode.
    command, output = fake_sendmail(tmp_path, 'cat > "$1"\n')
    sender = EmailSender(command_settings(command), ssl.create_default_context())
    assert sender.send('mailto:a@example.com', {}, NOTIFICATION).delivered
    assert output.exists()
