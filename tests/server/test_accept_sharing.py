"""Workers share a burst of new keep-alive connections out (zaqar.cmd.worker)."""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from urllib.parse import urlsplit

from tests.server.conftest import Server
from tests.server.conftest import start_server

WORKERS = 2
THREADS = 2
CONNECTIONS = 8
ESTABLISHED = '01'


def worker_pids(server: Server) -> list[int]:
    master = server.process.pid
    children = Path(f'/proc/{master}/task/{master}/children').read_text().split()
    return [int(pid) for pid in children]


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        try:
            target = os.readlink(f'/proc/{pid}/fd/{fd}')
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[len('socket:[') : -1])
    return inodes


def accepted_connections(port: int) -> set[str]:
    """The socket inodes of the established connections accepted on ``port``."""
    found = set()
    for line in Path('/proc/net/tcp').read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(':', 1)[1], 16)
        if local_port == port and fields[3] == ESTABLISHED:
            found.add(fields[9])
    return found


def test_a_burst_of_connections_is_shared_by_the_workers(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        {'drivers:transport:wsgi': {'threads': THREADS}},
        workers=WORKERS,
    )
    port = urlsplit(server.url).port
    assert port is not None
    clients = [
        http.client.HTTPConnection('127.0.0.1', port) for _ in range(CONNECTIONS)
    ]
    try:
        for client in clients:
            client.connect()
        for client in clients:
            client.request('GET', '/v2/ping', headers=server.headers())
        for client in clients:
            response = client.getresponse()
            response.read()
            assert response.status == 204
        accepted = accepted_connections(port)
        held = [len(socket_inodes(pid) & accepted) for pid in worker_pids(server)]
    finally:
        for client in clients:
            client.close()
        server.stop()

    assert sum(held) == CONNECTIONS
    # Each worker took at least its share, one connection per thread.
    assert min(held) >= THREADS, held
