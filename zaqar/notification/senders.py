"""Picking the sender for a subscriber, by the scheme of its URI.

``http`` and ``https`` subscribers get a :class:`WebhookSender`, ``mailto``
subscribers an :class:`EmailSender`. Upstream's ``trust+http`` and
``trust+https`` (Keystone trusts) are not supported: subscriptions with
them are refused when created.

Typical use by a delivery worker::

    senders = Senders(Settings.from_conf(conf))
    result = senders.send(subscription.subscriber, subscription.options,
                          payload.notification_of(queue, message))
    if result.retryable:
        delay = policy.delay_before(attempt + 1)  # None: give up
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Any
from typing import Protocol

from zaqar.common.clock import Clock
from zaqar.notification.email import EmailSender
from zaqar.notification.payload import Confirmation
from zaqar.notification.results import DeliveryResult
from zaqar.notification.settings import Settings
from zaqar.notification.webhook import WebhookSender

SCHEMES = ('http', 'https', 'mailto')


class Sender(Protocol):
    """Delivers to one kind of subscriber; one call is one attempt."""

    def send(
        self, subscriber: str, options: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> DeliveryResult:
        """Deliver ``payload`` (a JSON object) to ``subscriber``."""
        ...

    def send_confirmation(
        self, subscriber: str, options: Mapping[str, Any], confirmation: Confirmation
    ) -> DeliveryResult:
        """Deliver a (un)subscription confirmation message to ``subscriber``."""
        ...


class UnsupportedSubscriber(ValueError):
    """The subscriber's scheme has no sender."""


def scheme_of(subscriber: str) -> str:
    """The subscriber URI's scheme, lower case ('' when it has none)."""
    return urllib.parse.urlsplit(subscriber).scheme.lower()


class Senders:
    """Every sender, chosen by subscriber; itself a :class:`Sender`.

    Args:
        settings: The ``[notification]`` options.
        clock: The time written in webhook signatures; None: the system's.
        tls_context: Verifies the certificates of https subscribers and
            SMTP servers; None: the system's trusted authorities.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        webhooks = WebhookSender(settings, clock, tls_context)
        emails = EmailSender(settings, tls_context)
        self._by_scheme: dict[str, Sender] = {
            'http': webhooks,
            'https': webhooks,
            'mailto': emails,
        }

    def sender_for(self, subscriber: str) -> Sender:
        """The sender for ``subscriber``.

        Raises:
            UnsupportedSubscriber: Its scheme is not http, https or mailto,
                or it is not a URI at all.
        """
        try:
            scheme = scheme_of(subscriber)
        except ValueError:
            # NOTE: urlsplit refuses some malformed hosts ("http://[::1").
            raise UnsupportedSubscriber('the subscriber is not a valid URI') from None
        try:
            return self._by_scheme[scheme]
        except KeyError:
            raise UnsupportedSubscriber(
                f'no sender for {scheme or "scheme-less"} subscribers'
            ) from None

    def send(
        self, subscriber: str, options: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> DeliveryResult:
        """Deliver ``payload``; an unsupported scheme fails for good."""
        try:
            sender = self.sender_for(subscriber)
        except UnsupportedSubscriber as ex:
            return DeliveryResult.fail(None, str(ex))
        return sender.send(subscriber, options, payload)

    def send_confirmation(
        self, subscriber: str, options: Mapping[str, Any], confirmation: Confirmation
    ) -> DeliveryResult:
        """Deliver a confirmation message; an unsupported scheme fails for good."""
        try:
            sender = self.sender_for(subscriber)
        except UnsupportedSubscriber as ex:
            return DeliveryResult.fail(None, str(ex))
        return sender.send_confirmation(subscriber, options, confirmation)
