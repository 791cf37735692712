"""Subscriptions on Redis.

A subscription is a record in ``s:<tag>``, where the tag is that of the
queue named like its source, an entry in ``o:<tag>`` (listing by id) and
in ``y:<tag>`` (by expiry, for gc), and the entry of its subscriber in
``u:<tag>``, which keeps subscribers unique (see the scripts docstring).
"""

from __future__ import annotations

from zaqar.common import ids
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Metadata
from zaqar.storage.models import Subscription
from zaqar.storage.redis.common import Controller
from zaqar.storage.redis.scripts import SubscriptionOutcome


class SubscriptionController(Controller, base.SubscriptionController):
    """Subscriptions: every operation one script call."""

    def create(
        self,
        source: str,
        subscriber: str,
        ttl: int,
        options: Metadata,
        project: str,
    ) -> str:
        """Create an unconfirmed subscription unless a live one has the subscriber."""
        now = self._now()
        subscription_id = ids.new_ordered_id(now)
        existing = self._scripts.create_subscription(
            project,
            source,
            now,
            subscription_id,
            subscriber=subscriber,
            ttl=ttl,
            options=options,
        )
        if existing is not None:
            raise errors.SubscriptionAlreadyExists(existing)
        return subscription_id

    def get(self, source: str, subscription_id: str, project: str) -> Subscription:
        """Return the live subscription; SubscriptionDoesNotExist if none."""
        # NOTE: only well-formed ids reach the scripts; others match nothing.
        found = None
        if ids.is_valid_id(subscription_id):
            found = self._scripts.get_subscription(
                project, source, self._now(), subscription_id
            )
        if found is None:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        return found

    def update(
        self,
        source: str,
        subscription_id: str,
        project: str,
        subscriber: str | None = None,
        ttl: int | None = None,
        options: Metadata | None = None,
    ) -> None:
        """Change what is given; a new TTL counts from now."""
        if not ids.is_valid_id(subscription_id):
            raise errors.SubscriptionDoesNotExist(subscription_id)
        update = self._scripts.update_subscription(
            project,
            source,
            self._now(),
            subscription_id,
            subscriber=subscriber,
            ttl=ttl,
            options=options,
        )
        if update.outcome is SubscriptionOutcome.MISSING:
            raise errors.SubscriptionDoesNotExist(subscription_id)
        if update.existing is not None:
            raise errors.SubscriptionAlreadyExists(update.existing)

    def confirm(
        self, source: str, subscription_id: str, project: str, confirmed: bool
    ) -> None:
        """Record whether the subscriber confirmed the subscription."""
        found = ids.is_valid_id(subscription_id) and (
            self._scripts.confirm_subscription(
                project, source, self._now(), subscription_id, confirmed
            )
        )
        if not found:
            raise errors.SubscriptionDoesNotExist(subscription_id)

    def delete(self, source: str, subscription_id: str, project: str) -> None:
        """Delete the subscription if the source has it."""
        if ids.is_valid_id(subscription_id):
            self._scripts.delete_subscription(
                project, source, self._now(), subscription_id
            )

    def purge(self, source: str, project: str) -> None:
        """Delete every subscription of the source, live or expired."""
        self._scripts.purge_subscriptions(project, source, self._now())

    def list(
        self,
        source: str,
        project: str,
        marker: str | None = None,
        limit: int = 10,
    ) -> list[Subscription]:
        """List live subscriptions with an id after ``marker``, by id.

        Each script call examines a bounded number of ids; expired ones
        it steps over may make it stop early, and the next call goes on
        from where it stopped.
        """
        found: list[Subscription] = []
        after = marker or None
        while len(found) < limit:
            batch = self._scripts.list_subscriptions(
                project, source, self._now(), after=after, limit=limit - len(found)
            )
            found += batch.subscriptions
            if batch.examined_all:
                break
            after = batch.last or after
        return found
