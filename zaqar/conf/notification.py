"""Options of ``[notification]``: push deliveries to subscribers.

The options upstream Zaqar has keep its names and defaults. Four are ours
and say so in their help: ``smtp_security``, ``smtp_timeout``,
``webhook_timeout`` and ``webhook_signing_secret``.
"""

from __future__ import annotations

import string
from typing import Any

from oslo_config import cfg
from oslo_config import types

GROUP_NAME = 'notification'

# The keys every email template must have, and what its body may name.
TEMPLATE_KEYS = ('topic', 'body', 'sender')
TEMPLATE_FIELDS = 3


class EmailTemplate(types.Dict):
    """A ``topic:...,body:...,sender:...`` dictionary, checked when read.

    Upstream fails only when the first confirmation email is sent; checking
    when the option is read turns a bad template into a start-up error
    (``zaqar.conf.check_values`` reads every option).
    """

    def __init__(self) -> None:
        super().__init__(type_name='email template')

    def __call__(self, value: Any) -> dict[str, Any]:
        template = super().__call__(value)
        unknown = sorted(set(template) - set(TEMPLATE_KEYS))
        if unknown:
            # NOTE: most often a comma inside a value, which the file format
            # takes for the start of another key.
            raise ValueError(
                f'unknown key {unknown[0]!r}; the keys are topic, body and '
                f'sender, and no value may contain a comma'
            )
        missing = [key for key in TEMPLATE_KEYS if not template.get(key)]
        if missing:
            raise ValueError(f'the template needs the keys {", ".join(missing)}')
        problem = body_problem(str(template['body']))
        if problem:
            raise ValueError(problem)
        return template


def body_problem(body: str) -> str | None:
    """Tell why ``body`` cannot be formatted with the three template fields."""
    try:
        fields = list(string.Formatter().parse(body))
    except ValueError as ex:
        return f'the body is not a valid template: {ex}'
    for _, name, _, _ in fields:
        # NOTE: '' is an automatically numbered field ("{}"), None plain
        # text; the trial below checks there are not too many "{}".
        allowed = not name or (name.isdigit() and int(name) < TEMPLATE_FIELDS)
        if not allowed:
            return (
                f'the body may only name the fields {{0}}, {{1}} and {{2}}, '
                f'not {{{name}}}'
            )
    try:
        # NOTE: a format spec may hold fields of its own ("{0:{7}}"), which
        # parse() does not list; formatting once finds those too.
        body.format(*(['x'] * TEMPLATE_FIELDS))
    except (IndexError, KeyError, ValueError) as ex:
        return f'the body is not a valid template: {ex}'
    return None


smtp_mode = cfg.StrOpt(
    'smtp_mode',
    default='third_part',
    choices=[
        ('third_part', 'Pipe each email to the program of smtp_command.'),
        (
            'self_local',
            'Send each email over SMTP to smtp_host (see smtp_security).',
        ),
    ],
    help='How email (mailto:) subscribers are reached.',
)

smtp_host = cfg.HostAddressOpt(
    'smtp_host',
    help='Host name or address of the SMTP server. Needed when smtp_mode is '
    'self_local (the servers refuse to start without it).',
)

smtp_port = cfg.PortOpt(
    'smtp_port',
    help='Port of the SMTP server, when smtp_mode is self_local. Unset: 465 '
    'when smtp_security is ssl, else 25.',
)

smtp_user_name = cfg.StrOpt(
    'smtp_user_name',
    help='User name to log in to the SMTP server with, when smtp_mode is '
    'self_local. Unset: no login (upstream always logs in).',
)

smtp_user_password = cfg.StrOpt(
    'smtp_user_password',
    secret=True,
    help='Password of smtp_user_name.',
)

smtp_command = cfg.StrOpt(
    'smtp_command',
    default='/usr/sbin/sendmail -t -oi',
    help='Program and arguments run once per email when smtp_mode is '
    'third_part; it reads the whole message, headers included, on its '
    'standard input and must find the recipients in the To header (hence '
    "sendmail's -t). Split like a shell command line, without a shell. "
    'Exit status 0 is success and 75 (EX_TEMPFAIL) a failure worth retrying; '
    'any other status fails the delivery for good.',
)

max_notifier_workers = cfg.IntOpt(
    'max_notifier_workers',
    default=10,
    min=1,
    help='Most deliveries (webhook POSTs and emails) one server process makes '
    'at the same time.',
)

require_confirmation = cfg.BoolOpt(
    'require_confirmation',
    default=False,
    help='Whether a new http, https or mailto subscription must be confirmed '
    'before anything is delivered to it. The subscriber first receives a '
    'confirmation message with a pre-signed URL ([signed_url] secret_key '
    'must be set) to PUT its answer to.',
)

external_confirmation_url = cfg.StrOpt(
    'external_confirmation_url',
    help='Web page that email subscribers are sent to, to confirm a '
    'subscription or take back an unsubscription. The link in the email '
    'adds the query parameters Signature, Methods, Paths, Project, Expires, '
    'Url and Queue: the page must PUT {"confirmed": true} (or false) to the '
    'URL in Paths with those values as the URL-Signature, URL-Methods, '
    'URL-Paths, X-Project-ID and URL-Expires headers. While it is unset, '
    'confirmation emails cannot be sent.',
)

subscription_confirmation_email_template = cfg.Opt(
    'subscription_confirmation_email_template',
    type=EmailTemplate(),
    default={
        'topic': 'Zaqar Notification - Subscription Confirmation',
        'body': 'You have chosen to subscribe to the queue: {0}. This queue '
        'belongs to project: {1}. To confirm this subscription, click or '
        'visit this link below: {2}',
        'sender': 'Zaqar Notifications <no-reply@openstack.org>',
    },
    help='Email asking a mailto: subscriber to confirm a new subscription: '
    'topic (the subject line), body and sender (the From address), written '
    'as topic:TEXT,body:TEXT,sender:TEXT. In the body, {0} stands for the '
    'queue name, {1} for the project and {2} for the confirmation link; a '
    'literal brace is written twice. The file format splits on commas, so '
    'no value written in the file may contain one (the default body has one '
    'and cannot be copied as it is).',
)

unsubscribe_confirmation_email_template = cfg.Opt(
    'unsubscribe_confirmation_email_template',
    type=EmailTemplate(),
    default={
        'topic': 'Zaqar Notification - Unsubscribe Confirmation',
        'body': 'You have unsubscribed successfully to the queue: {0}. This '
        'queue belongs to project: {1}. To resubscribe this subscription, '
        'click or visit this link below: {2}',
        'sender': 'Zaqar Notifications <no-reply@openstack.org>',
    },
    help='Email telling a mailto: subscriber that a subscription was '
    'unsubscribed, with a link ({2}) to take it back. Same format as '
    'subscription_confirmation_email_template.',
)

smtp_security = cfg.StrOpt(
    'smtp_security',
    default='ssl',
    choices=[
        ('none', 'Plain SMTP, nothing encrypted (for a relay on the host).'),
        ('starttls', 'Plain SMTP upgraded to TLS with STARTTLS (usually 587).'),
        ('ssl', 'TLS from the first byte (usually port 465), as upstream.'),
    ],
    help='Beyond upstream, which always uses TLS from the first byte: how the '
    'connection to smtp_host is protected when smtp_mode is self_local. '
    "Server certificates are verified against the system's trusted "
    'authorities.',
)

smtp_timeout = cfg.FloatOpt(
    'smtp_timeout',
    default=30.0,
    min=0.1,
    help='Beyond upstream: seconds an email delivery may wait, for each step '
    'of the SMTP conversation when smtp_mode is self_local, or for '
    'smtp_command to exit when it is third_part (the program is then killed '
    'and the delivery retried).',
)

webhook_timeout = cfg.FloatOpt(
    'webhook_timeout',
    default=10.0,
    min=0.1,
    help='Beyond upstream (which waits without limit): seconds a webhook POST '
    'may take to connect, to send, and to receive the status line and '
    'headers of the answer. A POST that times out is retried.',
)

webhook_signing_secret = cfg.StrOpt(
    'webhook_signing_secret',
    secret=True,
    help='Beyond upstream: secret that signs every webhook POST of a '
    'subscription whose options give no signing_secret of their own, in an '
    'X-Zaqar-Signature header (HMAC-SHA256; see doc/notifications.md for how '
    'receivers verify it). Unset: only subscriptions with a signing_secret '
    'are signed.',
)

ALL_OPTS = [
    smtp_mode,
    smtp_host,
    smtp_port,
    smtp_user_name,
    smtp_user_password,
    smtp_command,
    max_notifier_workers,
    require_confirmation,
    external_confirmation_url,
    subscription_confirmation_email_template,
    unsubscribe_confirmation_email_template,
    smtp_security,
    smtp_timeout,
    webhook_timeout,
    webhook_signing_secret,
]
