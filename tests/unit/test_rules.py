"""The storage rules every driver shares."""

from __future__ import annotations

import pytest

from zaqar.common.queue_metadata import DeadLetterPolicy
from zaqar.storage.rules import metadata_matches


@pytest.mark.parametrize(
    ('metadata', 'expected'),
    [
        ({}, DeadLetterPolicy()),
        (
            {'_max_claim_count': 2, '_dead_letter_queue': 'dlq'},
            DeadLetterPolicy(max_claims=2, queue='dlq'),
        ),
        (
            {
                '_max_claim_count': 2,
                '_dead_letter_queue': 'dlq',
                '_dead_letter_queue_messages_ttl': 60,
            },
            DeadLetterPolicy(max_claims=2, queue='dlq', ttl=60),
        ),
        # JSON true is no count, a zero or negative TTL means "keep your own".
        (
            {
                '_max_claim_count': True,
                '_dead_letter_queue': 'dlq',
                '_dead_letter_queue_messages_ttl': 0,
            },
            DeadLetterPolicy(queue='dlq'),
        ),
        ({'_max_claim_count': 1, '_dead_letter_queue': ''}, DeadLetterPolicy(1)),
    ],
)
def test_the_policy_reads_only_well_typed_settings(
    metadata: dict, expected: DeadLetterPolicy
) -> None:
    assert DeadLetterPolicy.of(metadata) == expected


def test_only_a_policy_with_both_keys_moves_messages() -> None:
    assert DeadLetterPolicy(2, 'dlq').is_exhausted(2)
    assert not DeadLetterPolicy(2, 'dlq').is_exhausted(1)
    assert not DeadLetterPolicy(2, None).is_exhausted(5)
    assert not DeadLetterPolicy(None, 'dlq').is_exhausted(5)


def test_metadata_filters_compare_as_json() -> None:
    metadata = {'flag': True, 'n': 1, 'name': 'x'}
    assert metadata_matches(metadata, None)
    assert metadata_matches(metadata, {'flag': True, 'name': 'x'})
    assert not metadata_matches(metadata, {'n': True})
    assert not metadata_matches(metadata, {'flag': 1})
    assert not metadata_matches(metadata, {'missing': None})
