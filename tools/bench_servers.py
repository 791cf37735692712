"""The processes tools/bench measures: zaqar-server, the ceiling, Redis.

Each is started on a free loopback port in a temporary directory and
stopped when its context ends. CPU use is read from /proc so that the
benchmark can say how busy the server side was during a run.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf('SC_CLK_TCK')

# Starts zaqar-server from whatever tree is first on PYTHONPATH; used for
# this checkout and for --compare-ref's worktree alike, so that both are
# started the same way by the same interpreter.
SERVER_BOOT = (
    'import sys, zaqar\n'
    'sys.stderr.write("bench: zaqar imported from %s\\n" % zaqar.__file__)\n'
    'from zaqar.cmd.server import main\n'
    'sys.exit(main())\n'
)


@dataclass
class Server:
    """A running HTTP server: its base URL and the processes serving it."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    # Other processes whose CPU counts as this server's (a private Redis).
    helpers: list[int] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master, its workers and helpers."""
        pids = [self.process.pid, *children(self.process.pid), *self.helpers]
        return sum(cpu_seconds(pid) for pid in pids)

    def worker_cpu_seconds(self) -> dict[int, float]:
        """CPU time used so far by each worker, by pid."""
        return {pid: cpu_seconds(pid) for pid in children(self.process.pid)}


def free_port() -> int:
    """A port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, 0 if it is gone."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return 0.0
    # The command name may hold spaces and parentheses: split after it.
    fields = stat.rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        if int(stat.rpartition(')')[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def wsgi_config(port: int, workers: int | None, threads: int | None) -> str:
    """``[drivers:transport:wsgi]``; unset workers/threads keep the defaults."""
    lines = ['[drivers:transport:wsgi]', 'bind = 127.0.0.1', f'port = {port}']
    if workers is not None:
        lines.append(f'workers = {workers}')
    if threads is not None:
        lines.append(f'threads = {threads}')
    return '\n'.join(lines) + '\n'


def store_config(store: str, directory: Path, redis_url: str | None) -> str:
    """The message store section: a throw-away SQLite file or Redis namespace."""
    if store == 'redis':
        assert redis_url is not None
        return (
            '[drivers]\nmessage_store = redis\n'
            f'[drivers:message_store:redis]\nuri = {redis_url}\n'
            f'namespace = bench-{uuid.uuid4().hex[:8]}\n'
        )
    return f'[drivers:message_store:sqlite]\ndatabase = {directory}/bench.db\n'


@contextlib.contextmanager
def zaqar_server(
    name: str,
    tree: Path,
    directory: Path,
    config: str,
    workers: int,
    helpers: list[int],
) -> Iterator[Server]:
    """Run zaqar-server from ``tree`` with this configuration text."""
    conf = directory / 'zaqar.conf'
    conf.write_text(config)
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, '-c', SERVER_BOOT, '--config-file', str(conf)]
    with _gunicorn(name, command, env, tree, directory, workers) as server:
        imported = server.log.read_text()
        if f'from {tree}/zaqar/' not in imported:
            raise SystemExit(f'{name}: zaqar was not imported from {tree}')
        server.helpers.extend(helpers)
        yield server


@contextlib.contextmanager
def ceiling_server(directory: Path, config: str, workers: int) -> Iterator[Server]:
    """Run tools/bench_ceiling.py with the same gunicorn settings."""
    conf = directory / 'ceiling.conf'
    conf.write_text(config)
    command = [
        sys.executable,
        str(ROOT / 'tools' / 'bench_ceiling.py'),
        '--config-file',
        str(conf),
    ]
    with _gunicorn('ceiling', command, dict(os.environ), ROOT, directory, workers) as s:
        yield s


@contextlib.contextmanager
def _gunicorn(
    name: str,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    directory: Path,
    workers: int,
) -> Iterator[Server]:
    port = _port_in(command)
    log = directory / f'{name.replace("@", "-")}.log'
    with log.open('wb') as stderr:
        # The access log goes to stdout; both servers write it to /dev/null,
        # paying the same formatting cost.
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stderr, env=env, cwd=cwd
        )
    server = Server(name, f'http://127.0.0.1:{port}', process, log)
    try:
        _wait_ready(server, workers)
        yield server
    finally:
        stop(process)


def _port_in(command: list[str]) -> int:
    conf = Path(command[command.index('--config-file') + 1])
    for line in conf.read_text().splitlines():
        if line.startswith('port = '):
            return int(line.split('=')[1])
    raise ValueError(f'no port in {conf}')


def _wait_ready(server: Server, workers: int) -> None:
    """Wait until the server answers and every worker has built its app.

    Workers log "worker <pid> ready" once their app is built (zaqar's
    post_worker_init hook, which the ceiling shares); a revision without
    that line is given a moment instead.
    """
    host, port = server.url.removeprefix('http://').split(':')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f'{server.name} exited at start:\n{server.log.read_text()[-3000:]}'
            )
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request('GET', '/')
            connection.getresponse().read()
            connection.close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f'{server.name} did not answer within 60 s')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.log.read_text().count(' ready') >= workers:
            return
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started: politely, then not."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[tuple[str, int]]:
    """A redis-server of our own, without persistence; (url, pid)."""
    binary = shutil.which('redis-server')
    if binary is None:
        raise SystemExit(
            'redis-server is missing: install it (apt-get install -y '
            'redis-server) or pass --redis-url'
        )
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            '--port',
            str(port),
            '--bind',
            '127.0.0.1',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
                    s.sendall(b'PING\r\n')
                    if s.recv(16).startswith(b'+PONG'):
                        break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit('redis-server did not start')
            time.sleep(0.05)
        yield f'redis://127.0.0.1:{port}/0', process.pid
    finally:
        stop(process)


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[tuple[Path, str]]:
    """A detached checkout of ``ref`` in a temporary directory; (path, commit).

    Removed at the end; git worktree touches .git/worktrees only, never the
    index of the main checkout.
    """
    commit = subprocess.run(
        ['git', 'rev-parse', '--verify', f'{ref}^{{commit}}'],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix='zaqar-bench-ref-') as directory:
        path = Path(directory) / 'tree'
        subprocess.run(
            ['git', 'worktree', 'add', '--detach', '--quiet', str(path), commit],
            cwd=ROOT,
            check=True,
        )
        try:
            yield path, commit
        finally:
            subprocess.run(
                ['git', 'worktree', 'remove', '--force', str(path)],
                cwd=ROOT,
                check=False,
            )
