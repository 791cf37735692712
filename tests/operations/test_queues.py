"""Queue operations: listing rules, metadata, compare-and-set updates."""

from __future__ import annotations

import threading

import pytest

from zaqar.operations import Operations
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import PatchConflict
from zaqar.operations.errors import ValidationFailed
from zaqar.storage import errors as storage_errors

from .conftest import PROJECT


def test_create_answers_whether_the_queue_is_new(ops: Operations) -> None:
    assert ops.queues.create('q', PROJECT, {'colour': 'blue'}) is True
    # A second create is not an update: the metadata stays as it was.
    assert ops.queues.create('q', PROJECT, {'colour': 'red'}) is False
    assert ops.queues.get_metadata('q', PROJECT)['colour'] == 'blue'


@pytest.mark.parametrize(
    ('metadata', 'error', 'text'),
    [
        ([1, 2], InvalidBody, 'Document type not supported.'),
        ({'_default_message_ttl': 10}, ValidationFailed, 'at least 60 seconds'),
        ({'_max_claim_count': 'x'}, ValidationFailed, 'must be integer'),
    ],
)
def test_create_refuses_bad_metadata(
    ops: Operations, metadata: object, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        ops.queues.create('q', PROJECT, metadata)
    assert not ops.queues.exists('q', PROJECT)


def test_metadata_of_a_missing_queue_is_the_defaults(ops: Operations) -> None:
    metadata = ops.queues.get_metadata('nowhere', PROJECT)
    assert metadata['_default_message_ttl'] == 3600
    assert metadata['_max_messages_post_size'] == 262144
    assert metadata['_dead_letter_queue'] is None
    assert not ops.queues.exists('nowhere', PROJECT)


def test_a_listing_pages_by_name_and_repeats_its_query(ops: Operations) -> None:
    for name in ('c', 'a', 'b'):
        ops.queues.create(name, PROJECT, {'team': 'x'})
    first = ops.queues.list(PROJECT, limit=2, filters={'team': 'x'})
    assert [info.name for info in first.page.items] == ['a', 'b']
    assert first.page.next_query == {'limit': 2, 'team': 'x', 'marker': 'b'}
    second = ops.queues.list(PROJECT, marker='b', limit=2, filters={'team': 'x'})
    assert [info.name for info in second.page.items] == ['c']
    last = ops.queues.list(PROJECT, marker='c', limit=2)
    assert last.page.items == []
    assert last.page.next_query is None


def test_a_detailed_listing_shows_defaults_and_a_count(ops: Operations) -> None:
    ops.queues.create('q', PROJECT, {'n': 7})
    listing = ops.queues.list(PROJECT, detailed=True, with_count=True)
    (info,) = listing.page.items
    assert info.metadata is not None
    assert info.metadata['n'] == 7
    assert info.metadata['_default_message_delay'] == 0
    assert listing.count == 1
    # Filters that read as integers compare as integers.
    assert ops.queues.list(PROJECT, filters={'n': '7'}).page.items
    assert not ops.queues.list(PROJECT, filters={'n': 'seven'}).page.items


def test_a_listing_limit_is_checked(ops: Operations) -> None:
    with pytest.raises(ValidationFailed, match='no greater than 20'):
        ops.queues.list(PROJECT, limit=21)


def test_patch_applies_changes_and_answers_with_defaults(ops: Operations) -> None:
    ops.queues.create('q', PROJECT, {'keep': 1, 'drop': 2})
    changes = [
        {'op': 'add', 'path': '/metadata/new', 'value': 3},
        {'op': 'remove', 'path': '/metadata/drop'},
        {'op': 'replace', 'path': '/metadata/_default_message_ttl', 'value': 120},
    ]
    metadata = ops.queues.patch('q', PROJECT, changes)
    assert metadata['new'] == 3 and metadata['keep'] == 1
    assert 'drop' not in metadata
    assert metadata['_default_message_ttl'] == 120
    assert metadata == ops.queues.get_metadata('q', PROJECT)


def test_patch_refusals(ops: Operations) -> None:
    with pytest.raises(InvalidBody, match='could not be empty'):
        ops.queues.patch('q', PROJECT, None)
    with pytest.raises(storage_errors.QueueDoesNotExist):
        ops.queues.patch('q', PROJECT, [])
    ops.queues.create('q', PROJECT)
    with pytest.raises(PatchConflict):
        ops.queues.patch('q', PROJECT, [{'op': 'remove', 'path': '/metadata/x'}])
    bad_ttl = [{'op': 'add', 'path': '/metadata/_default_message_ttl', 'value': 1}]
    with pytest.raises(InvalidBody, match='at least 60 seconds'):
        ops.queues.patch('q', PROJECT, bad_ttl)


def test_concurrent_patches_all_take_effect(ops: Operations) -> None:
    ops.queues.create('q', PROJECT)
    keys = [f'key{index}' for index in range(8)]

    def add(key: str) -> None:
        ops.queues.patch(
            'q', PROJECT, [{'op': 'add', 'path': f'/metadata/{key}', 'value': 1}]
        )

    threads = [threading.Thread(target=add, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = ops.queues.get_metadata('q', PROJECT)
    assert all(stored.get(key) == 1 for key in keys)


def test_purge_removes_messages_and_keeps_the_queue(ops: Operations) -> None:
    target = ops.messages.target('q', PROJECT)
    ops.messages.post(target, {'messages': [{'body': 1}]}, 'client-1')
    with pytest.raises(ValidationFailed, match='resource_types'):
        ops.queues.purge('q', PROJECT, {'types': ['messages']})
    ops.queues.purge('q', PROJECT, {'resource_types': ['subscriptions']})
    assert ops.queues.stats('q', PROJECT).total == 1
    ops.queues.purge('q', PROJECT)
    assert ops.queues.stats('q', PROJECT).total == 0
    assert ops.queues.exists('q', PROJECT)


def test_delete_is_idempotent(ops: Operations) -> None:
    ops.queues.create('q', PROJECT)
    ops.queues.delete('q', PROJECT)
    ops.queues.delete('q', PROJECT)
    assert not ops.queues.exists('q', PROJECT)
