"""Choosing senders by scheme, option checks, and the [notification] options."""

from __future__ import annotations

import http.server
import json
import shlex
import threading
from pathlib import Path
from typing import Any

import pytest

from zaqar import conf as zaqar_conf
from zaqar.conf import notification as notification_conf
from zaqar.notification import payload
from zaqar.notification.email import EmailSender
from zaqar.notification.senders import Senders
from zaqar.notification.senders import UnsupportedSubscriber
from zaqar.notification.settings import MailTemplate
from zaqar.notification.settings import Settings
from zaqar.notification.webhook import WebhookSender

NOTIFICATION = payload.notification('orders', {'n': 1}, 60)


@pytest.mark.parametrize(
    ('subscriber', 'kind'),
    [
        ('http://example.com/hook', WebhookSender),
        ('HTTPS://example.com/hook', WebhookSender),
        ('mailto:a@example.com', EmailSender),
    ],
)
def test_senders_are_chosen_by_scheme(subscriber: str, kind: type) -> None:
    assert isinstance(Senders(Settings()).sender_for(subscriber), kind)


@pytest.mark.parametrize(
    'subscriber', ['trust+http://example.com/', 'ftp://example.com/', 'no-scheme']
)
def test_other_schemes_have_no_sender(subscriber: str) -> None:
    senders = Senders(Settings())
    with pytest.raises(UnsupportedSubscriber):
        senders.sender_for(subscriber)
    result = senders.send(subscriber, {}, NOTIFICATION)
    assert result.permanent
    assert result.reason.startswith('no sender for ')


def test_a_subscriber_that_is_not_a_uri_fails_for_good() -> None:
    senders = Senders(Settings())
    with pytest.raises(UnsupportedSubscriber):
        senders.sender_for('http://[::1/hook')
    result = senders.send('http://[::1/hook', {}, NOTIFICATION)
    assert result.permanent
    assert result.reason == 'the subscriber is not a valid URI'


def test_dispatch_reaches_a_real_webhook_and_a_real_program(tmp_path: Path) -> None:
    bodies: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers['Content-Length'])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    program = tmp_path / 'sendmail'
    program.write_text('#!/bin/sh\ncat > "$1"\n')
    program.chmod(0o755)
    output = tmp_path / 'out.eml'
    settings = Settings(
        smtp_mode='third_part',
        smtp_command=f'{shlex.quote(str(program))} {shlex.quote(str(output))}',
    )
    senders = Senders(settings)
    try:
        url = f'http://127.0.0.1:{server.server_address[1]}/'
        assert senders.send(url, {}, NOTIFICATION).delivered
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert json.loads(bodies[0]) == NOTIFICATION
    assert senders.send('mailto:a@example.com', {}, NOTIFICATION).delivered
    assert b'A message was posted to "orders".' in output.read_bytes()


# What the library may import

LIBRARY = (
    '__init__',
    'results',
    'settings',
    'retry',
    'payload',
    'webhook',
    'email',
    'senders',
)
ALLOWED_ZAQAR = (
    'zaqar.common',
    'zaqar.storage.models',
    'zaqar.conf',
    'zaqar.notification',
)


@pytest.mark.parametrize('module', LIBRARY)
def test_the_library_imports_no_web_framework_nor_backend(module: str) -> None:
    import ast
    import sys

    import zaqar.notification

    path = Path(zaqar.notification.__file__).parent / f'{module}.py'
    tree = ast.parse(path.read_text(encoding='utf-8'))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    for name in names:
        top = name.split('.')[0]
        if top == 'zaqar':
            assert name.startswith(ALLOWED_ZAQAR), name
        else:
            assert top in sys.stdlib_module_names or top == 'oslo_config', name


# The [notification] options


def test_settings_from_the_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text(
        '[notification]\n'
        'smtp_mode = self_local\n'
        'smtp_host = mail.example.com\n'
        'smtp_port = 587\n'
        'smtp_security = starttls\n'
        'smtp_user_password = hunter2\n'
        'webhook_timeout = 2.5\n'
        'webhook_signing_secret = s3cret\n'
        'subscription_confirmation_email_template = '
        'topic:Confirm,body:Queue {0} of {1}: {2},sender:ops@example.com\n'
    )
    conf = zaqar_conf.new_conf(['--config-file', str(path)])
    zaqar_conf.check_values(conf)
    settings = Settings.from_conf(conf)
    assert settings.smtp_mode == 'self_local'
    assert settings.smtp_port == 587
    assert settings.smtp_security == 'starttls'
    assert settings.webhook_timeout == 2.5
    assert settings.webhook_signing_secret == 's3cret'
    assert settings.subscription_confirmation_email_template == MailTemplate(
        'Confirm', 'Queue {0} of {1}: {2}', 'ops@example.com'
    )
    # Defaults are upstream's.
    assert settings.smtp_command == '/usr/sbin/sendmail -t -oi'
    assert settings.unsubscribe_confirmation_email_template.topic == (
        'Zaqar Notification - Unsubscribe Confirmation'
    )
    assert 's3cret' not in repr(settings)
    assert 'hunter2' not in repr(settings)


def test_defaults_match_upstream() -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    group = conf.notification
    assert group.smtp_mode == 'third_part'
    assert group.smtp_host is None
    assert group.smtp_port is None
    assert group.max_notifier_workers == 10
    assert group.require_confirmation is False
    assert group.external_confirmation_url is None
    assert group.subscription_confirmation_email_template['sender'] == (
        'Zaqar Notifications <no-reply@openstack.org>'
    )
    assert Settings.from_conf(conf) == Settings()


def test_secrets_are_marked_secret() -> None:
    secret = {opt.name for opt in notification_conf.ALL_OPTS if opt.secret}
    assert secret == {'smtp_user_password', 'webhook_signing_secret'}


@pytest.mark.parametrize(
    ('line', 'message'),
    [
        ('smtp_security = tls', 'smtp_security'),
        ('smtp_port = 70000', 'smtp_port'),
        ('webhook_timeout = 0', 'webhook_timeout'),
        ('max_notifier_workers = 0', 'max_notifier_workers'),
        (
            'unsubscribe_confirmation_email_template = topic:T,body:x {3},sender:s',
            'may only name the fields',
        ),
        (
            'unsubscribe_confirmation_email_template = topic:T,body:a, b {0},sender:s',
            'no value may contain a comma',
        ),
        ('unsubscribe_confirmation_email_template = body:x', 'needs the keys topic'),
    ],
)
def test_invalid_values_fail_the_start_up_check(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / 'zaqar.conf'
    path.write_text(f'[notification]\n{line}\n')
    conf = zaqar_conf.new_conf(['--config-file', str(path)])
    with pytest.raises(zaqar_conf.InvalidOption, match=message):
        zaqar_conf.check_values(conf)
