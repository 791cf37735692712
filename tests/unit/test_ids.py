"""Ids: 32 hex digits, unique, and (ordered ones) sorted by creation time."""

from __future__ import annotations

from zaqar.common import ids


def test_batches_of_ids_are_distinct_and_well_formed() -> None:
    made = ids.new_ids(1000) + [ids.new_id() for _ in range(10)]

    assert len(set(made)) == len(made)
    assert all(ids.is_valid_id(made_id) for made_id in made)


def test_ordered_ids_sort_by_the_time_they_were_made() -> None:
    earlier = ids.new_ordered_ids(50, 1_800_000_000.0)
    later = ids.new_ordered_ids(50, 1_800_000_000.002)

    assert len(set(earlier + later)) == 100
    assert all(ids.is_valid_id(made_id) for made_id in earlier + later)
    assert max(earlier) < min(later)
    assert ids.new_ordered_id(1_800_000_000.001) > max(earlier)
    assert ids.new_ordered_id(1_800_000_000.001) < min(later)
