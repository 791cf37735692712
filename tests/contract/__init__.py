"""The storage contract (``zaqar/storage/base.py``) as executable tests.

Every test here runs once per driver chosen by ``ZAQAR_TEST_DRIVERS`` (see
``drivers.py``). This module holds the names and helpers the test modules
share.
"""

from __future__ import annotations

from zaqar.storage.base import DataDriver
from zaqar.storage.models import Message
from zaqar.storage.models import NewMessage

PROJECT = 'project-a'
OTHER_PROJECT = 'project-b'
QUEUE = 'fizbit'
CLIENT = '3381af92-2b9e-11e3-b191-71861300734c'
OTHER_CLIENT = '9b4c1fd0-2b9e-11e3-a6e0-71861300734c'
TTL = 300

# No driver hands out claim ids containing '=' or spaces (zaqar.common.ids).
MALFORMED_CLAIM_ID = 'not=a claim id'


def post(
    driver: DataDriver,
    count: int = 1,
    *,
    queue: str = QUEUE,
    project: str = PROJECT,
    client_id: str = CLIENT,
    ttl: int = TTL,
    delay: int = 0,
    first: int = 0,
) -> list[str]:
    """Post ``count`` messages with bodies ``{'n': first}``, ... in one call."""
    messages = [
        NewMessage(body={'n': first + i}, ttl=ttl, delay=delay) for i in range(count)
    ]
    return driver.messages.post(queue, messages, project, client_id)


def list_all(
    driver: DataDriver,
    *,
    queue: str = QUEUE,
    project: str = PROJECT,
    include_claimed: bool = True,
    include_delayed: bool = True,
    page_size: int = 7,
) -> list[Message]:
    """Page through a queue by marker (echo on) and return what was listed."""
    listed: list[Message] = []
    marker = None
    for _ in range(1000):
        page = driver.messages.list(
            queue,
            project,
            CLIENT,
            marker=marker,
            limit=page_size,
            echo=True,
            include_claimed=include_claimed,
            include_delayed=include_delayed,
        )
        if not page:
            return listed
        listed.extend(page)
        marker = page[-1].marker
    raise AssertionError('paging by marker never reached an empty page')


def ids(messages: list[Message]) -> list[str]:
    """Return the ids of ``messages``, in order."""
    return [message.id for message in messages]


def bodies(messages: list[Message]) -> list[object]:
    """Return the bodies of ``messages``, in order."""
    return [message.body for message in messages]
