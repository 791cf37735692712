"""The checker's judgement, on histories written by hand.

A checker that cannot fail proves nothing: each check is shown a history
with the violation it exists for (and a near miss it must accept).
"""

from __future__ import annotations

import json

import requests

from tests.faults.checker import Ack
from tests.faults.checker import Checker
from tests.faults.checker import Deletion
from tests.faults.checker import Delivery
from tests.faults.checker import Failure
from tests.faults.checker import History
from tests.faults.checker import Sighting
from tests.faults.checker import check_pass
from tests.faults.checker import judge_failure
from tests.faults.checker import verify


def clean_history() -> History:
    """Two posts by producer 0, claimed, deleted, seen in order: no violation."""
    history = History(claim_ttl=60)
    history.acks += [Ack(0, 0, ('m0', 'm1')), Ack(0, 2, ('m2',))]
    history.deliveries += [
        Delivery('m0', 0, 0, 'c1', sent=1.0, answered=1.1),
        Delivery('m1', 0, 1, 'c1', sent=1.0, answered=1.1),
        Delivery('m2', 0, 2, None, sent=9.0, answered=9.1),  # left for the drain
    ]
    history.deletions += [Deletion('m0', 'c1', 1.2), Deletion('m1', 'c1', 1.3)]
    history.record_pass([Sighting('m0', 0, 0), Sighting('m2', 0, 2)])
    return history


def test_a_clean_history_passes() -> None:
    assert verify(clean_history()) == []


def test_an_acknowledged_message_never_delivered_is_lost() -> None:
    history = clean_history()
    history.acks.append(Ack(1, 0, ('m9',)))

    assert verify(history) == [
        'lost: m9 (producer 1, seq 0) was acknowledged but never delivered'
    ]


def test_a_deleted_message_claimed_again_is_reported() -> None:
    history = clean_history()
    history.deliveries.append(Delivery('m0', 0, 0, 'c2', sent=2.0, answered=2.1))

    found = verify(history)

    assert any(v.startswith('redelivered: m0 was deleted with claim c1') for v in found)


def test_a_deleted_message_left_for_the_drain_is_reported() -> None:
    history = clean_history()
    history.deliveries.append(Delivery('m1', 0, 1, None, sent=9.0, answered=9.1))

    assert verify(history) == [
        'redelivered: m1 was deleted with claim c1 yet delivered again by the '
        'drain, 7.700 s later'
    ]


def test_a_delivery_concurrent_with_the_delete_is_not_judged_a_redelivery() -> None:
    history = clean_history()
    # Sent before the delete was answered: it may have been served first.
    history.deliveries.append(Delivery('m0', 0, 0, None, sent=1.15, answered=1.5))

    assert verify(history) == []


def claimed_twice(second_sent: float) -> History:
    """A clean history, plus m5 claimed by c7 at 3 s and by c8 at ``second_sent``."""
    history = clean_history()
    history.acks.append(Ack(2, 0, ('m5',)))
    history.deliveries += [
        Delivery('m5', 2, 0, 'c7', sent=3.0, answered=3.1),
        Delivery('m5', 2, 0, 'c8', sent=second_sent, answered=second_sent + 0.1),
    ]
    return history


def test_two_live_claims_on_one_message_are_reported() -> None:
    assert verify(claimed_twice(20.0)) == [
        'two live claims: m5 held by claims c7 and c8, 17.100 s apart (claim TTL 60 s)'
    ]


def test_a_claim_after_the_first_one_expired_is_no_overlap() -> None:
    # 60 s claim TTL: c7 cannot be live any more, the margin included.
    assert verify(claimed_twice(62.0)) == []


def test_an_overlap_within_the_clock_margin_is_not_reported() -> None:
    history = claimed_twice(62.5)

    assert verify(history, margin=1.0) == []
    assert len(verify(history, margin=0.0)) == 1


def test_an_observer_seeing_a_producer_out_of_order_is_reported() -> None:
    found = check_pass([Sighting('a', 0, 1), Sighting('b', 1, 0), Sighting('c', 0, 0)])

    assert found == [
        'producer 0 listed out of order: seq 0 after 1 (item 2 of the pass)'
    ]


def test_an_observer_seeing_a_message_twice_in_a_pass_is_reported() -> None:
    found = check_pass([Sighting('a', 0, 1), Sighting('a', 0, 1)])

    assert 'a listed twice in one pass' in found


def test_gaps_in_a_pass_are_fine() -> None:
    # Claimers delete messages while observers page: gaps, never reordering.
    assert (
        check_pass([Sighting('a', 0, 0), Sighting('b', 0, 5), Sighting('c', 0, 9)])
        == []
    )


def test_pass_violations_reach_the_verdict() -> None:
    history = clean_history()
    history.record_pass([Sighting('m2', 0, 2), Sighting('m0', 0, 0)])

    assert verify(history) == [
        'observer: producer 0 listed out of order: seq 0 after 2 (item 1 of the pass)'
    ]


def test_a_message_stored_twice_is_reported() -> None:
    history = clean_history()
    # Producer 0's seq 2 delivered under a second id: its post stored twice.
    history.deliveries.append(Delivery('m2-again', 0, 2, None, sent=9.0, answered=9.1))

    assert verify(history) == [
        "stored twice: producer 0 seq 2 stored as ['m2', 'm2-again']"
    ]


def test_a_message_stored_twice_is_reported_from_an_observer_too() -> None:
    history = clean_history()
    # A later pass lists producer 0's seq 0 under another id.
    history.record_pass([Sighting('m0-again', 0, 0)])

    assert verify(history) == [
        "stored twice: producer 0 seq 0 stored as ['m0', 'm0-again']"
    ]


def test_a_re_send_answered_with_other_ids_is_reported() -> None:
    history = clean_history()
    history.acks.append(Ack(0, 2, ('m3',)))

    found = verify(history)

    assert "stored twice: producer 0 seq 2 stored as ['m2', 'm3']" in found


def test_many_violations_are_summarized() -> None:
    history = clean_history()
    history.acks += [Ack(3, n, (f'x{n}',)) for n in range(8)]

    found = verify(history)

    assert len(found) == 6
    assert found[-1] == 'lost: ... 3 more'


def response(status: int, body: object, headers: dict[str, str]) -> requests.Response:
    """An HTTP answer as requests hands it over (a value, not a fake server)."""
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers)
    answer._content = json.dumps(body).encode() if body is not None else b''
    return answer


ERROR_BODY = {'title': 'Service temporarily unavailable', 'description': 'x'}


def test_a_503_with_zaqar_body_and_retry_after_is_clean() -> None:
    assert judge_failure(response(503, ERROR_BODY, {'Retry-After': '5'})) == ''


def test_error_answers_a_fault_must_never_cause_are_judged() -> None:
    assert judge_failure(response(500, ERROR_BODY, {})).startswith('status 500')
    assert judge_failure(response(503, ERROR_BODY, {})) == (
        '503 without a Retry-After header'
    )
    assert judge_failure(response(503, None, {'Retry-After': '5'})).startswith(
        '503 whose body is not JSON'
    )
    assert judge_failure(
        response(503, {'error': 'x'}, {'Retry-After': '5'})
    ).startswith('503 without title and description')


def test_unanswered_requests_are_unclean_unless_in_flight_during_an_outage() -> None:
    history = History()
    before = Failure('post', 1.0, 0.5, None, 'ConnectionError')
    in_flight = Failure('post', 9.0, 1.5, None, 'ConnectionError')
    during = Failure('claim', 12.0, 0.0, None, 'ConnectionError')
    after = Failure('list', 21.0, 0.1, None, 'ReadTimeout')
    clean = Failure('post', 12.0, 0.0, 503, '')
    history.failures += [before, in_flight, during, after, clean]

    assert history.unclean() == [before, in_flight, during, after]
    assert history.unclean(outage=(10.0, 20.0)) == [before, after]


def test_a_checker_thread_that_crashes_is_a_violation() -> None:
    checker = Checker('http://127.0.0.1:9', 'q')

    checker._guarded(lambda number: [][number], 3)

    assert verify(checker.history) == [
        "MainThread crashed: IndexError('list index out of range')"
    ]
