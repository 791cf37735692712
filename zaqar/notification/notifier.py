"""``zaqar.notification.notifier``: the message-pipeline stage that notifies.

Listed in ``[storage] message_pipeline`` (upstream's name, so upstream
configuration works), it makes every message posted to a queue or topic
owed to each of its subscribers: one delivery per message and subscriber,
recorded in the outbox (:mod:`zaqar.notification.outbox`) before the post
answers. Senders running in the server's workers deliver them
(:mod:`zaqar.notification.delivery`); the POST never waits for a
subscriber.

The stage stores the messages itself, then records the deliveries, so that
nothing is owed for a post that failed; that is why it always runs last in
the pipeline, wherever it is listed (the loader moves it there).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from collections.abc import Sequence
from typing import ClassVar

from oslo_config import cfg

from zaqar.conf import notification as notification_conf
from zaqar.notification import payload
from zaqar.notification.outbox import NOTIFICATION
from zaqar.notification.outbox import Delivery
from zaqar.notification.outbox import Outbox
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.models import Subscription

LOG = logging.getLogger(__name__)

NAME = 'zaqar.notification.notifier'

# Subscriptions read per storage call when a post looks for subscribers.
_PAGE = 100


class Notifier:
    """Records a delivery per posted message and live subscriber.

    Args:
        conf: The configuration: ``[notification] require_confirmation``
            keeps unconfirmed subscribers from receiving anything.
    """

    # Read by the pipeline loader: this stage stores the messages itself.
    run_last: ClassVar[bool] = True

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        group = conf[notification_conf.GROUP_NAME]
        self._require_confirmation = bool(group.require_confirmation)
        self._storage: DataDriver | None = None
        self._no_subscriptions_logged = False

    def bind_storage(self, storage: DataDriver) -> None:
        """Take the storage driver (below the pipeline), once, at start-up."""
        self._storage = storage

    def post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str]:
        """Store the messages, then record what their subscribers are owed.

        Returns:
            The new message ids (which stops the pipeline: the driver has
            stored the messages already).
        """
        storage = self._bound()
        return self._store_then_record(
            storage,
            queue,
            messages,
            project,
            lambda: storage.messages.post(queue, messages, project, client_id),
        )

    def post_once(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str]:
        """Store the messages at most once per key, then their deliveries.

        A keyed post must be stored here, with its key: without this hook
        the pipeline would refuse keyed posts (this stage answers ``post``
        in the driver's place). The deliveries are recorded at most once
        too, under a key of their own derived from the post's, with the
        same fingerprint and window: a repeat answered from the post's key
        records nothing when the first post recorded its deliveries, and
        records them when that post stored its messages but failed before
        recording them. Either way each subscriber is owed each message
        once.

        Returns:
            The message ids, the first post's for a repeat.
        """
        storage = self._bound()
        return self._store_then_record(
            storage,
            queue,
            messages,
            project,
            lambda: storage.messages.post_once(
                queue, messages, project, client_id, idempotency_key
            ),
            _deliveries_key(queue, project, idempotency_key),
        )

    def post_checked(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata,
    ) -> list[str]:
        """Store the messages if the queue's metadata holds, then deliveries.

        Without this hook the pipeline would refuse checked posts (this
        stage answers ``post`` in the driver's place), and every post would
        read the queue's metadata first.
        """
        storage = self._bound()
        return self._store_then_record(
            storage,
            queue,
            messages,
            project,
            lambda: storage.messages.post_checked(
                queue, messages, project, client_id, metadata
            ),
        )

    def _store_then_record(
        self,
        storage: DataDriver,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        store: Callable[[], list[str]],
        deliveries_key: IdempotencyKey | None = None,
    ) -> list[str]:
        """Find the subscribers, ``store`` the messages, record deliveries.

        The subscribers are read first: a subscription created while the
        messages are stored may miss them, never receive half of a post.
        """
        subscribers = self._subscribers(storage, queue, project)
        ids = store()
        if subscribers:
            deliveries = _deliveries(queue, messages, project, subscribers)
            Outbox.of(storage).record(deliveries, deliveries_key)
        return ids

    def _bound(self) -> DataDriver:
        if self._storage is None:
            raise storage_errors.ConfigurationError(
                f'{NAME} was never given its storage driver'
            )
        return self._storage

    def _subscribers(
        self, storage: DataDriver, queue: str, project: str
    ) -> list[Subscription]:
        """Every live subscription of the queue that may receive messages."""
        try:
            subscriptions = storage.subscriptions
        except storage_errors.Unsupported as ex:
            if not self._no_subscriptions_logged:
                LOG.warning('%s has nothing to do: %s', NAME, ex)
                self._no_subscriptions_logged = True
            return []
        found: list[Subscription] = []
        marker = None
        while True:
            page = subscriptions.list(queue, project, marker=marker, limit=_PAGE)
            found.extend(
                item
                for item in page
                if item.confirmed or not self._require_confirmation
            )
            if len(page) < _PAGE:
                return found
            marker = page[-1].id


def _deliveries(
    queue: str,
    messages: Sequence[NewMessage],
    project: str,
    subscribers: Sequence[Subscription],
) -> list[Delivery]:
    """One delivery per posted message and subscriber."""
    return [
        Delivery(
            type=NOTIFICATION,
            project=project,
            source=queue,
            subscription_id=subscription.id,
            subscriber=subscription.subscriber,
            payload=payload.notification_of(queue, message),
        )
        for message in messages
        for subscription in subscribers
    ]


def _deliveries_key(
    queue: str, project: str, idempotency_key: IdempotencyKey
) -> IdempotencyKey:
    """The key of the deliveries of a keyed post.

    The outbox is one queue for every project and queue, so the key names
    the post's project and queue as well as its key; hashed, so that its
    length stays fixed whatever those are.
    """
    scope = '\x00'.join((project, queue, idempotency_key.key)).encode()
    return dataclasses.replace(
        idempotency_key, key=f'deliveries:{hashlib.sha256(scope).hexdigest()}'
    )
