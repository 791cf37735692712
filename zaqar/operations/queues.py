"""Queue operations: list, create, read, update, delete, stats and purge."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from zaqar.common.queue_metadata import Metadata
from zaqar.operations import json_patch
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.kinds import Kind
from zaqar.operations.kinds import storage_project
from zaqar.operations.paging import Page
from zaqar.operations.paging import next_query
from zaqar.operations.validation import Validator
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.base import QueueController
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats

DEFAULT_QUEUE_PAGE = 10
# Rounds of read, patch, compare-and-set before a PATCH gives up with 409.
PATCH_ATTEMPTS = 5

_INT_RE = re.compile(r'-?[0-9]{1,19}')
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class BodyLimit:
    """The largest body an operation reads, and how it refuses a larger one.

    Attributes:
        size: Bytes.
        message: The refusal's text.
        body_error: Whether the refusal is an ``InvalidBody`` (a body
            problem) rather than a ``ValidationFailed`` (an API rule).
    """

    size: int
    message: str
    body_error: bool = False

    def refusal(self) -> ValidationFailed:
        """A new exception refusing a body over :attr:`size`."""
        return (InvalidBody if self.body_error else ValidationFailed)(self.message)


@dataclasses.dataclass(frozen=True)
class QueueListing:
    """A page of queues and, when asked for, how many the project has.

    Attributes:
        page: The queues; each has its metadata, reserved defaults
            included, when the listing was detailed.
        count: The project's number of queues when ``with_count`` was given
            and it is not zero; None otherwise.
    """

    page: Page[QueueInfo]
    count: int | None = None


def stored_metadata(queues: QueueController, name: str, project: str) -> Metadata:
    """Return a queue's stored metadata; a missing queue has none.

    Queues are lazy: reading a missing one is not an error.
    """
    try:
        return queues.get_metadata(name, project)
    except storage_errors.QueueDoesNotExist:
        return {}


class QueueOperations:
    """Every operation on queues (or topics) as a whole.

    ``list`` comes last so that the builtin still names the type above it.

    Args:
        storage: The storage stack (pipeline and driver).
        validator: Checks requests against the configured limits.
        kind: Queues, or topics (see :mod:`zaqar.operations.kinds`).
    """

    def __init__(
        self, storage: DataDriver, validator: Validator, kind: Kind = Kind.QUEUE
    ) -> None:
        self._storage = storage
        self._queues = storage.queues
        self._messages = storage.messages
        self._validator = validator
        self._kind = kind

    def _with_defaults(self, metadata: Metadata) -> Metadata:
        return self._validator.with_defaults(metadata, self._kind.shown_defaults())

    def _info_with_defaults(self, info: QueueInfo) -> QueueInfo:
        if info.metadata is None:
            return info
        return QueueInfo(info.name, self._with_defaults(info.metadata))

    @property
    def metadata_limit(self) -> BodyLimit:
        """The largest metadata document a create accepts."""
        size = self._validator.limits.max_queue_metadata
        noun = self._kind.value.capitalize()
        return BodyLimit(size, f'{noun} metadata is too large. Max size: {size}')

    @property
    def patch_limit(self) -> BodyLimit:
        """The largest JSON-patch document an update accepts."""
        return dataclasses.replace(self.metadata_limit, body_error=True)

    def create(self, name: str, project: str, metadata: object = None) -> bool:
        """Create the queue with ``metadata`` unless it exists.

        Returns:
            True if created; False if it existed (the metadata is then
            ignored: create is not an update).
        """
        document = {} if metadata is None else metadata
        if not isinstance(document, dict):
            raise InvalidBody('Document type not supported.')
        self._validator.queue_metadata(document)
        with storage_project(self._kind, project) as scope:
            return self._queues.create(name, document, scope)

    def get_metadata(self, name: str, project: str) -> Metadata:
        """Return the metadata with reserved defaults; a missing queue too."""
        with storage_project(self._kind, project) as scope:
            return self._with_defaults(stored_metadata(self._queues, name, scope))

    def exists(self, name: str, project: str) -> bool:
        """Tell whether the queue exists."""
        with storage_project(self._kind, project) as scope:
            return self._queues.exists(name, scope)

    def patch(self, name: str, project: str, document: object) -> Metadata:
        """Apply a JSON-patch document to the metadata of an existing queue.

        Read, patch, compare-and-set, retried: two updates of one queue at
        once both take effect; neither silently undoes the other.

        Returns:
            The new metadata, with reserved defaults.

        Raises:
            InvalidBody: No document, or not a valid patch, or the result
                breaks a metadata rule.
            PatchConflict: An operation names a key that is not there.
            QueueDoesNotExist: The queue does not exist.
            MetadataConflict: Others kept changing the metadata meanwhile.
        """
        if document is None:
            raise InvalidBody('PATCH body could not be empty for update.')
        changes = json_patch.parse(document)
        with storage_project(self._kind, project) as scope:
            for attempt in range(PATCH_ATTEMPTS):
                stored = self._queues.get_metadata(name, scope)
                metadata = self._patched(stored, changes)
                try:
                    self._queues.set_metadata(name, metadata, scope, expected=stored)
                    break
                except storage_errors.MetadataConflict:
                    if attempt == PATCH_ATTEMPTS - 1:
                        raise
        return self._with_defaults(metadata)

    def _patched(
        self, stored: Metadata, changes: list[json_patch.PatchOperation]
    ) -> Metadata:
        """Return a validated copy of ``stored`` with ``changes`` applied."""
        metadata = dict(stored)
        reserved = self._validator.queue_defaults()
        for change in changes:
            json_patch.apply(metadata, change, reserved)
        self._validator.queue_metadata(metadata, error=InvalidBody)
        return metadata

    def delete(self, name: str, project: str) -> None:
        """Delete the queue and its messages; idempotent.

        Its subscriptions stay until they expire, as upstream's do.
        """
        with storage_project(self._kind, project) as scope:
            self._queues.delete(name, scope)

    def stats(self, name: str, project: str) -> QueueStats:
        """Count the queue's messages; a missing queue has all zeros."""
        with storage_project(self._kind, project) as scope:
            return self._queues.stats(name, scope)

    def purge(self, name: str, project: str, document: object = None) -> None:
        """Remove the resource types ``document`` names; all without one.

        Raises:
            Unsupported: Subscriptions were named, and the driver stores
                none. (Without a document, only messages are purged then.)
        """
        resources = self._validator.purge_resources(document)
        subscriptions = None
        if 'subscriptions' in resources:
            # NOTE: asked before anything is purged, so that a refusal
            # leaves the messages too.
            try:
                subscriptions = self._storage.subscriptions
            except storage_errors.Unsupported:
                if document is not None:
                    raise
        with storage_project(self._kind, project) as scope:
            if 'messages' in resources:
                self._messages.purge(name, scope)
            if subscriptions is not None:
                subscriptions.purge(name, scope)

    def list(
        self,
        project: str,
        marker: str | None = None,
        limit: int | None = None,
        detailed: bool | None = None,
        name: str | None = None,
        with_count: bool | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> QueueListing:
        """List the project's queues by name.

        Args:
            project: The caller's project.
            marker: Only queues after this name.
            limit: Page size (default 10).
            detailed: Include each queue's metadata.
            name: Only queues whose name contains this.
            with_count: Also count the project's queues.
            filters: Metadata equality filters, values as given in the
                query string (those that read as integers compare as ints).
        """
        self._validator.queue_listing(limit)
        metadata_filter = {
            key: filter_value(text) for key, text in (filters or {}).items()
        }
        with storage_project(self._kind, project) as scope:
            queues = self._queues.list(
                scope,
                marker=marker,
                limit=limit or DEFAULT_QUEUE_PAGE,
                detailed=bool(detailed),
                name_contains=name,
                metadata_filter=metadata_filter or None,
            )
            count = self._queues.count(scope) if with_count else None
        queues = [self._info_with_defaults(info) for info in queues]
        page: Page[QueueInfo] = Page(queues)
        if queues:
            paging = {
                'limit': limit,
                'detailed': detailed,
                'name': name,
                'with_count': with_count,
            }
            # NOTE: unlike upstream, the next page keeps the metadata
            # filters, so that it lists the same selection.
            page = Page(queues, next_query(paging, queues[-1].name, metadata_filter))
        return QueueListing(page, count or None)


def filter_value(text: str) -> str | int:
    """A metadata filter value, as an int when it reads as one."""
    if _INT_RE.fullmatch(text) and _INT64_MIN <= int(text) <= _INT64_MAX:
        return int(text)
    return text
