"""A consistency checker that drives a real zaqar-server over HTTP.

Producers post numbered messages (every body is ``{"p": producer, "s":
sequence}``), each batch with an ``Idempotency-Key`` and re-sent with the
same key after any error until it is acknowledged, and post their next batch
only then. Claimers claim and delete each message with its claim. Observers
page the queue by marker (claimed messages included). When stopped, the
checker drains the queue by listing what is left. :func:`verify` then looks
for:

* an acknowledged message never delivered (claimed, or listed by the drain);
* a message delivered again after its delete (with its claim) was
  acknowledged;
* a message held by two live claims at once;
* an observer pass that shows one producer's messages out of order, or one
  message twice;
* a message stored twice (one producer and sequence under two ids), which
  the idempotency keys must prevent whatever the faults.

Times are the checker's ``time.monotonic()``, taken before a request is sent
and after its answer arrived, so conclusions never depend on the server's
clock, only on its rate (claim lifetimes are measured by the server).
Everything a check needs is in a :class:`History`, which tests can also
build by hand to prove the checks fail when they should.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

import requests

# Claims and message lifetimes long enough that nothing expires during a
# scenario: an expiry would make a legitimate second delivery.
CLAIM_TTL = 60
CLAIM_GRACE = 60
MESSAGE_TTL = 3600
# How much the server's clock may run apart from ours over a claim's life
# before two claims count as overlapping: only unambiguous overlaps count.
CLOCK_MARGIN = 1.0
# Pause after an error or an empty claim, so that threads do not spin; short,
# so that kept-alive connections never sit idle long enough for the server
# to close them (gunicorn's keep-alive is 2 s) and look like a dropped one.
PAUSE = 0.05
# At most this many examples of each kind of violation are reported.
EXAMPLES = 5

SequenceKey = tuple[int, int]  # (producer, sequence)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How hard and how long the checker pushes.

    Attributes:
        producers, claimers, observers: Threads of each kind.
        claim_limit: Messages asked for per claim.
        page_size: Messages per page for observers and the drain.
        request_timeout: Client-side timeout of every request (connect and
            read), seconds: what bounds a request the server never answers.
        give_up_after: When stopping, seconds producers keep re-sending an
            unacknowledged batch before giving up on it.
        max_backlog: Acknowledged messages not yet deleted above which a
            producer waits (a second at most) before its next batch, so
            that a long run does not grow the queue without bound.
    """

    producers: int = 8
    claimers: int = 8
    observers: int = 2
    claim_limit: int = 5
    page_size: int = 20
    request_timeout: float = 10.0
    give_up_after: float = 30.0
    max_backlog: int = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Ack:
    """A post answered 201: the ids of sequences ``first`` onwards, in order."""

    producer: int
    first: int
    ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """A message handed out by a claim (``claim_id``) or listed by the drain.

    ``sent`` and ``answered`` bracket the request that handed it out.
    """

    message_id: str
    producer: int
    seq: int
    claim_id: str | None
    sent: float
    answered: float


@dataclasses.dataclass(frozen=True, slots=True)
class Deletion:
    """A delete of a message with its claim, answered 204 at ``answered``."""

    message_id: str
    claim_id: str
    answered: float


@dataclasses.dataclass(frozen=True, slots=True)
class Sighting:
    """A message as one observer page listed it."""

    message_id: str
    producer: int
    seq: int


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """A request that did not succeed.

    Attributes:
        operation: ``post``, ``claim``, ``delete``, ``list`` or ``drain``.
        sent: When it was sent (monotonic).
        elapsed: Seconds until its answer, or its transport error.
        status: The HTTP status, or None when no answer came (connection
            refused or dropped, client timeout).
        problem: Empty for an answer the API allows during a fault (a 503
            with Zaqar's JSON error body and ``Retry-After``, or the 409 of
            a post in flight); otherwise what is wrong with it.
    """

    operation: str
    sent: float
    elapsed: float
    status: int | None
    problem: str


@dataclasses.dataclass
class History:
    """What the checker saw; what :func:`verify` judges."""

    claim_ttl: float = CLAIM_TTL
    acks: list[Ack] = dataclasses.field(default_factory=list)
    deliveries: list[Delivery] = dataclasses.field(default_factory=list)
    deletions: list[Deletion] = dataclasses.field(default_factory=list)
    # Observer passes are judged as they end (see check_pass), so that a
    # long soak does not keep every page: what is kept is their verdicts and
    # which ids each (producer, sequence) was listed under.
    passes: int = 0
    pass_violations: list[str] = dataclasses.field(default_factory=list)
    listed_ids: dict[SequenceKey, set[str]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(set)
    )
    failures: list[Failure] = dataclasses.field(default_factory=list)
    # (operation, status) -> count, successes included.
    answers: collections.Counter[tuple[str, int | None]] = dataclasses.field(
        default_factory=collections.Counter
    )
    slowest: float = 0.0
    # Messages in the acknowledged posts.
    posted: int = 0
    # Violations noticed while running (e.g. a 422 for a re-sent post).
    live_violations: list[str] = dataclasses.field(default_factory=list)

    def record_pass(self, sightings: list[Sighting]) -> None:
        """Judge one observer pass and keep what the later checks need."""
        self.passes += 1
        self.pass_violations.extend(check_pass(sightings))
        for sighting in sightings:
            self.listed_ids[(sighting.producer, sighting.seq)].add(sighting.message_id)

    def unclean(self, outage: tuple[float, float] | None = None) -> list[Failure]:
        """Failures the API must never give, even during a fault.

        Args:
            outage: When the server itself was down (monotonic, from its
                crash until it was ready again): requests in flight at some
                moment of it may go unanswered; no other may.
        """
        return [
            failure
            for failure in self.failures
            if failure.problem and not _during(failure, outage)
        ]

    def backlog(self) -> int:
        """Acknowledged messages whose delete was not acknowledged."""
        return self.posted - len(self.deletions)

    def count(self, status: int) -> int:
        """How many answers had this status, across operations."""
        return sum(n for (_, code), n in self.answers.items() if code == status)


def _during(failure: Failure, outage: tuple[float, float] | None) -> bool:
    """Whether an unanswered request was in flight during the outage."""
    if failure.status is not None or outage is None:
        return False
    down, up = outage
    return failure.sent <= up and failure.sent + failure.elapsed >= down


# The checks


def verify(history: History, margin: float = CLOCK_MARGIN) -> list[str]:
    """Every violation of the checker's invariants in ``history``; [] if none."""
    return [
        *history.live_violations,
        *_examples('lost', find_lost(history)),
        *_examples('redelivered', find_redelivered(history)),
        *_examples('two live claims', find_overlapping_claims(history, margin)),
        *_examples('observer', history.pass_violations),
        *_examples('stored twice', find_doubles(history)),
    ]


def find_lost(history: History) -> list[str]:
    """Acknowledged messages that no claim and no drain ever delivered."""
    delivered = {delivery.message_id for delivery in history.deliveries}
    return [
        f'{message_id} (producer {ack.producer}, seq {ack.first + offset}) was '
        f'acknowledged but never delivered'
        for ack in history.acks
        for offset, message_id in enumerate(ack.ids)
        if message_id not in delivered
    ]


def find_redelivered(history: History) -> list[str]:
    """Deliveries requested after a delete of the message was acknowledged."""
    deleted: dict[str, Deletion] = {}
    for deletion in history.deletions:
        first = deleted.get(deletion.message_id)
        if first is None or deletion.answered < first.answered:
            deleted[deletion.message_id] = deletion
    found = []
    for delivery in history.deliveries:
        earliest = deleted.get(delivery.message_id)
        if earliest is not None and delivery.sent > earliest.answered:
            how = f'claim {delivery.claim_id}' if delivery.claim_id else 'the drain'
            found.append(
                f'{delivery.message_id} was deleted with claim {earliest.claim_id} '
                f'yet delivered again by {how}, '
                f'{delivery.sent - earliest.answered:.3f} s later'
            )
    return found


def find_overlapping_claims(history: History, margin: float) -> list[str]:
    """Messages that two claims held at one moment, beyond doubt.

    A claim is created somewhere between its request's ``sent`` and
    ``answered``, and lives ``claim_ttl`` seconds (claimers never release
    claims; deleting a message ends only that message's part). Two claims
    of one message were both live when the later one was created if both
    requests were answered before the earlier-sent one can have expired.
    """
    by_message: dict[str, list[Delivery]] = collections.defaultdict(list)
    for delivery in history.deliveries:
        if delivery.claim_id is not None:
            by_message[delivery.message_id].append(delivery)
    found = []
    for message_id, deliveries in by_message.items():
        deliveries.sort(key=lambda delivery: delivery.sent)
        for index, first in enumerate(deliveries):
            for second in deliveries[index + 1 :]:
                if second.claim_id == first.claim_id:
                    continue
                expiry = first.sent + history.claim_ttl - margin
                if max(first.answered, second.answered) < expiry:
                    found.append(
                        f'{message_id} held by claims {first.claim_id} and '
                        f'{second.claim_id}, '
                        f'{second.answered - first.sent:.3f} s apart '
                        f'(claim TTL {history.claim_ttl:g} s)'
                    )
    return found


def check_pass(sightings: Iterable[Sighting]) -> list[str]:
    """Violations in one observer pass: an id twice, or a producer's order.

    Messages deleted while the observer pages leave gaps; a gap is fine, a
    sequence number that does not increase is not.
    """
    seen: set[str] = set()
    last: dict[int, int] = {}
    found = []
    for position, sighting in enumerate(sightings):
        if sighting.message_id in seen:
            found.append(f'{sighting.message_id} listed twice in one pass')
        seen.add(sighting.message_id)
        previous = last.get(sighting.producer)
        if previous is not None and sighting.seq <= previous:
            found.append(
                f'producer {sighting.producer} listed out of order: seq '
                f'{sighting.seq} after {previous} (item {position} of the pass)'
            )
        if previous is None or sighting.seq > previous:
            last[sighting.producer] = sighting.seq
    return found


def find_doubles(history: History) -> list[str]:
    """One producer's sequence number under two message ids (or one id, two).

    Every post carries an idempotency key and is re-sent only with it, so
    each acknowledged or stored batch exists once, whatever the faults.
    """
    ids: dict[SequenceKey, set[str]] = collections.defaultdict(set)
    for ack in history.acks:
        for offset, message_id in enumerate(ack.ids):
            ids[(ack.producer, ack.first + offset)].add(message_id)
    for delivery in history.deliveries:
        ids[(delivery.producer, delivery.seq)].add(delivery.message_id)
    for key, listed in history.listed_ids.items():
        ids[key].update(listed)
    found = [
        f'producer {producer} seq {seq} stored as {sorted(stored)}'
        for (producer, seq), stored in sorted(ids.items())
        if len(stored) > 1
    ]
    bodies: dict[str, set[SequenceKey]] = collections.defaultdict(set)
    for key, stored in ids.items():
        for message_id in stored:
            bodies[message_id].add(key)
    found += [
        f'{message_id} carries several bodies: {sorted(keys)}'
        for message_id, keys in sorted(bodies.items())
        if len(keys) > 1
    ]
    return found


def _examples(kind: str, violations: list[str]) -> list[str]:
    """The first few violations of a kind, and how many there were."""
    if len(violations) <= EXAMPLES:
        return [f'{kind}: {text}' for text in violations]
    shown = [f'{kind}: {text}' for text in violations[:EXAMPLES]]
    return [*shown, f'{kind}: ... {len(violations) - EXAMPLES} more']


def judge_failure(response: requests.Response) -> str:
    """What is wrong with an error answer; empty when a fault may cause it.

    A 503 must carry Zaqar's JSON error body and ``Retry-After``
    (http-api.md, "Errors"); a post in flight is answered 409 with
    ``Retry-After``. Anything else (a 500, a bare 502 or 504) is wrong.
    """
    if response.status_code not in (409, 503):
        return f'status {response.status_code}: {response.text[:200]}'
    if not response.headers.get('Retry-After', '').isdigit():
        return f'{response.status_code} without a Retry-After header'
    try:
        document = response.json()
    except ValueError:
        return f'{response.status_code} whose body is not JSON: {response.text[:200]}'
    if not (
        isinstance(document, dict)
        and isinstance(document.get('title'), str)
        and isinstance(document.get('description'), str)
    ):
        return f'{response.status_code} without title and description: {document}'
    return ''


# The load


class Checker:
    """Producers, claimers and observers on one queue of a running server.

    Use :meth:`running` (or :meth:`start` and :meth:`stop`), then
    :meth:`drain`, then :func:`verify` on :attr:`history`.

    Args:
        url: The server's base URL; it may be restarted at the same address.
        queue: The queue to use, in project ``faults``.
    """

    def __init__(self, url: str, queue: str, settings: Settings | None = None) -> None:
        self.url = url
        self.queue = queue
        self.settings = settings or Settings()
        self.history = History()
        self._base = f'{url}/v2/queues/{queue}'
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)
        self._stop_producing = threading.Event()
        self._stop_consuming = threading.Event()
        self._give_up = threading.Event()
        self._threads: list[threading.Thread] = []
        self._producers: list[threading.Thread] = []

    # Control

    @contextlib.contextmanager
    def running(self) -> Iterator[Checker]:
        """Run the load for a block; stop it (and wait) however it ends."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> None:
        """Start every thread."""
        kinds: list[tuple[Callable[[int], None], int]] = [
            (self._produce, self.settings.producers),
            (self._claim, self.settings.claimers),
            (self._observe, self.settings.observers),
        ]
        for target, count in kinds:
            for number in range(count):
                thread = threading.Thread(
                    target=self._guarded,
                    args=(target, number),
                    name=f'{target.__name__}-{number}',
                )
                self._threads.append(thread)
                if target == self._produce:
                    self._producers.append(thread)
                thread.start()

    def stop(self) -> None:
        """Stop producing, wait for the last batches, then stop consuming.

        Raises:
            AssertionError: A thread did not stop.
        """
        self._stop_producing.set()
        deadline = time.monotonic() + self.settings.give_up_after
        for thread in self._producers:
            thread.join(max(0.0, deadline - time.monotonic()))
        # Batches still unacknowledged are given up: they may or may not be
        # stored, and verify() holds them to "at most once" only.
        self._give_up.set()
        self._stop_consuming.set()
        for thread in self._threads:
            thread.join(self.settings.request_timeout * 3)
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        assert not alive, f'checker threads did not stop: {alive}'

    def _guarded(self, target: Callable[[int], None], number: int) -> None:
        """Run a thread's loop; an exception in it is a violation.

        Otherwise a thread that died (say, on an answer it could not parse)
        would only shrink the load, and the verdict would still be clean.
        """
        try:
            target(number)
        except Exception as ex:
            self._violation(f'{threading.current_thread().name} crashed: {ex!r}')

    def load_for(self, seconds: float, at_least: int) -> None:
        """Let the load run ``seconds``, in which ``at_least`` posts succeed.

        Raises:
            AssertionError: Fewer were acknowledged, even some time later.
        """
        with self._lock:
            before = len(self.history.acks)
        time.sleep(seconds)
        with self._lock:
            done = len(self.history.acks) - before
        self.wait_for_acks(at_least - done, timeout=self.settings.request_timeout)

    def wait_for_acks(self, count: int, timeout: float) -> None:
        """Wait until ``count`` more posts are acknowledged than now.

        Raises:
            AssertionError: Not within ``timeout`` seconds.
        """
        with self._acked:
            target = len(self.history.acks) + count
            done = self._acked.wait_for(
                lambda: len(self.history.acks) >= target, timeout
            )
            acked = len(self.history.acks)
        assert done, (
            f'only {acked} of {target} posts acknowledged within {timeout:g} s; '
            f'answers so far: {dict(self.history.answers)}; '
            f'last failures: {self.history.failures[-5:]}'
        )

    def drain(self, timeout: float = 60.0) -> None:
        """List everything left in the queue (claimed or not) as delivered.

        Raises:
            AssertionError: The queue could not be listed within ``timeout``.
        """
        session = self._session()
        url: str | None = self._first_page()
        deadline = time.monotonic() + timeout
        while url is not None:
            assert time.monotonic() < deadline, 'the drain did not finish in time'
            sent = time.monotonic()
            response = self._send(session, 'drain', 'GET', url)
            if response is None or response.status_code != 200:
                time.sleep(PAUSE)
                continue
            answered = time.monotonic()
            page = response.json()
            for message in page['messages']:
                delivery = _delivery(message, None, sent, answered)
                if delivery is not None:
                    self._record(self.history.deliveries, delivery)
            url = self._next(page)

    # Threads

    def _produce(self, number: int) -> None:
        session = self._session()
        seq = 0
        while not self._stop_producing.is_set():
            self._wait_for_claimers()
            # Batches of 1 to 3 messages, so that posts of several messages
            # (one atomic step each) are among the faults' victims.
            size = 1 + (seq + number) % 3
            ids = self._post_until_acknowledged(session, number, seq, size)
            if ids is None:
                return
            with self._acked:
                self.history.acks.append(Ack(number, seq, ids))
                self.history.posted += len(ids)
                self._acked.notify_all()
            seq += size

    def _wait_for_claimers(self) -> None:
        """Wait, a second at most, while the backlog is over its bound.

        At most a second: a connection idle longer may be closed by the
        server just as the next request goes out, which would look like a
        dropped connection.
        """
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not self._stop_producing.is_set():
            with self._lock:
                if self.history.backlog() <= self.settings.max_backlog:
                    return
            time.sleep(PAUSE)

    def _post_until_acknowledged(
        self, session: requests.Session, producer: int, first: int, size: int
    ) -> tuple[str, ...] | None:
        """Post one batch, re-sending it with its key until it is answered 201.

        Returns:
            The ids, or None when the checker gave up on the batch.
        """
        document = {
            'messages': [
                {'body': {'p': producer, 's': first + n}, 'ttl': MESSAGE_TTL}
                for n in range(size)
            ]
        }
        headers = {'Idempotency-Key': str(uuid.uuid4())}
        while not self._give_up.is_set():
            response = self._send(
                session, 'post', 'POST', self._base + '/messages', document, headers
            )
            if response is None or response.status_code != 201:
                if response is not None and response.status_code == 422:
                    self._violation(
                        f'producer {producer}: re-sent batch refused: {response.text}'
                    )
                    return None
                time.sleep(_retry_pause(response))
                continue
            ids = tuple(href.rsplit('/', 1)[1] for href in response.json()['resources'])
            if len(ids) != size:
                self._violation(f'producer {producer}: {size} posted, ids {ids}')
            return ids
        return None

    def _claim(self, number: int) -> None:
        session = self._session()
        body = {'ttl': CLAIM_TTL, 'grace': CLAIM_GRACE}
        url = f'{self._base}/claims?limit={self.settings.claim_limit}'
        while not self._stop_consuming.is_set():
            sent = time.monotonic()
            response = self._send(session, 'claim', 'POST', url, body)
            answered = time.monotonic()
            if response is None or response.status_code != 201:
                time.sleep(PAUSE)
                continue
            claim_id = response.headers['Location'].rsplit('/', 1)[1]
            for message in response.json()['messages']:
                delivery = _delivery(message, claim_id, sent, answered)
                if delivery is not None:
                    self._record(self.history.deliveries, delivery)
                    self._delete(session, delivery.message_id, claim_id)

    def _delete(
        self, session: requests.Session, message_id: str, claim_id: str
    ) -> None:
        url = f'{self._base}/messages/{message_id}?claim_id={claim_id}'
        response = self._send(session, 'delete', 'DELETE', url)
        if response is not None and response.status_code == 204:
            deletion = Deletion(message_id, claim_id, time.monotonic())
            self._record(self.history.deletions, deletion)
        # NOTE: a failed delete is not retried: the message stays claimed
        # until its claim expires, and the drain finds it.

    def _observe(self, number: int) -> None:
        session = self._session()
        while not self._stop_consuming.is_set():
            sightings: list[Sighting] = []
            url: str | None = self._first_page()
            while url is not None and not self._stop_consuming.is_set():
                response = self._send(session, 'list', 'GET', url)
                if response is None or response.status_code != 200:
                    time.sleep(PAUSE)
                    continue
                page = response.json()
                sightings += [
                    Sighting(d.message_id, d.producer, d.seq)
                    for d in _deliveries(page['messages'])
                ]
                url = self._next(page)
            # An interrupted pass is a prefix of one: still judged.
            with self._lock:
                self.history.record_pass(sightings)

    # HTTP

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(
            {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'faults'}
        )
        return session

    def _first_page(self) -> str:
        return (
            f'{self._base}/messages?echo=true&include_claimed=true'
            f'&limit={self.settings.page_size}'
        )

    def _next(self, page: dict[str, Any]) -> str | None:
        """The next page's URL, or None after the last (empty) page."""
        if not page['messages']:
            return None
        href: str = page['links'][0]['href']
        return self.url + href

    def _send(
        self,
        session: requests.Session,
        operation: str,
        method: str,
        url: str,
        document: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response | None:
        """Send one request and record its outcome; None if unanswered."""
        sent = time.monotonic()
        try:
            response = session.request(
                method,
                url,
                json=document,
                headers=headers,
                timeout=self.settings.request_timeout,
            )
        except requests.RequestException as ex:
            unanswered = Failure(
                operation, sent, time.monotonic() - sent, None, type(ex).__name__
            )
            self._answered(operation, None, unanswered)
            return None
        elapsed = time.monotonic() - sent
        failure: Failure | None = None
        if response.status_code >= 300:
            problem = judge_failure(response)
            failure = Failure(operation, sent, elapsed, response.status_code, problem)
        self._answered(operation, response.status_code, failure, elapsed)
        return response

    def _answered(
        self,
        operation: str,
        status: int | None,
        failure: Failure | None,
        elapsed: float | None = None,
    ) -> None:
        with self._lock:
            self.history.answers[(operation, status)] += 1
            if failure is not None:
                self.history.failures.append(failure)
                elapsed = failure.elapsed
            self.history.slowest = max(self.history.slowest, elapsed or 0.0)

    def _record(self, records: list[Any], record: object) -> None:
        with self._lock:
            records.append(record)

    def _violation(self, text: str) -> None:
        with self._lock:
            self.history.live_violations.append(text)


def _retry_pause(response: requests.Response | None) -> float:
    """Seconds before re-sending a post.

    A post in flight (409) is repeated when its ``Retry-After`` says (at
    most a second). Other failures are re-sent after a short pause, not
    after a 503's ``Retry-After`` (5 s): impatient clients put more load on
    a recovering server, which is what the faults should meet.
    """
    if response is not None and response.status_code == 409:
        retry_after = response.headers.get('Retry-After', '')
        return min(float(retry_after), 1.0) if retry_after.isdigit() else PAUSE
    return PAUSE


def _deliveries(messages: Iterable[dict[str, Any]]) -> Iterator[Delivery]:
    """The checker's messages of a page (others, e.g. probes', are skipped)."""
    for message in messages:
        delivery = _delivery(message, None, 0.0, 0.0)
        if delivery is not None:
            yield delivery


def _delivery(
    message: dict[str, Any], claim_id: str | None, sent: float, answered: float
) -> Delivery | None:
    body = message.get('body')
    if not (isinstance(body, dict) and set(body) == {'p', 's'}):
        return None
    return Delivery(message['id'], body['p'], body['s'], claim_id, sent, answered)
