"""Applying parsed JSON-patch operations to queue metadata."""

from __future__ import annotations

import pytest

from zaqar.operations import json_patch
from zaqar.operations.json_patch import PatchOperation

RESERVED = {'_default_message_ttl': 3600}


def test_add_sets_and_overwrites() -> None:
    metadata = {'a': 1}
    json_patch.apply(metadata, PatchOperation('add', 'a', 2), RESERVED)
    json_patch.apply(metadata, PatchOperation('add', 'b', 3), RESERVED)
    assert metadata == {'a': 2, 'b': 3}


def test_replace_needs_a_stored_or_reserved_key() -> None:
    metadata: dict[str, object] = {'a': 1}
    json_patch.apply(metadata, PatchOperation('replace', 'a', 5), RESERVED)
    json_patch.apply(
        metadata, PatchOperation('replace', '_default_message_ttl', 60), RESERVED
    )
    assert metadata == {'a': 5, '_default_message_ttl': 60}
    with pytest.raises(json_patch.PatchConflict, match='replace non-existent object b'):
        json_patch.apply(metadata, PatchOperation('replace', 'b', 1), RESERVED)


def test_remove_of_an_absent_reserved_key_is_a_no_op_but_others_conflict() -> None:
    """python-zaqarclient removes every key a GET showed, defaults included."""
    metadata: dict[str, object] = {'a': 1}
    json_patch.apply(
        metadata, PatchOperation('remove', '_default_message_ttl'), RESERVED
    )
    json_patch.apply(metadata, PatchOperation('remove', 'a'), RESERVED)
    assert metadata == {}
    with pytest.raises(json_patch.PatchConflict, match='remove non-existent object a'):
        json_patch.apply(metadata, PatchOperation('remove', 'a'), RESERVED)
