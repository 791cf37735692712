"""MetadataMemory: bounded, oldest first out, and off for good once disabled."""

from __future__ import annotations

from zaqar.operations.posting import MetadataMemory


def test_the_oldest_queue_is_forgotten_first_when_full() -> None:
    memory = MetadataMemory(capacity=2)
    memory.put('p', 'a', {'n': 1})
    memory.put('p', 'b', {'n': 2})
    memory.put('p', 'a', {'n': 3})  # a is now the newest
    memory.put('p', 'c', {'n': 4})

    assert memory.get('p', 'a') == {'n': 3}
    assert memory.get('p', 'b') is None
    assert memory.get('p', 'c') == {'n': 4}


def test_queues_of_other_projects_are_apart() -> None:
    memory = MetadataMemory()
    memory.put('p', 'a', {'n': 1})

    assert memory.get('other', 'a') is None


def test_forget_drops_one_queue() -> None:
    memory = MetadataMemory()
    memory.put('p', 'a', {'n': 1})
    memory.put('p', 'b', {'n': 2})
    memory.forget('p', 'a')

    assert memory.get('p', 'a') is None
    assert memory.get('p', 'b') == {'n': 2}


def test_a_disabled_memory_holds_nothing() -> None:
    memory = MetadataMemory()
    memory.put('p', 'a', {'n': 1})
    memory.disable()
    memory.put('p', 'b', {'n': 2})

    assert memory.get('p', 'a') is None
    assert memory.get('p', 'b') is None
