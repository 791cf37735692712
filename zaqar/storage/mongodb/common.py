"""Helpers shared by the MongoDB modules: ids, times, documents and errors."""

from __future__ import annotations

import datetime
import functools
import json
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple
from typing import ParamSpec
from typing import TypeVar

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError
from pymongo.errors import DuplicateKeyError
from pymongo.errors import PyMongoError

from zaqar.common import ids
from zaqar.common.text import describe_exception
from zaqar.storage import errors
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.mongodb.schema import MessageField

if TYPE_CHECKING:
    from zaqar.storage.mongodb.driver import MongoDriver

LOG = logging.getLogger('zaqar.storage.mongodb')

Document = dict[str, Any]

_EPOCH = datetime.datetime(1970, 1, 1)
_DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})

_P = ParamSpec('_P')
_R = TypeVar('_R')


class Collections(NamedTuple):
    """The driver's six collections."""

    queues: Collection[Document]
    counters: Collection[Document]
    messages: Collection[Document]
    claims: Collection[Document]
    subscriptions: Collection[Document]
    idempotency: Collection[Document]


class Controller:
    """Base of the MongoDB controllers: holds the driver."""

    def __init__(self, driver: MongoDriver) -> None:
        self._driver = driver

    def _collections(self) -> Collections:
        return self._driver.collections()

    def _now(self) -> float:
        return self._driver.clock.now()


def to_key(value: str) -> bytes | None:
    """Return the stored form of a message or claim id; None if malformed."""
    return bytes.fromhex(value) if ids.is_valid_id(value) else None


def to_keys(values: list[str] | tuple[str, ...]) -> list[bytes]:
    """Return the stored forms of the well-formed ids among ``values``."""
    return sorted({key for key in map(to_key, values) if key is not None})


def to_date(seconds: float) -> datetime.datetime:
    """Return a clock time as a BSON date: naive UTC, whole milliseconds.

    Rounding here, once, keeps comparisons between stored and computed
    dates exact: BSON would truncate microseconds on the way in.
    """
    return _EPOCH + datetime.timedelta(milliseconds=round(seconds * 1000))


def is_claimed(document: Document, now: datetime.datetime) -> bool:
    """Tell whether a message document is under a live claim."""
    claim_expires = document.get(MessageField.CLAIM_EXPIRES)
    return claim_expires is not None and claim_expires > now


def message_from_document(
    document: Document, now: float, claim_id_shown: bool = True
) -> Message:
    """Build a Message from a stored message document.

    Args:
        document: The document, with at least the fields a Message needs.
        now: The driver clock's time of the read.
        claim_id_shown: False to report no claim whatever the document
            records (a pop's own temporary hold).
    """
    claimed = claim_id_shown and is_claimed(document, to_date(now))
    return Message(
        id=document['_id'].hex(),
        marker=document[MessageField.MARKER],
        ttl=document[MessageField.TTL],
        age=max(0, int(now - document[MessageField.CREATED])),
        body=json.loads(document[MessageField.BODY]),
        created=document[MessageField.CREATED],
        claim_id=document[MessageField.CLAIM_ID].hex() if claimed else None,
        claim_count=document.get(MessageField.CLAIM_COUNT, 0),
    )


def dump_json(value: Any) -> str:
    """Serialize a body or metadata compactly for storage.

    ASCII escapes (json's default) on purpose: a JSON string may hold a lone
    surrogate, which BSON's UTF-8 strings cannot.
    """
    return json.dumps(value, separators=(',', ':'))


def load_document(text: str) -> Metadata:
    """Decode what :func:`dump_json` stored of an object (metadata, options)."""
    document: Metadata = json.loads(text)
    return document


def is_duplicate_key(ex: PyMongoError) -> bool:
    """Tell whether a write failed only because a unique key was taken."""
    if isinstance(ex, DuplicateKeyError):
        return True
    if isinstance(ex, BulkWriteError):
        write_errors = ex.details.get('writeErrors') or []
        return bool(write_errors) and all(
            error.get('code') in _DUPLICATE_KEY_CODES for error in write_errors
        )
    return False


def back_off(attempt: int, ceiling: float) -> None:
    """Sleep before retry number ``attempt``: growing, jittered, <= ceiling.

    Real time, not the driver's clock: this waits for other processes.
    """
    time.sleep(random.uniform(0, min(ceiling, 0.001 * 2 ** min(attempt, 20))))


def translate_errors(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn pymongo's exceptions into StorageUnavailable at the driver's edge."""

    @functools.wraps(method)
    def translated(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except PyMongoError as ex:
            raise unavailable(ex) from ex

    return translated


def unavailable(ex: PyMongoError) -> errors.StorageUnavailable:
    """Return the error to raise for a backend failure.

    Not logged here: whoever handles the error logs it once, with what the
    failure interrupted (the transport names the request). pymongo's
    messages name hosts and operations, never credentials.
    """
    text = f'MongoDB error: {type(ex).__name__}: {describe_exception(ex)}'
    return errors.StorageUnavailable(text)
