"""Pipeline stages: two for queues, one for queues and messages alike.

Each is built once per pipeline listing it, in each process (each gunicorn
worker has its own), by calling the class with the configuration, and is
then shared by all the threads of that process. None keeps mutable state,
so none needs a lock; state that all workers must see would have to live
in a shared backend.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from oslo_config import cfg

from zaqar.pipeline.stage import QueueStage
from zaqar.storage.errors import ConfigurationError
from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage

LOG = logging.getLogger(__name__)

# A stage's own options live in a group named after its entry point.
GUARD_GROUP = 'stage:example_reserved_names'
GUARD_OPTS = [
    cfg.ListOpt(
        'names',
        default=['reserved'],
        help='Names of queues that example_reserved_names never lets a '
        'client delete, in any project.',
    ),
]

_QUEUE_NAME = re.compile(r'[a-zA-Z0-9_.-]{1,64}')


class QueueAudit:
    """Log each request to create or delete a queue; change nothing.

    It hooks two queue operations by defining methods named after them,
    with their parameter names, and returns None so that the pipeline goes
    on. It does not inherit from anything: a stage needs only its methods.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        """Take the configuration; this stage has no options."""

    def create(self, name: str, metadata: Metadata, project: str) -> None:
        """Log the creation request, before the driver handles it."""
        LOG.info(
            'example_audit: create queue %r in project %r (%d metadata keys)',
            name,
            project,
            len(metadata),
        )

    def delete(self, name: str, project: str) -> None:
        """Log the deletion request, before later stages and the driver."""
        LOG.info('example_audit: delete queue %r in project %r', name, project)


class ReservedQueueGuard(QueueStage):
    """Keep queues with reserved names from being deleted.

    Returning a value from ``delete`` stops the pipeline, so neither later
    stages nor the driver run: the client still gets 204 (deletion is
    idempotent in the API) and the queue stays. Subclassing
    :class:`~zaqar.pipeline.stage.QueueStage` is optional; it lets a type
    checker compare this ``delete`` with the operation's signature.

    Raises:
        ConfigurationError: ``[stage:example_reserved_names] names`` lists
            something that cannot be a queue name.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        # Registering again in another worker or pipeline is a no-op.
        conf.register_opts(GUARD_OPTS, group=GUARD_GROUP)
        names = list(conf[GUARD_GROUP].names)
        invalid = [name for name in names if not _QUEUE_NAME.fullmatch(name)]
        if invalid:
            raise ConfigurationError(
                f'[{GUARD_GROUP}] names: {", ".join(map(repr, invalid))} '
                f'cannot be queue names (1 to 64 of a-z A-Z 0-9 _ . -)'
            )
        self._reserved = frozenset(names)

    def delete(self, name: str, project: str) -> bool | None:
        """Answer "done" without deleting when ``name`` is reserved."""
        if name not in self._reserved:
            return None
        LOG.warning(
            'example_reserved_names: kept reserved queue %r of project %r',
            name,
            project,
        )
        return True


class ActivityLog:
    """Log queue creations, deletions and message posts, in one stage.

    One class can serve several pipelines: list it in both
    ``queue_pipeline`` and ``message_pipeline``. In each, zaqar calls only
    the methods named after that resource's operations: ``create`` and
    ``delete`` for queues, ``post`` for messages. (Were it listed in
    ``message_pipeline`` only, its ``delete`` would be refused at start-up,
    since it cannot take the arguments of a message deletion.)
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        """Take the configuration; this stage has no options."""

    def create(self, name: str, metadata: Metadata, project: str) -> None:
        """Queue pipeline: a queue is about to be created."""
        LOG.info('example_activity: queue %r created in %r', name, project)

    def delete(self, name: str, project: str) -> None:
        """Queue pipeline: a queue is about to be deleted."""
        LOG.info('example_activity: queue %r deleted in %r', name, project)

    def post(
        self, queue: str, messages: Sequence[NewMessage], project: str, client_id: str
    ) -> None:
        """Message pipeline: messages are about to be posted."""
        LOG.info(
            'example_activity: %d message(s) posted to %r in %r',
            len(messages),
            queue,
            project,
        )
