"""The storage pipeline: order, short-circuits, delegation, load checks."""

from __future__ import annotations

import functools
import inspect
import itertools
import sys
import textwrap
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from oslo_config import cfg
from stevedore import extension

from zaqar import bootstrap
from zaqar import conf as zaqar_conf
from zaqar import pipeline
from zaqar.common.clock import ManualClock
from zaqar.pipeline import loader
from zaqar.pipeline import stage as stage_api
from zaqar.pipeline.pipeline import PipelineDriver
from zaqar.pipeline.pipeline import Pipelines
from zaqar.storage import base
from zaqar.storage import errors
from zaqar.storage.models import GCReport
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import NewMessage
from zaqar.storage.sqlite.driver import SqliteDriver

HOOKABLE = stage_api.RESOURCES
_unique = itertools.count()


class FakeDriver(base.DataDriver):
    """A driver whose controllers are autospec mocks of the ABCs."""

    def __init__(self) -> None:
        super().__init__(ManualClock())
        self._queues = mock.create_autospec(base.QueueController, instance=True)
        self._messages = mock.create_autospec(base.MessageController, instance=True)
        self._claims = mock.create_autospec(base.ClaimController, instance=True)
        self._subscriptions = mock.create_autospec(
            base.SubscriptionController, instance=True
        )
        self.closed = False

    @property
    def queues(self) -> Any:
        return self._queues

    @property
    def messages(self) -> Any:
        return self._messages

    @property
    def claims(self) -> Any:
        return self._claims

    @property
    def subscriptions(self) -> Any:
        return self._subscriptions

    def controller(self, resource: stage_api.Resource) -> Any:
        return getattr(self, f'{resource.name}s')

    def is_alive(self) -> bool:
        return True

    def gc(self) -> GCReport:
        return GCReport(messages=3, claims=2)

    def describe(self) -> str:
        return 'fake'

    def close(self) -> None:
        self.closed = True


class Recorder:
    """Stages built by :func:`recording_stage` append their calls here."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def stages(self, operation: str) -> list[str]:
        return [stage for stage, op, _ in self.calls if op == operation]


def recording_stage(
    recorder: Recorder,
    label: str,
    operations: list[str],
    answers: dict[str, Any] | None = None,
) -> Callable[[cfg.ConfigOpts], object]:
    """Make a stage class hooking ``operations`` by ``**kwargs`` methods."""

    def hook(operation: str) -> Callable[..., Any]:
        def method(self: object, **arguments: Any) -> Any:
            recorder.calls.append((label, operation, arguments))
            return (answers or {}).get(operation)

        return method

    namespace: dict[str, Any] = {op: hook(op) for op in operations}
    namespace['__init__'] = lambda self, conf: None
    return type(f'Stage_{label}', (), namespace)


def new_conf(**pipelines: list[str]) -> cfg.ConfigOpts:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    for resource, names in pipelines.items():
        conf.set_override(f'{resource}_pipeline', names, group='storage')
    return conf


def finder(**factories: Any) -> loader.StageFinder:
    def find(name: str) -> Any:
        try:
            return factories[name]
        except KeyError:
            raise loader.StageNotFound('is not installed') from None

    return find


def build(
    driver: FakeDriver, factories: dict[str, Any], **pipelines: list[str]
) -> PipelineDriver:
    conf = new_conf(**pipelines)
    return PipelineDriver(driver, loader.load_pipelines(conf, finder(**factories)))


def sample_arguments(resource: stage_api.Resource, operation: str) -> dict[str, Any]:
    """One distinct value per parameter of the operation."""
    names = resource.operations()[operation]
    return {name: f'<{operation}.{name}>' for name in names}


OPERATIONS = [
    pytest.param(resource, operation, id=f'{resource.name}.{operation}')
    for resource in HOOKABLE
    for operation in resource.operations()
]


# Delegation -------------------------------------------------------------


@pytest.mark.parametrize(('resource', 'operation'), OPERATIONS)
def test_every_operation_reaches_the_hook_and_the_driver_with_its_arguments(
    resource: stage_api.Resource, operation: str
) -> None:
    recorder = Recorder()
    driver = FakeDriver()
    stack = build(
        driver,
        {'rec': recording_stage(recorder, 'rec', list(resource.operations()))},
        **{resource.name: ['rec']},
    )
    arguments = sample_arguments(resource, operation)
    method = getattr(getattr(stack, f'{resource.name}s'), operation)

    # The transport passes arguments positionally.
    result = method(*arguments.values())

    assert recorder.calls == [('rec', operation, arguments)]
    driver_method = getattr(driver.controller(resource), operation)
    driver_method.assert_called_once_with(*arguments.values())
    returns = inspect.signature(
        getattr(resource.controller, operation)
    ).return_annotation
    if returns == 'None':
        assert result is None
    else:
        assert result is driver_method.return_value


@pytest.mark.parametrize(('resource', 'operation'), OPERATIONS)
def test_a_value_from_a_hook_stops_before_the_driver(
    resource: stage_api.Resource, operation: str
) -> None:
    answer = object()
    driver = FakeDriver()
    stack = build(
        driver,
        {'stop': recording_stage(Recorder(), 'stop', [operation], {operation: answer})},
        **{resource.name: ['stop']},
    )
    method = getattr(getattr(stack, f'{resource.name}s'), operation)

    result = method(*sample_arguments(resource, operation).values())

    getattr(driver.controller(resource), operation).assert_not_called()
    returns = inspect.signature(
        getattr(resource.controller, operation)
    ).return_annotation
    assert result is (None if returns == 'None' else answer)


def test_hooks_get_defaulted_arguments_by_keyword() -> None:
    recorder = Recorder()
    stack = build(
        FakeDriver(),
        {'rec': recording_stage(recorder, 'rec', ['list'])},
        message=['rec'],
    )

    stack.messages.list('q', 'p', 'c')

    assert recorder.calls == [
        (
            'rec',
            'list',
            {
                'queue': 'q',
                'project': 'p',
                'client_id': 'c',
                'marker': None,
                'limit': 10,
                'echo': False,
                'include_claimed': False,
                'include_delayed': False,
            },
        )
    ]


def test_hooks_with_named_parameters_are_called_by_keyword() -> None:
    seen: list[tuple[str, str, str]] = []

    class Named:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete(self, project: str, queue: str, claim_id: str) -> None:
            seen.append((queue, claim_id, project))

    driver = FakeDriver()
    stack = build(driver, {'named': Named}, claim=['named'])

    stack.claims.delete('q', 'c1', 'p')

    assert seen == [('q', 'c1', 'p')]
    driver.claims.delete.assert_called_once_with('q', 'c1', 'p')


# Order and short-circuits -----------------------------------------------


@pytest.mark.parametrize('order', [['a', 'b', 'c'], ['c', 'a', 'b']])
def test_stages_run_in_the_configured_order(order: list[str]) -> None:
    recorder = Recorder()
    factories = {label: recording_stage(recorder, label, ['create']) for label in 'abc'}
    driver = FakeDriver()
    stack = build(driver, factories, queue=order)

    stack.queues.create('q', {}, 'p')

    assert recorder.stages('create') == order
    driver.queues.create.assert_called_once_with('q', {}, 'p')


def test_a_stopping_stage_skips_later_stages_and_the_driver() -> None:
    recorder = Recorder()
    factories = {
        'first': recording_stage(recorder, 'first', ['delete']),
        'guard': recording_stage(recorder, 'guard', ['delete'], {'delete': True}),
        'last': recording_stage(recorder, 'last', ['delete']),
    }
    driver = FakeDriver()
    stack = build(driver, factories, queue=['first', 'guard', 'last'])

    assert stack.queues.delete('q', 'p') is None

    assert recorder.stages('delete') == ['first', 'guard']
    driver.queues.delete.assert_not_called()


@pytest.mark.parametrize('answer', [True, False])
def test_create_passes_a_stages_bool_through(answer: bool) -> None:
    # The transport answers 201 for True and 204 for False: False must stop
    # the pipeline and come back as False, not be taken for "go on".
    driver = FakeDriver()
    stack = build(
        driver,
        {'s': recording_stage(Recorder(), 's', ['create'], {'create': answer})},
        queue=['s'],
    )

    assert stack.queues.create('q', {}, 'p') is answer
    driver.queues.create.assert_not_called()


def test_create_returns_the_drivers_bool_when_no_stage_answers() -> None:
    driver = FakeDriver()
    driver.queues.create.return_value = False
    stack = build(
        driver, {'s': recording_stage(Recorder(), 's', ['create'])}, queue=['s']
    )

    assert stack.queues.create('q', {}, 'p') is False


def test_an_error_raised_by_a_hook_reaches_the_caller() -> None:
    class Refuse:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def post(self, queue: str, **rest: Any) -> None:
            raise errors.QueueDoesNotExist(queue, rest['project'])

    driver = FakeDriver()
    stack = build(driver, {'refuse': Refuse}, message=['refuse'])

    with pytest.raises(errors.QueueDoesNotExist):
        stack.messages.post('q', [], 'p', 'c')
    driver.messages.post.assert_not_called()


def test_each_pipeline_runs_only_for_its_resource() -> None:
    recorder = Recorder()
    driver = FakeDriver()
    stack = build(
        driver,
        {
            'q': recording_stage(recorder, 'q', ['delete']),
            'm': recording_stage(recorder, 'm', ['delete']),
            'c': recording_stage(recorder, 'c', ['delete']),
        },
        queue=['q'],
        message=['m'],
        claim=['c'],
    )

    stack.messages.delete('queue', 'id', 'p')
    stack.claims.delete('queue', 'claim', 'p')
    stack.queues.delete('queue', 'p')

    assert recorder.stages('delete') == ['m', 'c', 'q']


def test_a_stage_listed_in_two_pipelines_is_built_once_for_each() -> None:
    built: list[object] = []

    class Both:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            built.append(self)

        def delete(self, **arguments: Any) -> None:
            pass

    build(FakeDriver(), {'both': Both}, queue=['both'], claim=['both'])

    assert len(built) == 2


# The data driver around the pipelines -----------------------------------


def test_housekeeping_goes_straight_to_the_driver() -> None:
    driver = FakeDriver()
    stack = build(
        driver, {'s': recording_stage(Recorder(), 's', ['create'])}, queue=['s']
    )

    assert stack.clock is driver.clock
    assert stack.is_alive() is True
    assert stack.gc() == GCReport(messages=3, claims=2)
    stack.close()
    assert driver.closed


def test_describe_names_the_driver_and_the_stages() -> None:
    factories = {
        label: recording_stage(Recorder(), label, ['delete']) for label in 'abc'
    }
    stack = build(FakeDriver(), factories, queue=['b', 'a'], claim=['c'])

    assert stack.describe() == 'fake; stages: queue=[b, a], claim=[c]'


def test_without_stages_the_driver_is_used_as_is() -> None:
    driver = FakeDriver()

    assert pipeline.wrap(driver, Pipelines()) is driver


class WithoutSubscriptions(base.DataDriver):
    """A minimal third-party driver: it keeps the default ``subscriptions``."""

    def __init__(self) -> None:
        super().__init__(ManualClock())
        self._queues = mock.create_autospec(base.QueueController, instance=True)
        self._messages = mock.create_autospec(base.MessageController, instance=True)
        self._claims = mock.create_autospec(base.ClaimController, instance=True)

    @property
    def queues(self) -> Any:
        return self._queues

    @property
    def messages(self) -> Any:
        return self._messages

    @property
    def claims(self) -> Any:
        return self._claims

    def is_alive(self) -> bool:
        return True

    def gc(self) -> GCReport:
        return GCReport()


def test_a_driver_without_the_capability_raises_unsupported() -> None:
    with pytest.raises(errors.Unsupported) as refused:
        _ = WithoutSubscriptions().subscriptions

    assert str(refused.value) == (
        'The storage driver of this server (WithoutSubscriptions) does not '
        'support subscriptions.'
    )


def test_the_pipeline_raises_unsupported_only_when_subscriptions_are_used() -> None:
    recorder = Recorder()
    driver = WithoutSubscriptions()
    factories = {
        'q': recording_stage(recorder, 'q', ['count']),
        's': recording_stage(recorder, 's', ['create']),
    }

    # Starting up works: the driver serves everything else.
    stack = PipelineDriver(
        driver,
        loader.load_pipelines(
            new_conf(queue=['q'], subscription=['s']), finder(**factories)
        ),
    )
    stack.queues.count('p')
    driver.queues.count.assert_called_once_with('p')

    for _ in range(2):
        with pytest.raises(errors.Unsupported):
            stack.subscriptions.create('q', 'http://h', 60, {}, 'p')
    assert recorder.stages('create') == []


# Keyed posts: post_once, and the post hooks standing in for it ----------

KEYED = IdempotencyKey('k', b'fingerprint', 60)


def test_a_keyed_post_runs_the_post_hooks_of_stages_written_before_keys() -> None:
    calls: list[tuple[str, ...]] = []

    class WrittenBefore:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def post(
            self,
            queue: str,
            messages: Sequence[NewMessage],
            project: str,
            client_id: str,
        ) -> None:
            calls.append((queue, project, client_id))

    driver = FakeDriver()
    stack = build(driver, {'before': WrittenBefore}, message=['before'])

    result = stack.messages.post_once('q', [], 'p', 'c', KEYED)

    assert calls == [('q', 'p', 'c')]
    driver.messages.post_once.assert_called_once_with('q', [], 'p', 'c', KEYED)
    driver.messages.post.assert_not_called()
    assert result is driver.messages.post_once.return_value


def test_a_stage_hooking_post_once_sees_keyed_posts_there_only() -> None:
    recorder = Recorder()
    driver = FakeDriver()
    stack = build(
        driver,
        {'r': recording_stage(recorder, 'r', ['post', 'post_once'])},
        message=['r'],
    )

    stack.messages.post_once('q', [], 'p', 'c', KEYED)
    stack.messages.post('q', [], 'p', 'c')

    assert [operation for _, operation, _ in recorder.calls] == ['post_once', 'post']
    assert recorder.calls[0][2]['idempotency_key'] is KEYED


def test_stages_run_in_order_for_keyed_posts_whichever_hook_they_have() -> None:
    recorder = Recorder()
    factories = {
        'a': recording_stage(recorder, 'a', ['post']),
        'b': recording_stage(recorder, 'b', ['post_once']),
        'c': recording_stage(recorder, 'c', ['post', 'post_once']),
        'd': recording_stage(recorder, 'd', ['get']),
    }
    stack = build(FakeDriver(), factories, message=['c', 'd', 'a', 'b'])

    stack.messages.post_once('q', [], 'p', 'c', KEYED)

    assert [(label, op) for label, op, _ in recorder.calls] == [
        ('c', 'post_once'),
        ('a', 'post'),
        ('b', 'post_once'),
    ]
    assert 'idempotency_key' not in recorder.calls[1][2]


def test_a_post_hook_answering_a_keyed_post_stops_it() -> None:
    driver = FakeDriver()
    answer = ['id']
    stack = build(
        driver,
        {'stop': recording_stage(Recorder(), 'stop', ['post'], {'post': answer})},
        message=['stop'],
    )

    assert stack.messages.post_once('q', [], 'p', 'c', KEYED) is answer
    driver.messages.post_once.assert_not_called()


class StoresPostsItself:
    """A stage answering posts in the driver's place that hooks ``post`` only."""

    run_last = True

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        pass

    def post(self, **arguments: Any) -> list[str]:
        return ['stored-by-the-stage']


def test_a_stage_storing_posts_itself_without_post_once_refuses_keyed_ones() -> None:
    recorder = Recorder()

    driver = FakeDriver()
    stack = build(
        driver,
        {
            'first': recording_stage(recorder, 'first', ['post']),
            'own': StoresPostsItself,
        },
        message=['own', 'first'],
    )

    with pytest.raises(errors.Unsupported) as refused:
        stack.messages.post_once('q', [], 'p', 'c', KEYED)

    assert str(refused.value) == (
        'The pipeline stage of this server (own) does not support idempotency keys.'
    )
    assert recorder.calls == []
    driver.messages.post_once.assert_not_called()
    assert stack.messages.post('q', [], 'p', 'c') == ['stored-by-the-stage']


def test_a_stage_hooking_only_post_sees_checked_posts_through_it() -> None:
    recorder = Recorder()
    driver = FakeDriver()
    stack = build(
        driver, {'r': recording_stage(recorder, 'r', ['post'])}, message=['r']
    )

    result = stack.messages.post_checked('q', [], 'p', 'c', {'_x': 1})

    assert recorder.calls == [
        ('r', 'post', {'queue': 'q', 'messages': [], 'project': 'p', 'client_id': 'c'})
    ]
    driver.messages.post_checked.assert_called_once_with('q', [], 'p', 'c', {'_x': 1})
    driver.messages.post.assert_not_called()
    assert result is driver.messages.post_checked.return_value


def test_a_stage_storing_posts_itself_without_post_checked_refuses_them() -> None:
    driver = FakeDriver()
    stack = build(driver, {'own': StoresPostsItself}, message=['own'])

    with pytest.raises(errors.Unsupported) as refused:
        stack.messages.post_checked('q', [], 'p', 'c', {})

    assert 'does not support metadata-checked posts' in str(refused.value)
    driver.messages.post_checked.assert_not_called()


def test_a_driver_written_before_keys_refuses_keyed_posts() -> None:
    abstract = base.MessageController.__abstractmethods__
    old = type(
        'OldMessages',
        (base.MessageController,),
        {name: lambda self, *args, **kwargs: None for name in abstract},
    )

    with pytest.raises(errors.Unsupported) as refused:
        old().post_once('q', [], 'p', 'c', KEYED)

    assert str(refused.value) == (
        'The storage driver of this server (OldMessages) does not support '
        'idempotency keys.'
    )


# Parameters added to an operation after stages were written (stage.Added)


class OldBulkDeleteGuard:
    """A stage written before delete_many had claim_ids."""

    seen: list[tuple[str, list[str], str]]

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.seen = []

    def delete_many(self, queue: str, message_ids: Sequence[str], project: str) -> None:
        self.seen.append((queue, list(message_ids), project))


def test_a_hook_written_before_claim_ids_is_called_without_them() -> None:
    driver = FakeDriver()
    stack = build(driver, {'old': OldBulkDeleteGuard}, message=['old'])
    (stage,) = stack.pipelines.message.stage_objects
    assert isinstance(stage, OldBulkDeleteGuard)

    stack.messages.delete_many('q', ['m1'], 'p', claim_ids=['c1'])
    stack.messages.delete_many('q', ['m2'], 'p')

    assert stage.seen == [('q', ['m1'], 'p'), ('q', ['m2'], 'p')]
    # A driver, too, is called without claim_ids when there are none.
    assert [
        call.kwargs.get('claim_ids', 'absent')
        for call in driver.messages.delete_many.mock_calls
    ] == [['c1'], 'absent']


def test_a_hook_taking_claim_ids_gets_them_by_keyword() -> None:
    seen: list[object] = []

    class NewGuard:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete_many(
            self,
            queue: str,
            message_ids: Sequence[str],
            project: str,
            claim_ids: Sequence[str] | None,
        ) -> None:
            seen.append(claim_ids)

    stack = build(FakeDriver(), {'new': NewGuard}, message=['new'])

    stack.messages.delete_many('q', ['m1'], 'p', claim_ids=['c1'])
    stack.messages.delete_many('q', ['m1'], 'p')

    assert seen == [['c1'], None]


def test_a_stage_deleting_itself_without_claim_ids_refuses_checked_deletes() -> None:
    recorder = Recorder()

    class DeletesItself(OldBulkDeleteGuard):
        run_last = True

    driver = FakeDriver()
    stack = build(
        driver,
        {
            'own': DeletesItself,
            'audit': recording_stage(recorder, 'a', ['delete_many']),
        },
        message=['own', 'audit'],
    )
    (_, own) = stack.pipelines.message.stage_objects

    with pytest.raises(errors.Unsupported) as refused:
        stack.messages.delete_many('q', ['m1'], 'p', claim_ids=['c1'])
    stack.messages.delete_many('q', ['m2'], 'p')

    assert str(refused.value) == (
        'The pipeline stage of this server (own) does not support claim-checked '
        'bulk deletes.'
    )
    assert [call[2]['message_ids'] for call in recorder.calls] == [['m2']]
    assert isinstance(own, DeletesItself) and own.seen == [('q', ['m2'], 'p')]


def test_a_hook_missing_an_original_parameter_is_still_refused() -> None:
    class Broken:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete_many(self, queue: str, project: str) -> None:
            pass

    message = load_error({'broken': Broken}, message=['broken'])

    assert message.startswith(
        "[storage] message_pipeline: stage 'broken' method delete_many(queue, "
        'project) cannot take the arguments of '
        'MessageController.delete_many(queue, message_ids, project)'
    )


def test_load_storage_returns_the_bare_driver_without_stages(
    tmp_path: Path,
) -> None:
    conf = new_conf()
    conf.set_override(
        'database', str(tmp_path / 'z.db'), group='drivers:message_store:sqlite'
    )
    storage = bootstrap.load_storage(conf, ManualClock())
    try:
        assert isinstance(storage, SqliteDriver)
    finally:
        storage.close()


# The declared hooks match the controllers --------------------------------


@pytest.mark.parametrize('resource', HOOKABLE, ids=lambda r: r.name)
def test_each_protocol_declares_exactly_the_controller_operations(
    resource: stage_api.Resource,
) -> None:
    assert resource.protocol is not None
    declared = {
        name: tuple(inspect.signature(value).parameters)[1:]
        for name, value in vars(resource.protocol).items()
        if inspect.isfunction(value) and not name.startswith('_')
    }
    assert declared == resource.operations()


def test_every_resource_has_hookable_operations() -> None:
    assert [resource.name for resource in HOOKABLE] == [
        'queue',
        'message',
        'claim',
        'subscription',
    ]
    assert sorted(stage_api.SUBSCRIPTION.operations()) == [
        'confirm',
        'create',
        'delete',
        'get',
        'list',
        'purge',
        'update',
    ]


def test_only_methods_a_stage_defines_are_hooks() -> None:
    class Guard(stage_api.QueueStage):
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete(self, name: str, project: str) -> bool | None:
            return None

        def _helper(self) -> None:
            pass

        @staticmethod
        def count(project: str) -> None:
            return None

    hooks = loader.hooks_of(Guard(new_conf()), stage_api.QUEUE)

    assert sorted(hooks) == ['count', 'delete']


# Load-time checks ---------------------------------------------------------


def load_error(factories: dict[str, Any], **pipelines: list[str]) -> str:
    with pytest.raises(errors.ConfigurationError) as caught:
        loader.load_pipelines(new_conf(**pipelines), finder(**factories))
    return str(caught.value)


class Typo:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        pass

    def create(self, name: str, metadata: dict, project: str) -> None:
        pass

    def delet(self, name: str, project: str) -> None:
        pass


def test_an_unknown_stage_is_named_with_its_option() -> None:
    message = load_error({}, message=['nosuch'])

    assert message == "[storage] message_pipeline: stage 'nosuch' is not installed"


def test_a_misspelt_method_is_named_with_a_suggestion() -> None:
    message = load_error({'typo': Typo}, queue=['typo'])

    assert message.startswith("[storage] queue_pipeline: stage 'typo' ")
    assert "method 'delet'" in message
    assert "did you mean 'delete'?" in message


def test_a_stage_in_a_pipeline_it_cannot_hook_is_refused() -> None:
    class QueuesOnly:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def exists(self, name: str, project: str) -> None:
            pass

        def count(self, project: str) -> None:
            pass

    message = load_error({'queues_only': QueuesOnly}, message=['queues_only'])

    assert message == (
        "[storage] message_pipeline: stage 'queues_only' hooks no message "
        'operation: it defines none of delete, delete_many, get, get_many, list, '
        'pop, post, post_checked, post_once, purge'
    )


class Audit:
    """A stage written for several resources, as upstream's are."""

    calls: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        pass

    def exists(self, name: str, project: str) -> None:
        self.calls.append(('queue.exists', {'name': name, 'project': project}))

    def post(self, queue: str, **rest: Any) -> None:
        self.calls.append(('message.post', {'queue': queue}))

    def update(self, queue: str, claim_id: str, **rest: Any) -> None:
        self.calls.append(('claim.update', {'claim_id': claim_id}))


def test_a_stage_serves_every_pipeline_listing_it_with_its_own_hooks() -> None:
    Audit.calls = []
    driver = FakeDriver()
    stack = build(
        driver, {'audit': Audit}, queue=['audit'], message=['audit'], claim=['audit']
    )

    stack.queues.exists('q', 'p')
    stack.messages.post('q', [], 'p', 'c')
    stack.claims.update('q', 'cid', 'p', 60, 60)

    assert Audit.calls == [
        ('queue.exists', {'name': 'q', 'project': 'p'}),
        ('message.post', {'queue': 'q'}),
        ('claim.update', {'claim_id': 'cid'}),
    ]
    driver.queues.exists.assert_called_once()
    driver.messages.post.assert_called_once()
    driver.claims.update.assert_called_once()


def test_a_shared_name_is_hooked_where_its_arguments_fit() -> None:
    class QueueAndMessages:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete(self, name: str, project: str) -> None:
            pass

        def post(self, queue: str, messages: Any, project: str, client_id: str) -> None:
            pass

    stage = QueueAndMessages(new_conf())

    assert sorted(loader.hooks_of(stage, stage_api.QUEUE)) == ['delete']
    assert sorted(loader.hooks_of(stage, stage_api.MESSAGE)) == ['post']


def test_a_shared_name_that_fits_no_resource_is_refused() -> None:
    class Wrong:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete(self, nothing_fits: str) -> None:
            pass

    message = load_error({'wrong': Wrong}, message=['wrong'])

    assert message.startswith(
        "[storage] message_pipeline: stage 'wrong' method delete(nothing_fits) "
        'cannot take the arguments of MessageController.delete(queue, message_id, '
        'project, claim_id)'
    )


def test_methods_of_another_resource_are_never_hooked() -> None:
    hooks = loader.hooks_of(Audit(new_conf()), stage_api.QUEUE)

    assert sorted(hooks) == ['exists']


def test_a_method_of_no_resource_is_refused_with_a_suggestion() -> None:
    class Misspelt(Audit):
        def pots(self, queue: str, **rest: Any) -> None:
            pass

    message = load_error({'audit': Misspelt}, queue=['audit'])

    assert message.startswith(
        "[storage] queue_pipeline: stage 'audit' defines method 'pots', which "
        'matches no queue operation nor that of any other resource '
        "(did you mean 'post'?); queue operations: count, create,"
    )


def test_a_public_helper_method_is_refused() -> None:
    class Helper:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def delete(self, name: str, project: str) -> None:
            self.log_it(name)

        def log_it(self, name: str) -> None:
            pass

    message = load_error({'helper': Helper}, queue=['helper'])

    assert "method 'log_it'" in message
    assert '"_"' in message


def _without_metadata(self: object, name: str, project: str) -> None:
    pass


def _with_extra(
    self: object, name: str, metadata: dict, project: str, extra: int
) -> None:
    pass


def _positional_only(self: object, name: str, /, metadata: dict, project: str) -> None:
    pass


@pytest.mark.parametrize(
    ('create', 'reason'),
    [
        (_without_metadata, "got an unexpected keyword argument 'metadata'"),
        (_with_extra, "missing a required argument: 'extra'"),
        (_positional_only, "'name' parameter is positional only"),
    ],
    ids=['missing-parameter', 'extra-required-parameter', 'positional-only'],
)
def test_a_hook_that_cannot_take_the_arguments_by_keyword_is_refused(
    create: Callable[..., None], reason: str
) -> None:
    factory = type('Bad', (), {'__init__': lambda self, conf: None, 'create': create})

    message = load_error({'bad': factory}, queue=['bad'])

    assert message.startswith("[storage] queue_pipeline: stage 'bad' method create(")
    assert 'QueueController.create(name, metadata, project)' in message
    assert reason in message


def test_a_stage_that_hooks_nothing_is_refused() -> None:
    class Nothing:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

    message = load_error({'nothing': Nothing}, queue=['nothing'])

    assert message.startswith("[storage] queue_pipeline: stage 'nothing' hooks no")


def test_a_factory_rejecting_its_configuration_is_named() -> None:
    def factory(conf: cfg.ConfigOpts) -> object:
        raise errors.ConfigurationError('[stage:x] limit must be positive')

    message = load_error({'x': factory}, queue=['x'])

    assert message == (
        "[storage] queue_pipeline: stage 'x' rejected its configuration: "
        '[stage:x] limit must be positive'
    )


def test_a_factory_failing_otherwise_is_named() -> None:
    def factory(conf: cfg.ConfigOpts) -> object:
        raise RuntimeError('no token')

    message = load_error({'x': factory}, queue=['x'])

    assert message == (
        "[storage] queue_pipeline: stage 'x' failed to start: RuntimeError: no token"
    )


def test_an_entry_point_naming_no_callable_is_refused() -> None:
    message = load_error({'x': 42}, queue=['x'])

    assert message.startswith("[storage] queue_pipeline: stage 'x': its entry point")


def test_a_stage_listed_twice_is_refused() -> None:
    stage = recording_stage(Recorder(), 's', ['create'])

    message = load_error({'s': stage}, queue=['s', 's'])

    assert message == (
        "[storage] queue_pipeline: stage 's' is listed twice; a stage runs at most "
        'once per pipeline'
    )


def test_a_subscription_stage_hooks_subscription_operations() -> None:
    seen: list[tuple[str, str]] = []

    class Subscriptions(stage_api.SubscriptionStage):
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def confirm(
            self, source: str, subscription_id: str, project: str, confirmed: bool
        ) -> None:
            seen.append((source, subscription_id))

    driver = FakeDriver()
    stack = build(driver, {'s': Subscriptions}, subscription=['s'])

    stack.subscriptions.confirm('q', 'id', 'p', True)

    assert seen == [('q', 'id')]
    driver.subscriptions.confirm.assert_called_once_with('q', 'id', 'p', True)
    assert stack.describe() == 'fake; stages: subscription=[s]'


def test_a_queue_stage_in_the_subscription_pipeline_hooks_nothing_there() -> None:
    class QueueAudit:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            pass

        def create(self, name: str, metadata: Any, project: str) -> None:
            pass

    message = load_error({'audit': QueueAudit}, subscription=['audit'])

    assert message.startswith(
        "[storage] subscription_pipeline: stage 'audit' hooks no subscription operation"
    )


def test_blank_names_in_a_list_are_ignored() -> None:
    recorder = Recorder()
    stack = build(
        FakeDriver(),
        {'s': recording_stage(recorder, 's', ['count'])},
        queue=['', 's', ''],
    )

    stack.queues.count('p')

    assert recorder.stages('count') == ['s']


# Real entry points, through stevedore ------------------------------------


@pytest.fixture
def install_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, dict[str, str]], str]:
    """Make a distribution with stage entry points importable.

    Returns a function taking module source and {stage name: object path
    in that module}, which returns the module's name, unique to the call.
    """

    def install(source: str, stages: dict[str, str]) -> str:
        site = tmp_path / f'site{next(_unique)}'
        module = f'zaqar_unit_stages_{next(_unique)}'
        dist = site / f'{module}-1.0.dist-info'
        dist.mkdir(parents=True)
        (site / f'{module}.py').write_text(textwrap.dedent(source))
        (dist / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n'
        )
        lines = [
            f'{name} = {target.format(module=module)}'
            for name, target in stages.items()
        ]
        (dist / 'entry_points.txt').write_text(
            '[zaqar.storage.stages]\n' + '\n'.join(lines) + '\n'
        )
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.delitem(sys.modules, module, raising=False)
        # stevedore lists a group's entry points once per process.
        monkeypatch.setattr(extension.ExtensionManager, 'ENTRY_POINT_CACHE', {})
        return module

    return install


STAGE_MODULE = """
    SEEN = []

    class Audit:
        def __init__(self, conf):
            pass

        def create(self, name, metadata, project):
            SEEN.append(('create', name, project))
"""


def test_entry_point_stages_run_through_load_storage(
    install_stages: Callable[[str, dict[str, str]], str], tmp_path: Path
) -> None:
    module = install_stages(STAGE_MODULE, {'unit_audit': '{module}:Audit'})
    conf = new_conf(queue=['unit_audit'])
    conf.set_override(
        'database', str(tmp_path / 'z.db'), group='drivers:message_store:sqlite'
    )

    storage = bootstrap.load_storage(conf, ManualClock())
    try:
        assert storage.queues.create('fizbit', {}, 'p') is True
        assert storage.queues.create('fizbit', {}, 'p') is False
        assert storage.describe().endswith('; stages: queue=[unit_audit]')
        assert isinstance(storage, PipelineDriver)
        seen = sys.modules[module].SEEN
        assert seen == [('create', 'fizbit', 'p'), ('create', 'fizbit', 'p')]
    finally:
        storage.close()


def test_an_unknown_entry_point_lists_the_installed_stages(
    install_stages: Callable[[str, dict[str, str]], str],
) -> None:
    install_stages(STAGE_MODULE, {'unit_audit': '{module}:Audit'})

    with pytest.raises(errors.ConfigurationError) as caught:
        loader.load_pipelines(new_conf(queue=['unit_audti']))

    message = str(caught.value)
    assert message.startswith(
        "[storage] queue_pipeline: stage 'unit_audti' is not installed: no entry "
        "point 'unit_audti' in the zaqar.storage.stages group"
    )
    assert 'unit_audit' in message.split('installed stages:')[1]


def test_a_stage_that_fails_to_import_is_named(
    install_stages: Callable[[str, dict[str, str]], str],
) -> None:
    install_stages('import zaqar_no_such_dependency\n', {'broken': '{module}:Stage'})

    with pytest.raises(errors.ConfigurationError) as caught:
        loader.load_pipelines(new_conf(message=['broken']))

    message = str(caught.value)
    assert message.startswith(
        "[storage] message_pipeline: stage 'broken' could not be imported from "
    )
    assert "ModuleNotFoundError: No module named 'zaqar_no_such_dependency'" in message


def test_an_entry_point_naming_a_missing_attribute_is_named(
    install_stages: Callable[[str, dict[str, str]], str],
) -> None:
    install_stages(STAGE_MODULE, {'gone': '{module}:Gone'})

    with pytest.raises(errors.ConfigurationError) as caught:
        loader.load_pipelines(new_conf(claim=['gone']))

    assert str(caught.value).startswith(
        "[storage] claim_pipeline: stage 'gone' could not be imported from "
    )
    assert 'AttributeError' in str(caught.value)


class _CallableHook:
    def __call__(self, name: str, project: str) -> None:
        raise AssertionError('never reached')


def _stage_with(**attributes: Any) -> type:
    """A stage class whose class attributes are ``attributes``."""

    def init(self: object, conf: cfg.ConfigOpts) -> None:
        pass

    return type('Odd', (), {'__init__': init, **attributes})


@pytest.mark.parametrize(
    'attribute',
    [
        property(lambda self: None),
        _CallableHook(),
        functools.partialmethod(lambda self, name, project: None),
        functools.lru_cache(maxsize=None)(lambda self, name, project: None),
    ],
    ids=['property', 'callable-object', 'partialmethod', 'lru_cache'],
)
def test_a_hook_that_is_not_a_plain_method_is_refused(attribute: object) -> None:
    """It would never run, yet nothing would say so."""
    message = load_error({'odd': _stage_with(delete=attribute)}, queue=['odd'])

    assert message.startswith(
        "[storage] queue_pipeline: stage 'odd' attribute 'delete'"
    )
    assert 'not a method defined with def' in message


def test_public_data_attributes_are_allowed() -> None:
    stage = _stage_with(LABEL='audit', delete=lambda self, name, project: None)
    hooks = loader.hooks_of(stage(new_conf()), stage_api.QUEUE)
    assert list(hooks) == ['delete']


async def _async_delete(self: object, name: str, project: str) -> None:
    raise AssertionError('never awaited')


def _generator_delete(self: object, name: str, project: str) -> Iterator[None]:
    yield None


@pytest.mark.parametrize('hook', [_async_delete, _generator_delete])
def test_async_and_generator_hooks_are_refused(hook: object) -> None:
    """Their call returns a coroutine or generator, which would stop the pipeline."""
    message = load_error({'odd': _stage_with(delete=hook)}, queue=['odd'])

    assert "method 'delete' is async or a generator" in message


def test_a_hook_shadowed_by_a_non_callable_is_refused() -> None:
    class Shadowed:
        def __init__(self, conf: cfg.ConfigOpts) -> None:
            self.delete = None

        def delete(self, name: str, project: str) -> None:  # noqa: F811
            pass

    message = load_error({'shadowed': Shadowed}, queue=['shadowed'])

    assert "attribute 'delete' of the built stage is not callable" in message


@pytest.mark.parametrize(
    ('error', 'text'),
    [
        (SystemExit(0), 'failed to start: SystemExit: 0'),
        (ValueError('two\nlines'), 'failed to start: ValueError: two lines'),
    ],
)
def test_any_constructor_failure_is_a_one_line_configuration_error(
    error: BaseException, text: str
) -> None:
    def factory(conf: cfg.ConfigOpts) -> object:
        raise error

    assert load_error({'x': factory}, queue=['x']).endswith(text)


def test_an_exception_that_cannot_be_printed_is_still_reported() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError('no')

    def factory(conf: cfg.ConfigOpts) -> object:
        raise Unprintable()

    message = load_error({'x': factory}, queue=['x'])
    assert message.endswith(
        'failed to start: Unprintable: <Unprintable that cannot be printed>'
    )


def test_a_stage_exiting_on_import_is_a_configuration_error() -> None:
    def find(name: str) -> Any:
        raise SystemExit(0)

    with pytest.raises(errors.ConfigurationError, match=r'called sys.exit\(0\)'):
        loader.load_pipelines(new_conf(queue=['x']), find)
