"""Senders: the threads of a server process that deliver the outbox.

One dispatcher thread takes due deliveries from the outbox, one claim each,
and hands them to a pool of ``[notification] max_notifier_workers``
threads, which send them and record the outcome. A subscriber has at most
one delivery in flight per process: deliveries taken for it meanwhile wait
in its "lane" and the same thread sends them one after the other. A slow
or hanging subscriber (hanging until the attempt timeout) thus occupies
one thread, and other subscribers' deliveries go on in the others. When a
lane is full, further deliveries for it are left in the outbox, untried,
for later.

Outcomes:

* delivered: the delivery is removed;
* failed for good (a 4xx answer, a refused address): moved to the failed
  deliveries, where an operator lists them;
* worth retrying (no answer, a timeout, a 5xx): stored again to be tried
  after the delay its retry policy gives (the queue's ``_retry_policy`` or
  the subscription's), or moved to the failed ones when the policy gives up.

A notification is sent where the subscription points when it is sent; one
whose subscription was deleted or expired is dropped, and so is one whose
subscriber is unconfirmed while confirmation is required.

Everything is driven by the storage: a process that dies holds claims that
expire, and other processes (or this one, restarted) take its deliveries.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import threading
from typing import Any

from zaqar.common.queue_metadata import Metadata
from zaqar.notification.outbox import CONFIRMATION
from zaqar.notification.outbox import Outbox
from zaqar.notification.outbox import Taken
from zaqar.notification.outbox import Unreadable
from zaqar.notification.payload import Confirmation
from zaqar.notification.results import DeliveryResult
from zaqar.notification.retry import RetryPolicy
from zaqar.notification.senders import Senders
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver

LOG = logging.getLogger(__name__)

# Seconds the dispatcher sleeps when nothing is due (a post in this process
# wakes it at once; one in another process is seen this late at most).
IDLE_POLL = 1.0
# Seconds the dispatcher waits before trying again after a storage failure.
STORAGE_BACKOFF = 2.0


@dataclasses.dataclass(frozen=True)
class DeliverySettings:
    """How a process sends deliveries.

    Attributes:
        workers: Deliveries in flight at most (``max_notifier_workers``).
        attempt_timeout: Seconds one attempt may take, at most.
        require_confirmation: Unconfirmed subscribers receive nothing.
    """

    workers: int = 10
    attempt_timeout: float = 10.0
    require_confirmation: bool = False
    # Deliveries that may wait behind one in flight to the same subscriber,
    # and in all.
    lane_length: int = 32
    max_waiting: int = 256

    @property
    def hold(self) -> int:
        """Seconds a taken delivery stays claimed: an attempt, with margin.

        Also how long the deliveries of a process that died wait before
        another process takes them.
        """
        return int(self.attempt_timeout) + 5


class DeliveryService:
    """Delivers the outbox of ``storage`` from this process.

    Args:
        storage: The storage driver (below the pipeline).
        senders: Picks the sender of a subscriber.
        settings: How many at once, how long each.
    """

    def __init__(
        self,
        storage: DataDriver,
        senders: Senders,
        settings: DeliverySettings,
    ) -> None:
        self._storage = storage
        self._outbox = Outbox.of(storage)
        self._senders = senders
        self._settings = settings
        # Subscriber -> deliveries taken while one of its is in flight, sent
        # by the same thread one after the other (a "lane").
        self._lanes: dict[str, collections.deque[Taken]] = {}
        self._in_flight = 0
        self._waiting = 0
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._dispatcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the dispatcher and its pool; returns at once."""
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self._settings.workers, thread_name_prefix='zaqar-delivery'
        )
        self._dispatcher = threading.Thread(
            target=self._dispatch_until_stopped, name='zaqar-dispatcher', daemon=True
        )
        self._dispatcher.start()
        LOG.info(
            'delivering notifications with up to %d worker(s)', self._settings.workers
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking deliveries; wait up to ``timeout`` for those in flight.

        Deliveries not finished by then stay claimed until their claims
        expire, and are then taken again (by any process).
        """
        self._stopping.set()
        self._outbox.wake()
        with self._changed:
            self._changed.notify_all()
        if self._dispatcher is not None:
            self._dispatcher.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _dispatch_until_stopped(self) -> None:
        while not self._stopping.is_set():
            if not self._room_to_take():
                continue
            try:
                took = self._dispatch_one()
            except storage_errors.StorageError as ex:
                LOG.error('taking a delivery failed: %s', ex)
                self._stopping.wait(STORAGE_BACKOFF)
                continue
            except Exception:
                LOG.exception('taking a delivery failed unexpectedly')
                self._stopping.wait(STORAGE_BACKOFF)
                continue
            if not took:
                self._outbox.wait_for_work(IDLE_POLL)

    def _room_to_take(self) -> bool:
        """Wait (briefly) until a thread is free and few deliveries wait."""
        with self._changed:
            full = (
                self._in_flight >= self._settings.workers
                or self._waiting >= self._settings.max_waiting
            )
            if full:
                self._changed.wait(IDLE_POLL)
            return not full

    def _dispatch_one(self) -> bool:
        """Take one due delivery and start it; tell whether there was one."""
        taken = self._outbox.take(self._settings.hold)
        if taken is None:
            return False
        if isinstance(taken, Unreadable):
            LOG.error(
                'outbox message %s is not a delivery: %s',
                taken.message_id,
                taken.problem,
            )
            self._outbox.fail(taken, taken.problem)
            return True
        subscriber = taken.delivery.subscriber
        with self._changed:
            lane = self._lanes.get(subscriber)
            if lane is None:
                self._lanes[subscriber] = collections.deque()
                self._in_flight += 1
                start = True
            elif len(lane) < self._settings.lane_length:
                # NOTE: the subscriber has a delivery in flight here: this one
                # follows it, sent by the same thread, so that a slow
                # subscriber holds one thread, not all of them.
                lane.append(taken)
                self._waiting += 1
                return True
            else:
                start = False
        if not start:
            # Its lane is full: held back, untried, for others to take later.
            self._outbox.postpone(taken, self._settings.hold)
            return True
        assert self._pool is not None
        self._pool.submit(self._run_lane, subscriber, taken)
        return True

    def _run_lane(self, subscriber: str, taken: Taken | None) -> None:
        """Send ``taken``, then every delivery waiting for the subscriber."""
        while taken is not None:
            self._attempt(taken)
            taken = self._next_in_lane(subscriber)

    def _next_in_lane(self, subscriber: str) -> Taken | None:
        """The next waiting delivery of the subscriber, its claim renewed."""
        while True:
            with self._changed:
                lane = self._lanes[subscriber]
                if not lane or self._stopping.is_set():
                    del self._lanes[subscriber]
                    self._in_flight -= 1
                    self._waiting -= len(lane)
                    self._changed.notify_all()
                    return None
                taken = lane.popleft()
                self._waiting -= 1
                self._changed.notify_all()
            try:
                # It may have waited long: hold it for a whole attempt again.
                self._outbox.postpone(taken, self._settings.hold)
            except storage_errors.ClaimDoesNotExist:
                continue  # its claim ran out and another process has it
            except storage_errors.StorageError as ex:
                LOG.error('holding a delivery failed: %s', ex)
                continue
            return taken

    def _attempt(self, taken: Taken) -> None:
        try:
            self.deliver(taken)
        except storage_errors.StorageError as ex:
            # NOTE: the claim expires and the delivery is taken again.
            LOG.error('recording a delivery outcome failed: %s', ex)
        except Exception:
            LOG.exception('a delivery failed unexpectedly')

    def deliver(self, taken: Taken) -> None:
        """Make one attempt at ``taken`` and record what happened."""
        delivery = taken.delivery
        target = self._target(taken)
        if target is None:
            return
        subscriber, options = target
        # NOTE: through Senders rather than the sender it picks: a subscriber
        # with no sender (a scheme stored before it was refused) then fails
        # for good instead of raising, which would leave the delivery to be
        # taken again every time its claim expires.
        if delivery.type == CONFIRMATION:
            result = self._senders.send_confirmation(
                subscriber, options, Confirmation(**delivery.payload)
            )
        else:
            result = self._senders.send(subscriber, options, delivery.payload)
        self._record(taken, result, options)

    def _target(self, taken: Taken) -> tuple[str, Metadata] | None:
        """Where to send, with which options; None when no longer owed."""
        delivery = taken.delivery
        try:
            subscription = self._storage.subscriptions.get(
                delivery.source, delivery.subscription_id, delivery.project
            )
        except storage_errors.SubscriptionDoesNotExist:
            if delivery.type == CONFIRMATION:
                return delivery.subscriber, {}
            self._drop(taken, 'is gone')
            return None
        unconfirmed = not subscription.confirmed and self._settings.require_confirmation
        if delivery.type != CONFIRMATION and unconfirmed:
            self._drop(taken, 'is not confirmed')
            return None
        return subscription.subscriber, subscription.options

    def _drop(self, taken: Taken, why: str) -> None:
        """Remove a notification no longer owed; ``why`` ends the log line."""
        delivery = taken.delivery
        LOG.info(
            'dropped a notification for %s: subscription %s %s',
            delivery.source,
            delivery.subscription_id,
            why,
        )
        self._outbox.done(taken)

    def _record(self, taken: Taken, result: DeliveryResult, options: Metadata) -> None:
        delivery = taken.delivery
        where = (
            f'{delivery.type} {taken.message_id} '
            f'for subscription {delivery.subscription_id}'
        )
        if result.delivered:
            LOG.debug('delivered %s (attempt %d)', where, delivery.attempt)
            self._outbox.done(taken)
            return
        if result.permanent:
            LOG.warning('failed %s for good: %s', where, result.reason)
            self._outbox.fail(taken, result.reason)
            return
        delay = self._policy(delivery.source, delivery.project, options).delay_before(
            delivery.attempt + 1
        )
        if delay is None:
            LOG.warning(
                'gave up %s after %d attempt(s): %s',
                where,
                delivery.attempt,
                result.reason,
            )
            self._outbox.fail(taken, result.reason)
            return
        LOG.info(
            'attempt %d of %s failed (%s); next in %.0f s',
            delivery.attempt,
            where,
            result.reason,
            delay,
        )
        self._outbox.retry_later(taken, delay, result.reason)

    def _policy(self, source: str, project: str, options: Metadata) -> RetryPolicy:
        try:
            metadata: dict[str, Any] = self._storage.queues.get_metadata(
                source, project
            )
        except storage_errors.QueueDoesNotExist:
            metadata = {}
        return RetryPolicy.of(metadata, options)
