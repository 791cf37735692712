"""A data driver that runs the configured stages in front of another.

Every controller method is written out as one call of :meth:`Pipeline.call`
(or :meth:`Pipeline.call_action`) with the wrapped driver's method: it runs
the hooks of the operation in the configured order, stops at the first hook
that returns a value, and otherwise calls the driver's method, which is
always the last stage. mypy checks each call's arguments against the
driver's signature, so readers and type checkers see exactly what runs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import ParamSpec
from typing import TypeVar

from zaqar.pipeline import stage as stage_api
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import Claim
from zaqar.storage.models import GCReport
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.models import Subscription

LOG = logging.getLogger(__name__)

Hook = Callable[..., Any]

_P = ParamSpec('_P')
_R = TypeVar('_R')


@dataclasses.dataclass(frozen=True)
class StageHooks:
    """One loaded stage: its configured name and what it hooks.

    Attributes:
        name: The stage's entry point name, as configured.
        hooks: Operation name to the stage's bound method for it.
        stage: The stage object itself.
    """

    name: str
    hooks: Mapping[str, Hook]
    stage: object = None


class Pipeline:
    """The stages in front of one controller, in the configured order.

    Args:
        resource: ``queue``, ``message``, ``claim`` or ``subscription``, for
            logs, and for the resource's fallbacks (a keyed post runs the
            ``post`` hooks of stages without a ``post_once`` hook).
        stages: The loaded stages, first to run first.
    """

    def __init__(self, resource: str, stages: Sequence[StageHooks] = ()) -> None:
        self.resource = resource
        self.stages: tuple[str, ...] = tuple(stage.name for stage in stages)
        self.stage_objects: tuple[object, ...] = tuple(
            stage.stage for stage in stages if stage.stage is not None
        )
        hooks: dict[str, list[tuple[str, Hook]]] = {}
        for stage in stages:
            for operation, hook in stage.hooks.items():
                hooks.setdefault(operation, []).append((stage.name, hook))
        known = stage_api.BY_NAME.get(resource)
        if known is not None:
            for fallback in known.fallbacks:
                found = _with_fallback(known, fallback, stages)
                if found:
                    hooks[fallback.operation] = found
            run_last = {s.name for s in stages if getattr(s.stage, 'run_last', False)}
            for operation in {added.operation for added in known.added}:
                if operation in hooks:
                    hooks[operation] = _fitted(
                        known, operation, hooks[operation], run_last
                    )
        # Tuples keyed by operation: a call does one dict lookup and nothing
        # at all when no stage hooks the operation.
        self._hooks = {operation: tuple(found) for operation, found in hooks.items()}

    def run(self, operation: str, /, **arguments: Any) -> Any:
        """Run the hooks of ``operation``; return the first non-None result.

        Returns:
            The value that stops the pipeline, or None when every hook let
            the call through to the driver.
        """
        for stage, hook in self._hooks.get(operation, ()):
            result = hook(**arguments)
            if result is not None:
                LOG.debug('%s.%s answered by stage %r', self.resource, operation, stage)
                return result
        return None

    def call(
        self,
        name: str,
        operation: Callable[_P, _R],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _R:
        """Run the hooks of operation ``name``, then ``operation`` unless stopped.

        ``operation`` is the driver's bound method of that name; mypy checks
        the arguments against its signature. They must be given by keyword,
        because hooks receive them by name.

        Returns:
            The value of the hook that stopped the pipeline, else the
            driver's result.
        """
        _by_keyword_only(name, args)
        result: _R | None = self.run(name, **kwargs)
        if result is not None:
            return result
        return operation(*args, **kwargs)

    def call_action(
        self,
        name: str,
        operation: Callable[_P, None],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> None:
        """Like :meth:`call`, for operations without a result.

        A hook's non-None value then only means "handled": the driver is
        not called, and the caller still gets None.
        """
        _by_keyword_only(name, args)
        if self.run(name, **kwargs) is None:
            operation(*args, **kwargs)


def _with_fallback(
    resource: stage_api.Resource,
    fallback: stage_api.Fallback,
    stages: Sequence[StageHooks],
) -> list[tuple[str, Hook]]:
    """The hooks of ``fallback.operation``, in stage order (see Fallback).

    A stage's own hook for the operation, else its ``fallback.hooked`` hook
    given only the arguments that operation takes. A stage answering in
    the driver's place (``run_last``) without a hook of its own puts a
    refusal first, so that nothing runs.
    """
    parameters = resource.operations()[fallback.hooked]
    found: list[tuple[str, Hook]] = []
    for stage in stages:
        hook = stage.hooks.get(fallback.operation)
        if hook is None and fallback.hooked in stage.hooks:
            if getattr(stage.stage, 'run_last', False):
                return [(stage.name, _refusal(fallback, stage.name)), *found]
            hook = _narrowed(stage.hooks[fallback.hooked], parameters)
        if hook is not None:
            found.append((stage.name, hook))
    return found


def _fitted(
    resource: stage_api.Resource,
    operation: str,
    found: list[tuple[str, Hook]],
    run_last: set[str],
) -> list[tuple[str, Hook]]:
    """The hooks of an operation that gained parameters (see Added).

    Each hook is called with the arguments it takes. For each stage in
    ``run_last`` whose hook misses an added parameter, a refusal of calls
    giving that parameter comes first, so that nothing runs then.
    """
    parameters = resource.operations()[operation]
    refusals: list[tuple[str, Hook]] = []
    fitted: list[tuple[str, Hook]] = []
    for stage, hook in found:
        given = resource.arguments_for(operation, hook)
        if given == parameters:
            fitted.append((stage, hook))
            continue
        missed = [
            added
            for added in resource.added
            if added.operation == operation and added.parameter not in given
        ]
        if stage in run_last:
            refusals.append((stage, _refusal_if_given(missed, stage)))
        fitted.append((stage, _narrowed(hook, given)))
    return [*refusals, *fitted]


def _refusal_if_given(missed: list[stage_api.Added], stage: str) -> Hook:
    """A hook refusing the calls that give one of ``missed`` on behalf of ``stage``."""

    def refuse_if_given(**arguments: Any) -> Any:
        for added in missed:
            if arguments.get(added.parameter) is not None:
                raise errors.Unsupported(
                    added.capability, stage, provider='pipeline stage'
                )
        return None

    return refuse_if_given


def _narrowed(hook: Hook, parameters: tuple[str, ...]) -> Hook:
    """``hook``, called with only the arguments named ``parameters``."""

    def narrowed(**arguments: Any) -> Any:
        return hook(**{name: arguments[name] for name in parameters})

    return narrowed


def _refusal(fallback: stage_api.Fallback, stage: str) -> Hook:
    """A hook refusing ``fallback.operation`` on behalf of ``stage``."""

    def refuse(**arguments: Any) -> Any:
        raise errors.Unsupported(fallback.capability, stage, provider='pipeline stage')

    return refuse


def _by_keyword_only(name: str, args: tuple[object, ...]) -> None:
    if args:
        raise TypeError(f'pipeline calls of {name} take keyword arguments only')


@dataclasses.dataclass(frozen=True)
class Pipelines:
    """The pipeline of each resource that has storage operations."""

    queue: Pipeline = dataclasses.field(default_factory=lambda: Pipeline('queue'))
    message: Pipeline = dataclasses.field(default_factory=lambda: Pipeline('message'))
    claim: Pipeline = dataclasses.field(default_factory=lambda: Pipeline('claim'))
    subscription: Pipeline = dataclasses.field(
        default_factory=lambda: Pipeline('subscription')
    )

    def all(self) -> tuple[Pipeline, ...]:
        """Return the pipelines in a fixed order."""
        return (self.queue, self.message, self.claim, self.subscription)

    @property
    def empty(self) -> bool:
        """Tell whether no stage is configured at all."""
        return not any(pipeline.stages for pipeline in self.all())

    def describe(self) -> str:
        """Say which stages run, e.g. ``queue=[audit, guard]``."""
        return ', '.join(
            f'{pipeline.resource}=[{", ".join(pipeline.stages)}]'
            for pipeline in self.all()
            if pipeline.stages
        )


class PipelineQueueController(base.QueueController):
    """Queue operations through the queue pipeline, then the driver.

    ``list`` comes last so that the builtin still names the type above it.
    """

    def __init__(self, driver: base.DataDriver, pipeline: Pipeline) -> None:
        self._driver = driver.queues
        self._pipeline = pipeline

    def create(self, name: str, metadata: Metadata, project: str) -> bool:
        """Run the ``create`` hooks, then create the queue."""
        return self._pipeline.call(
            'create', self._driver.create, name=name, metadata=metadata, project=project
        )

    def exists(self, name: str, project: str) -> bool:
        """Run the ``exists`` hooks, then ask the driver."""
        return self._pipeline.call(
            'exists', self._driver.exists, name=name, project=project
        )

    def get_metadata(self, name: str, project: str) -> Metadata:
        """Run the ``get_metadata`` hooks, then read the metadata."""
        return self._pipeline.call(
            'get_metadata', self._driver.get_metadata, name=name, project=project
        )

    def set_metadata(
        self,
        name: str,
        metadata: Metadata,
        project: str,
        expected: Metadata | None = None,
    ) -> None:
        """Run the ``set_metadata`` hooks, then replace the metadata."""
        self._pipeline.call_action(
            'set_metadata',
            self._driver.set_metadata,
            name=name,
            metadata=metadata,
            project=project,
            expected=expected,
        )

    def delete(self, name: str, project: str) -> None:
        """Run the ``delete`` hooks, then delete the queue."""
        self._pipeline.call_action(
            'delete', self._driver.delete, name=name, project=project
        )

    def count(self, project: str) -> int:
        """Run the ``count`` hooks, then count the queues."""
        return self._pipeline.call('count', self._driver.count, project=project)

    def stats(self, name: str, project: str) -> QueueStats:
        """Run the ``stats`` hooks, then count the queue's messages."""
        return self._pipeline.call(
            'stats', self._driver.stats, name=name, project=project
        )

    def list(
        self,
        project: str,
        marker: str | None = None,
        limit: int = 10,
        detailed: bool = False,
        name_contains: str | None = None,
        metadata_filter: Metadata | None = None,
    ) -> list[QueueInfo]:
        """Run the ``list`` hooks, then list the queues."""
        return self._pipeline.call(
            'list',
            self._driver.list,
            project=project,
            marker=marker,
            limit=limit,
            detailed=detailed,
            name_contains=name_contains,
            metadata_filter=metadata_filter,
        )


class PipelineMessageController(base.MessageController):
    """Message operations through the message pipeline, then the driver.

    ``list`` comes last so that the builtin still names the type above it.
    """

    def __init__(self, driver: base.DataDriver, pipeline: Pipeline) -> None:
        self._driver = driver.messages
        self._pipeline = pipeline

    def post(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
    ) -> list[str]:
        """Run the ``post`` hooks, then store the messages."""
        return self._pipeline.call(
            'post',
            self._driver.post,
            queue=queue,
            messages=messages,
            project=project,
            client_id=client_id,
        )

    def post_once(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        idempotency_key: IdempotencyKey,
    ) -> list[str]:
        """Run the ``post_once`` hooks, then post at most once per key.

        A stage without a ``post_once`` hook has its ``post`` hook run
        instead (see :class:`zaqar.pipeline.stage.Fallback`).
        """
        return self._pipeline.call(
            'post_once',
            self._driver.post_once,
            queue=queue,
            messages=messages,
            project=project,
            client_id=client_id,
            idempotency_key=idempotency_key,
        )

    def post_checked(
        self,
        queue: str,
        messages: Sequence[NewMessage],
        project: str,
        client_id: str,
        metadata: Metadata,
    ) -> list[str]:
        """Run the ``post_checked`` hooks, then post if the metadata holds.

        A stage without a ``post_checked`` hook has its ``post`` hook run
        instead (see :class:`zaqar.pipeline.stage.Fallback`).
        """
        return self._pipeline.call(
            'post_checked',
            self._driver.post_checked,
            queue=queue,
            messages=messages,
            project=project,
            client_id=client_id,
            metadata=metadata,
        )

    def get(self, queue: str, message_id: str, project: str) -> Message:
        """Run the ``get`` hooks, then read the message."""
        return self._pipeline.call(
            'get', self._driver.get, queue=queue, message_id=message_id, project=project
        )

    def get_many(
        self, queue: str, message_ids: Sequence[str], project: str
    ) -> list[Message]:
        """Run the ``get_many`` hooks, then read the messages."""
        return self._pipeline.call(
            'get_many',
            self._driver.get_many,
            queue=queue,
            message_ids=message_ids,
            project=project,
        )

    def delete(
        self,
        queue: str,
        message_id: str,
        project: str,
        claim_id: str | None = None,
    ) -> None:
        """Run the ``delete`` hooks, then delete the message."""
        self._pipeline.call_action(
            'delete',
            self._driver.delete,
            queue=queue,
            message_id=message_id,
            project=project,
            claim_id=claim_id,
        )

    def delete_many(
        self,
        queue: str,
        message_ids: Sequence[str],
        project: str,
        claim_ids: Sequence[str] | None = None,
    ) -> None:
        """Run the ``delete_many`` hooks, then delete the messages.

        A hook without a ``claim_ids`` parameter is called without it (see
        :class:`zaqar.pipeline.stage.Added`); so is the driver when there
        are none, so that one written before claim-checked deletes still
        deletes by ids.
        """

        def delete(
            queue: str,
            message_ids: Sequence[str],
            project: str,
            claim_ids: Sequence[str] | None = None,
        ) -> None:
            if claim_ids is None:
                self._driver.delete_many(queue, message_ids, project)
            else:
                self._driver.delete_many(
                    queue, message_ids, project, claim_ids=claim_ids
                )

        self._pipeline.call_action(
            'delete_many',
            delete,
            queue=queue,
            message_ids=message_ids,
            project=project,
            claim_ids=claim_ids,
        )

    def pop(self, queue: str, limit: int, project: str) -> list[Message]:
        """Run the ``pop`` hooks, then pop the messages."""
        return self._pipeline.call(
            'pop', self._driver.pop, queue=queue, limit=limit, project=project
        )

    def purge(self, queue: str, project: str) -> None:
        """Run the ``purge`` hooks, then purge the queue."""
        self._pipeline.call_action(
            'purge', self._driver.purge, queue=queue, project=project
        )

    def list(
        self,
        queue: str,
        project: str,
        client_id: str,
        marker: int | None = None,
        limit: int = 10,
        echo: bool = False,
        include_claimed: bool = False,
        include_delayed: bool = False,
    ) -> list[Message]:
        """Run the ``list`` hooks, then list the messages."""
        return self._pipeline.call(
            'list',
            self._driver.list,
            queue=queue,
            project=project,
            client_id=client_id,
            marker=marker,
            limit=limit,
            echo=echo,
            include_claimed=include_claimed,
            include_delayed=include_delayed,
        )


class PipelineClaimController(base.ClaimController):
    """Claim operations through the claim pipeline, then the driver."""

    def __init__(self, driver: base.DataDriver, pipeline: Pipeline) -> None:
        self._driver = driver.claims
        self._pipeline = pipeline

    def create(
        self, queue: str, project: str, ttl: int, grace: int, limit: int
    ) -> Claim | None:
        """Run the ``create`` hooks, then claim messages."""
        return self._pipeline.call(
            'create',
            self._driver.create,
            queue=queue,
            project=project,
            ttl=ttl,
            grace=grace,
            limit=limit,
        )

    def get(self, queue: str, claim_id: str, project: str) -> Claim:
        """Run the ``get`` hooks, then read the claim."""
        return self._pipeline.call(
            'get', self._driver.get, queue=queue, claim_id=claim_id, project=project
        )

    def update(
        self, queue: str, claim_id: str, project: str, ttl: int, grace: int
    ) -> None:
        """Run the ``update`` hooks, then renew the claim."""
        self._pipeline.call_action(
            'update',
            self._driver.update,
            queue=queue,
            claim_id=claim_id,
            project=project,
            ttl=ttl,
            grace=grace,
        )

    def delete(self, queue: str, claim_id: str, project: str) -> None:
        """Run the ``delete`` hooks, then release the claim."""
        self._pipeline.call_action(
            'delete',
            self._driver.delete,
            queue=queue,
            claim_id=claim_id,
            project=project,
        )


class PipelineSubscriptionController(base.SubscriptionController):
    """Subscription operations through their pipeline, then the driver.

    ``list`` comes last so that the builtin still names the type above it.
    """

    def __init__(self, driver: base.DataDriver, pipeline: Pipeline) -> None:
        self._driver = driver.subscriptions
        self._pipeline = pipeline

    def create(
        self,
        source: str,
        subscriber: str,
        ttl: int,
        options: Metadata,
        project: str,
    ) -> str:
        """Run the ``create`` hooks, then create the subscription."""
        return self._pipeline.call(
            'create',
            self._driver.create,
            source=source,
            subscriber=subscriber,
            ttl=ttl,
            options=options,
            project=project,
        )

    def get(self, source: str, subscription_id: str, project: str) -> Subscription:
        """Run the ``get`` hooks, then read the subscription."""
        return self._pipeline.call(
            'get',
            self._driver.get,
            source=source,
            subscription_id=subscription_id,
            project=project,
        )

    def update(
        self,
        source: str,
        subscription_id: str,
        project: str,
        subscriber: str | None = None,
        ttl: int | None = None,
        options: Metadata | None = None,
    ) -> None:
        """Run the ``update`` hooks, then change the subscription."""
        self._pipeline.call_action(
            'update',
            self._driver.update,
            source=source,
            subscription_id=subscription_id,
            project=project,
            subscriber=subscriber,
            ttl=ttl,
            options=options,
        )

    def confirm(
        self, source: str, subscription_id: str, project: str, confirmed: bool
    ) -> None:
        """Run the ``confirm`` hooks, then record the confirmation."""
        self._pipeline.call_action(
            'confirm',
            self._driver.confirm,
            source=source,
            subscription_id=subscription_id,
            project=project,
            confirmed=confirmed,
        )

    def delete(self, source: str, subscription_id: str, project: str) -> None:
        """Run the ``delete`` hooks, then delete the subscription."""
        self._pipeline.call_action(
            'delete',
            self._driver.delete,
            source=source,
            subscription_id=subscription_id,
            project=project,
        )

    def purge(self, source: str, project: str) -> None:
        """Run the ``purge`` hooks, then delete the source's subscriptions."""
        self._pipeline.call_action(
            'purge', self._driver.purge, source=source, project=project
        )

    def list(
        self,
        source: str,
        project: str,
        marker: str | None = None,
        limit: int = 10,
    ) -> list[Subscription]:
        """Run the ``list`` hooks, then list the subscriptions."""
        return self._pipeline.call(
            'list',
            self._driver.list,
            source=source,
            project=project,
            marker=marker,
            limit=limit,
        )


class PipelineDriver(base.DataDriver):
    """A data driver whose controllers run stages before ``driver``'s.

    Housekeeping (``is_alive``, ``gc``, ``close``) is not hookable and goes
    straight to the wrapped driver. The clock is the wrapped driver's.

    Args:
        driver: The storage driver, the last stage of every pipeline.
        pipelines: The stages of each resource.
    """

    def __init__(self, driver: base.DataDriver, pipelines: Pipelines) -> None:
        super().__init__(driver.clock)
        self.driver = driver
        self.pipelines = pipelines
        self._queues = PipelineQueueController(driver, pipelines.queue)
        self._messages = PipelineMessageController(driver, pipelines.message)
        self._claims = PipelineClaimController(driver, pipelines.claim)
        # Built on first use: a driver without subscriptions raises
        # Unsupported only when they are asked for, as it does unwrapped.
        self._subscriptions: PipelineSubscriptionController | None = None

    @property
    def queues(self) -> PipelineQueueController:
        """The queue controller, behind the queue pipeline."""
        return self._queues

    @property
    def messages(self) -> PipelineMessageController:
        """The message controller, behind the message pipeline."""
        return self._messages

    @property
    def claims(self) -> PipelineClaimController:
        """The claim controller, behind the claim pipeline."""
        return self._claims

    @property
    def subscriptions(self) -> PipelineSubscriptionController:
        """The subscription controller, behind the subscription pipeline.

        Raises:
            Unsupported: The wrapped driver stores no subscriptions.
        """
        if self._subscriptions is None:
            # NOTE: unlocked on purpose: two threads building it at once
            # build equal controllers, and either one will do.
            self._subscriptions = PipelineSubscriptionController(
                self.driver, self.pipelines.subscription
            )
        return self._subscriptions

    def is_alive(self) -> bool:
        """Ask the wrapped driver."""
        return self.driver.is_alive()

    def gc(self) -> GCReport:
        """Collect garbage in the wrapped driver."""
        return self.driver.gc()

    def describe(self) -> str:
        """Describe the wrapped driver and name the stages in front of it."""
        stages = self.pipelines.describe()
        described = self.driver.describe()
        return f'{described}; stages: {stages}' if stages else described

    def close(self) -> None:
        """Close the wrapped driver."""
        self.driver.close()
