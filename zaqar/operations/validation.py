"""Request validation: limits and document rules of the v2 API.

Transport-neutral: plain values in, :class:`~zaqar.operations.errors.
ValidationFailed` or :class:`~zaqar.operations.errors.InvalidBody` out.
Message texts follow upstream Zaqar because they reach clients as error
descriptions. Queue metadata rules live in :mod:`zaqar.common.queue_metadata`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from zaqar.common import names
from zaqar.common import queue_metadata
from zaqar.common.limits import Limits
from zaqar.common.queue_metadata import MIN_DELAY
from zaqar.common.queue_metadata import MIN_MESSAGE_TTL
from zaqar.common.queue_metadata import Metadata
from zaqar.common.queue_metadata import PostSettings
from zaqar.common.queue_metadata import is_int
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.storage.models import NewMessage

MIN_CLAIM_TTL = 60
MIN_CLAIM_GRACE = 60

PURGEABLE_RESOURCES = ('messages', 'subscriptions')


class Validator:
    """Checks requests against the configured limits.

    Args:
        limits: The ``[transport]`` limits.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    # Identification

    def queue_identification(self, name: str, project: str) -> None:
        """Check a queue name and the project id that scopes it."""
        if len(name) > names.QUEUE_NAME_MAX_LENGTH:
            raise ValidationFailed(
                f'Queue names may not be more than {names.QUEUE_NAME_MAX_LENGTH} '
                'characters long.'
            )
        if not names.QUEUE_NAME_RE.fullmatch(name):
            raise ValidationFailed(
                'Queue names may only contain ASCII letters, digits, '
                'underscores, and dashes.'
            )
        if len(project) > names.PROJECT_ID_MAX_LENGTH:
            raise ValidationFailed(
                f'Project ids may not be more than {names.PROJECT_ID_MAX_LENGTH} '
                'characters long.'
            )

    def client_id(self, value: str) -> str:
        """Check a Client-ID header value and return its canonical form.

        In ``strict`` mode the value must parse as a UUID; in ``off`` mode
        only its length is checked. UUIDs are returned in their dashed
        lowercase spelling, so every spelling of one UUID names one client.
        """
        strict = self.limits.client_id_uuid_safe == 'strict'
        if not strict:
            low = self.limits.min_length_client_id
            high = self.limits.max_length_client_id
            if not low <= len(value) <= high:
                raise ValidationFailed(
                    f'Length of client id must be at least {low} and no '
                    f'greater than {high}.'
                )
        try:
            return str(uuid.UUID(value))
        except ValueError:
            if strict:
                raise ValidationFailed('Malformed hexadecimal UUID.') from None
            return value

    # Paging and id lists

    def queue_listing(self, limit: int | None) -> None:
        """Check the ``limit`` of a queue listing."""
        high = self.limits.max_queues_per_page
        if limit is not None and not 0 < limit <= high:
            raise ValidationFailed(
                f'Limit must be at least 1 and no greater than {high}.'
            )

    def message_listing(self, limit: int | None) -> None:
        """Check the ``limit`` of a message listing or an ``ids`` count."""
        high = self.limits.max_messages_per_page
        if limit is not None and not 0 < limit <= high:
            raise ValidationFailed(
                f'Limit must be at least 1 and may not be greater than {high}.'
            )

    def claim_limit(self, limit: int | None) -> None:
        """Check the ``limit`` of a claim request."""
        high = self.limits.max_messages_per_claim_or_pop
        if limit is not None and not 0 < limit <= high:
            raise ValidationFailed(
                f'Limit must be at least 1 and may not be greater than {high}.'
            )

    def message_deletion(self, ids: Sequence[str] | None, pop: int | None) -> None:
        """Check a bulk delete: exactly one of ``ids`` and ``pop``, in range."""
        if ids is not None and pop is not None:
            raise ValidationFailed(
                'pop and id params cannot be present together in the delete request.'
            )
        if ids is None and pop is None:
            raise ValidationFailed(
                'The request should have either "ids" or "pop" parameter in '
                'the request, to be able to delete.'
            )
        high = self.limits.max_messages_per_page
        if ids is not None and not 0 < len(ids) <= high:
            raise ValidationFailed(
                f'ids parameter should have at least 1 and not greater than '
                f'{high} values.'
            )
        pop_high = self.limits.max_messages_per_claim_or_pop
        if pop is not None and not 0 < pop <= pop_high:
            raise ValidationFailed(
                f'Pop value must be at least 1 and may not be greater than {pop_high}.'
            )

    # Queue metadata

    def queue_defaults(self) -> Metadata:
        """Return the reserved metadata keys with their default values."""
        return queue_metadata.defaults(self.limits)

    def with_defaults(self, metadata: Metadata) -> Metadata:
        """Return ``metadata`` with falsy or missing reserved keys defaulted."""
        return queue_metadata.with_defaults(metadata, self.limits)

    def queue_metadata(
        self, metadata: Metadata, error: type[ValidationFailed] = ValidationFailed
    ) -> None:
        """Check the reserved keys of queue metadata.

        Args:
            metadata: The metadata to store.
            error: The exception class to raise; PATCH reports metadata
                problems as body errors, PUT as API errors.
        """
        problem = queue_metadata.problem(metadata, self.limits)
        if problem:
            raise error(problem)

    # Messages

    def messages(self, document: object, settings: PostSettings) -> list[NewMessage]:
        """Turn a message POST document into validated new messages.

        Args:
            document: The parsed request body.
            settings: What the target queue's metadata decides (TTL and
                delay defaults).
        """
        if not isinstance(document, dict) or 'messages' not in document:
            raise ValidationFailed('No messages were found in the request body.')
        items = document['messages']
        if not isinstance(items, list):
            raise InvalidBody('Document type not supported.')
        if not items:
            raise ValidationFailed('No messages to enqueue.')
        return [
            self._message(item, settings.default_ttl, settings.default_delay)
            for item in items
        ]

    def _message(
        self, item: object, default_ttl: int, default_delay: int | None
    ) -> NewMessage:
        if not isinstance(item, dict):
            raise InvalidBody('Document type not supported.')
        if 'body' not in item:
            raise InvalidBody('Missing "body" field.')
        ttl = _typed_field(item, 'ttl', default_ttl)
        high = self.limits.max_message_ttl
        if not MIN_MESSAGE_TTL <= ttl <= high:
            raise ValidationFailed(
                f'The TTL for a message may not exceed {high} seconds, and must '
                f'be at least {MIN_MESSAGE_TTL} seconds long.'
            )
        delay = 0
        if default_delay is not None:
            delay = _typed_field(item, 'delay', default_delay)
            high = self.limits.max_message_delay
            if not MIN_DELAY <= delay <= high:
                raise ValidationFailed(
                    f'The Delay for a message may not exceed {high} seconds, '
                    f'and must be at least {MIN_DELAY} seconds long.'
                )
        return NewMessage(body=item['body'], ttl=ttl, delay=delay)

    # Claims

    def claim_options(self, document: object, renewal: bool = False) -> tuple[int, int]:
        """Return the ``(ttl, grace)`` of a claim create or renew body.

        A missing body or key means the default. On creation a key set to
        null means the default too (python-zaqarclient sends nulls for the
        values its caller left out); on renewal, which the library sends
        without nulls, null is the type error upstream makes it.
        """
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise InvalidBody('Document type not supported.')
        limits = self.limits
        nullable = not renewal
        ttl = _typed_field(document, 'ttl', limits.default_claim_ttl, nullable=nullable)
        grace = _typed_field(
            document, 'grace', limits.default_claim_grace, nullable=nullable
        )
        if not MIN_CLAIM_TTL <= ttl <= limits.max_claim_ttl:
            raise ValidationFailed(
                f'The TTL for a claim may not exceed {limits.max_claim_ttl} '
                f'seconds, and must be at least {MIN_CLAIM_TTL} seconds long.'
            )
        if not MIN_CLAIM_GRACE <= grace <= limits.max_claim_grace:
            raise ValidationFailed(
                f'The grace for a claim may not exceed {limits.max_claim_grace} '
                f'seconds, and must be at least {MIN_CLAIM_GRACE} seconds long.'
            )
        return ttl, grace

    # Purge

    def purge_resources(self, document: object) -> set[str]:
        """Return the resource types a purge body names (all when None)."""
        if document is None:
            return set(PURGEABLE_RESOURCES)
        if not isinstance(document, dict) or 'resource_types' not in document:
            raise ValidationFailed('Post body must contain key "resource_types".')
        types = document['resource_types']
        if not (
            isinstance(types, list)
            and all(isinstance(kind, str) for kind in types)
            and set(types) <= set(PURGEABLE_RESOURCES)
        ):
            raise ValidationFailed(
                f'Resource types must be a sub set of {list(PURGEABLE_RESOURCES)}.'
            )
        return set(types)


def _typed_field(
    document: Mapping[str, Any], name: str, default: int, nullable: bool = False
) -> int:
    """Return an integer field of a body, or ``default`` when it is absent."""
    value = document.get(name, default)
    if value is None and nullable:
        return default
    if not is_int(value):
        raise InvalidBody(f'The value of the "{name}" field must be a int.')
    return int(value)
