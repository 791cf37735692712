"""Load the configured stages and check them before anything runs.

Every check happens here, at start-up, so that a mistake in the
configuration or in a stage stops ``zaqar-server`` with a message naming the
option and the stage, rather than being skipped silently on each request.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import logging
import types
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception

from zaqar.common.text import describe_exception
from zaqar.conf import storage as storage_conf
from zaqar.pipeline import stage as stage_api
from zaqar.pipeline.pipeline import Hook
from zaqar.pipeline.pipeline import Pipeline
from zaqar.pipeline.pipeline import Pipelines
from zaqar.pipeline.pipeline import StageHooks
from zaqar.storage import errors

LOG = logging.getLogger(__name__)

NAMESPACE = 'zaqar.storage.stages'

_METHOD_TYPES = (types.FunctionType, staticmethod, classmethod)


class StageNotFound(Exception):
    """A configured name gives no stage factory; the message says why."""


# Resolves a configured stage name to its factory, or raises StageNotFound.
StageFinder = Callable[[str], stage_api.StageFactory]


def find_stage(name: str) -> stage_api.StageFactory:
    """Import the factory registered as ``name`` in zaqar.storage.stages.

    Raises:
        StageNotFound: No such entry point, several of them, or it failed
            to import.
    """
    try:
        manager: stevedore_driver.DriverManager[Any] = stevedore_driver.DriverManager(
            NAMESPACE,
            name,
            invoke_on_load=False,
            on_load_failure_callback=_import_failed,
            on_missing_entrypoints_callback=None,
        )
    except stevedore_exception.NoMatches:
        raise StageNotFound(
            f'is not installed: no entry point {name!r} in the {NAMESPACE} '
            f'group ({_installed()})'
        ) from None
    except stevedore_exception.MultipleMatches:
        raise StageNotFound(
            f'is ambiguous: several installed packages register {name!r} in '
            f'the {NAMESPACE} group; uninstall all but one'
        ) from None
    return manager.driver


def _import_failed(
    manager: object, entrypoint: importlib.metadata.EntryPoint, ex: BaseException
) -> None:
    raise StageNotFound(
        f'could not be imported from {entrypoint.value}: '
        f'{type(ex).__name__}: {describe_exception(ex)}'
    ) from ex


def _installed() -> str:
    names = sorted({ep.name for ep in importlib.metadata.entry_points(group=NAMESPACE)})
    if not names:
        return 'no stage is installed'
    return f'installed stages: {", ".join(names)}'


def load_pipelines(conf: cfg.ConfigOpts, find: StageFinder = find_stage) -> Pipelines:
    """Load and check the stages of every ``[storage] *_pipeline`` option.

    Each stage is built once per pipeline that lists it, by calling its
    factory with ``conf``.

    Args:
        conf: A configuration registered with :func:`zaqar.conf.register_all`.
        find: Resolves a stage name to its factory (entry points by default).

    Raises:
        ConfigurationError: A stage is unknown, fails to import or to start,
            or defines a method that no operation of its pipeline has or
            whose signature cannot take that operation's arguments.
    """
    return Pipelines(
        queue=load_pipeline(conf, stage_api.QUEUE, find),
        message=load_pipeline(conf, stage_api.MESSAGE, find),
        claim=load_pipeline(conf, stage_api.CLAIM, find),
        subscription=load_pipeline(conf, stage_api.SUBSCRIPTION, find),
    )


def load_pipeline(
    conf: cfg.ConfigOpts, resource: stage_api.Resource, find: StageFinder = find_stage
) -> Pipeline:
    """Load and check the stages of one resource's pipeline, in order.

    Raises:
        ConfigurationError: As for :func:`load_pipelines`.
    """
    names = _names(conf, resource)
    _refuse_duplicates(resource, names)
    stages = _last_ones_last(
        resource, [_load_stage(conf, resource, name, find) for name in names]
    )
    names = [stage.name for stage in stages]
    if stages:
        LOG.info('%s pipeline: %s -> storage driver', resource.name, ' -> '.join(names))
    return Pipeline(resource.name, stages)


def _last_ones_last(
    resource: stage_api.Resource, stages: list[StageHooks]
) -> list[StageHooks]:
    """Move the stages whose class says ``run_last`` to the end, in order.

    Such a stage does the driver's work itself (the notifier stores the
    messages, then records their deliveries), so no stage may come after
    it; it runs last wherever it is listed.
    """
    last = [stage for stage in stages if getattr(stage.stage, 'run_last', False)]
    if last and stages[-len(last) :] != last:
        LOG.info(
            '%s pipeline: %s run(s) last, after the other stages',
            resource.name,
            ', '.join(stage.name for stage in last),
        )
    return [stage for stage in stages if stage not in last] + last


def _names(conf: cfg.ConfigOpts, resource: stage_api.Resource) -> list[str]:
    # oslo.config turns "a,,b" into ['a', '', 'b']: a blank item names nothing.
    listed = conf[storage_conf.GROUP_NAME][resource.option]
    return [name for name in listed if name]


def _where(resource: stage_api.Resource, name: str) -> str:
    return f'[{storage_conf.GROUP_NAME}] {resource.option}: stage {name!r}'


def _refuse_duplicates(resource: stage_api.Resource, names: Sequence[str]) -> None:
    for index, name in enumerate(names):
        if name in names[:index]:
            raise errors.ConfigurationError(
                f'{_where(resource, name)} is listed twice; a stage runs at '
                f'most once per pipeline'
            )


def _load_stage(
    conf: cfg.ConfigOpts,
    resource: stage_api.Resource,
    name: str,
    find: StageFinder,
) -> StageHooks:
    where = _where(resource, name)
    try:
        factory = find(name)
    except StageNotFound as ex:
        raise errors.ConfigurationError(f'{where} {ex}') from ex
    except SystemExit as ex:
        # NOTE: a module calling sys.exit() on import would otherwise end
        # the server silently, with status 0.
        raise errors.ConfigurationError(
            f'{where} called sys.exit({ex.code!r}) while being imported'
        ) from ex
    stage = _build(factory, conf, where)
    return StageHooks(name, hooks_of(stage, resource, where), stage)


def _build(factory: object, conf: cfg.ConfigOpts, where: str) -> object:
    if not callable(factory):
        raise errors.ConfigurationError(
            f'{where}: its entry point names {factory!r}, which is not a class '
            f'or a factory taking the configuration'
        )
    try:
        return factory(conf)
    except errors.ConfigurationError as ex:
        raise errors.ConfigurationError(
            f'{where} rejected its configuration: {ex}'
        ) from ex
    except (Exception, SystemExit) as ex:
        # Anything a stage's constructor raises (sys.exit() included) is a
        # start-up failure that the operator must see, not a traceback from
        # deep in gunicorn or a silent exit.
        raise errors.ConfigurationError(
            f'{where} failed to start: {type(ex).__name__}: {describe_exception(ex)}'
        ) from ex


def hooks_of(
    stage: object, resource: stage_api.Resource, where: str = 'stage'
) -> dict[str, Hook]:
    """Return the stage's hooks by operation, after checking each one.

    Every public method of the stage's class (and of its bases, protocols
    excepted) must be named after an operation of some resource; helpers
    start with ``_``. One stage class may serve several pipelines (an audit
    stage with queue and message hooks, listed in both), so in each
    pipeline only the methods that belong to its resource are hooks:

    * a method named after an operation of ``resource`` is its hook, and
      must accept that operation's arguments by keyword (but those added
      after hooks were written, see :class:`~zaqar.pipeline.stage.Added`);
    * unless it cannot, but takes those of another resource's operation of
      the same name: it belongs there (``delete(name, project)`` is a queue
      hook, not a message one) and is not called here;
    * a method named after another resource's operation only is not called
      here either.

    Args:
        stage: The built stage.
        resource: The resource whose pipeline lists the stage.
        where: Names the option and stage at the start of error messages.

    Raises:
        ConfigurationError: A method matches no operation or cannot accept
            its arguments, or the stage hooks nothing.
    """
    operations = resource.operations()
    elsewhere = _other_operations(resource)
    hooks: dict[str, Hook] = {}
    for method in public_methods(type(stage), where):
        if method not in operations and method not in elsewhere:
            raise errors.ConfigurationError(
                _no_such_operation(where, method, resource, elsewhere)
            )
        hook = getattr(stage, method)
        _check_callable(where, method, hook)
        if method in operations and _belongs_here(where, resource, method, hook):
            hooks[method] = hook
    if not hooks:
        raise errors.ConfigurationError(
            f'{where} hooks no {resource.name} operation: it defines none of '
            f'{", ".join(operations)}'
        )
    return hooks


def _belongs_here(
    where: str, resource: stage_api.Resource, method: str, hook: Hook
) -> bool:
    """Tell whether ``hook`` takes the arguments of this resource's ``method``.

    Raises:
        ConfigurationError: It takes those of no resource's ``method``.
    """
    mismatch = _bind_error(hook, resource.arguments_for(method, hook))
    if mismatch is None:
        return True
    for other in stage_api.RESOURCES:
        if other is not resource and method in other.operations():
            if _bind_error(hook, other.arguments_for(method, hook)) is None:
                LOG.info(
                    '%s: method %s takes the arguments of the %s operation, so '
                    'it is not called for %s ones',
                    where,
                    method,
                    other.name,
                    resource.name,
                )
                return False
    raise errors.ConfigurationError(
        _cannot_take(where, resource, method, hook, mismatch)
    )


def public_methods(klass: type, where: str = 'stage') -> list[str]:
    """List the public methods of ``klass`` and its non-protocol bases.

    Raises:
        ConfigurationError: A public attribute is callable or a descriptor
            (a property, a callable object, a cached or partial method) but
            not a plain method, so it could never run as a hook.
    """
    names: set[str] = set()
    for owner in klass.__mro__:
        if stage_api.is_declaration(owner) or owner is object:
            continue
        for name, value in vars(owner).items():
            if name.startswith('_') or name in stage_api.SERVICE_METHODS:
                continue
            if isinstance(value, _METHOD_TYPES):
                names.add(name)
            elif callable(value) or hasattr(value, '__get__'):
                raise errors.ConfigurationError(
                    f'{where} attribute {name!r} is a {type(value).__name__}, '
                    f'not a method defined with def; hooks must be plain '
                    f'methods (prefix anything else with "_")'
                )
    return sorted(names)


def _check_callable(where: str, method: str, hook: object) -> None:
    if not callable(hook):
        raise errors.ConfigurationError(
            f'{where} attribute {method!r} of the built stage is not callable'
        )
    if (
        inspect.iscoroutinefunction(hook)
        or inspect.isgeneratorfunction(hook)
        or inspect.isasyncgenfunction(hook)
    ):
        # Calling one returns a coroutine or generator, never None: it would
        # stop the pipeline without its body ever running.
        raise errors.ConfigurationError(
            f'{where} method {method!r} is async or a generator; hooks must be '
            f'plain functions that return None or a result'
        )


def _other_operations(resource: stage_api.Resource) -> dict[str, str]:
    """Map the operations of every other resource to their resources' names."""
    found: dict[str, list[str]] = {}
    for other in stage_api.RESOURCES:
        if other is not resource:
            for operation in other.operations():
                found.setdefault(operation, []).append(other.name)
    return {operation: ' and '.join(names) for operation, names in found.items()}


def _no_such_operation(
    where: str,
    method: str,
    resource: stage_api.Resource,
    elsewhere: dict[str, str],
) -> str:
    operations = resource.operations()
    close = difflib.get_close_matches(method, [*operations, *elsewhere], n=1)
    hint = f' (did you mean {close[0]!r}?)' if close else ''
    return (
        f'{where} defines method {method!r}, which matches no {resource.name} '
        f'operation nor that of any other resource{hint}; {resource.name} '
        f'operations: {", ".join(operations)} (prefix helper methods with "_")'
    )


def _bind_error(hook: Hook, parameters: tuple[str, ...]) -> TypeError | None:
    """Why ``hook`` cannot be called with ``parameters`` by keyword, if so."""
    try:
        signature = inspect.signature(hook)
    except (TypeError, ValueError):
        # Not introspectable (a C function): the first call will tell.
        return None
    try:
        signature.bind(**dict.fromkeys(parameters))
    except TypeError as ex:
        return ex
    return None


def _cannot_take(
    where: str,
    resource: stage_api.Resource,
    method: str,
    hook: Hook,
    mismatch: TypeError,
) -> str:
    controller = resource.controller.__name__
    parameters = resource.arguments_for(method, hook)
    return (
        f'{where} method {method}{_bare(inspect.signature(hook))} cannot take the '
        f'arguments of {controller}.{method}({", ".join(parameters)}), which are '
        f'passed by keyword: {mismatch}'
    )


def _bare(signature: inspect.Signature) -> inspect.Signature:
    """Drop annotations, which only clutter an error message."""
    return signature.replace(
        parameters=[
            parameter.replace(annotation=inspect.Parameter.empty)
            for parameter in signature.parameters.values()
        ],
        return_annotation=inspect.Signature.empty,
    )
