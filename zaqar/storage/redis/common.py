"""Helpers shared by the Redis controllers: script calls, errors, records."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

import redis
from redis.commands.core import Script

from zaqar.storage import errors
from zaqar.storage.models import Message
from zaqar.storage.models import Metadata
from zaqar.storage.redis import scripts

if TYPE_CHECKING:
    from zaqar.storage.redis.driver import RedisDriver

LOG = logging.getLogger('zaqar.storage.redis')


@contextlib.contextmanager
def unavailable_on_redis_error(
    operation: str, *, refused_ok: bool = False
) -> Iterator[None]:
    """Turn any redis-py error into StorageUnavailable, logging what failed.

    Connection trouble, timeouts, authentication failures, a missing
    database and script errors alike: the request may be retried later.
    redis-py's messages name the server and the command, never a password.
    With ``refused_ok``, an error reply (ResponseError) passes unchanged.
    """
    try:
        yield
    except redis.exceptions.RedisError as ex:
        if refused_ok and isinstance(ex, redis.exceptions.ResponseError):
            raise
        LOG.error('Redis %s failed: %s: %s', operation, type(ex).__name__, ex)
        raise errors.StorageUnavailable(f'Redis {operation} failed: {ex}') from ex


class Scripts:
    """The driver's Lua scripts, registered on its client.

    Registering computes each script's SHA1 without contacting the server;
    the first call loads the script (EVALSHA falls back to SCRIPT LOAD).
    """

    def __init__(self, client: redis.Redis) -> None:
        def register(body: str) -> Script:
            return client.register_script(scripts.PRELUDE + body)

        self.post = register(scripts.POST)
        self.list_messages = register(scripts.LIST_MESSAGES)
        self.get_messages = register(scripts.GET_MESSAGES)
        self.delete_message = register(scripts.DELETE_MESSAGE)
        self.delete_messages = register(scripts.DELETE_MESSAGES)
        self.pop = register(scripts.POP)
        self.purge = register(scripts.PURGE)
        self.create_queue = register(scripts.CREATE_QUEUE)
        self.delete_queue = register(scripts.DELETE_QUEUE)
        self.set_metadata = register(scripts.SET_METADATA)
        self.list_queues = register(scripts.LIST_QUEUES)
        self.stats = register(scripts.STATS)
        self.create_claim = register(scripts.CREATE_CLAIM)
        self.get_claim = register(scripts.GET_CLAIM)
        self.update_claim = register(scripts.UPDATE_CLAIM)
        self.release_claim = register(scripts.RELEASE_CLAIM)
        self.gc = register(scripts.GC)


class Controller:
    """Base of the Redis controllers: runs the driver's scripts."""

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

    def _run(
        self,
        script: Script,
        project: str,
        queue: str,
        now: float,
        *args: str | int | float,
    ) -> Any:
        return self._driver.run(script, project, queue, now, *args)

    def _key(self, kind: str, project: str) -> str:
        """Name a per-project key, as the scripts' ``project_key`` does."""
        return f'{self._driver.namespace}:{kind}:{project}'


def text(value: bytes | str) -> str:
    """Decode a reply from a client with or without ``decode_responses``."""
    return value.decode() if isinstance(value, bytes) else value


def message_from_reply(reply: list[Any], now: float) -> Message:
    """Build a Message from a script's ``view`` of it."""
    message_id, marker, ttl, created, body, claim_id, claim_count = reply
    posted = float(text(created))
    return Message(
        id=text(message_id),
        marker=int(marker),
        ttl=int(ttl),
        age=max(0, int(now - posted)),
        body=json.loads(body),
        created=posted,
        claim_id=text(claim_id) or None,
        claim_count=int(claim_count),
    )


def dump_json(value: Any) -> str:
    """Encode JSON compactly: stored bytes are memory in Redis."""
    return json.dumps(value, separators=(',', ':'))


def load_metadata(stored: bytes | str | None) -> Metadata:
    """Decode stored queue metadata; a missing queue has none."""
    metadata: Metadata = json.loads(stored) if stored else {}
    return metadata
