"""Posts validated with remembered queue metadata (zaqar.operations.posting).

Two ``Operations`` on one database stand for two server processes: each
remembers metadata on its own, and a change made through one must govern
the very next post through the other.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from oslo_config import cfg

from zaqar import conf as zaqar_conf
from zaqar import pipeline
from zaqar.common.limits import Limits
from zaqar.operations import Kind
from zaqar.operations import Operations
from zaqar.operations.errors import ValidationFailed
from zaqar.pipeline import loader
from zaqar.storage.base import DataDriver
from zaqar.storage.sqlite.driver import SqliteDriver

from .conftest import CLIENT
from .conftest import PROJECT
from .conftest import SECRET


@pytest.fixture
def other(storage: SqliteDriver, limits: Limits) -> Operations:
    """Another process's operations on the same storage."""
    return Operations.build(storage, limits, signing_secret=SECRET)


class Reads:
    """A queue stage counting the metadata reads that reach storage."""

    count = 0

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        pass

    def get_metadata(self, **arguments: Any) -> None:
        Reads.count += 1


class StoresItself:
    """A message stage answering posts in the driver's place, as a stage
    written before checked posts existed would: it hooks ``post`` only."""

    run_last = True

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._storage: DataDriver | None = None

    def bind_storage(self, storage: DataDriver) -> None:
        self._storage = storage

    def post(self, **arguments: Any) -> list[str]:
        assert self._storage is not None
        return self._storage.messages.post(**arguments)


def staged(storage: DataDriver, **pipelines: list[str]) -> Operations:
    """Operations on ``storage`` behind the stages above, as configured."""
    conf = zaqar_conf.new_conf([], default_config_files=[])
    for resource, names in pipelines.items():
        conf.set_override(f'{resource}_pipeline', names, group='storage')
    stages = {'reads': Reads, 'stores-itself': StoresItself}
    loaded = loader.load_pipelines(conf, stages.__getitem__)
    return Operations.build(pipeline.wrap(storage, loaded))


@pytest.fixture(autouse=True)
def no_reads_yet() -> None:
    Reads.count = 0


def send(
    ops: Operations,
    *messages: dict[str, Any],
    queue: str = 'q',
    kind: Kind = Kind.QUEUE,
) -> list[str]:
    """Post as the HTTP transport does: target, then post with the size."""
    document = {'messages': list(messages)}
    size = len(json.dumps(document))
    target = ops.of(kind).messages.target(queue, PROJECT)
    assert size <= target.body_limit.size
    return ops.of(kind).messages.post(target, document, CLIENT, body_size=size)


def set_metadata(ops: Operations, name: str, value: object) -> None:
    """Set one metadata key of queue q, as PATCH does."""
    patch = [{'op': 'add', 'path': f'/metadata/{name}', 'value': value}]
    ops.queues.patch('q', PROJECT, patch)


def ttl_of(ops: Operations, message_id: str) -> int:
    return ops.messages.get('q', PROJECT, message_id).ttl


def test_posts_after_the_first_read_no_metadata(storage: SqliteDriver) -> None:
    ops = staged(storage, queue=['reads'])

    for _ in range(5):
        send(ops, {'body': 1})

    assert Reads.count == 1


def test_a_default_changed_elsewhere_governs_the_next_post(
    ops: Operations, other: Operations
) -> None:
    send(ops, {'body': 1})
    set_metadata(other, '_default_message_ttl', 120)

    (message_id,) = send(ops, {'body': 2})

    assert ttl_of(ops, message_id) == 120


def test_a_queue_recreated_elsewhere_is_read_again(
    ops: Operations, other: Operations
) -> None:
    other.queues.create('q', PROJECT, {'_default_message_ttl': 120})
    send(ops, {'body': 1})
    other.queues.delete('q', PROJECT)

    (message_id,) = send(ops, {'body': 2})

    assert ttl_of(ops, message_id) == Limits().default_message_ttl


def test_a_limit_lowered_elsewhere_refuses_the_next_larger_body(
    ops: Operations, other: Operations
) -> None:
    send(ops, {'body': 1})
    set_metadata(other, '_max_messages_post_size', 100)

    with pytest.raises(ValidationFailed) as refused:
        send(ops, {'body': 'x' * 200})

    assert str(refused.value) == 'Message collection size is too large. Max size 100'
    assert ops.queues.stats('q', PROJECT).total == 1


def test_a_limit_raised_elsewhere_accepts_the_next_larger_body(
    ops: Operations, other: Operations
) -> None:
    ops.queues.create('q', PROJECT, {'_max_messages_post_size': 100})
    send(ops, {'body': 1})
    set_metadata(other, '_max_messages_post_size', 1000)

    send(ops, {'body': 'x' * 200})

    assert ops.queues.stats('q', PROJECT).total == 2


def test_a_post_without_its_size_reads_the_metadata(storage: SqliteDriver) -> None:
    ops = staged(storage, queue=['reads'])
    send(ops, {'body': 1})
    target = ops.messages.target('q', PROJECT)

    ops.messages.post(target, {'messages': [{'body': 2}]}, CLIENT)

    assert Reads.count == 2


def test_storage_without_checked_posts_reads_metadata_for_every_post(
    storage: SqliteDriver, other: Operations
) -> None:
    ops = staged(storage, queue=['reads'], message=['stores-itself'])

    send(ops, {'body': 1})
    set_metadata(other, '_default_message_ttl', 120)
    (message_id,) = send(ops, {'body': 2})
    send(ops, {'body': 3})

    assert ttl_of(ops, message_id) == 120
    # The first post reads; the second tries its remembered metadata, is
    # refused by the stage before anything is stored, and reads; from then
    # on every post reads.
    assert Reads.count == 3


def test_queues_and_topics_share_one_memory_and_stay_apart(
    ops: Operations,
) -> None:
    # One memory per process, so that its budget is the process's.
    assert ops.queue_kind.messages._memory is ops.topic_kind.messages._memory
    ops.queues.create('q', PROJECT, {'_default_message_ttl': 120})

    for _ in range(2):
        (queued,) = send(ops, {'body': 1})
        (published,) = send(ops, {'body': 1}, kind=Kind.TOPIC)

        assert ttl_of(ops, queued) == 120
        topic_message = ops.of(Kind.TOPIC).messages.get('q', PROJECT, published)
        assert topic_message.ttl == Limits().default_message_ttl
