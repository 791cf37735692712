"""The Lua scripts of the Redis driver: every write is one script.

A script runs atomically on the server, so each storage operation that must
be atomic (posting with its counter reservation, claiming with its dead-letter
moves, releasing, deleting under a claim, popping, purging, compare-and-set of
metadata, creating or changing a subscription with its uniqueness check,
collecting garbage) is exactly one script call and one round trip.

The scripts are the files of ``lua/`` beside this module, package data
read when a driver is built. Redis runs each as one chunk composed of
``local BUDGET = ...`` (from :data:`BUDGET`), ``_prelude.lua``, the fragments
it needs (the other files whose name starts with ``_``) and its own file (see
:class:`Lua`). Each script has one method of :class:`Scripts`, the only code
that knows its arguments and its reply: typed values in, records out.

Every script receives the same first four arguments, unpacked by
``_prelude.lua``: the key namespace, the project, the queue name and "now"
(the driver's clock, never Redis TIME); the head of each file names the
rest. Keys are derived from them inside the script (a dead-letter queue's
keys come from stored metadata), so the scripts pass no KEYS: this driver
targets one Redis server (or a Sentinel-managed primary), not Redis
Cluster. ``ZADD ... LT`` needs Redis 6.2 or later.

Key layout, under ``<ns>:``, where ``<tag>`` is ``<len(project)>:<project>:
<queue>`` (the length prefix makes any project id and queue name unambiguous):

=================  ======  ===================================================
key                type    holds
=================  ======  ===================================================
q:<project>        zset    queue names, score 0 (listing by name, count)
d:<project>        hash    queue name -> metadata JSON
p:<project>        hash    queue name -> dead-letter policy, when active:
                           ``<max claims> <TTL or 0> <queue>``, written and
                           read by ``_dead_letter.lua`` alone
n:<project>        hash    queue name -> last marker given out (never deleted)
m:<tag>            hash    marker -> message record (MessagePack)
f:<tag>            zset    ids of visible messages not held by a claim, by
                           marker
l:<tag>            zset    ids of delayed messages not moved to ``f`` yet, by
                           marker
w:<tag>            zset    markers of the messages in ``l``, by the time their
                           delay ends
h:<tag>            zset    ids of messages held by a live claim, by marker
x:<tag>            zset    markers of all messages, by expiry time
c:<tag>            hash    claim id -> claim record, while any message
                           still records the claim
e:<tag>            zset    ids of claims not yet expired, by expiry time
k:<claim>:<tag>    set     ids of the messages that record the claim
s:<tag>            hash    subscription id -> subscription record
                           (MessagePack), for the subscriptions whose source
                           is the queue (or topic) of that name
u:<tag>            hash    subscriber -> id of the subscription that has it
                           (live, or expired and not collected yet)
o:<tag>            zset    subscription ids, score 0 (listing by id, which is
                           creation order)
y:<tag>            zset    subscription ids, by expiry time
i:<tag>            hash    idempotency key -> key record (MessagePack), for
                           the keyed posts to the queue (or topic)
j:<tag>            zset    idempotency keys, by expiry time
due                zset    queue tags, by the earliest time something in the
                           queue (message, claim, subscription, idempotency
                           key) expires (what gc() visits)
=================  ======  ===================================================

A message record is the array ``marker, ttl, created, expires, visible_at,
client_id, claim_id, claim_expires, claim_count, body``; ``claim_id`` stays
after its claim expires (until released or replaced), as the contract wants.
Records and ``x`` are keyed by marker rather than by the longer id, to save
memory: ``f``, ``l`` and ``h`` map an id to its marker (ZSCORE) and a marker
to its id (by score). A message is in exactly one of ``f``, ``l`` and ``h``.
A delayed message is posted to ``l`` (and ``w``), and moved ("promoted") to
``f`` once its delay has passed, by the claim and list scripts, so that
claims never walk over messages that are still delayed. A message moves from
``h`` back to ``f`` when its claim is released, or when its claim expires and
a script "retires" the claim (claim, list, pop, stats and gc do that first).

A subscription record is the array ``subscriber, ttl, updated, expires,
options, confirmed`` (see ``_subscriptions.lua``). A source has at most one
live subscription per subscriber because ``u`` names, for each subscriber,
the one subscription that has it, and creating or changing a subscription
(one script) checks it first, removing an expired holder on the way.
Deleting or purging the queue leaves its subscriptions, and its tag in
``due`` while they have not expired, so gc() still visits it for them.

A key record is the array ``fingerprint, expires, ids`` (see
``_idempotency.lua``): the request's digest, when the key is forgotten
(driver clock) and the post's message ids, 16 bytes each. ``post_once``
looks the key up, stores the messages and writes the record in one script,
so the three are one atomic step and a concurrent post with the same key
runs wholly before or after it. Purging or deleting the queue leaves its
keys, as it leaves its subscriptions.

Bounded work: a script never blocks the server for long, because no call
examines more than ``BUDGET`` entries (messages looked at, claims retired
with their messages, delayed messages promoted, queue names or subscription
ids listed). The price, in situations a busy queue rarely meets:

* Claim, list, pop and stats spend at most half of the budget retiring
  expired claims and promoting delayed messages. While more are left than
  that, the scripts also scan ``h`` (or ``l``) in marker order, skipping what
  is not eligible, so that order and paging stay exact; they return fewer
  messages, and ``stats`` may still count as claimed some messages whose
  claim has expired.
* A claim or pop that meets more than the rest of the budget of messages
  it must step over (expired ones, which it removes in passing) returns
  fewer messages than asked for, even none, although more may follow; the
  next call goes further. A list that runs out of budget (stepping over
  expired, delayed, claimed messages or, without ``echo``, the reader's own)
  returns where it stopped, and the driver calls it again from there until
  the page is full or the queue ends: each call stays short, the page stays
  exact.
* ``stats`` reports no oldest (or newest) message when it finds no live one
  within the budget at that end of the queue (it removes the expired ones it
  meets, so later calls find it).
* Listing queues returns after examining the budget of names, and listing
  subscriptions after the budget of ids (expired ones included); the driver
  calls again from where the script stopped.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from collections.abc import Callable
from collections.abc import Sequence
from importlib import resources
from typing import Any

import redis
from redis.commands.core import Script

from zaqar.common import ids
from zaqar.common.queue_metadata import DeadLetterPolicy
from zaqar.storage.idempotency import pack_ids
from zaqar.storage.idempotency import unpack_ids
from zaqar.storage.models import Claim
from zaqar.storage.models import GCReport
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueStats
from zaqar.storage.models import Subscription
from zaqar.storage.redis.common import dump_json
from zaqar.storage.redis.common import load_metadata
from zaqar.storage.redis.common import text
from zaqar.storage.redis.common import unavailable_on_redis_error

# Entries any one script call examines at most (see the module docstring).
BUDGET = 2000

# Expired messages of the queue a post removes in passing (see post.lua).
SWEEP_ON_POST = 32

# The directory of the scripts, inside this package.
LUA_DIRECTORY = 'lua'

# Composed first into every script.
PRELUDE = '_prelude.lua'


class Lua(enum.Enum):
    """Every script: the fragments it needs after the prelude, then its file."""

    POST = ('_post.lua', 'post.lua')
    POST_ONCE = ('_post.lua', '_idempotency.lua', 'post_once.lua')
    LIST_MESSAGES = ('list_messages.lua',)
    GET_MESSAGES = ('get_messages.lua',)
    DELETE_MESSAGE = ('delete_message.lua',)
    DELETE_MESSAGES = ('delete_messages.lua',)
    POP = ('pop.lua',)
    PURGE = ('_clear_queue.lua', 'purge.lua')
    CREATE_QUEUE = ('_dead_letter.lua', 'create_queue.lua')
    DELETE_QUEUE = ('_clear_queue.lua', 'delete_queue.lua')
    SET_METADATA = ('_dead_letter.lua', 'set_metadata.lua')
    LIST_QUEUES = ('list_queues.lua',)
    STATS = ('stats.lua',)
    CREATE_CLAIM = ('_dead_letter.lua', 'create_claim.lua')
    GET_CLAIM = ('get_claim.lua',)
    UPDATE_CLAIM = ('update_claim.lua',)
    RELEASE_CLAIM = ('release_claim.lua',)
    CREATE_SUBSCRIPTION = ('_subscriptions.lua', 'create_subscription.lua')
    GET_SUBSCRIPTION = ('_subscriptions.lua', 'get_subscription.lua')
    UPDATE_SUBSCRIPTION = ('_subscriptions.lua', 'update_subscription.lua')
    CONFIRM_SUBSCRIPTION = ('_subscriptions.lua', 'confirm_subscription.lua')
    DELETE_SUBSCRIPTION = ('_subscriptions.lua', 'delete_subscription.lua')
    PURGE_SUBSCRIPTIONS = ('purge_subscriptions.lua',)
    LIST_SUBSCRIPTIONS = ('_subscriptions.lua', 'list_subscriptions.lua')
    GC = ('_subscriptions.lua', '_idempotency.lua', 'gc.lua')

    @property
    def files(self) -> tuple[str, ...]:
        """The files composed into the script, in order."""
        own: tuple[str, ...] = self.value
        return (PRELUDE, *own)


def source(script: Lua) -> str:
    """The text Redis runs for ``script``."""
    parts = [_read(name) for name in script.files]
    return f'local BUDGET = {BUDGET}\n' + ''.join(parts)


@functools.cache
def _read(name: str) -> str:
    """One file of ``lua/``; read once per process (the prelude, once)."""
    package = __name__.rpartition('.')[0]
    path = resources.files(package).joinpath(LUA_DIRECTORY, name)
    return path.read_text(encoding='utf-8')


class DeleteOutcome(enum.Enum):
    """What deleting one message did (the codes are delete_message.lua's)."""

    DELETED = 0  # or it was not there
    CLAIMED = 1  # held by another claim, or no claim id was given
    NOT_CLAIMED = 2  # a claim id was given, but no claim holds it


@dataclasses.dataclass(frozen=True)
class BulkDelete:
    """What deleting messages by id did.

    Attributes:
        outcome: DELETED, or why a claim-checked delete deleted nothing.
        message_id: With CLAIMED or NOT_CLAIMED, the message that failed
            the check.
    """

    outcome: DeleteOutcome
    message_id: str = ''


class MetadataOutcome(enum.Enum):
    """What set_metadata did (the values are set_metadata.lua's replies)."""

    WRITTEN = 'ok'
    QUEUE_MISSING = 'missing'
    CONFLICT = 'conflict'


@dataclasses.dataclass(frozen=True)
class MetadataWrite:
    """The outcome of set_metadata.

    Attributes:
        outcome: Whether the metadata was written, and why not.
        stored: With CONFLICT, the stored metadata text that was not the
            expected one; otherwise empty.
    """

    outcome: MetadataOutcome
    stored: str = ''


class KeyOutcome(enum.Enum):
    """What post_once did (the codes are post_once.lua's)."""

    POSTED = 0  # the messages were stored, and the key recorded
    REPEATED = 1  # the key is remembered with this fingerprint
    REUSED = 2  # the key is remembered with another fingerprint


@dataclasses.dataclass(frozen=True)
class KeyedPost:
    """The outcome of post_once.

    Attributes:
        outcome: Whether the messages were stored, and why not.
        ids: The ids of the post that stored messages under the key (this
            one with POSTED); empty with REUSED.
    """

    outcome: KeyOutcome
    ids: list[str]


@dataclasses.dataclass(frozen=True)
class MessageBatch:
    """What one list_messages call found.

    Attributes:
        messages: Live messages in marker order.
        cut_short: The call ran out of budget before it found as many as it
            was asked for; another call may find more after
            ``resume_after``.
        resume_after: Where such a call starts: the marker to list after
            (None: from the start of the queue).
    """

    messages: list[Message]
    cut_short: bool
    resume_after: int | None


@dataclasses.dataclass(frozen=True)
class QueueBatch:
    """What one list_queues call found.

    Attributes:
        queues: Names in order, with their metadata when it was asked for
            (an empty dict otherwise).
        examined_all: Every name after the starting point was examined.
        last: The last name examined (None: none was).
    """

    queues: list[tuple[str, Metadata]]
    examined_all: bool
    last: str | None


class SubscriptionOutcome(enum.Enum):
    """What update_subscription did (the values are its script's replies)."""

    UPDATED = 'ok'
    MISSING = 'missing'
    CONFLICT = 'exists'


@dataclasses.dataclass(frozen=True)
class SubscriptionUpdate:
    """The outcome of update_subscription.

    Attributes:
        outcome: Whether the subscription was changed, and why not.
        existing: With CONFLICT, the live subscription that already has the
            new subscriber; otherwise None.
    """

    outcome: SubscriptionOutcome
    existing: Subscription | None = None


@dataclasses.dataclass(frozen=True)
class SubscriptionBatch:
    """What one list_subscriptions call found.

    Attributes:
        subscriptions: Live subscriptions in id order.
        examined_all: Every id after the starting point was examined.
        last: The last id examined (None: none was).
    """

    subscriptions: list[Subscription]
    examined_all: bool
    last: str | None


@dataclasses.dataclass(frozen=True)
class GCBatch:
    """What one gc call did.

    Attributes:
        messages: Expired messages it removed.
        claims: Expired claims it retired.
        subscriptions: Expired subscriptions it removed.
        idempotency_keys: Expired idempotency keys it removed.
        queues: Queues it visited.
        more_due: Some queue is still due for a visit.
    """

    messages: int
    claims: int
    subscriptions: int
    idempotency_keys: int
    queues: int
    more_due: bool

    @property
    def removed(self) -> GCReport:
        """What the call removed (or retired), as gc() reports it."""
        return GCReport(
            messages=self.messages,
            claims=self.claims,
            subscriptions=self.subscriptions,
            idempotency_keys=self.idempotency_keys,
        )


class Scripts:
    """The driver's Lua scripts, each run by one method that owns its ARGV.

    Built with the driver: reads the scripts and registers them on the
    client, which computes each one's SHA1 without contacting the server.
    Every method is one script call (EVALSHA), and a redis-py error becomes
    StorageUnavailable: nothing is retried. The one command ever sent twice
    is an EVALSHA the server answered with NOSCRIPT (a script it did not
    know, so did not run): redis-py then loads the script and sends it again.
    """

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        check_server: Callable[[], None],
    ) -> None:
        """Register every script; ``check_server`` runs before each call."""
        self._namespace = namespace
        self._check_server = check_server
        self._registered: dict[Lua, Script] = {
            script: client.register_script(source(script)) for script in Lua
        }

    def sha(self, script: Lua) -> str:
        """The SHA1 that the server knows ``script`` by."""
        sha: str = self._registered[script].sha
        return sha

    # Messages

    def post(
        self,
        project: str,
        queue: str,
        now: float,
        messages: Sequence[NewMessage],
        client_id: str,
        metadata: Metadata | None = None,
    ) -> list[str] | None:
        """Store ``messages`` with consecutive markers; return their new ids.

        Creates the queue if needed, and removes up to SWEEP_ON_POST of its
        expired messages in passing. With ``metadata``, only if the queue
        has that metadata: None when it has not (nothing was stored).
        """
        message_ids = ids.new_ids(len(messages))
        packed = _packed_messages(message_ids, messages)
        expected = '' if metadata is None else dump_json(metadata)
        last = self._run(
            Lua.POST, project, queue, now, client_id, SWEEP_ON_POST, expected, *packed
        )
        return None if int(last) < 0 else message_ids

    def post_once(
        self,
        project: str,
        queue: str,
        now: float,
        messages: Sequence[NewMessage],
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> KeyedPost:
        """Post as :meth:`post` does, unless the key is remembered.

        Also removes up to SWEEP_ON_POST of the queue's expired keys in
        passing when it posts.
        """
        message_ids = ids.new_ids(len(messages))
        packed_messages = _packed_messages(message_ids, messages)
        code, packed = self._run(
            Lua.POST_ONCE,
            project,
            queue,
            now,
            client_id,
            SWEEP_ON_POST,
            idempotency_key.key,
            idempotency_key.fingerprint,
            idempotency_key.window,
            pack_ids(message_ids),
            *packed_messages,
        )
        outcome = KeyOutcome(int(code))
        if outcome is KeyOutcome.POSTED:
            return KeyedPost(outcome, message_ids)
        return KeyedPost(outcome, unpack_ids(bytes.fromhex(text(packed))))

    def list_messages(
        self,
        project: str,
        queue: str,
        now: float,
        client_id: str,
        *,
        after: int | None,
        limit: int,
        echo: bool,
        include_claimed: bool,
        include_delayed: bool,
    ) -> MessageBatch:
        """List up to ``limit`` live messages after the marker ``after``.

        Without ``echo``, the messages ``client_id`` posted are left out.
        """
        reply = self._run(
            Lua.LIST_MESSAGES,
            project,
            queue,
            now,
            client_id,
            _marker_argument(after),
            limit,
            _flag(echo),
            _flag(include_claimed),
            _flag(include_delayed),
        )
        views, cut_short, resume_after = reply
        return MessageBatch(
            messages=_messages(views, now),
            cut_short=bool(cut_short),
            resume_after=_marker(resume_after),
        )

    def get_messages(
        self, project: str, queue: str, now: float, message_ids: Sequence[str]
    ) -> list[Message]:
        """The live messages among ``message_ids``, in marker order."""
        wanted = _distinct(message_ids)
        if not wanted:
            return []
        replies = self._run(Lua.GET_MESSAGES, project, queue, now, *wanted)
        return _messages(replies, now)

    def delete_message(
        self,
        project: str,
        queue: str,
        now: float,
        message_id: str,
        claim_id: str | None,
    ) -> DeleteOutcome:
        """Delete one message if ``claim_id`` (None: no claim) allows it."""
        code = self._run(
            Lua.DELETE_MESSAGE, project, queue, now, message_id, claim_id or ''
        )
        return DeleteOutcome(int(code))

    def delete_messages(
        self,
        project: str,
        queue: str,
        now: float,
        message_ids: Sequence[str],
        claim_ids: Sequence[str] | None = None,
    ) -> BulkDelete:
        """Delete the listed messages: all of them, or none.

        Without ``claim_ids``, claimed or not; with them, only if each live
        one records one of those claims (see delete_messages.lua).
        """
        # In the order given, once each: the first that fails is reported.
        wanted = list(dict.fromkeys(message_ids))
        if not wanted:
            return BulkDelete(DeleteOutcome.DELETED)
        quoted: list[str] = []
        if claim_ids is not None:
            quoted = [_claim_argument(claim_id) for claim_id in claim_ids]
        count = '' if claim_ids is None else len(quoted)
        reply = self._run(
            Lua.DELETE_MESSAGES, project, queue, now, count, *quoted, *wanted
        )
        outcome = DeleteOutcome(int(reply[0]))
        return BulkDelete(outcome, text(reply[1]) if len(reply) > 1 else '')

    def pop(self, project: str, queue: str, now: float, limit: int) -> list[Message]:
        """Remove and return up to ``limit`` unclaimed messages, oldest first."""
        replies = self._run(Lua.POP, project, queue, now, limit)
        return _messages(replies, now)

    def purge(self, project: str, queue: str, now: float) -> None:
        """Delete every message and claim of the queue."""
        self._run(Lua.PURGE, project, queue, now)

    # Queues

    def create_queue(
        self, project: str, queue: str, now: float, metadata: Metadata
    ) -> bool:
        """Create the queue unless it exists; True if created."""
        created = self._run(
            Lua.CREATE_QUEUE,
            project,
            queue,
            now,
            dump_json(metadata),
            *_policy_arguments(metadata),
        )
        return bool(created)

    def delete_queue(self, project: str, queue: str, now: float) -> None:
        """Delete the queue, its messages, claims and policy; keep its counter."""
        self._run(Lua.DELETE_QUEUE, project, queue, now)

    def set_metadata(
        self,
        project: str,
        queue: str,
        now: float,
        metadata: Metadata,
        expected: str | None,
    ) -> MetadataWrite:
        """Replace the metadata if its stored text is ``expected`` (JSON).

        With ``expected`` None the metadata is replaced unconditionally.
        """
        reply = self._run(
            Lua.SET_METADATA,
            project,
            queue,
            now,
            dump_json(metadata),
            *_policy_arguments(metadata),
            *_optional(expected),
        )
        outcome = MetadataOutcome(text(reply[0]))
        if outcome is MetadataOutcome.CONFLICT:
            return MetadataWrite(outcome, text(reply[1]))
        return MetadataWrite(outcome)

    def list_queues(
        self,
        project: str,
        now: float,
        *,
        after: str | None,
        limit: int,
        name_contains: str | None,
        with_metadata: bool,
    ) -> QueueBatch:
        """List up to ``limit`` queues named after ``after``, by name.

        Only names that contain ``name_contains`` (None: any) count.
        """
        reply = self._run(
            Lua.LIST_QUEUES,
            project,
            '',
            now,
            after or '',
            limit,
            name_contains or '',
            _flag(with_metadata),
        )
        examined_all, last, flat = reply
        queues = [
            (text(flat[i]), load_metadata(flat[i + 1]) if with_metadata else {})
            for i in range(0, len(flat), 2)
        ]
        return QueueBatch(queues, bool(examined_all), text(last) or None)

    def stats(self, project: str, queue: str, now: float) -> QueueStats:
        """Count live messages as claimed or free; find oldest and newest."""
        free, claimed, oldest, newest = self._run(Lua.STATS, project, queue, now)
        return QueueStats(
            free=int(free),
            claimed=int(claimed),
            oldest=_summary(oldest, now),
            newest=_summary(newest, now),
        )

    # Claims

    def create_claim(
        self,
        project: str,
        queue: str,
        now: float,
        *,
        ttl: int,
        grace: int,
        limit: int,
    ) -> Claim | None:
        """Claim up to ``limit`` messages, moving dead letters aside.

        Returns None when no message could be claimed.
        """
        claim_id = ids.new_id()
        replies = self._run(
            Lua.CREATE_CLAIM, project, queue, now, claim_id, ttl, grace, limit
        )
        if not replies:
            return None
        return Claim(id=claim_id, ttl=ttl, age=0, messages=_messages(replies, now))

    def get_claim(
        self, project: str, queue: str, now: float, claim_id: str
    ) -> Claim | None:
        """The live claim ``claim_id`` with its live messages, or None."""
        reply = self._run(Lua.GET_CLAIM, project, queue, now, _claim_argument(claim_id))
        if reply is None:
            return None
        ttl, updated, views = reply
        return Claim(
            id=claim_id,
            ttl=int(ttl),
            age=_age(updated, now),
            messages=_messages(views, now),
        )

    def update_claim(
        self,
        project: str,
        queue: str,
        now: float,
        claim_id: str,
        *,
        ttl: int,
        grace: int,
    ) -> bool:
        """Renew a live claim from now; False if there is none."""
        renewed = self._run(
            Lua.UPDATE_CLAIM,
            project,
            queue,
            now,
            _claim_argument(claim_id),
            ttl,
            grace,
        )
        return bool(renewed)

    def release_claim(
        self, project: str, queue: str, now: float, claim_id: str
    ) -> None:
        """Release the claim; its messages become claimable at once."""
        self._run(Lua.RELEASE_CLAIM, project, queue, now, _claim_argument(claim_id))

    # Subscriptions

    def create_subscription(
        self,
        project: str,
        source: str,
        now: float,
        subscription_id: str,
        *,
        subscriber: str,
        ttl: int,
        options: Metadata,
    ) -> Subscription | None:
        """Create an unconfirmed subscription unless the subscriber has one.

        Returns:
            None when it was created; else the live subscription of the
            source that already has ``subscriber`` (nothing was written).
        """
        reply = self._run(
            Lua.CREATE_SUBSCRIPTION,
            project,
            source,
            now,
            _subscription_argument(subscription_id),
            subscriber,
            ttl,
            dump_json(options),
        )
        return _subscription(reply, source, now) if reply else None

    def get_subscription(
        self, project: str, source: str, now: float, subscription_id: str
    ) -> Subscription | None:
        """The live subscription ``subscription_id`` of the source, or None."""
        reply = self._run(
            Lua.GET_SUBSCRIPTION,
            project,
            source,
            now,
            _subscription_argument(subscription_id),
        )
        return _subscription(reply, source, now) if reply else None

    def update_subscription(
        self,
        project: str,
        source: str,
        now: float,
        subscription_id: str,
        *,
        subscriber: str | None,
        ttl: int | None,
        options: Metadata | None,
    ) -> SubscriptionUpdate:
        """Change what is given (None: keep it) of a live subscription."""
        reply = self._run(
            Lua.UPDATE_SUBSCRIPTION,
            project,
            source,
            now,
            _subscription_argument(subscription_id),
            *_optional(subscriber),
            '' if ttl is None else ttl,
            *_optional(None if options is None else dump_json(options)),
        )
        outcome = SubscriptionOutcome(text(reply[0]))
        if outcome is SubscriptionOutcome.CONFLICT:
            return SubscriptionUpdate(outcome, _subscription(reply[1], source, now))
        return SubscriptionUpdate(outcome)

    def confirm_subscription(
        self,
        project: str,
        source: str,
        now: float,
        subscription_id: str,
        confirmed: bool,
    ) -> bool:
        """Set whether a live subscription is confirmed; False if none."""
        found = self._run(
            Lua.CONFIRM_SUBSCRIPTION,
            project,
            source,
            now,
            _subscription_argument(subscription_id),
            _flag(confirmed),
        )
        return bool(found)

    def delete_subscription(
        self, project: str, source: str, now: float, subscription_id: str
    ) -> None:
        """Delete the subscription, live or expired, if the source has it."""
        self._run(
            Lua.DELETE_SUBSCRIPTION,
            project,
            source,
            now,
            _subscription_argument(subscription_id),
        )

    def purge_subscriptions(self, project: str, source: str, now: float) -> None:
        """Delete every subscription of the source."""
        self._run(Lua.PURGE_SUBSCRIPTIONS, project, source, now)

    def list_subscriptions(
        self,
        project: str,
        source: str,
        now: float,
        *,
        after: str | None,
        limit: int,
    ) -> SubscriptionBatch:
        """List up to ``limit`` live subscriptions with an id after ``after``."""
        examined_all, last, views = self._run(
            Lua.LIST_SUBSCRIPTIONS, project, source, now, after or '', limit
        )
        return SubscriptionBatch(
            subscriptions=[_subscription(view, source, now) for view in views],
            examined_all=bool(examined_all),
            last=text(last) or None,
        )

    # Housekeeping

    def gc(self, now: float, budget: int) -> GCBatch:
        """Visit due queues, removing and retiring up to ``budget`` of each kind."""
        removed, retired, unsubscribed, forgotten, visited, more = self._run(
            Lua.GC, '', '', now, budget
        )
        return GCBatch(
            messages=int(removed),
            claims=int(retired),
            subscriptions=int(unsubscribed),
            idempotency_keys=int(forgotten),
            queues=int(visited),
            more_due=bool(more),
        )

    def _run(
        self,
        script: Lua,
        project: str,
        queue: str,
        now: float,
        *args: str | bytes | int | float,
    ) -> Any:
        """Run ``script`` once, with the four arguments every script takes."""
        # NOTE: repr() of a float round-trips exactly; Lua's tonumber reads it.
        header = (self._namespace, project, queue, repr(now))
        self._check_server()
        with unavailable_on_redis_error('script'):
            return self._registered[script](args=header + args)


# Arguments


def _packed_messages(
    message_ids: Sequence[str], messages: Sequence[NewMessage]
) -> tuple[str, str, bytes]:
    """The three arguments a post's messages travel in (see _post.lua).

    The ids side by side; "TTL DELAY LENGTH" per message; the JSON bodies
    (UTF-8) back to back. Every body is encoded before anything is sent: one
    that cannot be encoded writes nothing.
    """
    bodies = [dump_json(message.body).encode() for message in messages]
    shape = ' '.join(
        f'{message.ttl} {message.delay} {len(body)}'
        for message, body in zip(messages, bodies, strict=True)
    )
    return ''.join(message_ids), shape, b''.join(bodies)


def _flag(value: bool) -> str:
    return '1' if value else '0'


def _marker_argument(marker: int | None) -> str:
    """A marker to list after, as list_messages.lua reads it ('': none)."""
    return '' if marker is None else str(int(marker))


def _distinct(message_ids: Sequence[str]) -> list[str]:
    """Each id once, in a stable order."""
    return sorted(set(message_ids))


def _claim_argument(claim_id: str) -> str:
    """A claim id, checked: it becomes part of key names in the scripts.

    The controllers answer an ill-formed id before it gets here.
    """
    if not ids.is_valid_id(claim_id):
        raise ValueError(f'not a claim id: {claim_id!r}')
    return claim_id


def _subscription_argument(subscription_id: str) -> str:
    """A subscription id, checked: the controller answers an ill-formed one
    (a missing subscription) before it gets here, so none reaches a script.
    """
    if not ids.is_valid_id(subscription_id):
        raise ValueError(f'not a subscription id: {subscription_id!r}')
    return subscription_id


def _optional(value: str | None) -> tuple[str, str]:
    """A value a script may be given or not: ``'1', value`` or ``'0', ''``."""
    return ('0', '') if value is None else ('1', value)


def _policy_arguments(metadata: Metadata) -> tuple[int | str, int, str]:
    """The dead-letter policy as ``_dead_letter.lua`` reads it from ARGV.

    Decided here rather than in Lua, so that the rules are Python's, as for
    the other drivers: active only when both ``_max_claim_count`` (an int)
    and ``_dead_letter_queue`` are set; the TTL counts only if a positive
    int. Max claims, TTL (0: moved messages keep theirs), queue; max claims
    is empty when the queue has no policy.
    """
    policy = DeadLetterPolicy.of(metadata)
    if policy.max_claims is None or policy.queue is None:
        return ('', 0, '')
    return (policy.max_claims, policy.ttl or 0, policy.queue)


# Replies


def _messages(views: list[Any], now: float) -> list[Message]:
    return [_message(view, now) for view in views]


def _message(view: list[Any], now: float) -> Message:
    """Build a Message from a script's ``view`` of it (see _prelude.lua)."""
    message_id, marker, ttl, created, body, claim_id, claim_count = view
    return Message(
        id=text(message_id),
        marker=int(marker),
        ttl=int(ttl),
        age=_age(created, now),
        body=json.loads(body),
        created=float(text(created)),
        claim_id=text(claim_id) or None,
        claim_count=int(claim_count),
    )


def _subscription(view: list[Any], source: str, now: float) -> Subscription:
    """Build a Subscription from a script's view of it (_subscriptions.lua)."""
    subscription_id, subscriber, ttl, updated, options, confirmed = view
    return Subscription(
        id=text(subscription_id),
        source=source,
        subscriber=text(subscriber),
        ttl=int(ttl),
        age=_age(updated, now),
        options=load_metadata(options),
        confirmed=bool(confirmed),
    )


def _summary(reply: list[Any], now: float) -> MessageSummary | None:
    """The oldest or newest message stats.lua found: {id, created} or {}."""
    if not reply:
        return None
    message_id, created = reply
    return MessageSummary(
        id=text(message_id), age=_age(created, now), created=float(text(created))
    )


def _age(when: bytes | str, now: float) -> int:
    """Whole seconds since a time a script returned as text."""
    return max(0, int(now - float(text(when))))


def _marker(reply: bytes | str) -> int | None:
    """A marker a script returned as text ('': none)."""
    return int(text(reply)) if reply else None
