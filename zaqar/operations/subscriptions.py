"""Subscription operations: subscribe, list, read, change, confirm, delete."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from zaqar.operations.kinds import Kind
from zaqar.operations.kinds import storage_project
from zaqar.operations.paging import Page
from zaqar.operations.paging import next_query
from zaqar.operations.validation import Validator
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.base import SubscriptionController
from zaqar.storage.models import Subscription

DEFAULT_SUBSCRIPTION_PAGE = 10


class Confirmations(Protocol):
    """Sends confirmation requests to subscribers (the confirmation flow)."""

    def request(
        self, kind: Kind, project: str, subscription: Subscription, unsubscribed: bool
    ) -> None:
        """Ask the subscriber to confirm (or say it was unsubscribed)."""


@dataclasses.dataclass(frozen=True)
class Subscribed:
    """The outcome of a subscribe request.

    Attributes:
        subscription_id: The new subscription's id, or the existing one's
            when an unconfirmed subscription of that subscriber was there.
        created: Whether a subscription was created.
    """

    subscription_id: str
    created: bool


class SubscriptionOperations:
    """Every operation on the subscriptions of a queue (or topic).

    ``list`` comes last so that the builtin still names the type above it.

    Args:
        storage: The storage stack (pipeline and driver).
        validator: Checks requests against the configured limits.
        kind: Queues, or topics.
        confirmations: Sends confirmation requests; None when
            ``[notification] require_confirmation`` is off.
    """

    def __init__(
        self,
        storage: DataDriver,
        validator: Validator,
        kind: Kind = Kind.QUEUE,
        confirmations: Confirmations | None = None,
    ) -> None:
        self._storage = storage
        self._validator = validator
        self._kind = kind
        self._confirmations = confirmations

    @property
    def _subscriptions(self) -> SubscriptionController:
        # Raises Unsupported when the driver stores no subscriptions.
        return self._storage.subscriptions

    def create(self, source: str, project: str, document: object) -> Subscribed:
        """Subscribe a subscriber to ``source``, creating the source if needed.

        A subscriber the source already has answers with that subscription
        when it is not confirmed yet (the confirmation is asked again), as
        upstream does, so that a client may repeat the request.

        Raises:
            SubscriptionAlreadyExists: The subscriber's subscription is
                confirmed already.
        """
        fields = self._validator.new_subscription(document)
        assert fields.subscriber is not None and fields.ttl is not None
        with storage_project(self._kind, project) as scope:
            subscriptions = self._subscriptions
            # NOTE: sources are lazy, like queues for posts.
            self._storage.queues.create(source, {}, scope)
            try:
                new_id = subscriptions.create(
                    source, fields.subscriber, fields.ttl, fields.options or {}, scope
                )
            except storage_errors.SubscriptionAlreadyExists as ex:
                if ex.existing.confirmed:
                    raise
                self._ask_confirmation(project, ex.existing)
                return Subscribed(ex.existing.id, created=False)
            self._ask_confirmation(project, subscriptions.get(source, new_id, scope))
        return Subscribed(new_id, created=True)

    def get(self, source: str, project: str, subscription_id: str) -> Subscription:
        """Return one live subscription of the source."""
        with storage_project(self._kind, project) as scope:
            return self._subscriptions.get(source, subscription_id, scope)

    def update(
        self, source: str, project: str, subscription_id: str, document: object
    ) -> None:
        """Change a subscription's subscriber, TTL or options.

        A new TTL counts from now; new options replace the old ones whole.
        """
        changes = self._validator.subscription_changes(document)
        with storage_project(self._kind, project) as scope:
            self._subscriptions.update(
                source,
                subscription_id,
                scope,
                subscriber=changes.subscriber,
                ttl=changes.ttl,
                options=changes.options,
            )

    def confirm(
        self, source: str, project: str, subscription_id: str, document: object
    ) -> None:
        """Confirm (or, with ``false``, cancel) a subscription.

        Cancelling tells the subscriber it is unsubscribed; it may confirm
        again later.
        """
        confirmed = self._validator.confirmation(document)
        with storage_project(self._kind, project) as scope:
            subscriptions = self._subscriptions
            subscriptions.confirm(source, subscription_id, scope, confirmed)
            if not confirmed:
                subscription = subscriptions.get(source, subscription_id, scope)
                self._ask_confirmation(project, subscription, unsubscribed=True)

    def delete(self, source: str, project: str, subscription_id: str) -> None:
        """Delete a subscription; idempotent."""
        with storage_project(self._kind, project) as scope:
            self._subscriptions.delete(source, subscription_id, scope)

    def _ask_confirmation(
        self, project: str, subscription: Subscription, unsubscribed: bool = False
    ) -> None:
        if self._confirmations is not None:
            self._confirmations.request(self._kind, project, subscription, unsubscribed)

    def list(
        self,
        source: str,
        project: str,
        marker: str | None = None,
        limit: int | None = None,
    ) -> Page[Subscription]:
        """List the source's subscriptions in creation order."""
        self._validator.subscription_listing(limit)
        with storage_project(self._kind, project) as scope:
            found = self._subscriptions.list(
                source, scope, marker=marker, limit=limit or DEFAULT_SUBSCRIPTION_PAGE
            )
        if not found:
            return Page(found)
        return Page(found, next_query({'limit': limit}, found[-1].id))
