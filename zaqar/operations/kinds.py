"""Queues and topics: one set of operations, two kinds of message container.

A topic is a queue that lives apart from queues: the same operations, the
same storage, the same code, in a namespace of its own, so that a topic
``t`` and a queue ``t`` of one project are unrelated. The namespace is a
storage project: a topic of project ``p`` is stored as a queue of the
project ``p`` + :data:`TOPIC_SCOPE`. That suffix starts with a control
character, which no project id can contain (the request checks refuse
them), so the two namespaces can never meet. Drivers need to know nothing
of topics; pipeline stages see the scoped project on topic operations.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator

from zaqar.common.queue_metadata import DEFAULT_MESSAGE_DELAY
from zaqar.common.queue_metadata import DEFAULT_MESSAGE_TTL
from zaqar.common.queue_metadata import MAX_MESSAGES_POST_SIZE
from zaqar.storage import errors as storage_errors

# Appended to a project id to name the storage project of its topics.
TOPIC_SCOPE = '\x1ftopics'


class Kind(enum.Enum):
    """What a message container is: a queue or a topic."""

    QUEUE = 'queue'
    TOPIC = 'topic'

    @property
    def collection(self) -> str:
        """The path segment of the collection, e.g. ``queues``."""
        return f'{self.value}s'

    def scope(self, project: str) -> str:
        """The storage project holding this kind's containers of ``project``."""
        return project if self is Kind.QUEUE else project + TOPIC_SCOPE

    def shown_defaults(self) -> tuple[str, ...] | None:
        """The reserved metadata keys a read reports with their defaults.

        None means every reserved key. Topics report only the three that
        matter to them (as upstream's topics do).
        """
        if self is Kind.QUEUE:
            return None
        return (MAX_MESSAGES_POST_SIZE, DEFAULT_MESSAGE_TTL, DEFAULT_MESSAGE_DELAY)


def unscoped(project: str) -> tuple[str, Kind]:
    """The project id and kind a storage project stands for."""
    if project.endswith(TOPIC_SCOPE):
        return project[: -len(TOPIC_SCOPE)], Kind.TOPIC
    return project, Kind.QUEUE


@contextlib.contextmanager
def storage_project(kind: Kind, project: str) -> Iterator[str]:
    """Yield the storage project of ``kind``; errors keep the client's names.

    Storage errors name the project they were given; for a topic that is
    the scoped project, and the container is called a queue. Their texts
    reach clients, so they are rewritten to name the project and the topic.
    """
    scope = kind.scope(project)
    try:
        yield scope
    except (storage_errors.DoesNotExist, storage_errors.Conflict) as ex:
        if kind is Kind.TOPIC and ex.args and isinstance(ex.args[0], str):
            text = ex.args[0].replace(scope, project)
            ex.args = (text.replace('Queue ', 'Topic ').replace('queue ', 'topic '),)
        raise
