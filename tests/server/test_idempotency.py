"""``Idempotency-Key`` against a real zaqar-server (two gunicorn workers).

The case the header exists for: a client sends a POST, gives up on the
answer (its timeout fired, the connection broke) although the server
applied it, and sends it again.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import requests

from tests.server.conftest import Config
from tests.server.conftest import Server

PATIENCE = 20.0
DOCUMENT: Any = {'messages': [{'body': {'order': 17}, 'ttl': 600}, {'body': 'two'}]}


def send_and_hang_up(server: Server, path: str, headers: dict[str, str]) -> None:
    """Send a whole POST, then close the connection without reading a byte.

    What a client whose timeout fired does; the server still gets, and
    applies, the complete request.
    """
    url = urllib.parse.urlsplit(server.url)
    body = json.dumps(DOCUMENT).encode()
    lines = [
        f'POST {path} HTTP/1.1',
        f'Host: {url.netloc}',
        'Content-Type: application/json',
        f'Content-Length: {len(body)}',
        *(f'{name}: {value}' for name, value in headers.items()),
        '',
        '',
    ]
    with socket.create_connection((url.hostname, url.port), timeout=PATIENCE) as sock:
        sock.sendall('\r\n'.join(lines).encode() + body)


def total(server: Server, queue: str, headers: dict[str, str]) -> int:
    response = requests.get(
        f'{server.url}/v2/queues/{queue}/stats', headers=headers, timeout=PATIENCE
    )
    assert response.status_code == 200, response.text
    count: int = response.json()['messages']['total']
    return count


def wait_for_total(
    server: Server, queue: str, headers: dict[str, str], expected: int
) -> None:
    deadline = time.monotonic() + PATIENCE
    while total(server, queue, headers) < expected:
        assert time.monotonic() < deadline, 'the dropped post never landed'
        time.sleep(0.05)


def test_a_post_resent_after_its_answer_was_lost_is_stored_once(
    server_factory: Callable[..., Server], store: Config
) -> None:
    server: Server = server_factory(store)
    headers = {**server.headers(), 'Idempotency-Key': str(uuid.uuid4())}
    path = '/v2/queues/orders/messages'

    send_and_hang_up(server, path, headers)
    wait_for_total(server, 'orders', headers, 2)
    resent = requests.post(
        server.url + path, json=DOCUMENT, headers=headers, timeout=PATIENCE
    )

    assert resent.status_code == 201, resent.text
    assert total(server, 'orders', headers) == 2
    listed = requests.get(
        server.url + path, params={'echo': 'true'}, headers=headers, timeout=PATIENCE
    ).json()['messages']
    assert [item['href'] for item in listed] == resent.json()['resources']
    again = requests.post(
        server.url + path, json=DOCUMENT, headers=headers, timeout=PATIENCE
    )
    assert (again.status_code, again.headers['Location'], again.json()) == (
        201,
        resent.headers['Location'],
        resent.json(),
    )

    # Without the header, the same mishap stores the batch twice.
    plain = server.headers()
    send_and_hang_up(server, '/v2/queues/plain/messages', plain)
    wait_for_total(server, 'plain', plain, 2)
    requests.post(
        f'{server.url}/v2/queues/plain/messages',
        json=DOCUMENT,
        headers=plain,
        timeout=PATIENCE,
    )
    assert total(server, 'plain', plain) == 4


def test_concurrent_resends_on_several_workers_store_once(
    server_factory: Callable[..., Server], store: Config
) -> None:
    server: Server = server_factory(store, workers=3)
    headers = {**server.headers(), 'Idempotency-Key': 'resent-by-8'}
    barrier = threading.Barrier(8)
    answers: list[tuple[int, str]] = []

    def resend() -> None:
        barrier.wait(timeout=PATIENCE)
        response = requests.post(
            f'{server.url}/v2/queues/race/messages',
            json=DOCUMENT,
            headers=headers,
            timeout=PATIENCE,
        )
        answers.append((response.status_code, response.headers.get('Location', '')))

    threads = [threading.Thread(target=resend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)

    assert len(answers) == 8
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 201
    assert total(server, 'race', headers) == 2
