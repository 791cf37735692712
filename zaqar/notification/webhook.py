"""Webhook deliveries: one JSON POST per attempt to an http(s) subscriber.

What is POSTed, as upstream Zaqar does:

- the body is the payload as JSON, or, when the subscription's options
  have a ``post_data`` string, that string with the token
  ``"$zaqar_message$"`` (quotes included) replaced by the payload's JSON;
- the headers are ``Content-Type: application/json`` plus the options'
  ``post_headers`` (an object of strings, which may replace it).

Beyond upstream, the body may be signed (:func:`sign`, :func:`verify`): the
header ``X-Zaqar-Signature: t=<unix time>,v1=<hex>`` carries an
HMAC-SHA256, keyed with the subscription's ``signing_secret`` option or
else ``[notification] webhook_signing_secret``, over the ASCII text
``<t>.`` followed by the exact body bytes. Without either secret nothing is
signed.

Also beyond upstream, every attempt is bounded by ``webhook_timeout`` and
its answer classified for retrying (see :meth:`WebhookSender.post`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import io
import json
import re
import socket
import ssl
import time
import typing
import urllib.parse
from collections.abc import Mapping
from typing import Any

from zaqar.common.clock import Clock
from zaqar.common.clock import SystemClock
from zaqar.common.text import describe_exception
from zaqar.notification.payload import Confirmation
from zaqar.notification.payload import confirmation_payload
from zaqar.notification.results import DeliveryResult
from zaqar.notification.settings import Settings

SCHEMES = ('http', 'https')
SIGNATURE_HEADER = 'X-Zaqar-Signature'
# The subscription option holding its own signing secret.
SIGNING_SECRET_OPTION = 'signing_secret'
POST_DATA_OPTION = 'post_data'
POST_HEADERS_OPTION = 'post_headers'
MESSAGE_TOKEN = '"$zaqar_message$"'
# Seconds a receiver should accept between a signature's time and its own.
DEFAULT_TOLERANCE = 300.0
USER_AGENT = 'zaqar-notification'

# Headers that frame the request or carry our signature: a subscription
# setting them could desynchronise the connection or forge a signature.
RESERVED_HEADERS = frozenset(
    {'content-length', 'transfer-encoding', SIGNATURE_HEADER.lower()}
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUES = re.compile(r'[\r\n\x00]')
_RETRYABLE_STATUSES = frozenset({408, 429})


def post_headers_problem(headers: object) -> str | None:
    """Tell what is wrong with a ``post_headers`` option, or None."""
    if not isinstance(headers, Mapping):
        return 'post_headers must be an object of strings.'
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            return 'post_headers must be an object of strings.'
        if not _TOKEN.fullmatch(name):
            return f'post_headers: {name!r} is not a valid header name.'
        if _FORBIDDEN_IN_VALUES.search(value):
            return f'post_headers: the value of {name} has a line break.'
        try:
            # NOTE: HTTP/1.1 header values are sent as Latin-1.
            value.encode('latin-1')
        except UnicodeEncodeError:
            return f'post_headers: the value of {name} is not Latin-1 text.'
        if name.lower() in RESERVED_HEADERS:
            return f'post_headers may not set {name}.'
    return None


def options_problem(options: Mapping[str, Any]) -> str | None:
    """Tell what is wrong with a webhook subscription's options, or None.

    Checks ``post_data`` (a string), ``post_headers`` (see
    :func:`post_headers_problem`) and ``signing_secret`` (a non-empty
    string). The message never quotes the secret.
    """
    post_data = options.get(POST_DATA_OPTION)
    if post_data is not None and not isinstance(post_data, str):
        return 'post_data must be a string.'
    headers = options.get(POST_HEADERS_OPTION)
    if headers is not None:
        problem = post_headers_problem(headers)
        if problem:
            return problem
    secret = options.get(SIGNING_SECRET_OPTION)
    if secret is not None and not (isinstance(secret, str) and secret):
        return 'signing_secret must be a non-empty string.'
    return None


def render_body(options: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    """The bytes POSTed for ``payload``: its JSON, or the ``post_data`` template.

    Raises:
        ValueError: ``post_data`` is not a string.
    """
    document = json.dumps(payload)
    template = options.get(POST_DATA_OPTION)
    if template is None:
        return document.encode('utf-8')
    if not isinstance(template, str):
        raise ValueError('post_data must be a string.')
    return template.replace(MESSAGE_TOKEN, document).encode('utf-8')


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256, keyed with ``secret``, of ``<timestamp>.<body>``."""
    signed = str(timestamp).encode('ascii') + b'.' + body
    return hmac.new(secret.encode('utf-8'), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Zaqar-Signature`` value: ``t=<timestamp>,v1=<signature>``."""
    return f't={timestamp},v1={signature(secret, body, timestamp)}'


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Tell whether ``header`` is a valid ``X-Zaqar-Signature`` of ``body``.

    For receivers (and tests): the signature must be one made with
    ``secret`` over these exact body bytes, at a time within ``tolerance``
    seconds of ``now``, which keeps a captured request from being replayed
    later. Several ``v1`` entries are accepted (any may match), so that a
    sender may one day sign with an old and a new secret at once.

    Args:
        secret: The shared secret.
        header: The header's value.
        body: The raw request body, before any JSON parsing.
        now: The receiver's time, seconds since the epoch; None: the clock.
        tolerance: Largest accepted difference, in seconds, between the
            signature's time and ``now``.
    """
    stamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(','):
        key, _, value = item.strip().partition('=')
        if key == 't':
            stamps.append(value)
        elif key == 'v1':
            candidates.append(value)
    # NOTE: two times would leave it unclear which one was signed.
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()):
        return False
    if not candidates:
        return False
    timestamp = int(stamps[0])
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).encode('ascii')
    # NOTE: compare_digest takes the same time whatever the first differing
    # byte, so the comparison does not tell an attacker how close it came.
    return any(
        hmac.compare_digest(expected, candidate.encode('utf-8', 'replace'))
        for candidate in candidates
    )


def _merged_headers(custom: Mapping[str, str]) -> dict[str, str]:
    headers = {'Content-Type': 'application/json', 'User-Agent': USER_AGENT}
    for name, value in custom.items():
        # NOTE: header names are case-insensitive; a custom "content-type"
        # replaces ours instead of being sent next to it.
        for existing in [key for key in headers if key.lower() == name.lower()]:
            del headers[existing]
        headers[name] = value
    return headers


def _basic_authorization(parts: urllib.parse.SplitResult) -> str | None:
    # NOTE: credentials in the URL (http://user:password@host/) worked
    # upstream, whose HTTP library turns them into Basic authentication.
    if parts.username is None:
        return None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or '')
    token = base64.b64encode(f'{user}:{password}'.encode()).decode('ascii')
    return f'Basic {token}'


def classify(status: int, reason: str) -> DeliveryResult:
    """Turn an HTTP answer into a result (see :meth:`WebhookSender.post`)."""
    text = f'HTTP {status} {" ".join(reason.split())[:80]}'.rstrip()
    if 200 <= status < 300:
        return DeliveryResult.ok(status, text)
    if status in _RETRYABLE_STATUSES or status >= 500:
        return DeliveryResult.retry(status, text)
    if 300 <= status < 400:
        return DeliveryResult.fail(status, f'{text} (redirects are not followed)')
    return DeliveryResult.fail(status, text)


class WebhookSender:
    """Sends payloads to http and https subscribers, one POST per attempt.

    Thread-safe: it keeps no state between calls, and each POST has a
    connection of its own.

    Args:
        settings: ``webhook_timeout`` and ``webhook_signing_secret`` are read.
        clock: The time written in signatures.
        tls_context: Verifies https subscribers' certificates; None: the
            system's trusted authorities. For tests and embedders: there is
            no option for it.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        # NOTE: built once: loading the trusted authorities takes time, and
        # a context may be shared by threads.
        self._tls_context = tls_context or ssl.create_default_context()

    def send(
        self, subscriber: str, options: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> DeliveryResult:
        """POST ``payload`` to ``subscriber`` as the subscription's options say.

        Args:
            subscriber: An ``http://`` or ``https://`` URL.
            options: The subscription's options (``post_data``,
                ``post_headers``, ``signing_secret``).
            payload: A JSON object, from :mod:`zaqar.notification.payload`.
        """
        problem = options_problem(options)
        if problem:
            return DeliveryResult.fail(None, problem)
        body = render_body(options, payload)
        headers = _merged_headers(options.get(POST_HEADERS_OPTION) or {})
        secret = (
            options.get(SIGNING_SECRET_OPTION) or self._settings.webhook_signing_secret
        )
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body, int(self._clock.now()))
        return self.post(subscriber, headers, body)

    def send_confirmation(
        self, subscriber: str, options: Mapping[str, Any], confirmation: Confirmation
    ) -> DeliveryResult:
        """POST the confirmation message, like any payload (as upstream)."""
        return self.send(subscriber, options, confirmation_payload(confirmation))

    def post(
        self, subscriber: str, headers: Mapping[str, str], body: bytes
    ) -> DeliveryResult:
        """Make one POST and classify its outcome.

        Unlike upstream, which retries only when no answer came, answers
        worth retrying are retried too:

        - 2xx: delivered;
        - 5xx, 408 (request timeout) and 429 (too many requests): retryable;
        - no answer (refused, unreachable, name not resolved, TLS failure,
          broken answer, or ``webhook_timeout`` reached): retryable;
        - any other status: permanent. Redirects (3xx) are not followed, as
          a POST cannot safely be replayed elsewhere: the subscriber URL
          must be the final one.

        ``webhook_timeout`` bounds the whole attempt: connecting, sending,
        and receiving the status line and headers (the answer's body is
        not read). Host name resolution is outside it (the system
        resolver's own timeouts apply), and a host with several addresses
        may take it once per address tried.
        """
        try:
            parts = urllib.parse.urlsplit(subscriber)
            port = parts.port
        except ValueError:
            return DeliveryResult.fail(None, 'the subscriber is not a valid URL')
        if parts.scheme not in SCHEMES or not parts.hostname:
            return DeliveryResult.fail(
                None, 'the subscriber is not an http or https URL with a host'
            )
        target = parts.path or '/'
        if parts.query:
            target = f'{target}?{parts.query}'
        # NOTE: what a browser would escape (spaces, non-ASCII...) is
        # escaped; reserved characters and existing escapes are kept.
        target = urllib.parse.quote(target, safe="!#$%&'()*+,/:;=?@[]~")
        request_headers = dict(headers)
        authorization = _basic_authorization(parts)
        if authorization and not any(
            name.lower() == 'authorization' for name in request_headers
        ):
            request_headers['Authorization'] = authorization
        timeout = self._settings.webhook_timeout
        # NOTE: the timeout given here bounds connecting; _exchange makes it
        # one budget for the whole attempt.
        connection: http.client.HTTPConnection
        if parts.scheme == 'https':
            connection = http.client.HTTPSConnection(
                parts.hostname,
                port,
                timeout=timeout,
                context=self._tls_context,
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname, port, timeout=timeout
            )
        try:
            return self._exchange(connection, target, request_headers, body, timeout)
        finally:
            connection.close()

    @staticmethod
    def _exchange(
        connection: http.client.HTTPConnection,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float,
    ) -> DeliveryResult:
        deadline = time.monotonic() + timeout
        try:
            connection.connect()
            sock = connection.sock
            if sock is None:  # pragma: no cover - connect() sets it or raises
                raise ConnectionError('no connection')
            sock.settimeout(_remaining(deadline))
            # NOTE: a bytes body goes out in one sendall() with the headers,
            # which the socket timeout bounds as a whole.
            connection.request('POST', target, body=body, headers=dict(headers))
            # NOTE: built here rather than by getresponse() so that the
            # answer is read through _DeadlineSocket: a socket timeout bounds
            # each read, and a subscriber trickling bytes could otherwise
            # hold a delivery worker for ever.
            response = http.client.HTTPResponse(
                typing.cast(socket.socket, _DeadlineSocket(sock, deadline)),
                method='POST',
            )
            try:
                response.begin()
            finally:
                response.close()
            return classify(response.status, response.reason)
        except TimeoutError:
            return DeliveryResult.retry(None, f'no answer within {timeout:g} s')
        except ConnectionRefusedError:
            return DeliveryResult.retry(None, 'connection refused')
        except socket.gaierror:
            return DeliveryResult.retry(None, 'the host name could not be resolved')
        except ssl.SSLCertVerificationError as ex:
            return DeliveryResult.retry(
                None, f'TLS certificate refused: {ex.verify_message}'
            )
        except http.client.InvalidURL:
            return DeliveryResult.fail(None, 'the subscriber URL cannot be requested')
        except http.client.HTTPException as ex:
            return DeliveryResult.retry(
                None, f'invalid HTTP answer ({type(ex).__name__})'
            )
        except OSError as ex:
            return DeliveryResult.retry(None, describe_exception(ex))
        except ValueError as ex:
            # NOTE: what http.client refuses to send (a header or host it
            # cannot encode) would be refused again.
            return DeliveryResult.fail(
                None, f'the request cannot be sent: {type(ex).__name__}'
            )


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


class _DeadlineReader(io.RawIOBase):
    """Reads a socket, each read waiting only until a common deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """The one socket method HTTPResponse uses, reading until a deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))
