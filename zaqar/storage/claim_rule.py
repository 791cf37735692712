"""The claim rule of message deletes, shared by the drivers.

``MessageController.delete`` deletes a message under a live claim only
given that claim (or a claim the message records), and ``delete_many`` with
``claim_ids`` deletes a message only if one of the given claims holds it, by
the same rule. Drivers read each message's claim state in their own way (the
Redis driver checks it in Lua); this module says what that state allows, so
that the drivers that check in Python agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence

from zaqar.common import ids
from zaqar.storage import errors


@dataclasses.dataclass(frozen=True)
class ClaimState:
    """The claim state of one live message.

    Attributes:
        recorded: The id of the claim the message records: its live claim,
            or an expired one nobody released or replaced; None when it
            records none.
        claimed: Whether a live claim holds it.
    """

    recorded: str | None
    claimed: bool


def checked_claim_ids(claim_ids: Sequence[str]) -> frozenset[str]:
    """Return the claim ids as a set, after checking their shape.

    Raises:
        InvalidClaimId: The first one no claim can have.
    """
    for claim_id in claim_ids:
        if not ids.is_valid_id(claim_id):
            raise errors.InvalidClaimId(claim_id)
    return frozenset(claim_ids)


def refusal(
    message_id: str, state: ClaimState, claim_ids: Collection[str]
) -> errors.NotPermitted | None:
    """The error deleting the message under one of ``claim_ids`` meets, if any."""
    if state.recorded is not None and state.recorded in claim_ids:
        return None
    if state.claimed:
        return errors.MessageIsClaimed(message_id)
    return errors.MessageNotClaimed(message_id)


def delete_refusal(
    message_id: str, state: ClaimState, claim_id: str | None
) -> errors.NotPermitted | None:
    """The error deleting the message with ``claim_id`` (None: none) meets."""
    if claim_id is not None:
        return refusal(message_id, state, (claim_id,))
    return errors.MessageIsClaimed(message_id) if state.claimed else None


def check_held(
    message_ids: Sequence[str],
    found: Mapping[str, ClaimState],
    claim_ids: Collection[str],
) -> None:
    """Raise for the first listed message found that no given claim holds.

    Args:
        message_ids: The ids as the caller listed them; the order decides
            which refusal is raised when several messages fail.
        found: The claim state of each listed message that is live.
        claim_ids: The claims quoted.

    Raises:
        MessageIsClaimed: That message is under another live claim.
        MessageNotClaimed: That message is not claimed.
    """
    for message_id in message_ids:
        state = found.get(message_id)
        error = None if state is None else refusal(message_id, state, claim_ids)
        if error is not None:
            raise error
