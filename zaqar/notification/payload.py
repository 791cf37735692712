"""What subscribers receive: notifications and confirmation messages.

The JSON shapes are upstream Zaqar's, so receivers written for it work
unchanged. Every function here is pure: signing and storage are done by
the caller.

A notification, for each message posted to the source::

    {"ttl": 300, "body": {"event": "BackupStarted"},
     "Message_Type": "Notification", "queue_name": "backups"}

(``delay`` follows ``body`` when the message has one.) The source may be a
topic: its name still goes under ``queue_name``, the key upstream uses.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Sequence
from typing import Any

from zaqar.storage.models import NewMessage

MESSAGE_TYPE = 'Message_Type'
NOTIFICATION = 'Notification'
SUBSCRIPTION_CONFIRMATION = 'SubscriptionConfirmation'
UNSUBSCRIBE_CONFIRMATION = 'UnsubscribeConfirmation'
# The name of the queue or topic the payload is about.
SOURCE = 'queue_name'


def notification(
    source: str, body: Any, ttl: int, delay: int | None = None
) -> dict[str, Any]:
    """The payload announcing one posted message.

    Args:
        source: The queue (or topic) the message was posted to.
        body: The message body, as posted.
        ttl: The message TTL in seconds, as stored (the default applied).
        delay: The message delay in seconds; None leaves the key out.
    """
    payload: dict[str, Any] = {'ttl': ttl, 'body': body}
    if delay is not None:
        payload['delay'] = delay
    payload[MESSAGE_TYPE] = NOTIFICATION
    payload[SOURCE] = source
    return payload


def notification_of(source: str, message: NewMessage) -> dict[str, Any]:
    """The payload announcing ``message``, posted to ``source``.

    ``delay`` is given only when it is not 0: upstream sends it only for
    queues with a default delay, so receivers cannot count on it, and a
    message that is not delayed is best described without it.
    """
    return notification(source, message.body, message.ttl, message.delay or None)


def confirmation_path(
    source: str, subscription_id: str, *, topic: bool = False, version: str = 'v2'
) -> str:
    """The path a subscriber PUTs its confirmation to (the grant's path).

    Args:
        source: The queue or topic name.
        subscription_id: The subscription's id.
        topic: Whether ``source`` is a topic.
        version: The API version segment.
    """
    kind = 'topics' if topic else 'queues'
    return f'/{version}/{kind}/{source}/subscriptions/{subscription_id}/confirm'


@dataclasses.dataclass(frozen=True)
class Confirmation:
    """A request to confirm a subscription, or news of an unsubscription.

    The grant values are the pre-signed URL the caller made for the
    confirmation path (method PUT); the subscriber sends them back as the
    ``URL-*`` and ``X-Project-ID`` headers of its PUT.

    Attributes:
        source: The queue or topic name.
        project: The project the grant is for (``X-Project-ID``).
        paths: The granted paths (in practice one: the confirmation path).
        methods: The granted methods (in practice ``PUT``).
        expires: The grant's expiry, as signed (``URL-Expires``).
        signature: The grant's signature (``URL-Signature``). Left out of
            ``repr``: until it expires it lets anyone confirm.
        unsubscribed: True for the message sent when a subscription is
            unconfirmed (``UnsubscribeConfirmation``).
        subscribe_url: Absolute URL of the confirmation path on the HTTP
            API, when the caller knows the public endpoint
            (``WSGISubscribeURL``; the ``Url`` parameter of email links).
        websocket_subscribe_url: The same on a websocket endpoint
            (``WebSocketSubscribeURL``).
    """

    source: str
    project: str
    paths: Sequence[str]
    methods: Sequence[str]
    expires: str
    signature: str = dataclasses.field(repr=False)
    unsubscribed: bool = False
    subscribe_url: str | None = None
    websocket_subscribe_url: str | None = None

    @property
    def message_type(self) -> str:
        """``SubscriptionConfirmation`` or ``UnsubscribeConfirmation``."""
        return (
            UNSUBSCRIBE_CONFIRMATION if self.unsubscribed else SUBSCRIPTION_CONFIRMATION
        )

    @property
    def paths_text(self) -> str:
        """The paths as the ``URL-Paths`` header carries them."""
        return ','.join(self.paths)

    @property
    def methods_text(self) -> str:
        """The methods as the ``URL-Methods`` header carries them."""
        return ','.join(self.methods)


def confirmation_payload(confirmation: Confirmation) -> dict[str, Any]:
    """The JSON object a webhook subscriber receives to confirm.

    Upstream's fields: ``Message_Type``, a human ``Message``, the grant
    (``URL-Signature``, ``URL-Methods``, ``URL-Paths``, ``X-Project-ID``,
    ``URL-Expires``), the bodies to PUT (``SubscribeBody``,
    ``UnsubscribeBody``), ``queue_name`` and, when known,
    ``WSGISubscribeURL`` and ``WebSocketSubscribeURL``. With a single path
    and method, as confirmations have, ``URL-Paths`` and ``URL-Methods`` are
    that path and method, as upstream sends them.
    """
    c = confirmation
    payload: dict[str, Any] = {}
    if c.subscribe_url:
        payload['WSGISubscribeURL'] = c.subscribe_url
    if c.websocket_subscribe_url:
        payload['WebSocketSubscribeURL'] = c.websocket_subscribe_url
    if c.unsubscribed:
        message = (
            f'The subscription to {c.source} was unsubscribed. To subscribe '
            f'again, PUT the SubscribeBody to URL-Paths with the URL-* and '
            f'X-Project-ID values of this message as headers.'
        )
    else:
        message = (
            f'A subscription to {c.source} was made for you. To confirm it, '
            f'PUT the SubscribeBody to URL-Paths with the URL-* and '
            f'X-Project-ID values of this message as headers.'
        )
    payload.update(
        {
            MESSAGE_TYPE: c.message_type,
            'Message': message,
            'URL-Signature': c.signature,
            'URL-Methods': c.methods_text,
            'URL-Paths': c.paths_text,
            'X-Project-ID': c.project,
            'URL-Expires': c.expires,
            'SubscribeBody': {'confirmed': True},
            'UnsubscribeBody': {'confirmed': False},
            SOURCE: c.source,
        }
    )
    return payload


def confirmation_link(page: str, confirmation: Confirmation) -> str:
    """The link of a confirmation email: ``page`` with the grant appended.

    The query parameters are upstream's, in its order: ``Signature``,
    ``Methods``, ``Paths``, ``Project``, ``Expires``, ``Url`` (the absolute
    confirmation URL, empty when unknown) and ``Queue``. Unlike upstream,
    values are percent-encoded (except ``/`` and ``:``, left readable), so
    that a name with ``&`` or a space cannot break the link; a page that
    already has a query string gets the parameters appended with ``&``.

    Args:
        page: ``[notification] external_confirmation_url``.
        confirmation: The grant.
    """
    c = confirmation
    query = urllib.parse.urlencode(
        [
            ('Signature', c.signature),
            ('Methods', c.methods_text),
            ('Paths', c.paths_text),
            ('Project', c.project),
            ('Expires', c.expires),
            ('Url', c.subscribe_url or ''),
            ('Queue', c.source),
        ],
        safe='/:',
        quote_via=urllib.parse.quote,
    )
    separator = '&' if '?' in page else '?'
    return f'{page}{separator}{query}'
