"""Email deliveries: one email per attempt to a ``mailto:`` subscriber.

The subscriber is ``mailto:ADDRESS[,ADDRESS...][?subject=TEXT]``. As
upstream Zaqar, the subject comes from the URI's ``subject`` parameter,
else from the subscription's ``subject`` option, and the From address from
its ``from`` option. Where upstream leaves them empty, ours default to
``Zaqar Notification - <queue>`` and to the sender of
``[notification] subscription_confirmation_email_template``.

Unlike upstream, which mails the notification's JSON on one line, the text
is meant for people: which queue, the message's TTL (and delay), then its
body as indented JSON.

Each email goes out as ``[notification] smtp_mode`` says: ``self_local``
speaks SMTP to ``smtp_host`` (security per ``smtp_security``, login when
``smtp_user_name`` is set), ``third_part`` pipes the whole message to the
``smtp_command`` program (sendmail). How failures are classified is told
by :meth:`EmailSender.deliver`.
"""

from __future__ import annotations

import dataclasses
import email.message
import email.policy
import email.utils
import json
import shlex
import smtplib
import ssl
import subprocess
import urllib.parse
from collections.abc import Mapping
from typing import Any

from zaqar.common.text import describe_exception
from zaqar.notification.payload import SOURCE
from zaqar.notification.payload import Confirmation
from zaqar.notification.payload import confirmation_link
from zaqar.notification.results import DeliveryResult
from zaqar.notification.settings import MailTemplate
from zaqar.notification.settings import Settings

SCHEME = 'mailto'
FROM_OPTION = 'from'
SUBJECT_OPTION = 'subject'
# sysexits.h: a temporary failure, worth trying again (sendmail uses it
# when it cannot queue the message right now).
EX_TEMPFAIL = 75
SSL_PORT = 465
SMTP_PORT = 25


@dataclasses.dataclass(frozen=True)
class Mailto:
    """A parsed ``mailto:`` subscriber.

    Attributes:
        recipients: The addresses, in order.
        subject: The URI's ``subject`` parameter, if it has one.
    """

    recipients: tuple[str, ...]
    subject: str | None = None


def parse_mailto(subscriber: str) -> Mailto:
    """Parse a ``mailto:`` URI.

    Addresses are percent-decoded and split on commas; query parameter
    names are matched without regard to case, as upstream.

    Raises:
        ValueError: Not a mailto URI, or without a plausible address.
    """
    parts = urllib.parse.urlsplit(subscriber)
    if parts.scheme.lower() != SCHEME:
        raise ValueError('the subscriber is not a mailto: URI')
    recipients = tuple(
        address.strip()
        for address in urllib.parse.unquote(parts.path).split(',')
        if address.strip()
    )
    if not recipients:
        raise ValueError('the mailto: URI names no address')
    for address in recipients:
        # NOTE: a line break or space would let a subscriber add headers or
        # SMTP commands; anything else is left for the mail server to judge.
        if '@' not in address or any(char.isspace() for char in address):
            raise ValueError('the mailto: URI has an invalid address')
    subject = None
    for name, values in urllib.parse.parse_qs(parts.query).items():
        if name.lower() == SUBJECT_OPTION and values:
            subject = values[0]
    return Mailto(recipients, subject)


def options_problem(options: Mapping[str, Any]) -> str | None:
    """Tell what is wrong with a mailto subscription's options, or None."""
    for key in (FROM_OPTION, SUBJECT_OPTION):
        value = options.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            return f'{key} must be a string.'
        if '\r' in value or '\n' in value:
            return f'{key} may not contain a line break.'
    return None


def render_text(payload: Mapping[str, Any]) -> str:
    """The text of a notification email, for people to read.

    A notification payload gives a line naming its queue, its TTL and
    delay, then its body: a string as it is, anything else as indented
    JSON. Any other payload is shown whole as indented JSON.
    """
    source = payload.get(SOURCE)
    if 'body' not in payload or not isinstance(source, str):
        return _json(payload) + '\n'
    body = payload['body']
    # NOTE: a text body is shown as written; anything else as JSON.
    shown = body if isinstance(body, str) else _json(body)
    lines = [f'A message was posted to "{source}".', '']
    if 'ttl' in payload:
        lines.append(f'TTL: {payload["ttl"]} seconds')
    if 'delay' in payload:
        lines.append(f'Delay: {payload["delay"]} seconds')
    lines += ['', 'Body:', shown, '', '-- ', 'Zaqar notification']
    return '\n'.join(lines) + '\n'


def _json(value: Any) -> str:
    # NOTE: ensure_ascii off: the email is UTF-8, and people read it.
    return json.dumps(value, indent=2, ensure_ascii=False)


def _new_message(
    recipients: tuple[str, ...], sender: str, subject: str, text: str
) -> email.message.EmailMessage:
    """Build an email; raises ValueError for a header with a line break."""
    message = email.message.EmailMessage(policy=email.policy.default)
    message['To'] = ', '.join(recipients)
    message['From'] = sender
    message['Subject'] = subject
    message['Date'] = email.utils.formatdate(usegmt=True)
    # NOTE: the domain is given so that make_msgid does not look up this
    # host's name, which may block on DNS.
    domain = email.utils.parseaddr(sender)[1].rpartition('@')[2] or 'zaqar.invalid'
    message['Message-ID'] = email.utils.make_msgid(domain=domain)
    message.set_content(text)
    return message


def notification_email(
    subscriber: str,
    options: Mapping[str, Any],
    payload: Mapping[str, Any],
    settings: Settings,
) -> email.message.EmailMessage:
    """The email announcing ``payload`` to ``subscriber``.

    Raises:
        ValueError: The subscriber or the options are invalid.
    """
    mailto = parse_mailto(subscriber)
    problem = options_problem(options)
    if problem:
        raise ValueError(problem)
    source = payload.get(SOURCE)
    subject = (
        mailto.subject
        or options.get(SUBJECT_OPTION)
        or f'Zaqar Notification - {source if isinstance(source, str) else "message"}'
    )
    sender = (
        options.get(FROM_OPTION)
        or settings.subscription_confirmation_email_template.sender
    )
    return _new_message(mailto.recipients, sender, subject, render_text(payload))


def confirmation_email(
    subscriber: str, confirmation: Confirmation, settings: Settings
) -> email.message.EmailMessage:
    """The email asking to confirm a subscription, or telling of its end.

    Its subject, body and sender come from the ``*_email_template`` option;
    the body's ``{2}`` is the link to ``external_confirmation_url`` with the
    grant (see :func:`zaqar.notification.payload.confirmation_link`).

    Raises:
        ValueError: The subscriber is invalid, the template cannot be
            formatted, or ``external_confirmation_url`` is not set.
    """
    mailto = parse_mailto(subscriber)
    page = settings.external_confirmation_url
    if not page:
        raise ValueError(
            'cannot write a confirmation email: [notification] '
            'external_confirmation_url is not set'
        )
    template: MailTemplate = (
        settings.unsubscribe_confirmation_email_template
        if confirmation.unsubscribed
        else settings.subscription_confirmation_email_template
    )
    link = confirmation_link(page, confirmation)
    try:
        text = template.body.format(confirmation.source, confirmation.project, link)
    except (IndexError, KeyError, ValueError) as ex:
        raise ValueError(f'the email template cannot be used: {ex}') from None
    return _new_message(mailto.recipients, template.sender, template.topic, text)


def _smtp_reply(code: int, text: bytes | str) -> DeliveryResult:
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    reason = f'SMTP {code} {" ".join(text.split())[:120]}'.rstrip()
    if 500 <= code < 600:
        return DeliveryResult.fail(code, reason)
    # 4xx is temporary by definition; any other code (smtplib uses -1 for
    # "no valid reply") says nothing better than "try again".
    return DeliveryResult.retry(code, reason)


class EmailSender:
    """Sends payloads to mailto: subscribers, one email per attempt.

    Thread-safe: every email has an SMTP connection (or a process) of its
    own.

    Args:
        settings: The ``smtp_*`` options and the email templates.
        tls_context: Verifies the SMTP server's certificate; None: the
            system's trusted authorities. For tests and embedders: there is
            no option for it.
    """

    def __init__(
        self, settings: Settings, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self._settings = settings
        # NOTE: built once: loading the trusted authorities takes time, and
        # a context may be shared by threads.
        self._tls_context = tls_context or ssl.create_default_context()

    def send(
        self, subscriber: str, options: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> DeliveryResult:
        """Email ``payload`` (rendered by :func:`render_text`) to ``subscriber``."""
        try:
            message = notification_email(subscriber, options, payload, self._settings)
        except ValueError as ex:
            return DeliveryResult.fail(None, describe_exception(ex))
        return self.deliver(message)

    def send_confirmation(
        self, subscriber: str, options: Mapping[str, Any], confirmation: Confirmation
    ) -> DeliveryResult:
        """Email the confirmation (or unsubscription) message to ``subscriber``.

        The options are not used: the template decides the sender and
        subject, as upstream.
        """
        try:
            message = confirmation_email(subscriber, confirmation, self._settings)
        except ValueError as ex:
            return DeliveryResult.fail(None, describe_exception(ex))
        return self.deliver(message)

    def deliver(self, message: email.message.EmailMessage) -> DeliveryResult:
        """Hand ``message`` to the mail system as ``smtp_mode`` says.

        Over SMTP (``self_local``): a 2xx end is delivered, 4xx replies,
        lost or refused connections, TLS failures and timeouts are
        retryable, 5xx replies (including a refused login) permanent, as is
        a server without STARTTLS when ``smtp_security`` asks for it.

        Through ``smtp_command`` (``third_part``): exit status 0 is
        delivered; 75 (EX_TEMPFAIL), death by a signal and running longer
        than ``smtp_timeout`` (the program is killed) are retryable; any
        other status, or a program that cannot be started, is permanent.
        """
        if self._settings.smtp_mode == 'self_local':
            return self._over_smtp(message)
        return self._through_command(message)

    def _over_smtp(self, message: email.message.EmailMessage) -> DeliveryResult:
        settings = self._settings
        if not settings.smtp_host:
            return DeliveryResult.fail(
                None, 'cannot send email: [notification] smtp_host is not set'
            )
        sender = email.utils.parseaddr(str(message['From']))[1]
        recipients = [
            address for _, address in email.utils.getaddresses([str(message['To'])])
        ]
        context = self._tls_context
        timeout = settings.smtp_timeout
        try:
            client: smtplib.SMTP
            if settings.smtp_security == 'ssl':
                client = smtplib.SMTP_SSL(
                    settings.smtp_host,
                    settings.smtp_port or SSL_PORT,
                    timeout=timeout,
                    context=context,
                )
            else:
                client = smtplib.SMTP(
                    settings.smtp_host, settings.smtp_port or SMTP_PORT, timeout=timeout
                )
            with client:
                if settings.smtp_security == 'starttls':
                    client.starttls(context=context)
                if settings.smtp_user_name:
                    client.login(
                        settings.smtp_user_name, settings.smtp_user_password or ''
                    )
                refused = client.send_message(message, sender, recipients)
        except smtplib.SMTPRecipientsRefused as ex:
            replies = [_smtp_reply(code, text) for code, text in ex.recipients.values()]
            retryable = [reply for reply in replies if reply.retryable]
            return (retryable or replies)[0]
        except smtplib.SMTPResponseException as ex:
            return _smtp_reply(ex.smtp_code, ex.smtp_error)
        except smtplib.SMTPNotSupportedError as ex:
            return DeliveryResult.fail(
                None, f'the SMTP server lacks a needed extension: {ex}'
            )
        except TimeoutError:
            return DeliveryResult.retry(None, f'no SMTP answer within {timeout:g} s')
        except ssl.SSLCertVerificationError as ex:
            return DeliveryResult.retry(
                None, f'SMTP TLS certificate refused: {ex.verify_message}'
            )
        except ValueError as ex:
            # NOTE: what cannot be encoded for SMTP would not be next time.
            return DeliveryResult.fail(
                None, f'the email cannot be sent: {describe_exception(ex)}'
            )
        except (smtplib.SMTPException, OSError) as ex:
            # NOTE: smtplib reports a reply that never came as a lost
            # connection; the timeout behind it says more.
            if isinstance(ex.__context__, TimeoutError):
                return DeliveryResult.retry(
                    None, f'no SMTP answer within {timeout:g} s'
                )
            return DeliveryResult.retry(None, f'SMTP: {describe_exception(ex)}')
        if refused:
            # NOTE: some recipients took it; retrying would mail them twice.
            return DeliveryResult.ok(
                250,
                f'accepted for {len(recipients) - len(refused)} of '
                f'{len(recipients)} recipients',
            )
        return DeliveryResult.ok(250, 'accepted by the SMTP server')

    def _through_command(self, message: email.message.EmailMessage) -> DeliveryResult:
        settings = self._settings
        try:
            argv = shlex.split(settings.smtp_command or '')
        except ValueError as ex:
            return DeliveryResult.fail(None, f'smtp_command cannot be split: {ex}')
        if not argv:
            return DeliveryResult.fail(None, 'smtp_command is empty')
        try:
            data = message.as_bytes()
        except ValueError as ex:
            return DeliveryResult.fail(
                None, f'the email cannot be written: {describe_exception(ex)}'
            )
        try:
            finished = subprocess.run(
                argv,
                input=data,
                capture_output=True,
                timeout=settings.smtp_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return DeliveryResult.retry(
                None, f'{argv[0]} ran longer than {settings.smtp_timeout:g} s'
            )
        except OSError as ex:
            return DeliveryResult.fail(
                None, f'cannot run {argv[0]}: {ex.strerror or describe_exception(ex)}'
            )
        status = finished.returncode
        if status == 0:
            return DeliveryResult.ok(0, f'{argv[0]} accepted it')
        said = finished.stderr.decode('utf-8', 'replace').strip().splitlines()
        detail = f': {" ".join(said[0].split())[:120]}' if said else ''
        if status < 0:
            return DeliveryResult.retry(
                status, f'{argv[0]} was killed by signal {-status}{detail}'
            )
        reason = f'{argv[0]} exited with status {status}{detail}'
        if status == EX_TEMPFAIL:
            return DeliveryResult.retry(status, reason)
        return DeliveryResult.fail(status, reason)
