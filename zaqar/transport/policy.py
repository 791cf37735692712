"""Authorization with oslo.policy: upstream Zaqar's rules, by API operation.

Rule names are API operations (``queues:create``, ``messages:get_all``...),
so every transport enforces the same rules; the names and default check
strings are upstream Zaqar's, so an operator's existing ``policy.yaml``
keeps its meaning. The defaults are registered in code and published
through the ``oslo.policy.policies`` entry point (namespace ``zaqar``), from
which ``oslopolicy-sample-generator`` writes ``etc/policy.yaml.sample``.

A transport declares the rule of each entry point with :func:`enforce` (or
:func:`no_rule`) and asks an :class:`Authorizer` before running it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import Final
from typing import TypeVar

from oslo_config import cfg

# NOTE: for isinstance() only: the always-true and always-false checks,
# which oslo.policy does not re-export.
from oslo_policy import _checks
from oslo_policy import policy

from zaqar.transport.identity import Identity

LOG = logging.getLogger(__name__)

_F = TypeVar('_F', bound=Callable[..., Any])

# oslo.policy's default [oslo_policy] policy_file, looked for in the
# configuration directories; upstream ships none, so it may be absent.
DEFAULT_POLICY_FILE = 'policy.yaml'

# Seconds between two looks at the policy files for changes.
RELOAD_INTERVAL = 1.0

ROLE_ADMIN = 'role:admin'
ADMIN_OR_OWNER = 'is_admin:True or project_id:%(project_id)s'
# An empty check string lets every caller through.
UNPROTECTED = ''

QUEUE = '/v2/queues/{queue_name}'
TOPIC = '/v2/topics/{topic_name}'


def _rule(
    name: str, check: str, description: str, *operations: tuple[str, str]
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{'method': method, 'path': path} for method, path in operations],
    )


def _both(method: str, suffix: str) -> list[tuple[str, str]]:
    """The operation on a queue path and on the same topic path."""
    return [(method, f'{QUEUE}{suffix}'), (method, f'{TOPIC}{suffix}')]


BASE_RULES: Final = (
    policy.RuleDefault(
        name='context_is_admin',
        check_str=ROLE_ADMIN,
        description='Who counts as an administrator ("is_admin" in other rules).',
    ),
    policy.RuleDefault(
        name='admin_or_owner',
        check_str=ADMIN_OR_OWNER,
        description='An administrator, or a caller acting in its own project.',
    ),
)

CLAIM_RULES: Final = (
    _rule(
        'claims:create',
        UNPROTECTED,
        'Claim messages of a queue.',
        ('POST', f'{QUEUE}/claims'),
    ),
    _rule(
        'claims:get',
        UNPROTECTED,
        'Read a claim and its messages.',
        ('GET', f'{QUEUE}/claims/{{claim_id}}'),
    ),
    _rule(
        'claims:delete',
        UNPROTECTED,
        'Release a claim.',
        ('DELETE', f'{QUEUE}/claims/{{claim_id}}'),
    ),
    _rule(
        'claims:update',
        UNPROTECTED,
        'Renew a claim.',
        ('PATCH', f'{QUEUE}/claims/{{claim_id}}'),
    ),
)

# Pools and flavors are not served; their rules exist so that policy files
# written for upstream load unchanged.
_NOT_SERVED = '(Not served by this server; kept for upstream policy files.)'
FLAVOR_RULES: Final = (
    _rule(
        'flavors:get_all',
        UNPROTECTED,
        f'List flavors. {_NOT_SERVED}',
        ('GET', '/v2/flavors'),
    ),
    _rule(
        'flavors:create',
        ROLE_ADMIN,
        f'Create a flavor. {_NOT_SERVED}',
        ('PUT', '/v2/flavors/{flavor_name}'),
    ),
    _rule(
        'flavors:get',
        UNPROTECTED,
        f'Read a flavor. {_NOT_SERVED}',
        ('GET', '/v2/flavors/{flavor_name}'),
    ),
    _rule(
        'flavors:delete',
        ROLE_ADMIN,
        f'Delete a flavor. {_NOT_SERVED}',
        ('DELETE', '/v2/flavors/{flavor_name}'),
    ),
    _rule(
        'flavors:update',
        ROLE_ADMIN,
        f'Change a flavor. {_NOT_SERVED}',
        ('PATCH', '/v2/flavors/{flavor_name}'),
    ),
)

HEALTH_RULES: Final = (
    _rule(
        'ping:get',
        UNPROTECTED,
        'Check that the service (GET: and its storage) answers.',
        ('GET', '/v2/ping'),
        ('HEAD', '/v2/ping'),
    ),
    _rule(
        'health:get',
        ROLE_ADMIN,
        'Read the health report (served with [DEFAULT] admin_mode only).',
        ('GET', '/v2/health'),
    ),
)

MESSAGE_RULES: Final = (
    _rule(
        'messages:get_all',
        UNPROTECTED,
        'List the messages of a queue or topic, or read some by id.',
        *_both('GET', '/messages'),
    ),
    _rule(
        'messages:create',
        UNPROTECTED,
        'Post messages to a queue or topic.',
        *_both('POST', '/messages'),
    ),
    _rule(
        'messages:get',
        UNPROTECTED,
        'Read one message.',
        *_both('GET', '/messages/{message_id}'),
    ),
    _rule(
        'messages:delete',
        UNPROTECTED,
        'Delete one message.',
        *_both('DELETE', '/messages/{message_id}'),
    ),
    _rule(
        'messages:delete_all',
        UNPROTECTED,
        'Delete messages by id, or pop them.',
        *_both('DELETE', '/messages'),
    ),
)

POOL_RULES: Final = (
    _rule(
        'pools:get_all', ROLE_ADMIN, f'List pools. {_NOT_SERVED}', ('GET', '/v2/pools')
    ),
    _rule(
        'pools:create',
        ROLE_ADMIN,
        f'Create a pool. {_NOT_SERVED}',
        ('PUT', '/v2/pools/{pool_name}'),
    ),
    _rule(
        'pools:get',
        ROLE_ADMIN,
        f'Read a pool. {_NOT_SERVED}',
        ('GET', '/v2/pools/{pool_name}'),
    ),
    _rule(
        'pools:delete',
        ROLE_ADMIN,
        f'Delete a pool. {_NOT_SERVED}',
        ('DELETE', '/v2/pools/{pool_name}'),
    ),
    _rule(
        'pools:update',
        ROLE_ADMIN,
        f'Change a pool. {_NOT_SERVED}',
        ('PATCH', '/v2/pools/{pool_name}'),
    ),
)

QUEUE_RULES: Final = (
    _rule('queues:get_all', UNPROTECTED, 'List queues.', ('GET', '/v2/queues')),
    _rule('queues:create', UNPROTECTED, 'Create a queue.', ('PUT', QUEUE)),
    _rule(
        'queues:get',
        UNPROTECTED,
        "Read a queue's metadata, or check that it exists.",
        ('GET', QUEUE),
        ('HEAD', QUEUE),
    ),
    _rule('queues:delete', UNPROTECTED, 'Delete a queue.', ('DELETE', QUEUE)),
    _rule('queues:update', UNPROTECTED, "Change a queue's metadata.", ('PATCH', QUEUE)),
    _rule(
        'queues:stats',
        UNPROTECTED,
        "Read a queue's statistics.",
        ('GET', f'{QUEUE}/stats'),
    ),
    _rule(
        'queues:share',
        UNPROTECTED,
        'Sign a pre-signed URL for a queue.',
        ('POST', f'{QUEUE}/share'),
    ),
    _rule(
        'queues:purge',
        UNPROTECTED,
        "Purge a queue's messages or subscriptions.",
        ('POST', f'{QUEUE}/purge'),
    ),
)

SUBSCRIPTION_RULES: Final = (
    _rule(
        'subscription:get_all',
        UNPROTECTED,
        'List the subscriptions of a queue or topic.',
        *_both('GET', '/subscriptions'),
    ),
    _rule(
        'subscription:create',
        UNPROTECTED,
        'Subscribe to a queue or topic.',
        *_both('POST', '/subscriptions'),
    ),
    _rule(
        'subscription:get',
        UNPROTECTED,
        'Read a subscription.',
        *_both('GET', '/subscriptions/{subscription_id}'),
    ),
    _rule(
        'subscription:delete',
        UNPROTECTED,
        'Delete a subscription.',
        *_both('DELETE', '/subscriptions/{subscription_id}'),
    ),
    _rule(
        'subscription:update',
        UNPROTECTED,
        'Change a subscription.',
        *_both('PATCH', '/subscriptions/{subscription_id}'),
    ),
    _rule(
        'subscription:confirm',
        UNPROTECTED,
        'Confirm or unconfirm a subscription.',
        *_both('PUT', '/subscriptions/{subscription_id}/confirm'),
    ),
)

TOPIC_RULES: Final = (
    _rule('topics:get_all', UNPROTECTED, 'List topics.', ('GET', '/v2/topics')),
    _rule('topics:create', UNPROTECTED, 'Create a topic.', ('PUT', TOPIC)),
    _rule(
        'topics:get',
        UNPROTECTED,
        "Read a topic's metadata, or check that it exists.",
        ('GET', TOPIC),
        ('HEAD', TOPIC),
    ),
    _rule('topics:delete', UNPROTECTED, 'Delete a topic.', ('DELETE', TOPIC)),
    _rule('topics:update', UNPROTECTED, "Change a topic's metadata.", ('PATCH', TOPIC)),
    _rule(
        'topics:stats',
        UNPROTECTED,
        "Read a topic's statistics.",
        ('GET', f'{TOPIC}/stats'),
    ),
    _rule(
        'topics:purge',
        UNPROTECTED,
        "Purge a topic's messages or subscriptions.",
        ('POST', f'{TOPIC}/purge'),
    ),
)

# Upstream's order, which the sample file follows.
RULES: Final[tuple[policy.RuleDefault, ...]] = (
    *BASE_RULES,
    *CLAIM_RULES,
    *FLAVOR_RULES,
    *HEALTH_RULES,
    *MESSAGE_RULES,
    *POOL_RULES,
    *QUEUE_RULES,
    *SUBSCRIPTION_RULES,
    *TOPIC_RULES,
)

RULE_NAMES: Final = frozenset(rule.name for rule in RULES)


def list_rules() -> Iterator[policy.RuleDefault]:
    """Every default rule; the ``oslo.policy.policies`` entry point."""
    return iter(RULES)


# Declaring rules on entry points

_RULE_ATTRIBUTE = '_zaqar_policy_rule'


class _Undeclared:
    """What :func:`rule_of` answers for an entry point that declares nothing."""

    def __repr__(self) -> str:
        return 'UNDECLARED'


UNDECLARED: Final = _Undeclared()


def enforce(rule: str, topic_rule: str | None = None) -> Callable[[_F], _F]:
    """Declare the rule that must allow a call of the decorated entry point.

    Args:
        rule: The rule's name.
        topic_rule: Another rule for the same entry point serving topics
            (``topics:create`` where queues have ``queues:create``); by
            default ``rule`` holds for both, as for messages.

    Raises:
        ValueError: No such rule (a typo must fail at import, not let
            requests through).
    """
    for name in (rule, topic_rule):
        if name is not None and name not in RULE_NAMES:
            raise ValueError(f'no policy rule named {name!r}')
    return _declare((rule, topic_rule or rule))


def no_rule() -> Callable[[_F], _F]:
    """Declare that an entry point has no rule, as upstream (home document)."""
    return _declare(None)


def _declare(rules: tuple[str, str] | None) -> Callable[[_F], _F]:
    def mark(entry_point: _F) -> _F:
        setattr(entry_point, _RULE_ATTRIBUTE, rules)
        return entry_point

    return mark


def rule_of(entry_point: object, topic: bool = False) -> str | None | _Undeclared:
    """The rule an entry point declared, None for none, or UNDECLARED.

    Args:
        entry_point: The decorated callable.
        topic: Whether it is called on a topic.
    """
    declared = getattr(entry_point, _RULE_ATTRIBUTE, UNDECLARED)
    if isinstance(declared, tuple):
        return str(declared[1] if topic else declared[0])
    return None if declared is None else UNDECLARED


# Enforcing


class Authorizer:
    """Decides whether an identity may call an operation.

    The rules are the defaults above, overridden by the operator's policy
    file (``[oslo_policy] policy_file``, and ``policy_dirs``). The files are
    looked at again at most every :data:`RELOAD_INTERVAL` seconds and read
    again when they changed, so an edited policy applies without a restart.

    Safe to share between threads.

    Args:
        conf: The configuration; its ``[oslo_policy]`` group is read.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf
        self._enforcer = policy.Enforcer(conf)
        self._enforcer.register_defaults(RULES)
        # NOTE: Enforcer.enforce() looks for the policy file in every
        # configuration directory on each call (some 60 microseconds, as much
        # as a whole queue lookup); :meth:`_refresh` does it once a second
        # instead, and enforce() leaves the files alone in between.
        self._enforcer.use_conf = False
        self._lock = threading.Lock()
        self._next_refresh = 0.0

    def load(self) -> None:
        """Read the policy files now, so that a broken one fails at start-up.

        Raises:
            InvalidPolicyFile: With the file and the reason.
        """
        with self._lock:
            self._load()
            self._next_refresh = time.monotonic() + RELOAD_INTERVAL

    def _load(self) -> None:
        try:
            self._enforcer.load_rules(force_reload=True)
            self._enforcer.check_rules(raise_on_violation=True)
            named = self._conf.oslo_policy.policy_file
            # NOTE: oslo.policy quietly uses the defaults when the file is
            # missing; fine for the default name (no file is the norm), but
            # a file the operator named and we cannot find is a mistake.
            if self._enforcer.policy_path is None and named != DEFAULT_POLICY_FILE:
                raise cfg.ConfigFilesNotFoundError([named])
        except cfg.ConfigFilesNotFoundError as ex:
            raise InvalidPolicyFile(
                f'[oslo_policy] policy_file: {", ".join(ex.config_files)} not found'
            ) from None
        except policy.InvalidDefinitionError as ex:
            raise InvalidPolicyFile(
                f'policy rules refer to missing rules: {ex}'
            ) from None
        except ValueError as ex:
            raise InvalidPolicyFile(f'policy file could not be read: {ex}') from None
        finally:
            self._enforcer.use_conf = False

    def _refresh(self) -> None:
        """Pick up changed policy files, at most once per interval."""
        now = time.monotonic()
        if now < self._next_refresh:
            return
        self._next_refresh = now + RELOAD_INTERVAL
        try:
            # NOTE: unchanged files are not read again (oslo.policy compares
            # their modification times).
            self._enforcer.use_conf = True
            self._enforcer.load_rules()
        except Exception:
            # NOTE: a file broken while the server runs keeps the rules last
            # read from it, as they are still the operator's best intent.
            LOG.exception('policy files could not be read; keeping the rules in use')
        finally:
            self._enforcer.use_conf = False

    def allows(self, rule: str, identity: Identity, target: Mapping[str, Any]) -> bool:
        """Tell whether ``identity`` may call the operation ``rule`` names.

        Args:
            rule: A name from :data:`RULE_NAMES`.
            identity: The caller.
            target: What the call acts on; ``project_id`` is the project of
                the request, the other keys name the resource (e.g.
                ``queue_name``), for rules such as ``admin_or_owner``.
        """
        # NOTE: one lock, as reloading replaces the rules enforce() reads.
        with self._lock:
            self._refresh()
            check = self._enforcer.rules.get(rule)
            # Most rules are the empty (allow) or "!" (deny) check string,
            # decided without building credentials.
            if isinstance(check, _checks.TrueCheck):
                return True
            if isinstance(check, _checks.FalseCheck):
                return False
            credentials: dict[str, Any] = {
                'project_id': identity.project_id,
                'user_id': identity.user_id,
                'roles': list(identity.roles),
            }
            # NOTE: as other OpenStack services do, "is_admin" is what the
            # context_is_admin rule says of the caller.
            credentials['is_admin'] = bool(
                self._enforcer.enforce('context_is_admin', {}, credentials)
            )
            return bool(self._enforcer.enforce(rule, dict(target), credentials))


class InvalidPolicyFile(ValueError):
    """The operator's policy file cannot be used."""
