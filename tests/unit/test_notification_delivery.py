"""The delivery service's handling of one delivery, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zaqar import bootstrap
from zaqar.common.clock import ManualClock
from zaqar.conf import new_conf
from zaqar.notification import outbox
from zaqar.notification import payload
from zaqar.notification.delivery import DeliveryService
from zaqar.notification.delivery import DeliverySettings
from zaqar.notification.outbox import Delivery
from zaqar.notification.outbox import Outbox
from zaqar.notification.outbox import Taken
from zaqar.notification.senders import Senders
from zaqar.notification.settings import Settings
from zaqar.storage.base import DataDriver

PROJECT = 'project-1'
QUEUE = 'orders'


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[DataDriver]:
    conf = new_conf()
    conf.set_override(
        'database', str(tmp_path / 'z.db'), group='drivers:message_store:sqlite'
    )
    driver = bootstrap.load_storage(conf, ManualClock())
    yield driver
    driver.close()


def owed_to(storage: DataDriver, subscriber: str) -> Taken:
    """Record a notification for a new subscription to ``subscriber``; take it."""
    storage.queues.create(QUEUE, {}, PROJECT)
    subscription_id = storage.subscriptions.create(QUEUE, subscriber, 3600, {}, PROJECT)
    box = Outbox.of(storage)
    box.record(
        [
            Delivery(
                type=outbox.NOTIFICATION,
                project=PROJECT,
                source=QUEUE,
                subscription_id=subscription_id,
                subscriber=subscriber,
                payload=payload.notification(QUEUE, {'n': 1}, 60),
            )
        ]
    )
    taken = box.take(hold=30)
    assert isinstance(taken, Taken)
    return taken


def listed(storage: DataDriver, queue: str) -> list[object]:
    messages = storage.messages.list(
        queue,
        outbox.INTERNAL_PROJECT,
        outbox.POSTER,
        echo=True,
        include_claimed=True,
        include_delayed=True,
    )
    return [message.body for message in messages]


def test_a_subscriber_without_a_sender_fails_for_good(storage: DataDriver) -> None:
    # Such a scheme is refused when a subscription is made; one stored
    # before (or by another service) must not keep its delivery going round.
    taken = owed_to(storage, 'trust+http://example.com/hook')
    service = DeliveryService(storage, Senders(Settings()), DeliverySettings())
    service.deliver(taken)
    assert listed(storage, outbox.OUTBOX) == []
    (failed,) = listed(storage, outbox.FAILED)
    assert isinstance(failed, dict)
    assert failed['error'] == 'no sender for trust+http subscribers'
    assert failed['subscriber'] == 'trust+http://example.com/hook'
