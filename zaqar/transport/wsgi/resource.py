"""What the resources that validate requests and return messages share."""

from __future__ import annotations

from zaqar.storage.base import DataDriver
from zaqar.transport.validation import Validator


class ValidatedResource:
    """Base of the message and claim resources.

    Args:
        storage: The storage driver.
        validator: Validator holding the configured limits.
        with_checksum: Add ``checksum`` to returned messages.
    """

    def __init__(
        self, storage: DataDriver, validator: Validator, with_checksum: bool = False
    ) -> None:
        self._storage = storage
        self._validator = validator
        self._with_checksum = with_checksum
