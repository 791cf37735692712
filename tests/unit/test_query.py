"""Ids and query values: whole-string matches, 64-bit integers."""

from __future__ import annotations

from zaqar.common import ids
from zaqar.operations.queues import filter_value


def test_ids_with_a_trailing_newline_are_not_valid() -> None:
    assert ids.is_valid_id(ids.new_id())
    assert ids.is_valid_id('a' * 32)
    assert not ids.is_valid_id('a' * 32 + '\n')
    assert not ids.is_valid_id('A' * 32)


def test_filter_values_read_as_integers_only_within_64_bits() -> None:
    assert filter_value('7') == 7
    assert filter_value('-7') == -7
    assert filter_value('7\n') == '7\n'
    assert filter_value('1234567890123456789') == 1234567890123456789
    assert filter_value('12345678901234567890') == '12345678901234567890'
    assert filter_value('true') == 'true'
