"""MetadataMemory: bounded in bytes, oldest first out, off for good once disabled."""

from __future__ import annotations

from zaqar.operations.posting import MetadataMemory
from zaqar.operations.posting import remembered_cost

# Every metadata document of these tests costs the same.
ONE = remembered_cost({'n': 1})


def test_the_oldest_queue_is_forgotten_first_when_full() -> None:
    memory = MetadataMemory(budget=2 * ONE)
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


def test_larger_metadata_forgets_as_many_queues_as_it_needs_room() -> None:
    memory = MetadataMemory(budget=3 * ONE)
    for queue in 'abc':
        memory.put('p', queue, {'n': 1})
    large = {'text': 'x' * 5}
    assert ONE < remembered_cost(large) <= 2 * ONE
    memory.put('p', 'd', large)

    assert [memory.get('p', queue) for queue in 'abcd'] == [None, None, {'n': 1}, large]


def test_metadata_over_the_whole_budget_is_not_remembered() -> None:
    memory = MetadataMemory(budget=2 * ONE)
    memory.put('p', 'a', {'n': 1})
    memory.put('p', 'huge', {'text': 'x' * 2 * ONE})

    assert memory.get('p', 'huge') is None
    assert memory.get('p', 'a') == {'n': 1}


def test_forgetting_gives_the_room_back() -> None:
    memory = MetadataMemory(budget=2 * ONE)
    memory.put('p', 'a', {'n': 1})
    memory.put('p', 'b', {'n': 2})
    memory.forget('p', 'a')
    memory.put('p', 'c', {'n': 3})

    assert memory.get('p', 'b') == {'n': 2}
    assert memory.get('p', 'c') == {'n': 3}


def test_the_default_budget_holds_ten_thousand_default_queues() -> None:
    memory = MetadataMemory()
    for number in range(10_000):
        memory.put('project', f'queue-{number}', {})

    assert memory.get('project', 'queue-0') == {}
