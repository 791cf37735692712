"""Claims stay exclusive across gunicorn worker processes."""

from __future__ import annotations

import threading
from collections import Counter

import requests

from tests.server.conftest import Config
from tests.server.conftest import Server

MESSAGES = 120
CLAIMERS = 8
PATCHERS = 16


def test_concurrent_claimers_on_several_workers_get_each_message_once(
    server_factory, store: Config
) -> None:
    server: Server = server_factory(store, workers=3)
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


class BusyQueue:
    """Producers, claimers and an observer sharing one queue over HTTP.

    Claimers never delete, so the observer (claimed messages included) must
    see every message; loops are bounded so a bug fails instead of hanging.
    """

    producers, claimers, batches = 3, 3, 15

    def __init__(self, server: Server) -> None:
        self.server = server
        self.base = f'{server.url}/v2/queues/busy'
        self.done = threading.Event()
        self.finished = threading.Barrier(self.producers + 1, timeout=60)
        self.failures: list[str] = []
        self.posted: list[str] = []
        self.claimed: list[list[dict]] = [[] for _ in range(self.claimers)]
        self.seen: list[dict] = []

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(self.server.headers('busy'))
        return session

    def producer(self, number: int) -> None:
        session = self.session()
        for batch in range(self.batches):
            messages = [
                {'body': {'p': number, 'n': 2 * batch + i}, 'ttl': 600}
                for i in range(1 + batch % 2)
            ]
            response = session.post(
                f'{self.base}/messages', json={'messages': messages}, timeout=30
            )
            if response.status_code != 201:
                self.failures.append(f'post: {response.status_code} {response.text}')
                break
            resources = response.json()['resources']
            self.posted.extend(href.rsplit('/', 1)[1] for href in resources)
        self.finished.wait()

    def announce_done(self) -> None:
        self.finished.wait()
        self.done.set()

    def claimer(self, slot: int) -> None:
        session = self.session()
        for _ in range(self.producers * self.batches * 2 + 100):
            finished_before = self.done.is_set()
            response = session.post(
                f'{self.base}/claims?limit=4',
                json={'ttl': 600, 'grace': 60},
                timeout=30,
            )
            if response.status_code == 201:
                self.claimed[slot].extend(response.json()['messages'])
            elif response.status_code != 204:
                self.failures.append(f'claim: {response.status_code} {response.text}')
                return
            elif finished_before:
                return
        self.failures.append('a claimer never saw the end of the posts')

    def observer(self) -> None:
        session = self.session()
        url = f'{self.base}/messages?limit=7&include_claimed=true&echo=true'
        for _ in range(2000):
            finished_before = self.done.is_set()
            response = session.get(url, timeout=30)
            if response.status_code != 200:
                self.failures.append(f'list: {response.status_code} {response.text}')
                return
            page = response.json()
            self.seen.extend(page['messages'])
            if page['messages']:
                url = self.server.url + page['links'][0]['href']
            elif finished_before:
                return
        self.failures.append('the observer never caught up with the producers')

    def run(self) -> None:
        targets = [(self.producer, n) for n in range(self.producers)]
        targets += [(self.claimer, n) for n in range(self.claimers)]
        threads = [threading.Thread(target=f, args=(n,)) for f, n in targets]
        threads += [
            threading.Thread(target=self.observer),
            threading.Thread(target=self.announce_done),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)


def test_producers_claimers_and_an_observer_across_workers(
    server_factory, store: Config
) -> None:
    """Exactly-once claims, per-producer FIFO and complete marker paging.

    The threads talk to three gunicorn workers, which share nothing but the
    store.
    """
    busy = BusyQueue(server_factory(store, workers=3))
    busy.run()

    assert busy.failures == []
    claimed = [m['id'] for taken in busy.claimed for m in taken]
    assert len(busy.posted) == busy.producers * sum(
        1 + b % 2 for b in range(busy.batches)
    )
    assert sorted(claimed) == sorted(busy.posted), 'claimed twice or never'
    assert sorted(m['id'] for m in busy.seen) == sorted(busy.posted), (
        'listed twice or never'
    )
    for number in range(busy.producers):
        order = [m['body']['n'] for m in busy.seen if m['body']['p'] == number]
        assert order == sorted(order), f'producer {number} listed out of order'
