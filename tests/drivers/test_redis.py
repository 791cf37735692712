"""What only the Redis driver promises: connections, keys, scripts, memory."""

from __future__ import annotations

import inspect
import logging
import multiprocessing
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from tests import services
from zaqar import conf as zaqar_conf
from zaqar.common import ids
from zaqar.common.clock import ManualClock
from zaqar.common.clock import SystemClock
from zaqar.conf import redis as redis_conf
from zaqar.storage import errors
from zaqar.storage.models import GCReport
from zaqar.storage.models import IdempotencyKey
from zaqar.storage.models import NewMessage
from zaqar.storage.models import QueueStats
from zaqar.storage.redis import driver as redis_driver
from zaqar.storage.redis import scripts
from zaqar.storage.redis.driver import RedisDriver
from zaqar.storage.redis.driver import create_driver
from zaqar.storage.redis.scripts import Lua
from zaqar.storage.redis.scripts import Scripts

PROJECT = 'p'
CLIENT = 'c'
HOOK = 'http://example.com/hook'
T = TypeVar('T')


@pytest.fixture(scope='module')
def server() -> services.RedisServer:
    try:
        return services.redis_server()
    except services.ServiceUnavailable as ex:
        services.unavailable('redis-server', str(ex))


@pytest.fixture
def client(server: services.RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis(host=server.host, port=server.port, db=0)
    yield connection
    connection.close()


@pytest.fixture
def namespace(client: redis.Redis) -> Iterator[str]:
    name = f'test-{uuid.uuid4().hex}'
    yield name
    for key in client.scan_iter(match=f'{name}:*'):
        client.unlink(key)


@pytest.fixture
def driver(
    client: redis.Redis, namespace: str, clock: ManualClock
) -> Iterator[RedisDriver]:
    storage = RedisDriver(client, clock, namespace=namespace)
    yield storage
    storage.close()


def build(uri: str, namespace: str = 'zaqar', **options: object) -> RedisDriver:
    """Build a driver as zaqar-server does, through the factory."""
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('uri', uri, group=redis_conf.GROUP_NAME)
    conf.set_override('namespace', namespace, group=redis_conf.GROUP_NAME)
    for name, value in options.items():
        conf.set_override(name, value, group=redis_conf.GROUP_NAME)
    return create_driver(conf, SystemClock())


def keys(client: redis.Redis, namespace: str) -> set[str]:
    return {key.decode() for key in client.scan_iter(match=f'{namespace}:*')}


def post(driver: RedisDriver, count: int = 1, queue: str = 'q', ttl: int = 60) -> None:
    messages = [NewMessage(body={'n': n}, ttl=ttl) for n in range(count)]
    driver.messages.post(queue, messages, PROJECT, CLIENT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def queue_key(namespace: str, kind: str, queue: str = 'q') -> str:
    return f'{namespace}:{kind}:{len(PROJECT)}:{PROJECT}:{queue}'


def commands_run(client: redis.Redis) -> int:
    """How many commands the server has run, those of scripts included."""
    stats = client.info('commandstats')
    return sum(int(entry['calls']) for entry in stats.values())


# Connections and configuration


def test_the_factory_connects_nothing_and_a_closed_port_fails_fast() -> None:
    started = time.monotonic()
    storage = build(f'redis://127.0.0.1:{free_port()}/0', socket_timeout=2.0)

    assert storage.is_alive() is False
    with pytest.raises(errors.StorageUnavailable):
        storage.messages.post('q', [NewMessage('x', ttl=60)], PROJECT, CLIENT)
    with pytest.raises(errors.StorageUnavailable):
        storage.gc()
    assert time.monotonic() - started < 2.0
    storage.close()


def test_wrong_credentials_are_storage_unavailable_and_logged_without_them(
    server: services.RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # NOTE: a server without a password accepts any password for the default
    # user (over HELLO 3); an unknown user is refused by every server.
    storage = build(f'redis://zaqar-nobody:sekrit-pw@{server.host}:{server.port}/0')

    assert storage.is_alive() is False
    with caplog.at_level(logging.ERROR), pytest.raises(errors.StorageUnavailable):
        storage.queues.count(PROJECT)
    assert caplog.records
    assert 'sekrit-pw' not in caplog.text
    assert 'sekrit-pw' not in storage.describe()


def test_a_database_the_server_does_not_have_is_storage_unavailable(
    server: services.RedisServer,
) -> None:
    storage = build(f'redis://{server.host}:{server.port}/4000')

    assert storage.is_alive() is False
    with pytest.raises(errors.StorageUnavailable):
        storage.queues.create('q', {}, PROJECT)


@pytest.mark.parametrize(
    'uri', ['http://host/0', 'redis://host:port/0', 'redis://:pw@host/x', 'unix://']
)
def test_a_malformed_uri_is_a_configuration_error_without_the_password(
    uri: str,
) -> None:
    with pytest.raises(errors.ConfigurationError) as raised:
        build(uri)

    assert f'[{redis_conf.GROUP_NAME}] uri' in str(raised.value)
    assert ':pw@' not in str(raised.value)


@pytest.mark.parametrize(
    'uri',
    [
        'redis://admin:Pa55word#1@h/0',
        'redis://:Pa55/Qz9@h:6379/0',
        'redis://:Pa55?Qz9@h/0',
        'redis://:Pa55?db=Qz9@h/0',
        'redis://:Pa55[Qz9@h/0',
        'redis://:Pa55:Qz9/x@h/0',
        'rediss://u:Pa55/Qz9@h:6380/2',
        'redis+sentinel://:Pa55/Qz9@s1,s2/m',
    ],
)
def test_a_misparsed_password_is_never_in_the_error_which_says_to_encode_it(
    uri: str,
) -> None:
    with pytest.raises(errors.ConfigurationError) as raised:
        build(uri)

    message = str(raised.value)
    assert 'Pa55' not in message
    assert 'Qz9' not in message
    assert 'percent-encode' in message


def test_the_socket_timeout_option_and_the_uri_override_reach_the_client(
    server: services.RedisServer,
) -> None:
    address = f'{server.host}:{server.port}'
    from_option = build(f'redis://{address}', socket_timeout=1.5)
    from_uri = build(f'redis://{address}?socket_timeout=0.5', socket_timeout=1.5)

    settings = from_option.client.connection_pool.connection_kwargs
    assert settings['socket_timeout'] == 1.5
    assert from_uri.client.connection_pool.connection_kwargs['socket_timeout'] == 0.5


def test_a_rediss_uri_connects_over_tls() -> None:
    storage = build('rediss://:pw@redis.example:6380/2')

    pool = storage.client.connection_pool
    assert pool.connection_class is redis.SSLConnection
    assert (pool.connection_kwargs['host'], pool.connection_kwargs['db']) == (
        'redis.example',
        2,
    )
    assert storage.describe().startswith('redis (rediss://redis.example:6380/2')


def test_a_unix_socket_uri_works(server: services.RedisServer) -> None:
    if server.unix_socket is None:
        # NOTE: not a missing service: a server given by ZAQAR_TEST_REDIS_URL
        # is only known by its TCP address, so there is nothing to test.
        pytest.skip('the redis-server in use has no known unix socket')
    namespace = f'test-{uuid.uuid4().hex}'
    storage = build(f'unix://{server.unix_socket}?db=0', namespace=namespace)
    try:
        assert storage.is_alive()
        storage.messages.post('q', [NewMessage('hi', ttl=60)], PROJECT, CLIENT)
        assert [m.body for m in storage.messages.list('q', PROJECT, 'x')] == ['hi']
        assert f'unix://{server.unix_socket}' in storage.describe()
    finally:
        storage.queues.delete('q', PROJECT)
        storage.close()


@pytest.fixture(scope='module')
def sentinel_port(
    server: services.RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """One real sentinel, monitoring the test server as ``zaqar-test``."""
    binary = shutil.which('redis-server')
    if binary is None:
        services.unavailable('redis sentinel', 'redis-server is not installed')
    directory = tmp_path_factory.mktemp('sentinel')
    port = free_port()
    config = directory / 'sentinel.conf'
    config.write_text(
        f'port {port}\nbind 127.0.0.1\ndir {directory}\n'
        f'sentinel monitor zaqar-test {server.host} {server.port} 1\n'
    )
    process = subprocess.Popen(
        [binary, str(config), '--sentinel', '--logfile', str(directory / 'log')],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_master(port, process, directory / 'log')
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for_master(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    probe = redis.Redis(host='127.0.0.1', port=port, socket_timeout=1)
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if probe.sentinel_get_master_addr_by_name('zaqar-test'):
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.05)
    finally:
        probe.close()
    output = log.read_text(errors='replace') if log.exists() else ''
    raise AssertionError(f'the sentinel did not start:\n{output}')


@pytest.mark.parametrize(
    'form',
    [
        'redis+sentinel://127.0.0.1:{port}/zaqar-test/0',
        'redis://127.0.0.1:{port}?master=zaqar-test',
    ],
    ids=['redis+sentinel', 'upstream'],
)
def test_the_driver_finds_the_primary_through_a_sentinel(
    sentinel_port: int, form: str
) -> None:
    namespace = f'test-{uuid.uuid4().hex}'
    storage = build(form.format(port=sentinel_port), namespace=namespace)
    try:
        assert storage.is_alive()
        storage.messages.post('q', [NewMessage('hi', ttl=60)], PROJECT, CLIENT)
        claim = storage.claims.create('q', PROJECT, ttl=60, grace=60, limit=5)
        assert claim is not None and [m.body for m in claim.messages] == ['hi']
        assert 'zaqar-test' in storage.describe()
    finally:
        storage.queues.delete('q', PROJECT)
        storage.close()


# Keys and scripts


def test_every_key_is_under_the_namespace_and_deletes_leave_only_the_counter(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    before = {key.decode() for key in client.scan_iter()}
    driver.queues.create(
        'q', {'_max_claim_count': 1, '_dead_letter_queue': 'd'}, PROJECT
    )
    post(driver, 3)
    claim = driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=2)
    assert claim is not None
    driver.claims.delete('q', claim.id, PROJECT)
    assert driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=2) is not None

    created = {key.decode() for key in client.scan_iter()} - before
    assert created and all(key.startswith(f'{namespace}:') for key in created)

    driver.queues.delete('q', PROJECT)
    driver.queues.delete('d', PROJECT)
    assert keys(client, namespace) == {f'{namespace}:n:{PROJECT}'}


def test_gc_leaves_nothing_of_expired_messages_and_claims(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    post(driver, 5)
    claim = driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=2)
    assert claim is not None
    clock.advance(121)

    assert driver.gc() == GCReport(messages=5, claims=1)

    project_keys = {f'{namespace}:{kind}:{PROJECT}' for kind in 'qdn'}
    assert keys(client, namespace) == project_keys
    assert driver.gc() == GCReport()


def test_gc_works_in_bounded_batches_across_queues(
    driver: RedisDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_driver, 'GC_BATCH', 4)
    for queue in ['a', 'b', 'c']:
        post(driver, 7, queue=queue)
        assert driver.claims.create(queue, PROJECT, ttl=60, grace=0, limit=5)
        post(driver, 1, queue=queue, ttl=600)
    clock.advance(61)

    assert driver.gc() == GCReport(messages=21, claims=3)

    assert [driver.queues.stats(q, PROJECT).total for q in 'abc'] == [1, 1, 1]


def test_posting_removes_expired_messages_in_passing(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    post(driver, 3)
    clock.advance(61)
    post(driver, 1)

    assert client.hlen(f'{namespace}:m:{len(PROJECT)}:{PROJECT}:q') == 1


def test_project_ids_and_queue_names_cannot_collide_in_key_names(
    driver: RedisDriver,
) -> None:
    pairs = [('p', 'q:r'), ('p:q', 'r'), ('1:p', 'q'), ('p', '1:p:q'), ('ü', 'q')]
    for number, (project, queue) in enumerate(pairs):
        message = NewMessage(body=number, ttl=60)
        driver.messages.post(queue, [message], project, CLIENT)

    for number, (project, queue) in enumerate(pairs):
        listed = driver.messages.list(queue, project, 'reader')
        assert [m.body for m in listed] == [number]
    assert [info.name for info in driver.queues.list('p')] == ['1:p:q', 'q:r']
    assert [info.name for info in driver.queues.list('p:q')] == ['r']


def test_scripts_are_loaded_again_after_the_server_forgets_them(
    driver: RedisDriver, client: redis.Redis
) -> None:
    post(driver)
    client.script_flush()

    post(driver)

    assert driver.queues.stats('q', PROJECT).total == 2


def test_every_script_is_run_by_exactly_one_method_of_scripts(
    driver: RedisDriver, client: redis.Redis, clock: ManualClock
) -> None:
    """Together with test_redis_lua.py: every .lua file is used by a method."""
    run = driver.scripts
    now = clock.now()
    claim_id = ids.new_id()
    subscription_id = ids.new_ordered_id(now)
    calls: dict[str, Callable[[], object]] = {
        'post': lambda: run.post(PROJECT, 'q', now, [NewMessage(1, ttl=60)], CLIENT),
        'post_once': lambda: run.post_once(
            PROJECT,
            'q',
            now,
            [NewMessage(1, ttl=60)],
            CLIENT,
            IdempotencyKey('key', b'fingerprint', 60),
        ),
        'list_messages': lambda: run.list_messages(
            PROJECT,
            'q',
            now,
            CLIENT,
            after=None,
            limit=1,
            echo=True,
            include_claimed=True,
            include_delayed=True,
        ),
        'get_messages': lambda: run.get_messages(PROJECT, 'q', now, [ids.new_id()]),
        'delete_message': lambda: run.delete_message(
            PROJECT, 'q', now, ids.new_id(), None
        ),
        'delete_messages': lambda: run.delete_messages(
            PROJECT, 'q', now, [ids.new_id()]
        ),
        'pop': lambda: run.pop(PROJECT, 'q', now, 1),
        'purge': lambda: run.purge(PROJECT, 'q', now),
        'create_queue': lambda: run.create_queue(PROJECT, 'd', now, {}),
        'delete_queue': lambda: run.delete_queue(PROJECT, 'd', now),
        'set_metadata': lambda: run.set_metadata(PROJECT, 'q', now, {}, None),
        'list_queues': lambda: run.list_queues(
            PROJECT, now, after=None, limit=1, name_contains=None, with_metadata=True
        ),
        'stats': lambda: run.stats(PROJECT, 'q', now),
        'create_claim': lambda: run.create_claim(
            PROJECT, 'q', now, ttl=60, grace=60, limit=1
        ),
        'get_claim': lambda: run.get_claim(PROJECT, 'q', now, claim_id),
        'update_claim': lambda: run.update_claim(
            PROJECT, 'q', now, claim_id, ttl=60, grace=60
        ),
        'release_claim': lambda: run.release_claim(PROJECT, 'q', now, claim_id),
        'gc': lambda: run.gc(now, 10),
        'create_subscription': lambda: run.create_subscription(
            PROJECT, 'q', now, subscription_id, subscriber=HOOK, ttl=60, options={}
        ),
        'get_subscription': lambda: run.get_subscription(
            PROJECT, 'q', now, subscription_id
        ),
        'update_subscription': lambda: run.update_subscription(
            PROJECT, 'q', now, subscription_id, subscriber=None, ttl=5, options=None
        ),
        'confirm_subscription': lambda: run.confirm_subscription(
            PROJECT, 'q', now, subscription_id, True
        ),
        'delete_subscription': lambda: run.delete_subscription(
            PROJECT, 'q', now, subscription_id
        ),
        'purge_subscriptions': lambda: run.purge_subscriptions(PROJECT, 'q', now),
        'list_subscriptions': lambda: run.list_subscriptions(
            PROJECT, 'q', now, after=None, limit=1
        ),
    }
    methods = {
        name
        for name, _ in inspect.getmembers(Scripts, inspect.isfunction)
        if not name.startswith('_')
    }
    assert set(calls) == methods - {'sha'}

    ran: dict[str, list[Lua]] = {}
    for name, call in calls.items():
        client.script_flush()
        call()
        loaded = client.script_exists(*(run.sha(script) for script in Lua))
        ran[name] = [script for script, known in zip(Lua, loaded, strict=True) if known]

    assert all(len(scripts_run) == 1 for scripts_run in ran.values()), ran
    assert sorted(script.name for (script,) in ran.values()) == sorted(
        script.name for script in Lua
    )


def test_a_dead_letter_policy_is_stored_in_the_form_earlier_versions_read(
    driver: RedisDriver, client: redis.Redis, namespace: str
) -> None:
    policies = f'{namespace}:p:{PROJECT}'
    metadata = {'_max_claim_count': 2, '_dead_letter_queue': 'd'}

    driver.queues.create('q', metadata, PROJECT)
    assert client.hget(policies, 'q') == b'2 0 d'
    driver.queues.set_metadata(
        'q', {**metadata, '_dead_letter_queue_messages_ttl': 120}, PROJECT
    )
    assert client.hget(policies, 'q') == b'2 120 d'
    driver.queues.set_metadata('q', {'_dead_letter_queue': 'd'}, PROJECT)
    assert client.hget(policies, 'q') is None


def test_timestamps_keep_their_fractions(client: redis.Redis, namespace: str) -> None:
    clock = ManualClock(start=1_700_000_000.123456)
    storage = RedisDriver(client, clock, namespace=namespace)
    post(storage)
    clock.advance(9.999)

    (message,) = storage.messages.list('q', PROJECT, 'reader')

    assert (message.created, message.age) == (1_700_000_000.123456, 9)


def test_claimed_messages_leave_the_free_set_that_claims_scan(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    """Claiming never walks over messages that are already claimed."""
    post(driver, 50, ttl=600)
    for _ in range(4):
        assert driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=10)
    tag = f'{len(PROJECT)}:{PROJECT}:q'

    assert (
        client.zcard(f'{namespace}:f:{tag}'),
        client.zcard(f'{namespace}:h:{tag}'),
    ) == (
        10,
        40,
    )
    clock.advance(61)
    assert driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=50)
    assert client.zcard(f'{namespace}:f:{tag}') == 0


def test_memory_per_message_stays_close_to_its_size(
    driver: RedisDriver, client: redis.Redis, namespace: str
) -> None:
    body = 'x' * 1022  # 1 KiB as JSON
    for _ in range(100):
        driver.messages.post('q', [NewMessage(body, ttl=600)] * 10, PROJECT, CLIENT)

    used = sum(
        int(client.memory_usage(key, samples=0) or 0) for key in keys(client, namespace)
    )

    assert used / 1000 < 1.7 * 1024


def _claim_in_a_process(
    server: services.RedisServer,
    namespace: str,
    taken: multiprocessing.Queue[list[str]],
) -> None:
    client = redis.Redis(host=server.host, port=server.port)
    storage = RedisDriver(client, SystemClock(), namespace=namespace)
    mine: list[str] = []
    while claim := storage.claims.create('q', PROJECT, ttl=600, grace=60, limit=3):
        mine += [message.id for message in claim.messages]
    taken.put(mine)


def test_worker_processes_sharing_the_server_never_claim_a_message_twice(
    server: services.RedisServer, client: redis.Redis, namespace: str
) -> None:
    storage = RedisDriver(client, SystemClock(), namespace=namespace)
    messages = [NewMessage(n, ttl=600) for n in range(300)]
    posted = storage.messages.post('q', messages, PROJECT, CLIENT)
    context = multiprocessing.get_context('fork')
    taken: multiprocessing.Queue[list[str]] = context.Queue()
    workers = [
        context.Process(target=_claim_in_a_process, args=(server, namespace, taken))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    claimed = [message_id for _ in workers for message_id in taken.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=10)

    assert sorted(claimed) == sorted(posted)


# Lost replies: no command is sent twice


class ReplyDropper:
    """A TCP proxy to Redis that loses one reply, as a broken network would.

    Once armed with a script's SHA1, it passes the next command naming the
    script on to the server, which runs it, then closes the client's
    connection instead of forwarding the reply.
    """

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._armed: bytes | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.dropped = threading.Event()
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, sha: str) -> None:
        with self._lock:
            self._armed = sha.encode()

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [downstream, upstream]
            drop = threading.Event()
            for target in (self._requests, self._replies):
                threading.Thread(
                    target=target, args=(downstream, upstream, drop), daemon=True
                ).start()

    def _requests(
        self, downstream: socket.socket, upstream: socket.socket, drop: threading.Event
    ) -> None:
        while data := _receive(downstream):
            with self._lock:
                if self._armed is not None and self._armed in data:
                    self._armed = None
                    drop.set()
            try:
                upstream.sendall(data)
            except OSError:
                break
        _close(upstream)

    def _replies(
        self, downstream: socket.socket, upstream: socket.socket, drop: threading.Event
    ) -> None:
        while data := _receive(upstream):
            if drop.is_set():
                self.dropped.set()
                break
            try:
                downstream.sendall(data)
            except OSError:
                break
        _close(downstream)
        _close(upstream)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b''


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def dropper(server: services.RedisServer) -> Iterator[ReplyDropper]:
    proxy = ReplyDropper(server.host, server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def proxied(dropper: ReplyDropper, namespace: str) -> Iterator[RedisDriver]:
    """A driver built as zaqar-server builds it, connected through the proxy."""
    storage = build(f'redis://127.0.0.1:{dropper.port}/0', namespace=namespace)
    yield storage
    storage.close()


def test_a_pop_whose_reply_is_lost_fails_and_takes_nothing_more(
    proxied: RedisDriver, dropper: ReplyDropper
) -> None:
    messages = [NewMessage(n, ttl=600) for n in range(6)]
    posted = proxied.messages.post('q', messages, PROJECT, CLIENT)
    proxied.messages.pop('q', 0, PROJECT)  # loads the script
    dropper.arm(proxied.scripts.sha(Lua.POP))

    # NOTE: the caller learns that the outcome is unknown; run again, the
    # script would pop two more and return only those.
    with pytest.raises(errors.StorageUnavailable):
        proxied.messages.pop('q', 2, PROJECT)

    assert dropper.dropped.is_set()
    listed = proxied.messages.list('q', PROJECT, 'reader', limit=10)
    assert [message.id for message in listed] == posted[2:]


def test_a_post_whose_reply_is_lost_fails_and_stores_its_messages_once(
    proxied: RedisDriver, dropper: ReplyDropper, client: redis.Redis, namespace: str
) -> None:
    post(proxied)
    dropper.arm(proxied.scripts.sha(Lua.POST))

    with pytest.raises(errors.StorageUnavailable):
        post(proxied)

    assert dropper.dropped.is_set()
    listed = proxied.messages.list('q', PROJECT, 'reader', limit=10)
    assert len(listed) == client.hlen(queue_key(namespace, 'm')) == 2


def test_a_keyed_post_whose_reply_is_lost_is_answered_by_its_repeat(
    proxied: RedisDriver, dropper: ReplyDropper, client: redis.Redis, namespace: str
) -> None:
    key = IdempotencyKey('k', b'f' * 32, window=600)
    messages = [NewMessage(n, ttl=600) for n in range(2)]
    proxied.messages.post_once('q', messages, PROJECT, CLIENT, key)
    dropper.arm(proxied.scripts.sha(Lua.POST_ONCE))
    other = IdempotencyKey('other', b'f' * 32, window=600)

    with pytest.raises(errors.StorageUnavailable):
        proxied.messages.post_once('q', messages, PROJECT, CLIENT, other)
    # The client sends it again: stored once, answered with what was stored.
    again = proxied.messages.post_once('q', messages, PROJECT, CLIENT, other)

    assert dropper.dropped.is_set()
    listed = proxied.messages.list('q', PROJECT, 'reader', limit=10)
    assert [message.id for message in listed][2:] == again
    assert client.hlen(queue_key(namespace, 'm')) == 4


def test_keys_live_beside_the_queue_and_keep_it_due_for_gc(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    key = IdempotencyKey('k', b'f' * 32, window=600)
    driver.messages.post_once('q', [NewMessage(1, ttl=60)], PROJECT, CLIENT, key)
    driver.queues.delete('q', PROJECT)

    assert client.hlen(queue_key(namespace, 'i')) == 1
    assert client.zscore(queue_key(namespace, 'j'), 'k') == clock.now() + 600
    tag = f'{len(PROJECT)}:{PROJECT}:q'
    assert client.zscore(f'{namespace}:due', tag) == clock.now() + 600

    clock.advance(600)
    assert driver.gc() == GCReport(idempotency_keys=1)
    assert not client.exists(queue_key(namespace, 'i'), queue_key(namespace, 'j'))
    assert client.zscore(f'{namespace}:due', tag) is None


def test_a_claim_whose_reply_is_lost_fails_and_holds_one_message(
    proxied: RedisDriver, dropper: ReplyDropper
) -> None:
    posted = proxied.messages.post(
        'q', [NewMessage(n, ttl=600) for n in range(3)], PROJECT, CLIENT
    )
    assert proxied.claims.create('q', PROJECT, ttl=60, grace=60, limit=0) is None
    dropper.arm(proxied.scripts.sha(Lua.CREATE_CLAIM))

    with pytest.raises(errors.StorageUnavailable):
        proxied.claims.create('q', PROJECT, ttl=60, grace=60, limit=1)

    listed = proxied.messages.list('q', PROJECT, 'reader', limit=10)
    assert [message.id for message in listed] == posted[1:]


def test_a_connection_the_server_closed_is_replaced_before_use(
    client: redis.Redis, namespace: str
) -> None:
    """Without retries, a pooled connection the server dropped still works."""
    storage = build(client_url(client), namespace=namespace)
    post(storage)
    connection_id = storage.client.client_id()

    assert client.client_kill_filter(_id=connection_id) == 1
    post(storage)

    assert storage.queues.stats('q', PROJECT).total == 2
    storage.close()


def client_url(client: redis.Redis) -> str:
    settings = client.connection_pool.connection_kwargs
    return f'redis://{settings["host"]}:{settings["port"]}/0'


# The server: version and eviction policy, checked on first use


def test_the_server_is_checked_once_on_first_use(
    driver: RedisDriver,
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    asked: list[str] = []
    config_get = client.config_get

    def counting_config_get(pattern: str) -> object:
        asked.append(pattern)
        return config_get(pattern)

    monkeypatch.setattr(client, 'config_get', counting_config_get)

    with caplog.at_level(logging.INFO, logger='zaqar.storage.redis'):
        assert driver.is_alive()
        post(driver)
        driver.queues.stats('q', PROJECT)
        assert driver.is_alive()

    assert asked == ['maxmemory-policy']
    # The test server does not evict: nothing to say.
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


def test_an_evicting_maxmemory_policy_is_a_warning(
    driver: RedisDriver,
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(
        client, 'config_get', lambda pattern: {'maxmemory-policy': 'allkeys-lru'}
    )

    with caplog.at_level(logging.WARNING):
        post(driver)
        post(driver)

    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "maxmemory-policy 'allkeys-lru'" in record.getMessage()
    assert 'noeviction' in record.getMessage()
    assert driver.queues.stats('q', PROJECT).total == 2


def test_a_refused_config_command_is_logged_at_info(
    driver: RedisDriver,
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refused(pattern: str) -> object:
        raise redis.exceptions.ResponseError("unknown command 'CONFIG'")

    monkeypatch.setattr(client, 'config_get', refused)

    with caplog.at_level(logging.INFO, logger='zaqar.storage.redis'):
        assert driver.is_alive()
        post(driver)

    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert 'Could not check the maxmemory-policy' in record.getMessage()


def test_a_server_older_than_6_2_is_unavailable(
    driver: RedisDriver,
    client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(client, 'info', lambda section: {'redis_version': '6.0.16'})

    assert driver.is_alive() is False
    with pytest.raises(errors.StorageUnavailable, match='6.0.16 .* needs Redis 6.2'):
        post(driver)
    assert 'needs Redis 6.2 or later' in caplog.text

    monkeypatch.setattr(client, 'info', lambda section: {'redis_version': '6.2.0'})
    assert driver.is_alive() is True


# Garbage collection across many queues


def test_gc_goes_on_past_batches_that_find_nothing_expired(
    driver: RedisDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queues whose messages were deleted stay due until gc visits them."""
    monkeypatch.setattr(redis_driver, 'GC_BATCH', 4)
    for number in range(10):
        queue = f'q{number}'
        (message_id,) = driver.messages.post(
            queue, [NewMessage(number, ttl=60)], PROJECT, CLIENT
        )
        driver.messages.delete(queue, message_id, PROJECT)
    post(driver, queue='z', ttl=120)
    clock.advance(200)

    assert driver.gc() == GCReport(messages=1)
    assert driver.queues.stats('z', PROJECT).total == 0
    assert driver.gc() == GCReport()


# Delayed messages and bounded scans


def test_delayed_messages_wait_outside_the_set_claims_scan(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    delayed = driver.messages.post(
        'q', [NewMessage(n, ttl=600, delay=30) for n in range(3)], PROJECT, CLIENT
    )
    plain = driver.messages.post(
        'q', [NewMessage(n, ttl=600) for n in range(2)], PROJECT, CLIENT
    )

    assert client.zcard(queue_key(namespace, 'f')) == 2
    claim = driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=10)
    assert claim is not None and [m.id for m in claim.messages] == plain
    listed = driver.messages.list('q', PROJECT, 'r', include_delayed=True)
    assert [m.id for m in listed] == delayed

    clock.advance(30)
    claim = driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=10)
    assert claim is not None and [m.id for m in claim.messages] == delayed
    for kind in 'lw':
        assert client.exists(queue_key(namespace, kind)) == 0

    driver.messages.post('q', [NewMessage('later', ttl=60, delay=30)], PROJECT, CLIENT)
    assert client.exists(queue_key(namespace, 'l'), queue_key(namespace, 'w')) == 2
    driver.messages.purge('q', PROJECT)
    assert client.exists(queue_key(namespace, 'l'), queue_key(namespace, 'w')) == 0


def post_many(driver: RedisDriver, count: int, delay: int = 0, ttl: int = 1200) -> None:
    for start in range(0, count, 500):
        batch = [
            NewMessage(n, ttl=ttl, delay=delay)
            for n in range(start, min(count, start + 500))
        ]
        driver.messages.post('q', batch, PROJECT, CLIENT)


def test_no_script_examines_much_more_than_its_budget(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    """Stepping over many messages costs a bounded amount per call."""
    bound = 5 * scripts.BUDGET
    post_many(driver, 8 * scripts.BUDGET, delay=600)
    driver.messages.post('q', [NewMessage('late', ttl=1200)], PROJECT, 'other')

    def cost(call: Callable[[], T]) -> tuple[T, int]:
        before = commands_run(client)
        outcome = call()
        return outcome, commands_run(client) - before

    # Still delayed: not in the way of claims and lists at all.
    claim, used = cost(lambda: driver.claims.create('q', PROJECT, 60, 60, 5))
    assert claim is not None and [m.body for m in claim.messages] == ['late']
    assert used < 100
    driver.claims.delete('q', claim.id, PROJECT)

    # The reader's own messages, stepped over without echo: several bounded
    # script calls, and the page is still exact.
    own, used = cost(
        lambda: driver.messages.list('q', PROJECT, CLIENT, include_delayed=True)
    )
    assert [m.body for m in own] == ['late']

    # Now visible, more than one call promotes: claims still take the oldest.
    clock.advance(600)
    claim, used = cost(lambda: driver.claims.create('q', PROJECT, 60, 60, 5))
    assert claim is not None and [m.marker for m in claim.messages] == [1, 2, 3, 4, 5]
    assert used < bound
    listed, used = cost(lambda: driver.messages.list('q', PROJECT, 'r', limit=3))
    assert [m.marker for m in listed] == [6, 7, 8] and used < bound

    # All expired: stats, pops and claims remove a bounded batch each (a
    # list goes on, script call after script call, until its page is exact).
    clock.advance(10_000)
    calls: list[Callable[[], object]] = [
        lambda: driver.queues.stats('q', PROJECT),
        lambda: driver.messages.pop('q', 5, PROJECT),
        lambda: driver.claims.create('q', PROJECT, 60, 60, 5),
    ]
    for call in calls:
        stored = client.hlen(queue_key(namespace, 'm'))
        outcome, used = cost(call)
        assert outcome in ([], None, QueueStats(free=0, claimed=0)) and used < bound
        assert client.hlen(queue_key(namespace, 'm')) < stored
    assert driver.messages.list('q', PROJECT, 'r') == []
    assert client.hlen(queue_key(namespace, 'm')) == 0


def test_order_and_paging_hold_while_expired_claims_wait_to_be_retired(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    """More expired claims than one call retires: ``h`` is scanned too."""
    count = scripts.BUDGET  # one claim of one message each costs two
    post_many(driver, count)
    for _ in range(count):
        assert driver.claims.create('q', PROJECT, ttl=30, grace=0, limit=1)
    post_many(driver, 5)
    clock.advance(30)

    claim = driver.claims.create('q', PROJECT, ttl=60, grace=60, limit=2)
    assert claim is not None and [m.marker for m in claim.messages] == [1, 2]
    assert client.zcount(queue_key(namespace, 'e'), '-inf', clock.now()) > 0

    markers: list[int] = []
    while page := driver.messages.list(
        'q', PROJECT, 'r', marker=markers[-1] if markers else None, limit=20
    ):
        markers += [m.marker for m in page]
    assert markers == list(range(3, count + 6))


def test_a_list_goes_on_past_more_of_the_readers_own_messages_than_one_call_sees(
    driver: RedisDriver,
) -> None:
    """Without echo, a reader's own messages never hide what follows them."""
    post_many(driver, 3 * scripts.BUDGET)
    driver.messages.post('q', [NewMessage('theirs', ttl=600)], PROJECT, 'other')

    page = driver.messages.list('q', PROJECT, CLIENT, limit=10)

    assert [m.body for m in page] == ['theirs']
    assert page[0].marker == 3 * scripts.BUDGET + 1


# Subscriptions


def subscribe(
    driver: RedisDriver, subscriber: str, source: str = 'q', ttl: int = 60
) -> str:
    return driver.subscriptions.create(source, subscriber, ttl, {'o': 1}, PROJECT)


def test_subscriptions_leave_no_key_behind_once_deleted_and_collected(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    first = subscribe(driver, HOOK)
    subscribe(driver, f'{HOOK}/2', source='other')
    driver.subscriptions.update('q', first, PROJECT, subscriber=f'{HOOK}/1', ttl=90)
    driver.subscriptions.confirm('q', first, PROJECT, True)
    kinds = {key.split(':')[1] for key in keys(client, namespace)}
    assert kinds == {'s', 'u', 'o', 'y', 'due'}

    driver.subscriptions.delete('q', first, PROJECT)
    driver.subscriptions.purge('other', PROJECT)
    assert keys(client, namespace) == {f'{namespace}:due'}
    clock.advance(91)

    assert driver.gc() == GCReport()
    assert keys(client, namespace) == set()


def test_gc_leaves_nothing_of_expired_subscriptions(
    driver: RedisDriver, client: redis.Redis, namespace: str, clock: ManualClock
) -> None:
    post(driver, 1, ttl=600)
    for number in range(3):
        subscribe(driver, f'{HOOK}/{number}')
    subscribe(driver, HOOK, source='other')
    driver.queues.delete('q', PROJECT)
    clock.advance(61)

    assert driver.gc() == GCReport(subscriptions=4)

    assert keys(client, namespace) == {f'{namespace}:n:{PROJECT}'}


def test_gc_removes_subscriptions_in_bounded_batches(
    driver: RedisDriver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_driver, 'GC_BATCH', 2)
    for source in 'abc':
        for number in range(3):
            subscribe(driver, f'{HOOK}/{number}', source=source)
    kept = subscribe(driver, HOOK, source='a', ttl=600)
    clock.advance(61)
    batches: list[scripts.GCBatch] = []
    original = driver.scripts.gc

    def spy(now: float, budget: int) -> scripts.GCBatch:
        batches.append(original(now, budget))
        return batches[-1]

    monkeypatch.setattr(driver.scripts, 'gc', spy)

    assert driver.gc() == GCReport(subscriptions=9)

    assert max(batch.subscriptions for batch in batches) <= 2
    assert [s.id for s in driver.subscriptions.list('a', PROJECT)] == [kept]


def test_a_list_steps_over_more_expired_subscriptions_than_one_call_examines(
    client: redis.Redis,
    namespace: str,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each call examines at most BUDGET ids; the page is still exact."""
    monkeypatch.setattr(scripts, 'BUDGET', 10)
    driver = RedisDriver(client, clock, namespace=namespace)
    for number in range(25):
        subscribe(driver, f'{HOOK}/expiring/{number}')
    clock.advance(1)
    live = [subscribe(driver, f'{HOOK}/{number}', ttl=600) for number in range(3)]
    clock.advance(60)
    batches: list[scripts.SubscriptionBatch] = []
    original = driver.scripts.list_subscriptions

    def spy(
        project: str, source: str, now: float, *, after: str | None, limit: int
    ) -> scripts.SubscriptionBatch:
        batches.append(original(project, source, now, after=after, limit=limit))
        return batches[-1]

    monkeypatch.setattr(driver.scripts, 'list_subscriptions', spy)

    listed = driver.subscriptions.list('q', PROJECT, limit=2)

    assert [s.id for s in listed] == sorted(live)[:2]
    assert len(batches) == 3
    assert all(len(batch.subscriptions) <= 2 for batch in batches)
