"""Claims stay exclusive across gunicorn worker processes."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from tests.server.conftest import Server

pytestmark = pytest.mark.server

MESSAGES = 120
CLAIMERS = 8
PATCHERS = 16


def test_concurrent_claimers_on_several_workers_get_each_message_once(
    server_factory,
) -> None:
    server: Server = server_factory(workers=3)
    base = f'{server.url}/v2/queues/race'
    producer = server.headers('race')
    for start in range(0, MESSAGES, 20):
        response = requests.post(
            f'{base}/messages',
            json={
                'messages': [{'body': n, 'ttl': 600} for n in range(start, start + 20)]
            },
            headers=producer,
            timeout=10,
        )
        assert response.status_code == 201

    barrier = threading.Barrier(CLAIMERS)
    received: list[list[int]] = [[] for _ in range(CLAIMERS)]
    failures: list[str] = []

    def claimer(slot: int) -> None:
        session = requests.Session()
        headers = server.headers('race')
        barrier.wait(timeout=30)
        for _ in range(MESSAGES):  # bounded: at most one round per message
            response = session.post(
                f'{base}/claims?limit=5',
                json={'ttl': 600, 'grace': 60},
                headers=headers,
                timeout=30,
            )
            if response.status_code == 204:
                return
            if response.status_code != 201:
                failures.append(f'{response.status_code} {response.text}')
                return
            received[slot].extend(m['body'] for m in response.json()['messages'])

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    counts = Counter(body for bodies in received for body in bodies)
    assert sorted(counts) == list(range(MESSAGES))
    assert set(counts.values()) == {1}
    # Every claimer got its share of work in FIFO order.
    for bodies in received:
        assert bodies == sorted(bodies)


def test_concurrent_metadata_patches_all_take_effect(server: Server) -> None:
    """Read-modify-write PATCHes on several workers never undo each other."""
    base = f'{server.url}/v2/queues/patched'
    headers = server.headers('patching')
    assert requests.put(base, headers=headers, timeout=10).status_code == 201
    patch_headers = {
        **headers,
        'Content-Type': 'application/openstack-messaging-v2.0-json-patch',
    }
    barrier = threading.Barrier(PATCHERS)
    statuses: dict[int, int] = {}

    def patch(index: int) -> None:
        change = [{'op': 'add', 'path': f'/metadata/k{index}', 'value': index}]
        barrier.wait(timeout=30)
        response = requests.patch(base, json=change, headers=patch_headers, timeout=30)
        statuses[index] = response.status_code

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(PATCHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    metadata = requests.get(base, headers=headers, timeout=10).json()
    applied = {key for key in metadata if key.startswith('k')}
    # A PATCH may give up with 409 after repeated conflicts, but never
    # report success for a change that was lost.
    succeeded = {f'k{i}' for i, status in statuses.items() if status == 200}
    assert set(statuses.values()) <= {200, 409}
    assert len(succeeded) >= PATCHERS // 2
    assert applied == succeeded
