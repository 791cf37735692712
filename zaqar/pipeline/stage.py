"""What a pipeline stage is: the operations it may hook, by resource.

A stage is an object built from the configuration by the factory its entry
point names (usually its class: ``StageClass(conf)``). It hooks an operation
by defining a public method with the operation's name; it defines only the
ones it hooks. The hookable operations of a resource are exactly the abstract
methods of its controller in :mod:`zaqar.storage.base`, and a hook is called
with keyword arguments named exactly as that method's parameters (every
parameter, defaults filled in, but a parameter added after hooks were written
for the operation that the hook does not take: see :class:`Added`), so
``def delete(self, name, project)`` hooks ``QueueController.delete`` and
``def delete(self, **kwargs)`` works too.

A hook returning None lets the pipeline go on to the next stage and finally
the driver. A hook returning anything else stops the pipeline: that value is
the operation's result (for operations whose result is None, the value only
says "handled"; the caller still gets None). A hook may also raise a
:mod:`zaqar.storage.errors` exception, which the transport maps to a status.

The protocols below list every hookable operation with its signature. Stages
need not inherit from them; a stage that does overrides only the methods it
hooks, because the loader never treats a method these protocols declare as a
hook. (Each protocol declares ``list`` last so that the builtin ``list``
still means the type in the annotations before it.)
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
from collections.abc import Callable
from collections.abc import Sequence
from typing import Generic
from typing import Protocol

from oslo_config import cfg

from zaqar.storage import base
from zaqar.storage.models import Claim
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.models import Subscription

# What an entry point in the zaqar.storage.stages group must name.
StageFactory = Callable[[cfg.ConfigOpts], object]

# Public methods a stage may define that are not hooks: zaqar calls
# ``bind_storage(driver)`` once at start-up with the storage driver behind
# the pipeline, for stages that need storage of their own.
SERVICE_METHODS = frozenset({'bind_storage'})


class QueueStage(Protocol):
    """Hooks of a stage listed in ``[storage] queue_pipeline``."""

    def create(self, *, name: str, metadata: Metadata, project: str) -> bool | None:
        """Before a queue is created; True/False answers 201/204."""
        ...

    def exists(self, *, name: str, project: str) -> bool | None:
        """Before the existence check (``HEAD``)."""
        ...

    def get_metadata(self, *, name: str, project: str) -> Metadata | None:
        """Before the queue's metadata is read."""
        ...

    def set_metadata(
        self,
        *,
        name: str,
        metadata: Metadata,
        project: str,
        expected: Metadata | None,
    ) -> object:
        """Before the queue's metadata is replaced (compare-and-set)."""
        ...

    def delete(self, *, name: str, project: str) -> object:
        """Before a queue is deleted; non-None keeps it (still 204)."""
        ...

    def count(self, *, project: str) -> int | None:
        """Before the project's queues are counted."""
        ...

    def stats(self, *, name: str, project: str) -> QueueStats | None:
        """Before the queue's message counts are read."""
        ...

    def list(
        self,
        *,
        project: str,
        marker: str | None,
        limit: int,
        detailed: bool,
        name_contains: str | None,
        metadata_filter: Metadata | None,
    ) -> list[QueueInfo] | None:
        """Before the project's queues are listed."""
        ...


class MessageStage(Protocol):
    """Hooks of a stage listed in ``[storage] message_pipeline``."""

    def post(
        self,
        *,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str] | None:
        """Before messages are posted; a list answers as the new ids."""
        ...

    def post_once(
        self,
        *,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str] | None:
        """Before messages are posted with an idempotency key.

        Optional even for a stage hooking ``post``: a stage without this
        hook has its ``post`` hook called instead, with the four arguments
        it takes (see :data:`MESSAGE`). Define it only to see the key, or
        when the stage stores messages itself: then it must honour the key
        (``storage.messages.post_once``) and return the ids.
        """
        ...

    def post_checked(
        self,
        *,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata,
    ) -> list[str] | None:
        """Before messages validated with remembered metadata are posted.

        Optional, as ``post_once`` is: a stage without this hook has its
        ``post`` hook called instead. Define it only when the stage stores
        messages itself: then it must post them only if the queue still has
        ``metadata`` (``storage.messages.post_checked``).
        """
        ...

    def get(self, *, queue: str, message_id: str, project: str) -> Message | None:
        """Before one message is read."""
        ...

    def get_many(
        self, *, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message] | None:
        """Before several messages are read by id."""
        ...

    def delete(
        self, *, queue: str, message_id: str, project: str, claim_id: str | None
    ) -> object:
        """Before one message is deleted."""
        ...

    def delete_many(
        self,
        *,
        queue: str,
        message_ids: Sequence[str],
        project: str,
        claim_ids: Sequence[str] | None,
    ) -> object:
        """Before several messages are deleted by id.

        ``claim_ids`` (None: not given) came later than the other
        arguments; a hook without that parameter is called without it (see
        :class:`Added`).
        """
        ...

    def pop(self, *, queue: str, limit: int, project: str) -> list[Message] | None:
        """Before messages are popped (read and deleted)."""
        ...

    def purge(self, *, queue: str, project: str) -> object:
        """Before every message of the queue is deleted."""
        ...

    def list(
        self,
        *,
        queue: str,
        project: str,
        client_id: str,
        marker: int | None,
        limit: int,
        echo: bool,
        include_claimed: bool,
        include_delayed: bool,
    ) -> list[Message] | None:
        """Before messages are listed."""
        ...


class ClaimStage(Protocol):
    """Hooks of a stage listed in ``[storage] claim_pipeline``."""

    def create(
        self, *, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Before messages are claimed.

        Returning a value stops the pipeline, so a hook cannot say "no
        message claimed" (the driver's None); raise an error to refuse.
        """
        ...

    def get(self, *, queue: str, claim_id: str, project: str) -> Claim | None:
        """Before a claim is read."""
        ...

    def update(
        self, *, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> object:
        """Before a claim is renewed."""
        ...

    def delete(self, *, queue: str, claim_id: str, project: str) -> object:
        """Before a claim is released."""
        ...


class SubscriptionStage(Protocol):
    """Hooks of a stage listed in ``[storage] subscription_pipeline``."""

    def create(
        self,
        *,
        source: str,
        subscriber: str,
        ttl: int,
        options: Metadata,
        project: str,
    ) -> str | None:
        """Before a subscription is created; a str answers as its new id."""
        ...

    def get(
        self, *, source: str, subscription_id: str, project: str
    ) -> Subscription | None:
        """Before a subscription is read."""
        ...

    def update(
        self,
        *,
        source: str,
        subscription_id: str,
        project: str,
        subscriber: str | None,
        ttl: int | None,
        options: Metadata | None,
    ) -> object:
        """Before a subscription is changed."""
        ...

    def confirm(
        self, *, source: str, subscription_id: str, project: str, confirmed: bool
    ) -> object:
        """Before a subscription is confirmed (or unconfirmed)."""
        ...

    def delete(self, *, source: str, subscription_id: str, project: str) -> object:
        """Before a subscription is deleted."""
        ...

    def purge(self, *, source: str, project: str) -> object:
        """Before every subscription of the source is deleted."""
        ...

    def list(
        self, *, source: str, project: str, marker: str | None, limit: int
    ) -> list[Subscription] | None:
        """Before the source's subscriptions are listed."""
        ...


@dataclasses.dataclass(frozen=True)
class Fallback:
    """An operation whose stages may have hooked another one instead.

    When an operation gains a variant (``post_once``: a post with an
    idempotency key), every stage written for the original must keep
    seeing it, with the arguments it was written for, or clients could
    bypass an audit or quota stage by adding a header; and adding a
    parameter to the original would break their signatures. So a stage
    without a hook for ``operation`` has its ``hooked`` hook called, with
    only the arguments ``hooked`` takes.

    Attributes:
        operation: The variant, e.g. ``post_once``.
        hooked: The operation whose hook stands in, e.g. ``post``.
        capability: What the variant adds, e.g. ``idempotency keys``. A
            stage that does the driver's work itself (``run_last``, as the
            notifier) and hooks ``hooked`` only would answer the variant
            without honouring it: the pipeline refuses the variant then,
            with Unsupported naming the stage, before any hook runs.
    """

    operation: str
    hooked: str
    capability: str


@dataclasses.dataclass(frozen=True)
class Added:
    """A parameter an operation gained after stages were written for it.

    Hooks receive every argument by keyword, so a new parameter would make
    each hook written before it fail the start-up check ("cannot take the
    arguments"). A hook that does not take ``parameter`` (by name, or by
    ``**kwargs``) is therefore called without it, and sees the operation as
    it was written for: an audit or guard stage keeps seeing every call.
    A stage that does the driver's work itself (``run_last``) with such a
    hook would answer a call without honouring the parameter: the pipeline
    refuses calls that give it (not None) with Unsupported naming the
    stage, before any hook runs, and serves the others as before.

    Attributes:
        operation: The operation, e.g. ``delete_many``.
        parameter: Its new parameter, e.g. ``claim_ids``; None means "not
            given".
        capability: What the parameter adds, e.g. ``claim-checked bulk
            deletes``, for the refusal.
    """

    operation: str
    parameter: str
    capability: str


def takes(hook: Callable[..., object], parameter: str) -> bool:
    """Tell whether ``hook`` can be given ``parameter`` by keyword."""
    try:
        signature = inspect.signature(hook)
    except (TypeError, ValueError):
        # Not introspectable (a C function): assume it does, as the
        # start-up check assumes it takes every argument.
        return True
    for candidate in signature.parameters.values():
        if candidate.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if candidate.name == parameter:
            return candidate.kind is not inspect.Parameter.POSITIONAL_ONLY
    return False


@dataclasses.dataclass(frozen=True)
class Resource:
    """One resource whose operations a pipeline runs stages for.

    Attributes:
        name: As in the option name ``[storage] <name>_pipeline``.
        controller: The storage controller whose methods stages hook.
        protocol: The protocol documenting the hooks.
        fallbacks: Operations whose stages may hook another one instead.
        added: Parameters that hooks written before them do not get.
    """

    name: str
    controller: abc.ABCMeta
    protocol: type
    fallbacks: tuple[Fallback, ...] = ()
    added: tuple[Added, ...] = ()

    @property
    def option(self) -> str:
        """The ``[storage]`` option that lists this resource's stages."""
        return f'{self.name}_pipeline'

    def operations(self) -> dict[str, tuple[str, ...]]:
        """Map each hookable operation to its parameter names, in order."""
        # Every public method the controller ABC defines, abstract or not
        # (MessageController.get has a default built on get_many).
        return {
            name: parameter_names(method)
            for name, method in sorted(vars(self.controller).items())
            if inspect.isfunction(method) and not name.startswith('_')
        }

    def arguments_for(
        self, operation: str, hook: Callable[..., object]
    ) -> tuple[str, ...]:
        """The names of the arguments ``hook`` is given for ``operation``.

        Every parameter of the operation, but those added later (see
        :class:`Added`) that the hook does not take.
        """
        skipped = {
            added.parameter
            for added in self.added
            if added.operation == operation and not takes(hook, added.parameter)
        }
        return tuple(
            name for name in self.operations()[operation] if name not in skipped
        )


def parameter_names(method: Callable[..., object]) -> tuple[str, ...]:
    """Return the parameter names of an unbound method, ``self`` excluded."""
    parameters = list(inspect.signature(method).parameters)
    return tuple(parameters[1:])


QUEUE = Resource('queue', base.QueueController, QueueStage)
MESSAGE = Resource(
    'message',
    base.MessageController,
    MessageStage,
    fallbacks=(
        Fallback('post_once', 'post', 'idempotency keys'),
        Fallback('post_checked', 'post', 'metadata-checked posts'),
    ),
    added=(Added('delete_many', 'claim_ids', 'claim-checked bulk deletes'),),
)
CLAIM = Resource('claim', base.ClaimController, ClaimStage)
SUBSCRIPTION = Resource('subscription', base.SubscriptionController, SubscriptionStage)
RESOURCES = (QUEUE, MESSAGE, CLAIM, SUBSCRIPTION)
BY_NAME = {resource.name: resource for resource in RESOURCES}


def is_declaration(klass: type) -> bool:
    """Tell whether ``klass`` only declares methods (never hooks them).

    ``object`` and ``Generic`` bring no hooks, and protocols, these above
    as well as any a stage author writes, declare signatures to override.
    """
    return klass in (object, Generic) or bool(klass.__dict__.get('_is_protocol'))
