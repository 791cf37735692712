"""The confirmation flow: ask subscribers to confirm, through the outbox.

With ``[notification] require_confirmation``, a new subscription receives
nothing until its subscriber confirms it: it is sent a confirmation request
carrying a pre-signed URL for ``PUT .../subscriptions/{id}/confirm``, valid
as long as the subscription. ``{"confirmed": false}`` unsubscribes, and the
subscriber is told so. The requests are deliveries like notifications:
recorded in the store at once, sent (and retried) by the senders.
"""

from __future__ import annotations

import dataclasses

from zaqar.notification import payload
from zaqar.notification.outbox import CONFIRMATION
from zaqar.notification.outbox import Delivery
from zaqar.notification.outbox import Outbox
from zaqar.operations.kinds import Kind
from zaqar.operations.sharing import SharingOperations
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Subscription


class OutboxConfirmations:
    """Records confirmation requests as deliveries.

    Args:
        storage: The storage driver (below the pipeline), whose outbox the
            senders deliver.
        sharing: Signs the confirmation URL.
    """

    def __init__(self, storage: DataDriver, sharing: SharingOperations) -> None:
        self._outbox = Outbox.of(storage)
        self._sharing = sharing

    def request(
        self, kind: Kind, project: str, subscription: Subscription, unsubscribed: bool
    ) -> None:
        """Record a confirmation request (or unsubscription notice)."""
        path = payload.confirmation_path(
            subscription.source, subscription.id, topic=kind is Kind.TOPIC
        )
        lifetime = max(subscription.ttl - subscription.age, 1)
        grant, signature = self._sharing.grant(
            [path], ['PUT'], project, self._sharing.expiry_in(lifetime)
        )
        confirmation = payload.Confirmation(
            source=subscription.source,
            project=project,
            paths=list(grant.paths),
            methods=list(grant.methods),
            expires=grant.expires_text,
            signature=signature,
            unsubscribed=unsubscribed,
        )
        self._outbox.record(
            [
                Delivery(
                    type=CONFIRMATION,
                    project=kind.scope(project),
                    source=subscription.source,
                    subscription_id=subscription.id,
                    subscriber=subscription.subscriber,
                    payload=dataclasses.asdict(confirmation),
                )
            ]
        )
