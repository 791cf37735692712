"""Request validation: limits and document rules of the v2 API.

Transport-neutral: plain values in, :class:`~zaqar.operations.errors.
ValidationFailed` or :class:`~zaqar.operations.errors.InvalidBody` out.
Message texts follow upstream Zaqar because they reach clients as error
descriptions. Queue metadata rules live in :mod:`zaqar.common.queue_metadata`.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from zaqar.common import names
from zaqar.common import queue_metadata
from zaqar.common.limits import Limits
from zaqar.common.queue_metadata import MIN_DELAY
from zaqar.common.queue_metadata import MIN_MESSAGE_TTL
from zaqar.common.queue_metadata import RETRY_POLICY
from zaqar.common.queue_metadata import Metadata
from zaqar.common.queue_metadata import PostSettings
from zaqar.common.queue_metadata import is_int
from zaqar.notification import email
from zaqar.notification import retry
from zaqar.notification import webhook
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.storage.models import NewMessage

MIN_CLAIM_TTL = 60
MIN_CLAIM_GRACE = 60
MIN_SUBSCRIPTION_TTL = 60
# Ten years: long enough for any use, short enough that "now + ttl" is a
# time every store and library can represent.
MAX_SUBSCRIPTION_TTL = 10 * 365 * 24 * 3600
MAX_SUBSCRIBER_LENGTH = 2048

PURGEABLE_RESOURCES = ('messages', 'subscriptions')

# Upstream's text, with [transport] message_delete_with_claim_id, for a bulk
# delete that gives only one of "ids" and "claim_ids".
CLAIM_IDS_REQUIRED = (
    'The request should have both "ids" and "claim_ids" parameter in the '
    'request when message_delete_with_claim_id is True.'
)


@dataclasses.dataclass(frozen=True)
class SubscriptionFields:
    """A subscription's fields as a request gives them (None: not given)."""

    subscriber: str | None = None
    ttl: int | None = None
    options: Metadata | None = None


def subscription_options_problem(options: object) -> str | None:
    """Describe what is wrong with a subscription's options, if anything."""
    if not isinstance(options, dict):
        return 'Options must be a dict.'
    if options.get(RETRY_POLICY) is not None:
        problem = retry.policy_problem(options[RETRY_POLICY])
        if problem:
            return problem
    # Every kind's options are checked, whatever the subscriber: an update
    # may change the subscriber and keep the options (the kinds' option
    # names do not overlap).
    for key in ('post_data', 'signing_secret', 'from', 'subject'):
        if options.get(key) is not None and not isinstance(options[key], str):
            return f'{key} must be a string.'
    # What a delivery would refuse for good, refused now instead: headers it
    # may not send, an empty secret, line breaks in mail headers.
    return webhook.options_problem(options) or email.options_problem(options)


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
        _check_limit(limit, self.limits.max_messages_per_page)

    def claim_limit(self, limit: int | None) -> None:
        """Check the ``limit`` of a claim request."""
        _check_limit(limit, self.limits.max_messages_per_claim_or_pop)

    def message_deletion(
        self,
        ids: Sequence[str] | None,
        pop: int | None,
        claim_ids: Sequence[str] | None = None,
    ) -> None:
        """Check a bulk delete: which parameters it gives, and their ranges.

        Exactly one of ``ids`` and ``pop``; ``claim_ids`` only with ``ids``
        (a pop takes unclaimed messages, so claims mean nothing to it), and
        with ``[transport] message_delete_with_claim_id``, ``ids`` only with
        ``claim_ids``.
        """
        self._deletion_parameters(ids, pop, claim_ids)
        high = self.limits.max_messages_per_page
        if ids is not None and not 0 < len(ids) <= high:
            raise ValidationFailed(
                f'ids parameter should have at least 1 and not greater than '
                f'{high} values.'
            )
        # Distinct ones: a client may repeat a claim id for each message.
        if claim_ids is not None and not 0 < len(set(claim_ids)) <= high:
            raise ValidationFailed(
                f'claim_ids parameter should have at least 1 and not greater '
                f'than {high} distinct values.'
            )
        pop_high = self.limits.max_messages_per_claim_or_pop
        if pop is not None and not 0 < pop <= pop_high:
            raise ValidationFailed(
                f'Pop value must be at least 1 and may not be greater than {pop_high}.'
            )

    def _deletion_parameters(
        self,
        ids: Sequence[str] | None,
        pop: int | None,
        claim_ids: Sequence[str] | None,
    ) -> None:
        """Refuse a bulk delete giving a combination of parameters it cannot."""
        required = self.limits.message_delete_with_claim_id
        if ids is not None and pop is not None:
            raise ValidationFailed(
                'pop and id params cannot be present together in the delete request.'
            )
        if claim_ids is not None and ids is None:
            raise ValidationFailed(
                CLAIM_IDS_REQUIRED
                if required
                else 'claim_ids can only be given together with ids: it names '
                'the claims that hold the messages to delete.'
            )
        if ids is None and pop is None:
            raise ValidationFailed(
                'The request should have either "ids" or "pop" parameter in '
                'the request, to be able to delete.'
            )
        if required and ids and claim_ids is None:
            raise ValidationFailed(CLAIM_IDS_REQUIRED)

    # Queue metadata

    def queue_defaults(self) -> Metadata:
        """Return the reserved metadata keys with their default values."""
        return queue_metadata.defaults(self.limits)

    def with_defaults(
        self, metadata: Metadata, keys: Sequence[str] | None = None
    ) -> Metadata:
        """Return ``metadata`` with falsy or missing reserved keys defaulted.

        Args:
            metadata: Stored metadata.
            keys: Only these reserved keys (all when None).
        """
        return queue_metadata.with_defaults(metadata, self.limits, keys)

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
        if not problem and metadata.get(RETRY_POLICY) is not None:
            problem = retry.policy_problem(metadata[RETRY_POLICY])
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

    # Subscriptions

    def subscription_listing(self, limit: int | None) -> None:
        """Check the ``limit`` of a subscription listing."""
        _check_limit(limit, self.limits.max_subscriptions_per_page)

    def new_subscription(self, document: object) -> SubscriptionFields:
        """Check a subscription create body; fill in the default TTL."""
        fields = self._subscription_fields(document, 'No subscription to create.')
        if fields.subscriber is None:
            raise ValidationFailed('Missing parameter subscriber in body.')
        return SubscriptionFields(
            fields.subscriber,
            fields.ttl or self.limits.default_subscription_ttl,
            fields.options if fields.options is not None else {},
        )

    def subscription_changes(self, document: object) -> SubscriptionFields:
        """Check a subscription update body: what it changes (None: kept)."""
        fields = self._subscription_fields(document, 'No subscription to update.')
        if fields == SubscriptionFields():
            raise ValidationFailed(
                'The update must change "subscriber", "ttl" or "options".'
            )
        return fields

    def _subscription_fields(self, document: object, empty: str) -> SubscriptionFields:
        if not document:
            raise ValidationFailed(empty)
        if not isinstance(document, dict):
            raise ValidationFailed('Subscriptions must be a dict.')
        subscriber = document.get('subscriber')
        if subscriber is not None:
            self._subscriber(subscriber)
        options = document.get('options')
        if options is not None:
            problem = subscription_options_problem(options)
            if problem:
                raise ValidationFailed(problem)
        ttl = document.get('ttl')
        if ttl is not None:
            self._subscription_ttl(ttl)
        return SubscriptionFields(subscriber, ttl, options)

    def _subscriber(self, subscriber: object) -> None:
        types = list(self.limits.subscriber_types)
        if not isinstance(subscriber, str):
            raise ValidationFailed('The subscriber must be a URI string.')
        try:
            parsed = urllib.parse.urlsplit(subscriber)
        except ValueError:
            # NOTE: a malformed bracketed host ("http://[::1") or a host that
            # NFKC normalization would change is refused by urlsplit itself.
            raise ValidationFailed(
                f'The subscriber {subscriber!r} is not a valid URI.'
            ) from None
        if parsed.scheme not in types:
            raise ValidationFailed(
                f'The subscriber type of subscription must be supported in the '
                f'list {types}.'
            )
        if parsed.scheme == 'mailto':
            address = parsed.path
            if '@' not in address or len(subscriber) > MAX_SUBSCRIBER_LENGTH:
                raise ValidationFailed(
                    f'The subscriber {subscriber!r} is not a mailto: address.'
                )
        elif not parsed.hostname or len(subscriber) > MAX_SUBSCRIBER_LENGTH:
            raise ValidationFailed(
                f'The subscriber {subscriber!r} is not a URL with a host.'
            )

    def _subscription_ttl(self, ttl: object) -> None:
        if not is_int(ttl):
            raise ValidationFailed('TTL must be an integer.')
        if not MIN_SUBSCRIPTION_TTL <= ttl <= MAX_SUBSCRIPTION_TTL:
            raise ValidationFailed(
                f'The TTL for a subscription must be at least '
                f'{MIN_SUBSCRIPTION_TTL} seconds long, and may not exceed '
                f'{MAX_SUBSCRIPTION_TTL} seconds.'
            )

    def confirmation(self, document: object) -> bool:
        """Check a confirm body: ``{"confirmed": true|false}``."""
        confirmed = document.get('confirmed') if isinstance(document, dict) else None
        if not isinstance(confirmed, bool):
            raise ValidationFailed("The 'confirmed' should be boolean.")
        return confirmed

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


def _check_limit(limit: int | None, high: int) -> None:
    """Refuse a page or batch ``limit`` outside 1 to ``high`` (None: default)."""
    if limit is not None and not 0 < limit <= high:
        raise ValidationFailed(
            f'Limit must be at least 1 and may not be greater than {high}.'
        )


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
