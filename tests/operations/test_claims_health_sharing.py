"""Claims, health and pre-signed URL operations."""

from __future__ import annotations

import datetime

import pytest

from zaqar.common.clock import ManualClock
from zaqar.common.limits import Limits
from zaqar.operations import Operations
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.health import HealthReport
from zaqar.storage import errors as storage_errors
from zaqar.storage.sqlite.driver import SqliteDriver

from .conftest import CLIENT
from .conftest import PROJECT


def post(ops: Operations, queue: str, count: int) -> list[str]:
    target = ops.messages.target(queue, PROJECT)
    document = {'messages': [{'body': index} for index in range(count)]}
    return ops.messages.post(target, document, CLIENT)


def test_a_claim_takes_defaults_and_treats_null_as_default(ops: Operations) -> None:
    post(ops, 'q', 3)
    claim = ops.claims.create('q', PROJECT, limit=2, options={'ttl': None})
    assert claim is not None
    assert claim.ttl == 300
    assert [message.body for message in claim.messages] == [0, 1]
    assert ops.claims.create('q', PROJECT, options=None) is not None
    assert ops.claims.create('q', PROJECT) is None


@pytest.mark.parametrize(
    ('limit', 'options', 'error'),
    [
        (21, None, ValidationFailed),
        (None, {'ttl': 10}, ValidationFailed),
        (None, {'grace': 'x'}, InvalidBody),
        (None, [1], InvalidBody),
    ],
)
def test_bad_claims_claim_nothing(
    ops: Operations, limit: int | None, options: object, error: type[Exception]
) -> None:
    post(ops, 'q', 1)
    with pytest.raises(error):
        ops.claims.create('q', PROJECT, limit=limit, options=options)
    assert ops.queues.stats('q', PROJECT).claimed == 0


def test_renew_and_release(ops: Operations, clock: ManualClock) -> None:
    post(ops, 'q', 1)
    claim = ops.claims.create('q', PROJECT, options={'ttl': 60, 'grace': 60})
    assert claim is not None
    clock.advance(50)
    ops.claims.renew('q', PROJECT, claim.id, {'ttl': 120})
    assert ops.claims.get('q', PROJECT, claim.id).ttl == 120
    with pytest.raises(InvalidBody):
        # A renewal takes no nulls.
        ops.claims.renew('q', PROJECT, claim.id, {'ttl': None})
    ops.claims.release('q', PROJECT, claim.id)
    with pytest.raises(storage_errors.ClaimDoesNotExist):
        ops.claims.get('q', PROJECT, claim.id)
    assert ops.queues.stats('q', PROJECT).free == 1


def test_health_counts_the_projects_messages(ops: Operations) -> None:
    post(ops, 'a', 2)
    post(ops, 'b', 3)
    ops.claims.create('b', PROJECT, limit=1)
    assert ops.health.ping()
    report = ops.health.report(PROJECT)
    assert report.storage_reachable
    assert report.message_volume is not None
    assert (report.message_volume.free, report.message_volume.claimed) == (4, 1)
    assert report.message_volume.total == 5
    assert ops.health.report('other').message_volume is not None


def test_an_unreachable_store_is_reported_so(clock: ManualClock) -> None:
    broken = SqliteDriver('/nonexistent-zaqar-dir/x.db', clock)
    ops = Operations.build(broken, Limits())
    assert not ops.health.ping()
    assert ops.health.report(PROJECT) == HealthReport(storage_reachable=False)


def test_a_signed_grant_verifies_only_for_what_it_grants(ops: Operations) -> None:
    grant, signature = ops.sharing.sign(
        'q', PROJECT, {'methods': ['GET', 'POST'], 'paths': ['messages']}
    )
    assert grant.paths == ('/v2/queues/q/messages',)

    def verify(method: str, path: str, project: str = PROJECT) -> bool:
        return ops.sharing.verify(
            signature,
            grant.expires_text,
            grant.paths,
            grant.methods,
            project,
            method,
            path,
        )

    assert verify('POST', '/v2/queues/q/messages')
    assert verify('GET', '/v2/queues/q/messages/abc')
    assert not verify('DELETE', '/v2/queues/q/messages')
    assert not verify('GET', '/v2/queues/q/claims')
    assert not verify('GET', '/v2/queues/q/messages', project='other')


def test_a_grant_expires(ops: Operations, clock: ManualClock) -> None:
    expires = datetime.datetime.fromtimestamp(clock.now() + 60, datetime.UTC)
    grant, signature = ops.sharing.sign('q', PROJECT, {'expires': expires.isoformat()})
    args = (grant.paths, grant.methods, PROJECT, 'GET', '/v2/queues/q/messages')
    assert ops.sharing.verify(signature, grant.expires_text, *args)
    clock.advance(61)
    assert not ops.sharing.verify(signature, grant.expires_text, *args)


def test_without_a_secret_nothing_is_signed_or_verified(storage: SqliteDriver) -> None:
    ops = Operations.build(storage, Limits(), signing_secret=None)
    with pytest.raises(ValidationFailed, match='secret_key'):
        ops.sharing.sign('q', PROJECT, {})
    with pytest.raises(ValidationFailed, match='secret_key'):
        ops.sharing.grant(['/v2/queues/q'], ['PUT'], PROJECT, ops.sharing.expiry_in(60))
    assert not ops.sharing.verify(
        '0' * 64, '2100-01-01T00:00:00', [], [], 'p', 'GET', '/'
    )
