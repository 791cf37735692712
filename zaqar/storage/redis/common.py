"""What the Redis driver's modules share: errors, JSON, the controller base."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

import redis

from zaqar.storage import errors
from zaqar.storage.models import Metadata

if TYPE_CHECKING:
    from zaqar.storage.redis.driver import RedisDriver
    from zaqar.storage.redis.scripts import Scripts

LOG = logging.getLogger('zaqar.storage.redis')


@contextlib.contextmanager
def unavailable_on_redis_error(
    operation: str, *, refused_ok: bool = False
) -> Iterator[None]:
    """Turn any redis-py error into StorageUnavailable, naming what failed.

    Connection trouble, timeouts, authentication failures, a missing
    database and script errors alike: the request may be retried later.
    Not logged here: whoever handles the error logs it once, with what the
    failure interrupted (the transport names the request). redis-py's
    messages name the server and the command, never a password. With
    ``refused_ok``, an error reply (ResponseError) passes unchanged.
    """
    try:
        yield
    except redis.exceptions.RedisError as ex:
        if refused_ok and isinstance(ex, redis.exceptions.ResponseError):
            raise
        raise errors.StorageUnavailable(
            f'Redis {operation} failed: {type(ex).__name__}: {ex}'
        ) from ex


class Controller:
    """Base of the Redis controllers: the driver's scripts and client."""

    def __init__(self, driver: RedisDriver) -> None:
        self._driver = driver

    @property
    def _scripts(self) -> Scripts:
        return self._driver.scripts

    @property
    def _client(self) -> redis.Redis:
        return self._driver.client

    def _now(self) -> float:
        return self._driver.clock.now()

    def _key(self, kind: str, project: str) -> str:
        """Name a per-project key, as the scripts' ``project_key`` does."""
        return f'{self._driver.namespace}:{kind}:{project}'


def text(value: bytes | str) -> str:
    """Decode a reply from a client with or without ``decode_responses``."""
    return value.decode() if isinstance(value, bytes) else value


# One encoder for every call: json.dumps with any non-default argument builds
# a new one each time, a third of the cost of encoding a small message body.
_COMPACT = json.JSONEncoder(separators=(',', ':'))


def dump_json(value: Any) -> str:
    """Encode JSON compactly: stored bytes are memory in Redis."""
    return _COMPACT.encode(value)


def load_metadata(stored: bytes | str | None) -> Metadata:
    """Decode stored queue metadata; a missing queue has none."""
    metadata: Metadata = json.loads(stored) if stored else {}
    return metadata
