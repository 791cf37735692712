"""The real processes the fault tests break: redis-server, zaqar-server, a disk.

Nothing here imitates a fault: processes get real signals (SIGKILL, SIGSTOP),
a full disk is a real filesystem with no space left, a locked database is
another process's SQLite transaction.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests import services
from tests.server.conftest import Config
from tests.server.conftest import Server
from tests.server.conftest import free_port
from tests.server.conftest import start_server

STARTUP_TIMEOUT = 15.0


class RedisProcess:
    """A private redis-server that logs every write to its AOF before answering.

    ``appendonly yes``, with ``appendfsync always`` unless told otherwise:
    the settings under which doc/durability.md promises that an
    acknowledged write survives a crash of Redis itself (``everysec`` too,
    the fsync being for power loss). Tests kill, stall and restart it at
    will, which they must never do to the run's shared server.
    """

    def __init__(self, directory: Path, appendfsync: str = 'always') -> None:
        binary = shutil.which('redis-server')
        if binary is None:
            services.unavailable(
                'redis-server', 'not installed (apt-get install -y redis-server)'
            )
        self.binary = binary
        self.directory = directory
        self.appendfsync = appendfsync
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        """A ``redis://`` URI of database 0."""
        return f'redis://127.0.0.1:{self.port}/0'

    def start(self) -> None:
        """Start (or restart, loading the AOF) on the same port and directory.

        Raises:
            AssertionError: It did not answer PING in time.
        """
        self.process = subprocess.Popen(
            [
                self.binary,
                '--port', str(self.port),
                '--bind', '127.0.0.1',
                '--dir', str(self.directory),
                '--appendonly', 'yes',
                '--appendfsync', self.appendfsync,
                '--save', '',
                '--maxmemory-policy', 'noeviction',
                '--logfile', str(self.directory / 'redis.log'),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.paused = False
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _pong(self.port):
            assert self.process.poll() is None, f'redis-server exited:\n{self.log()}'
            assert time.monotonic() < deadline, f'redis-server is not up:\n{self.log()}'
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed beyond what was fsync'd."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT: it answers what it was sent meanwhile."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        """Stop it for good (resumed first, so that SIGTERM is handled)."""
        if self.process is None or self.process.poll() is not None:
            return
        if self.paused:
            self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        """What redis-server logged."""
        path = self.directory / 'redis.log'
        return path.read_text(errors='replace') if path.exists() else ''


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as connection:
            connection.sendall(b'PING\r\n')
            return connection.recv(64).startswith(b'+PONG')
    except OSError:
        return False


class ZaqarServers:
    """Starts zaqar-server processes for a test, and restarts killed ones.

    A restarted server listens on its predecessor's port, with the same
    configuration file (so the same storage), as a supervisor would restart
    it: the checker's clients keep their URL.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: list[Server] = []
        self._configs: dict[int, tuple[Path, Config, int]] = {}

    def start(self, config: Config, workers: int = 2) -> Server:
        """Start a server in a directory of its own."""
        directory = self.directory / f'server{len(self._configs)}'
        directory.mkdir()
        server = start_server(directory, config, workers=workers)
        self._configs[id(server)] = (directory, config, workers)
        self.running.append(server)
        return server

    def restart(self, killed: Server) -> Server:
        """Start a server where ``killed`` was, after it died.

        Its log is kept beside the new one (``server.log.<n>``).
        """
        assert killed.process.poll() is not None, 'restart() is for dead servers'
        directory, config, workers = self._configs[id(killed)]
        port = int(killed.url.rsplit(':', 1)[1])
        kept = len(list(directory.glob('server.log.*')))
        killed.log.rename(directory / f'server.log.{kept}')
        server = start_server(directory, config, workers=workers, port=port)
        self._configs[id(server)] = (directory, config, workers)
        self.running.append(server)
        return server

    def stop_all(self) -> None:
        """Stop every server still running."""
        for server in self.running:
            server.stop()


def process_tree(root: int) -> list[int]:
    """``root`` and its live descendants (a server's master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # The parent pid is the second field after the parenthesized name.
            stat = (entry / 'stat').read_text()
            parent = int(stat.rsplit(')', 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def rss_kib(pid: int) -> int:
    """A process's resident set size in KiB, 0 if it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (e.g. ``8m``) on ``directory`` for a block.

    A real filesystem that fills up: writes then fail with ENOSPC, as on a
    full disk, and the rest of the machine is untouched. Needs the right to
    mount (root with CAP_SYS_ADMIN); without it the test is skipped, or
    failed where services are required (CI), saying why.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        services.unavailable('a small tmpfs', 'mounting one needs root')
    if shutil.which('mount') is None:
        services.unavailable('a small tmpfs', 'there is no mount command')
    options = f'size={size},mode=0700'
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = mounted.stderr.strip() or f'exit status {mounted.returncode}'
        services.unavailable(
            'a small tmpfs',
            f'mount -t tmpfs failed ({reason}); the disk-full test needs a '
            f'filesystem it can fill',
        )
    try:
        yield directory
    finally:
        # Lazily if something still has a file open there (a server a failed
        # test left running): the test is over either way.
        unmounted = subprocess.run(['umount', str(directory)], capture_output=True)
        if unmounted.returncode != 0:
            subprocess.run(['umount', '-l', str(directory)], check=False)


def fill(directory: Path) -> Path:
    """Write a file in ``directory`` until its filesystem has no space left."""
    filler = directory / 'filler'
    chunk = b'\0' * 65536
    with filler.open('wb', buffering=0) as sink:
        try:
            while True:
                sink.write(chunk)
        except OSError as ex:
            assert ex.errno == errno.ENOSPC, f'expected ENOSPC while filling: {ex}'
    return filler
