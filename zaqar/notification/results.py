"""The outcome of one delivery attempt, shared by every sender."""

from __future__ import annotations

import dataclasses
import enum


class Outcome(enum.Enum):
    """How one attempt went, as far as retrying is concerned."""

    DELIVERED = 'delivered'
    # Worth another attempt later: the subscriber may answer then.
    RETRYABLE = 'retryable'
    # Another attempt would fail the same way.
    PERMANENT = 'permanent'


@dataclasses.dataclass(frozen=True)
class DeliveryResult:
    """What one delivery attempt did.

    Attributes:
        outcome: Delivered, worth retrying, or failed for good.
        status: The HTTP status, SMTP reply code or program exit status the
            subscriber's side answered, when it answered at all.
        reason: A short line for an operator's log. It never holds a
            secret, nor the subscriber URL (which may carry credentials).
    """

    outcome: Outcome
    status: int | None = None
    reason: str = ''

    @property
    def delivered(self) -> bool:
        """True when the subscriber accepted the delivery."""
        return self.outcome is Outcome.DELIVERED

    @property
    def retryable(self) -> bool:
        """True when the attempt failed but a later one may succeed."""
        return self.outcome is Outcome.RETRYABLE

    @property
    def permanent(self) -> bool:
        """True when the attempt failed and retrying would not help."""
        return self.outcome is Outcome.PERMANENT

    @classmethod
    def ok(cls, status: int | None, reason: str) -> DeliveryResult:
        """A delivered attempt."""
        return cls(Outcome.DELIVERED, status, reason)

    @classmethod
    def retry(cls, status: int | None, reason: str) -> DeliveryResult:
        """A failed attempt worth retrying."""
        return cls(Outcome.RETRYABLE, status, reason)

    @classmethod
    def fail(cls, status: int | None, reason: str) -> DeliveryResult:
        """A failed attempt not worth retrying."""
        return cls(Outcome.PERMANENT, status, reason)
