"""Hostile requests over keep-alive connections to real servers.

A fixed budget of generated requests (``hostile.py``; ``conftest.py`` sets
the budget and seed) goes to a real ``zaqar-server`` (gunicorn, two
workers) on SQLite and on Redis, over connections reused for as long as the
server keeps them. The run fails on:

- any 5xx;
- an application error that is not a Zaqar error body (gunicorn's own
  refusals of malformed HTTP are HTML, and must close the connection);
- an answer that came before the request was sent whole and does not
  close the connection;
- a dropped keep-alive: an answer that did not say ``Connection: close``
  followed by a connection the next request cannot use;
- no answer within the timeout;
- a worker crash: different worker pids afterwards, or a log line of a
  worker exiting, timing out, or a traceback.
"""

from __future__ import annotations

import collections
import random
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.server.conftest import STORES
from tests.server.conftest import Server
from tests.server.conftest import start_server
from tests.server.conftest import store_config
from zaqar.transport import openapi

from . import conftest
from . import hostile
from . import workers

# A run stops sending after this long even if budget is left: bounded in
# time on a slow machine as well as in count.
TIME_BOUND = 45.0
PROJECT = 'hostile'


@pytest.fixture(scope='module', params=STORES)
def hostile_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    config = {
        **store_config(str(request.param)),
        'DEFAULT': {'admin_mode': True},
        'signed_url': {'secret_key': 'hostile-secret'},
    }
    running = start_server(tmp_path_factory.mktemp('hostile'), config)
    yield running
    running.stop()


def _seed(server: Server) -> dict[str, str]:
    """Data the requests can name: a queue and topic with messages, a claim."""
    session = requests.Session()
    session.headers.update({'Client-ID': str(uuid.uuid4()), 'X-Project-ID': PROJECT})
    known = {'queue_name': 'fuzz', 'topic_name': 'fuzz'}
    for collection in ('queues', 'topics'):
        base = f'{server.url}/v2/{collection}/fuzz'
        posted = session.post(
            f'{base}/messages',
            json={'messages': [{'body': n} for n in range(50)]},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
        known['message_id'] = posted.json()['resources'][0].rsplit('/', 1)[1]
        subscribed = session.post(
            f'{base}/subscriptions',
            json={'subscriber': 'http://127.0.0.1:9/x'},
            timeout=30,
        )
        assert subscribed.status_code == 201, subscribed.text
        known['subscription_id'] = subscribed.json()['subscription_id']
    claimed = session.post(
        f'{server.url}/v2/queues/fuzz/claims?limit=5', json={'ttl': 3600}, timeout=30
    )
    assert claimed.status_code == 201, claimed.text
    known['claim_id'] = claimed.headers['Location'].rsplit('/', 1)[1]
    session.close()
    return known


def _answer_problem(request: hostile.Hostile, answer: hostile.Answer) -> str | None:
    """What is wrong with one answer, if anything."""
    if answer.status == 501 and b'transfer coding' in answer.body:
        # gunicorn's answer to a transfer coding it does not know, as RFC
        # 9112 (6.1) asks; it closes the connection.
        if not answer.will_close:
            return 'gunicorn 501 keeps the connection'
        return conftest.error_body_problem(
            400, answer.headers, answer.body, request.method.decode()
        )
    if answer.status >= 500:
        return f'{answer.status} {answer.body[:300]!r}'
    if answer.early and not answer.will_close:
        return f'{answer.status} came before the whole request yet keeps the connection'
    return conftest.error_body_problem(
        answer.status, answer.headers, answer.body, request.method.decode()
    )


def test_hostile_requests_over_keep_alive_connections(hostile_server: Server) -> None:
    server = hostile_server
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    generator = hostile.Generator(
        random.Random(conftest.seed()),
        openapi.load_v2(),
        _seed(server),
        PROJECT,
    )
    budget = conftest.examples() * conftest.REQUESTS_PER_EXAMPLE
    pids = workers.worker_pids(server.process.pid)
    assert len(pids) == 2, pids

    problems: list[str] = []
    statuses: collections.Counter[int] = collections.Counter()
    reused = html_pages = sent = 0
    connection: hostile.Connection | None = None
    deadline = time.monotonic() + TIME_BOUND
    rng = random.Random(conftest.seed() + 1)
    while sent < budget and time.monotonic() < deadline:
        request = generator.request()
        if connection is None:
            connection = hostile.Connection(address.hostname, address.port)
        kept = connection.used > 0
        sent += 1
        try:
            answer = connection.exchange(request)
        except hostile.Dropped as ex:
            what = 'a kept-alive connection was dropped' if kept else 'no answer'
            problems.append(f'{what}: {ex}')
            connection.close()
            connection = None
            continue
        except hostile.Hang as ex:
            problems.append(f'no answer in {hostile.ANSWER_TIMEOUT} s: {ex}')
            connection.close()
            connection = None
            continue
        statuses[answer.status] += 1
        reused += kept
        html_pages += answer.headers.get('content-type', '').startswith('text/html')
        problem = _answer_problem(request, answer)
        if problem:
            problems.append(f'{request.summary()} -> {problem}')
        if answer.will_close or rng.random() < 0.03:
            connection.close()
            connection = None
    if connection is not None:
        # The last answer kept the connection: it must still serve.
        ping = hostile.Hostile(
            b'GET',
            b'/v2/ping',
            (
                (b'Host', b'x'),
                (b'Client-ID', hostile.CLIENT_ID),
                (b'X-Project-ID', b'p'),
            ),
            None,
            'none',
        )
        try:
            assert connection.exchange(ping).status == 204
        except hostile.Dropped as ex:
            problems.append(f'the last kept-alive connection was dropped: {ex}')
        connection.close()

    print(
        f'\n{sent} hostile requests, {reused} on reused connections, '
        f'statuses {sorted(statuses.items())}'
    )
    assert not problems, '\n'.join(problems)
    # Every error is JSON, gunicorn's own refusals of malformed HTTP too.
    assert html_pages == 0
    # The run exercised what it is for: answers of every kind, reuse.
    assert sent >= min(budget, 100)
    assert reused >= sent // 4
    assert (
        sum(count for status, count in statuses.items() if status < 300) >= sent // 20
    )
    assert (
        sum(count for status, count in statuses.items() if status >= 400) >= sent // 4
    )
    # No worker died or was replaced, and nothing failed in them.
    assert workers.worker_pids(server.process.pid) == pids
    assert workers.crash_lines(server.output()) == []
