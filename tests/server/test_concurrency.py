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
