"""Message operations: post, list, get, delete and pop."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence

from zaqar.common.queue_metadata import delay_queue_default
from zaqar.operations.errors import NotFound
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.kinds import Kind
from zaqar.operations.kinds import storage_project
from zaqar.operations.paging import Page
from zaqar.operations.paging import next_query
from zaqar.operations.posting import MetadataMemory
from zaqar.operations.posting import PostTarget
from zaqar.operations.queues import stored_metadata
from zaqar.operations.validation import Validator
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import Message

LOG = logging.getLogger(__name__)

DEFAULT_MESSAGE_PAGE = 10

# The longest idempotency key accepted.
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# The fields of a posted message that the fingerprint of a request covers.
_FINGERPRINTED = ('body', 'ttl', 'delay')

_MARKER_RE = re.compile(r'[0-9]{1,19}')
_INT64_MAX = 2**63 - 1


class MessageOperations:
    """Every operation on the messages of a queue.

    Args:
        storage: The storage stack (pipeline and driver).
        validator: Checks requests against the configured limits.
        kind: Queues, or topics.
        memory: The process's remembered metadata, shared by both kinds so
            that its budget is the process's (a new one when None).
    """

    def __init__(
        self,
        storage: DataDriver,
        validator: Validator,
        kind: Kind = Kind.QUEUE,
        memory: MetadataMemory | None = None,
    ) -> None:
        self._queues = storage.queues
        self._messages = storage.messages
        self._validator = validator
        self._kind = kind
        self._memory = MetadataMemory() if memory is None else memory

    def target(self, queue: str, project: str) -> PostTarget:
        """What the queue's metadata decides about posting to it.

        Remembered from an earlier post to the queue when this process has
        that (see :mod:`zaqar.operations.posting`), else read.
        """
        remembered = self._memory.get(self._kind.scope(project), queue)
        if remembered is not None:
            limits = self._validator.limits
            return PostTarget.of(queue, project, remembered, limits, remembered=True)
        return self._read_target(queue, project)

    def _read_target(self, queue: str, project: str) -> PostTarget:
        with storage_project(self._kind, project) as scope:
            metadata = stored_metadata(self._queues, queue, scope)
        self._memory.put(scope, queue, metadata)
        return PostTarget.of(queue, project, metadata, self._validator.limits)

    def post(
        self,
        target: PostTarget,
        document: object,
        client_id: str,
        idempotency_key: str | None = None,
        body_size: int | None = None,
    ) -> list[str]:
        """Validate a POST document and store its messages, in order.

        The queue is created if it does not exist. With an idempotency key,
        the post is stored at most once per key (see
        :meth:`zaqar.storage.base.MessageController.post_once`), for
        ``[transport] idempotency_window`` seconds; without one, the
        storage call is the plain ``post`` it always was (or, with
        remembered metadata, ``post_checked``), so drivers and stages that
        know nothing of keys serve it as before.

        Args:
            target: From :meth:`target`.
            document: The parsed body.
            client_id: The poster's client id.
            idempotency_key: The ``Idempotency-Key`` of the request.
            body_size: The body's size in bytes; without it, a target with
                remembered metadata is read again (its size limit may be out
                of date).

        Returns:
            The new message ids, in the order of the document; for a repeat
            of a keyed post, the first post's ids.

        Raises:
            ValidationFailed: The key is not 1 to 255 printable ASCII
                characters, the body is over the queue's size limit, or the
                document breaks a rule.
            IdempotencyKeyReused: The key was used for another request.
            IdempotencyKeyInFlight: A post with the key has not finished.
            Unsupported: A key was given, and the storage driver (or a
                stage answering in its place) does not honour keys.
        """
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
        if target.remembered:
            if idempotency_key is None:
                posted = self._post_remembered(target, document, client_id, body_size)
                if posted is not None:
                    return posted
            target = self._read_target(target.queue, target.project)
        if body_size is not None and body_size > target.settings.size_limit:
            raise ValidationFailed(target.size_refusal_text)
        messages = self._validator.messages(document, target.settings)
        with storage_project(self._kind, target.project) as scope:
            if idempotency_key is None:
                return self._messages.post(target.queue, messages, scope, client_id)
            key = IdempotencyKey(
                key=idempotency_key,
                fingerprint=fingerprint(document),
                window=self._validator.limits.idempotency_window,
            )
            return self._messages.post_once(
                target.queue, messages, scope, client_id, key
            )

    def _post_remembered(
        self,
        target: PostTarget,
        document: object,
        client_id: str,
        body_size: int | None,
    ) -> list[str] | None:
        """Post with remembered metadata if the queue still has it.

        Returns:
            The new ids; None when the post must read the metadata and be
            validated again (nothing was stored): the metadata changed, the
            remembered settings refuse the post (newer ones might not), or
            storage cannot check metadata.
        """
        if body_size is None or body_size > target.settings.size_limit:
            return None
        try:
            messages = self._validator.messages(document, target.settings)
        except ValidationFailed:
            return None
        with storage_project(self._kind, target.project) as scope:
            try:
                return self._messages.post_checked(
                    target.queue, messages, scope, client_id, target.metadata
                )
            except storage_errors.MetadataChanged:
                self._memory.forget(scope, target.queue)
            except storage_errors.Unsupported as ex:
                LOG.info('Posts read queue metadata each time: %s', ex)
                self._memory.disable()
        return None

    def _is_delay_queue(self, queue: str, scope: str) -> bool:
        metadata = stored_metadata(self._queues, queue, scope)
        return delay_queue_default(metadata) is not None

    def get(self, queue: str, project: str, message_id: str) -> Message:
        """Return one message, claimed or delayed alike."""
        with storage_project(self._kind, project) as scope:
            return self._messages.get(queue, message_id, scope)

    def get_many(self, queue: str, project: str, ids: Sequence[str]) -> list[Message]:
        """Return the messages among ``ids`` (unknown ones skipped).

        Raises:
            NotFound: None of them exists.
        """
        self._validator.message_listing(len(ids))
        with storage_project(self._kind, project) as scope:
            messages = self._messages.get_many(queue, ids, scope)
        if not messages:
            raise NotFound(
                f'No messages with IDs: {", ".join(ids)} found in the '
                f'{self._kind.value} {queue} for project {project}.'
            )
        return messages

    def delete(
        self, queue: str, project: str, message_id: str, claim_id: str | None = None
    ) -> None:
        """Delete one message, quoting its claim if it is claimed."""
        with storage_project(self._kind, project) as scope:
            self._messages.delete(queue, message_id, scope, claim_id=claim_id)

    def delete_many(
        self,
        queue: str,
        project: str,
        ids: Sequence[str] | None = None,
        pop: int | None = None,
        claim_ids: Sequence[str] | None = None,
    ) -> list[Message] | None:
        """Delete the messages ``ids`` names, or pop ``pop``.

        Exactly one of ``ids`` and ``pop`` is given. Without ``claim_ids``
        the messages are deleted claimed or not; with it, all of them only
        if those claims hold them, else none (see
        :meth:`zaqar.storage.base.MessageController.delete_many`).

        Returns:
            The popped messages, or None when deleting by ids.

        Raises:
            ValidationFailed: The parameters break a rule (see
                :meth:`Validator.message_deletion`).
            InvalidClaimId: A claim id has a shape no claim can have.
            MessageIsClaimed: With ``claim_ids``, a message is under
                another live claim; nothing was deleted.
            MessageNotClaimed: With ``claim_ids``, a message is not
                claimed; nothing was deleted.
        """
        self._validator.message_deletion(ids, pop, claim_ids)
        with storage_project(self._kind, project) as scope:
            if pop is not None:
                return self._messages.pop(queue, pop, scope)
            if claim_ids is None:
                # NOTE: without claim_ids, the call a driver written before
                # claim-checked deletes takes too.
                self._messages.delete_many(queue, ids or [], scope)
            else:
                self._messages.delete_many(queue, ids or [], scope, claim_ids=claim_ids)
        return None

    def list(
        self,
        queue: str,
        project: str,
        client_id: str,
        marker: str | None = None,
        limit: int | None = None,
        echo: bool | None = None,
        include_claimed: bool | None = None,
        include_delayed: bool | None = None,
    ) -> Page[Message]:
        """List messages in FIFO order, one page after ``marker``.

        Only delay queues hide delayed messages; elsewhere ``include_delayed``
        is taken as true, and the next page's query says so. A marker no
        message can have gives an empty page, as upstream answers.
        """
        self._validator.message_listing(limit)
        parsed = parse_marker(marker)
        if isinstance(parsed, _InvalidMarker):
            return Page([])
        with storage_project(self._kind, project) as scope:
            if not include_delayed and not self._is_delay_queue(queue, scope):
                include_delayed = True
            messages = self._messages.list(
                queue,
                scope,
                client_id,
                marker=parsed,
                limit=limit or DEFAULT_MESSAGE_PAGE,
                echo=bool(echo),
                include_claimed=bool(include_claimed),
                include_delayed=bool(include_delayed),
            )
        if not messages:
            return Page(messages)
        given = {
            'limit': limit,
            'echo': echo,
            'include_claimed': include_claimed,
            'include_delayed': include_delayed,
        }
        return Page(messages, next_query(given, messages[-1].marker))


def check_idempotency_key(key: str) -> None:
    """Refuse a key that is empty, too long or not printable ASCII.

    Printable ASCII, as the IETF draft's examples (UUIDs) and HTTP header
    values allow without any encoding; the length bounds what each key
    costs the store for a whole window.

    Raises:
        ValidationFailed: The key breaks the rule.
    """
    if not (
        0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        and all(' ' <= character <= '~' for character in key)
    ):
        raise ValidationFailed(
            f'An idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} '
            f'printable ASCII characters.'
        )


def fingerprint(document: object) -> bytes:
    """The SHA-256 digest of what a valid POST document asks for.

    What the server takes from the document and nothing else: each
    message's ``body``, ``ttl`` and ``delay`` as given (absent when not
    given), in order, as JSON with sorted keys and without whitespace. So
    whitespace, key order, escapes and fields the server ignores do not make
    a repeat a different request; nor do the defaults that the queue's
    metadata supplies for ``ttl`` and ``delay``, which were never part of
    the request: a repeat sent after the metadata changed is still the
    same request (and answers the first post's ids).

    Args:
        document: A document :meth:`Validator.messages` accepted.
    """
    if not isinstance(document, dict):
        raise TypeError('only a document the validator accepted has a fingerprint')
    asked = [
        {field: item[field] for field in _FINGERPRINTED if field in item}
        for item in document['messages']
    ]
    canonical = json.dumps(asked, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(canonical.encode('ascii')).digest()


class _InvalidMarker:
    """The marker of a listing that no message can have."""


INVALID_MARKER = _InvalidMarker()


def parse_marker(text: str | None) -> int | None | _InvalidMarker:
    """Read a listing's marker: a decimal counter value, None when absent."""
    if text is None:
        return None
    if not _MARKER_RE.fullmatch(text) or int(text) > _INT64_MAX:
        return INVALID_MARKER
    return int(text)
