"""Claim operations: claim a batch, read, renew and release a claim."""

from __future__ import annotations

from zaqar.operations.kinds import Kind
from zaqar.operations.kinds import storage_project
from zaqar.operations.validation import Validator
from zaqar.storage.base import DataDriver
from zaqar.storage.models import Claim

DEFAULT_CLAIM_LIMIT = 10


class ClaimOperations:
    """Every operation on the claims of a queue.

    Args:
        storage: The storage stack (pipeline and driver).
        validator: Checks requests against the configured limits.
    """

    def __init__(
        self, storage: DataDriver, validator: Validator, kind: Kind = Kind.QUEUE
    ) -> None:
        self._claims = storage.claims
        self._validator = validator
        self._kind = kind

    def create(
        self, queue: str, project: str, limit: int | None = None, options: object = None
    ) -> Claim | None:
        """Claim up to ``limit`` of the oldest claimable messages.

        Args:
            queue: Queue name.
            project: The caller's project.
            limit: How many at most (default 10).
            options: The request document: ``ttl`` and ``grace``, each
                defaulted when absent or null; None for all defaults.

        Returns:
            The claim, or None when nothing could be claimed.
        """
        self._validator.claim_limit(limit)
        ttl, grace = self._validator.claim_options(options)
        with storage_project(self._kind, project) as scope:
            return self._claims.create(
                queue, scope, ttl=ttl, grace=grace, limit=limit or DEFAULT_CLAIM_LIMIT
            )

    def get(self, queue: str, project: str, claim_id: str) -> Claim:
        """Return the claim with the messages it still holds."""
        with storage_project(self._kind, project) as scope:
            return self._claims.get(queue, claim_id, scope)

    def renew(self, queue: str, project: str, claim_id: str, options: object) -> None:
        """Renew the claim with the ``ttl`` and ``grace`` of ``options``."""
        ttl, grace = self._validator.claim_options(options, renewal=True)
        with storage_project(self._kind, project) as scope:
            self._claims.update(queue, claim_id, scope, ttl=ttl, grace=grace)

    def release(self, queue: str, project: str, claim_id: str) -> None:
        """Release the claim; idempotent."""
        with storage_project(self._kind, project) as scope:
            self._claims.delete(queue, claim_id, scope)
