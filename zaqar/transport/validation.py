"""Request validation: limits and document rules of the v2 API.

Pure Python, no HTTP framework: the WSGI layer maps the two error classes to
400 responses (``ValidationFailed`` -> "Invalid API request", ``InvalidBody``
-> "Invalid request body"). Message texts follow upstream Zaqar because they
reach clients as error descriptions.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import TypeGuard

from oslo_config import cfg

from zaqar.storage.models import Metadata
from zaqar.storage.models import NewMessage

QUEUE_NAME_MAX_LENGTH = 64
PROJECT_ID_MAX_LENGTH = 256
MIN_MESSAGE_TTL = 60
MIN_CLAIM_TTL = 60
MIN_CLAIM_GRACE = 60
MIN_DELAY = 0

PURGEABLE_RESOURCES = ('messages', 'subscriptions')

_QUEUE_NAME_RE = re.compile(r'[a-zA-Z0-9_\-.]+')


class ValidationFailed(ValueError):
    """A request breaks an API limit or rule (400 "Invalid API request")."""


class InvalidBody(ValidationFailed):
    """A request body is unreadable or has the wrong shape or types.

    Answered with 400 "Invalid request body".
    """


@dataclasses.dataclass(frozen=True)
class Limits:
    """Defaults and limits of the ``[transport]`` option group."""

    default_message_ttl: int = 3600
    default_message_delay: int = 0
    default_claim_ttl: int = 300
    default_claim_grace: int = 60
    max_queues_per_page: int = 20
    max_messages_per_page: int = 20
    max_messages_per_claim_or_pop: int = 20
    max_queue_metadata: int = 65536
    max_messages_post_size: int = 262144
    max_message_ttl: int = 1209600
    max_message_delay: int = 900
    max_claim_ttl: int = 43200
    max_claim_grace: int = 43200
    client_id_uuid_safe: str = 'strict'
    min_length_client_id: int = 10
    max_length_client_id: int = 36

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Limits:
        """Read every limit from ``conf.transport``."""
        group = conf.transport
        values = {field.name: group[field.name] for field in dataclasses.fields(cls)}
        return cls(**values)


def is_int(value: object) -> TypeGuard[int]:
    """Tell whether ``value`` is a JSON integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


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
        if len(name) > QUEUE_NAME_MAX_LENGTH:
            raise ValidationFailed(
                f'Queue names may not be more than {QUEUE_NAME_MAX_LENGTH} '
                'characters long.'
            )
        if not _QUEUE_NAME_RE.fullmatch(name):
            raise ValidationFailed(
                'Queue names may only contain ASCII letters, digits, '
                'underscores, and dashes.'
            )
        if len(project) > PROJECT_ID_MAX_LENGTH:
            raise ValidationFailed(
                f'Project ids may not be more than {PROJECT_ID_MAX_LENGTH} '
                'characters long.'
            )

    def is_queue_name(self, name: str) -> bool:
        """Tell whether ``name`` is a valid queue name."""
        return len(name) <= QUEUE_NAME_MAX_LENGTH and bool(
            _QUEUE_NAME_RE.fullmatch(name)
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
        return {
            '_max_messages_post_size': self.limits.max_messages_post_size,
            '_default_message_ttl': self.limits.default_message_ttl,
            '_default_message_delay': self.limits.default_message_delay,
            '_dead_letter_queue': None,
            '_dead_letter_queue_messages_ttl': None,
            '_max_claim_count': None,
            '_enable_encrypt_messages': False,
        }

    def with_defaults(self, metadata: Metadata) -> Metadata:
        """Return ``metadata`` with falsy or missing reserved keys defaulted."""
        merged = dict(metadata)
        for key, default in self.queue_defaults().items():
            if not merged.get(key):
                merged[key] = default
        return merged

    def queue_metadata(
        self, metadata: Metadata, error: type[ValidationFailed] = ValidationFailed
    ) -> None:
        """Check the reserved keys of queue metadata.

        Args:
            metadata: The metadata to store.
            error: The exception class to raise; PATCH reports metadata
                problems as body errors, PUT as API errors.
        """
        limits = self.limits
        problem = (
            _int_in_range(
                metadata,
                '_max_messages_post_size',
                1,
                limits.max_messages_post_size,
                f'_max_messages_post_size can not exceed '
                f'{limits.max_messages_post_size}, and must be at least greater '
                'than 0.',
            )
            or _int_in_range(
                metadata,
                '_default_message_ttl',
                MIN_MESSAGE_TTL,
                limits.max_message_ttl,
                f'_default_message_ttl can not exceed {limits.max_message_ttl} '
                f'seconds, and must be at least {MIN_MESSAGE_TTL} seconds long.',
            )
            or _int_in_range(
                metadata,
                '_default_message_delay',
                MIN_DELAY,
                limits.max_message_delay,
                f'The TTL can not exceed {limits.max_message_delay} seconds, and '
                f'must be at least {MIN_DELAY} seconds long.',
            )
            or _int_in_range(
                metadata,
                '_dead_letter_queue_messages_ttl',
                MIN_MESSAGE_TTL,
                limits.max_message_ttl,
                f'The TTL for a message may not exceed {limits.max_message_ttl} '
                f'seconds, and must be at least {MIN_MESSAGE_TTL} seconds long.',
            )
            or _int_in_range(metadata, '_max_claim_count')
            or self._dead_letter_queue_problem(metadata)
            or _encryption_problem(metadata)
        )
        if problem:
            raise error(problem)

    def _dead_letter_queue_problem(self, metadata: Metadata) -> str | None:
        value = metadata.get('_dead_letter_queue')
        # NOTE: upstream stores any value; a name the API could never address
        # would make dead-lettered messages unreachable, so it is refused.
        if value in (None, '') or (
            isinstance(value, str) and self.is_queue_name(value)
        ):
            return None
        return '_dead_letter_queue must be a valid queue name.'

    def post_size_limit(self, metadata: Metadata) -> int:
        """Return the effective byte limit of a message POST to the queue."""
        limit = self.limits.max_messages_post_size
        queue_limit = metadata.get('_max_messages_post_size')
        if is_int(queue_limit) and queue_limit > 0:
            return min(queue_limit, limit)
        return limit

    # Messages

    def messages(self, document: object, metadata: Metadata) -> list[NewMessage]:
        """Turn a message POST document into validated new messages.

        Args:
            document: The parsed request body.
            metadata: The target queue's stored metadata, for the TTL and
                delay defaults.
        """
        if not isinstance(document, dict) or 'messages' not in document:
            raise ValidationFailed('No messages were found in the request body.')
        items = document['messages']
        if not isinstance(items, list):
            raise InvalidBody('Document type not supported.')
        if not items:
            raise ValidationFailed('No messages to enqueue.')
        default_ttl = metadata.get('_default_message_ttl')
        if not (is_int(default_ttl) and default_ttl):
            default_ttl = self.limits.default_message_ttl
        # NOTE: "delay" is honoured only on delay queues (a truthy
        # _default_message_delay); elsewhere it is dropped, as upstream does.
        default_delay = metadata.get('_default_message_delay')
        if not (is_int(default_delay) and default_delay):
            default_delay = None
        return [self._message(item, default_ttl, default_delay) for item in items]

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


def _int_in_range(
    metadata: Metadata,
    key: str,
    low: int | None = None,
    high: int | None = None,
    message: str = '',
) -> str | None:
    """Describe what is wrong with an integer metadata key, if anything.

    Unlike upstream, falsy values of the wrong type (``""``, ``false``) are
    refused too instead of slipping past the type check.
    """
    value = metadata.get(key)
    if value is None:
        return None
    if not is_int(value):
        return f'{key} must be integer.'
    if low is not None and high is not None and not low <= value <= high:
        return message
    return None


def _encryption_problem(metadata: Metadata) -> str | None:
    value = metadata.get('_enable_encrypt_messages')
    if value is not None and not isinstance(value, bool):
        return '_enable_encrypt_messages must be boolean.'
    if value:
        # NOTE: refuse rather than store the flag: a queue that claims to
        # encrypt at rest while it does not would mislead its owner.
        return (
            'Message encryption is not supported by this server; '
            '_enable_encrypt_messages must be false.'
        )
    return None
