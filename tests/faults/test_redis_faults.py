"""Redis crashing or stalling under a running zaqar-server.

The Redis is the test's own, with ``appendonly yes`` and ``appendfsync
always`` (or ``everysec``): doc/durability.md promises that then an
acknowledged write survives the crash of Redis itself. While Redis is gone
the API answers 503 with Zaqar's error body and ``Retry-After``, and it
recovers by itself, the same zaqar-server processes going on.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.checker import Checker
from tests.faults.checker import Settings
from tests.faults.helpers import assert_clean_503
from tests.faults.helpers import assert_consistent
from tests.faults.helpers import probe
from tests.faults.helpers import probe_post
from tests.faults.helpers import recovered
from tests.faults.helpers import redis_config
from tests.faults.helpers import wait_until
from tests.faults.processes import RedisProcess
from tests.faults.processes import ZaqarServers
from tests.server.conftest import Config

LOAD = 2.0
ACKS = 40
RECOVERY_TIMEOUT = 20.0

# The stall: the first Redis command of a request that meets it fails after
# SOCKET_TIMEOUT, and the request is answered 503. Clients give up on zaqar
# after CLIENT_TIMEOUT. Redis stays stopped for
# longer than both, so that a request waiting for Redis to come back,
# instead of for its timeout, would outlast the client's patience.
SOCKET_TIMEOUT = 1.0
CLIENT_TIMEOUT = 4.0
STALL = 6.0
# Server threads enough for every checker thread and the probe at once: a
# request never waits for a thread behind stalled ones, so its time is the
# driver's timeouts alone, which is what the test bounds.
THREADS: Config = {'drivers:transport:wsgi': {'threads': 10}}


# doc/durability.md: with either, a crash of Redis (not of the machine)
# loses no acknowledged write, Redis having written its log before answering.
@pytest.mark.parametrize('private_redis', ['always', 'everysec'], indirect=True)
def test_kill_9_of_redis_answers_503_then_recovers_losing_nothing(
    servers: ZaqarServers, private_redis: RedisProcess
) -> None:
    server = servers.start(redis_config(private_redis.url))
    checker = Checker(server.url, 'redis-crash')
    with checker.running():
        checker.load_for(LOAD, at_least=ACKS)

        private_redis.kill()

        # The outage as any client sees it: reads and writes answer 503.
        assert_clean_503(probe(server))
        assert_clean_503(probe_post(server))
        wait_until(lambda: checker.history.count(503) >= 20, 10, 'the load saw 503s')
        private_redis.start()
        # No zaqar-server restart: its workers reconnect by themselves.
        wait_until(lambda: recovered(server), RECOVERY_TIMEOUT, 'recovery')
        checker.load_for(LOAD, at_least=ACKS)

    assert_consistent(checker)


def test_redis_stalled_past_the_socket_timeout_hangs_no_request(
    servers: ZaqarServers, private_redis: RedisProcess
) -> None:
    config = redis_config(private_redis.url, socket_timeout=SOCKET_TIMEOUT)
    server = servers.start({**config, **THREADS})
    checker = Checker(
        server.url, 'redis-stall', Settings(request_timeout=CLIENT_TIMEOUT)
    )
    with checker.running():
        checker.load_for(LOAD, at_least=ACKS)

        private_redis.pause()
        stalled = time.monotonic()
        try:
            response = probe_post(server, timeout=CLIENT_TIMEOUT)
            answered = time.monotonic() - stalled
            assert_clean_503(response)
            wait_until(
                lambda: checker.history.count(503) >= 20, 10, 'the load saw 503s'
            )
            time.sleep(max(0.0, STALL - (time.monotonic() - stalled)))
        finally:
            private_redis.resume()
        wait_until(lambda: recovered(server), RECOVERY_TIMEOUT, 'recovery')
        checker.load_for(LOAD, at_least=ACKS)

    # Every request was answered (no client timeout, checked by
    # assert_consistent) within the client's timeout, although Redis
    # answered nothing for longer.
    assert checker.history.slowest < CLIENT_TIMEOUT < STALL
    assert answered < CLIENT_TIMEOUT
    assert_consistent(checker)
