"""Checked posts (``MessageController.post_checked``): an optional capability.

SQLite and Redis compare the metadata and post in one atomic step; MongoDB
cannot (its post is several writes) and refuses with ``Unsupported``, so
that callers read the metadata and post in two steps there. A third-party
driver without the capability has its tests here skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zaqar.common.clock import ManualClock
from zaqar.storage import errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import NewMessage

from . import CLIENT
from . import OTHER_PROJECT
from . import PROJECT
from . import QUEUE
from . import TTL
from . import bodies
from . import drivers
from . import list_all
from .test_subscriptions import BUILT_IN

# zaqar's drivers that cannot compare and post atomically: they refuse
# (tests/drivers/test_mongodb.py).
REFUSING = frozenset({'mongodb', 'mongodb-mongomock'})


@pytest.fixture(params=[n for n in drivers.selected_names() if n not in REFUSING])
def checked(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[DataDriver]:
    """A driver with checked posts; skip a third-party one without them."""
    storage = drivers.build(request.param, tmp_path, clock)
    try:
        storage.messages.post_checked('probe', batch('probe'), PROJECT, CLIENT, {})
    except errors.Unsupported as ex:
        storage.close()
        if request.param in BUILT_IN:
            raise
        pytest.skip(f'{request.param} has no checked posts (optional): {ex}')
    yield storage
    storage.close()


def batch(*values: object) -> list[NewMessage]:
    return [NewMessage(body=value, ttl=TTL) for value in values]


def test_a_missing_queue_has_empty_metadata_and_is_created(checked: DataDriver) -> None:
    posted = checked.messages.post_checked(QUEUE, batch('a', 'b'), PROJECT, CLIENT, {})

    assert [m.id for m in list_all(checked)] == posted
    assert checked.queues.get_metadata(QUEUE, PROJECT) == {}


def test_equal_metadata_posts(checked: DataDriver) -> None:
    metadata = {'_default_message_ttl': 120, 'note': 'héllo', 'n': [1, 2.5]}
    checked.queues.create(QUEUE, metadata, PROJECT)

    checked.messages.post_checked(QUEUE, batch('a'), PROJECT, CLIENT, dict(metadata))

    assert bodies(list_all(checked)) == ['a']


@pytest.mark.parametrize(
    ('stored', 'expected'),
    [
        ({'_default_message_ttl': 120}, {}),
        ({}, {'_default_message_ttl': 120}),
        # Equal in Python, not as metadata: only an integer is a TTL default.
        ({'_default_message_ttl': 120}, {'_default_message_ttl': 120.0}),
        ({'a': 1, 'b': 2}, {'a': 1, 'b': 3}),
    ],
)
def test_other_metadata_stores_nothing(
    checked: DataDriver, stored: dict[str, object], expected: dict[str, object]
) -> None:
    checked.queues.create(QUEUE, stored, PROJECT)

    with pytest.raises(errors.MetadataChanged):
        checked.messages.post_checked(QUEUE, batch('a'), PROJECT, CLIENT, expected)

    assert list_all(checked) == []
    assert checked.queues.get_metadata(QUEUE, PROJECT) == stored


def test_a_metadata_update_is_seen_by_the_next_checked_post(
    checked: DataDriver,
) -> None:
    checked.queues.create(QUEUE, {}, PROJECT)
    checked.messages.post_checked(QUEUE, batch('a'), PROJECT, CLIENT, {})
    checked.queues.set_metadata(QUEUE, {'x': 1}, PROJECT)

    with pytest.raises(errors.MetadataChanged):
        checked.messages.post_checked(QUEUE, batch('b'), PROJECT, CLIENT, {})
    checked.messages.post_checked(QUEUE, batch('c'), PROJECT, CLIENT, {'x': 1})

    assert bodies(list_all(checked)) == ['a', 'c']


def test_the_metadata_compared_is_the_project_s_own(checked: DataDriver) -> None:
    checked.queues.create(QUEUE, {'x': 1}, OTHER_PROJECT)

    checked.messages.post_checked(QUEUE, batch('a'), PROJECT, CLIENT, {})

    assert bodies(list_all(checked)) == ['a']
    assert list_all(checked, project=OTHER_PROJECT) == []
