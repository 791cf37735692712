"""A tenant-isolation matrix over every operation of the OpenAPI description.

Project A builds a world (:func:`build_world`): a queue and a topic of the
same name with metadata, messages on both, a claim, a subscription on each
and, where the server can sign, a pre-signed grant. Every value A stores
carries a secret text, its *marker*.

Then :func:`run_matrix` sends, for every operation the description lists
(so a new route is covered without editing this module), requests of other
projects that name A's queue, topic, message, claim and subscription ids in
their paths and queries. Each request comes from an *intruder* project:

- ``fresh``: a project that has done nothing before the request. Whatever
  it reads must be empty: every list in the answer empty, every count zero,
  and reads naming one of A's ids answer 404.
- ``twin``: a project that first built a smaller world of its own under the
  same names (one message per container, a claim, subscriptions, metadata).
  Its reads may show its own things, never A's: every count stays within
  its own world, which is smaller than A's.

Whatever the mode, no answer (headers or body) may contain A's marker, or
one of A's ids that the request did not name itself; no answer is a 5xx;
and after every request that is not a read, A's world, read back as A
(:func:`fingerprint`), is exactly what it was.

The matrix talks through a :data:`Send` function, so the same checks run in
process (``tests/functional/test_isolation_matrix.py``, every driver) and
over HTTP against real servers (``tests/server/test_isolation_matrix.py``).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import urllib.parse
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

READS = frozenset({'GET', 'HEAD'})
HTTP_METHODS = ('get', 'put', 'post', 'delete', 'head', 'patch')
JSON = 'application/json'

# Operations that serve the same document to everyone: only the marker and
# id checks apply to them (they hold lists and numbers of their own).
STATIC_OPERATIONS = frozenset(
    {
        'listVersions',
        'getHomeDocument',
        'getHomeDocumentWithSlash',
        'getOpenAPIDocument',
        'ping',
        'pingHead',
    }
)
# Keys whose numbers count messages, queues or topics.
COUNT_KEYS = frozenset({'free', 'claimed', 'total', 'count'})
# A twin's world holds at most this many of anything countable (see
# build_world); A's holds more, so a count above it is A's showing through.
TWIN_COUNT_BOUND = 2
A_MESSAGES = {'queues': 5, 'topics': 4}
TWIN_MESSAGES = {'queues': 1, 'topics': 1}


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the matrix needs of an answer."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON; None when there is none."""
        return json.loads(self.content) if self.content else None

    def text(self) -> str:
        """Headers and body, for searching."""
        heads = '\n'.join(f'{key}: {value}' for key, value in self.headers.items())
        return heads + '\n' + self.content.decode('utf-8', 'replace')


# send(method, path, headers, query, body) -> Reply; the path has no query
# string, the body is raw bytes or None.
Send = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes | None], Reply]


@dataclasses.dataclass
class World:
    """What one project built, and how to address it."""

    project: str
    name: str
    marker: str
    client_id: str
    message_ids: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    claimed_id: str = ''
    claim_id: str = ''
    subscription_ids: dict[str, str] = dataclasses.field(default_factory=dict)
    grant: dict[str, Any] | None = None

    def ids(self) -> set[str]:
        """Every id the server gave this project."""
        ids = {self.claim_id, *self.subscription_ids.values()}
        for values in self.message_ids.values():
            ids.update(values)
        return {value for value in ids if value}

    def headers(self, roles: str = 'admin') -> dict[str, str]:
        """This project's request headers."""
        return {
            'Client-ID': self.client_id,
            'X-Project-ID': self.project,
            'X-Roles': roles,
        }


def call(
    send: Send,
    method: str,
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, str] | None = None,
    document: Any = None,
    content_type: str = JSON,
) -> Reply:
    """Send a request with a JSON document (None: no body)."""
    all_headers = dict(headers)
    body = None
    if document is not None:
        body = json.dumps(document).encode()
        all_headers['Content-Type'] = content_type
    return send(method, path, all_headers, dict(query or {}), body)


def expect(reply: Reply, status: int, what: str) -> Reply:
    """Fail unless ``reply`` has ``status``."""
    assert reply.status == status, f'{what}: {reply.status} {reply.content[:300]!r}'
    return reply


def build_world(
    send: Send,
    project: str,
    name: str,
    subscriber_base: str,
    messages: Mapping[str, int],
    share: bool,
) -> World:
    """Build a project's world under ``name`` (a queue and a topic).

    Args:
        send: How to reach the service.
        project: The project.
        name: The queue and topic name.
        subscriber_base: A URL prefix for subscribers (their paths name the
            project's marker).
        messages: How many messages to post, by collection.
        share: Also sign a pre-signed grant (the server has a secret).
    """
    marker = f'secret-of-{project}-{uuid.uuid4().hex[:8]}'
    world = World(project, name, marker, str(uuid.uuid4()))
    heads = world.headers()
    for collection in ('queues', 'topics'):
        base = f'/v2/{collection}/{name}'
        expect(
            call(send, 'PUT', base, heads, document={'owner': marker}),
            201,
            f'{project} creates {base}',
        )
        posted = call(
            send,
            'POST',
            f'{base}/messages',
            heads,
            document={
                'messages': [
                    {'body': {'secret': marker, 'n': n}, 'ttl': 3600}
                    for n in range(messages[collection])
                ]
            },
        )
        expect(posted, 201, f'{project} posts to {base}')
        world.message_ids[collection] = [
            href.rsplit('/', 1)[1] for href in posted.json()['resources']
        ]
        subscribed = call(
            send,
            'POST',
            f'{base}/subscriptions',
            heads,
            document={
                'subscriber': f'{subscriber_base}/{collection}/{marker}',
                'ttl': 3600,
                'options': {'note': marker},
            },
        )
        expect(subscribed, 201, f'{project} subscribes to {base}')
        world.subscription_ids[collection] = subscribed.json()['subscription_id']
    claimed = call(
        send,
        'POST',
        f'/v2/queues/{name}/claims',
        heads,
        query={'limit': '1'},
        document={'ttl': 600, 'grace': 60},
    )
    expect(claimed, 201, f'{project} claims')
    world.claim_id = claimed.headers['location'].rsplit('/', 1)[1]
    world.claimed_id = claimed.json()['messages'][0]['id']
    if share:
        granted = call(
            send,
            'POST',
            f'/v2/queues/{name}/share',
            heads,
            document={'paths': ['messages'], 'methods': ['GET', 'POST', 'DELETE']},
        )
        world.grant = expect(granted, 200, f'{project} shares').json()
    return world


def _without_ages(value: Any) -> Any:
    """``value`` with every ``age`` key dropped (it moves with the clock)."""
    if isinstance(value, dict):
        return {key: _without_ages(item) for key, item in value.items() if key != 'age'}
    if isinstance(value, list):
        return [_without_ages(item) for item in value]
    return value


def fingerprint(send: Send, world: World) -> list[tuple[str, int, Any]]:
    """Everything of ``world`` its owner can read, as (what, status, body)."""
    heads = world.headers()
    reads: list[tuple[str, Mapping[str, str]]] = [
        ('/v2/queues', {'with_count': 'true', 'detailed': 'true'}),
        ('/v2/topics', {'with_count': 'true', 'detailed': 'true'}),
        (f'/v2/queues/{world.name}/claims/{world.claim_id}', {}),
    ]
    listing = {
        'echo': 'true',
        'include_claimed': 'true',
        'include_delayed': 'true',
        'limit': '20',
    }
    for collection in ('queues', 'topics'):
        base = f'/v2/{collection}/{world.name}'
        subscription = world.subscription_ids[collection]
        reads += [
            (base, {}),
            (f'{base}/stats', {}),
            (f'{base}/messages', listing),
            (f'{base}/subscriptions', {}),
            (f'{base}/subscriptions/{subscription}', {}),
        ]
    prints = []
    for path, query in reads:
        reply = call(send, 'GET', path, heads, query)
        prints.append((f'GET {path}', reply.status, _without_ages(reply.json())))
    return prints


@dataclasses.dataclass(frozen=True)
class Request:
    """One request of the matrix: an operation with its values filled in."""

    operation: str
    template: str
    method: str
    path: str
    query: Mapping[str, str]
    document: Any
    content_type: str
    signed: bool = False

    def names(self) -> str:
        """The path and query, where the ids a request names are."""
        return self.path + '?' + urllib.parse.urlencode(self.query)

    def __str__(self) -> str:
        signed = ' (with A signature)' if self.signed else ''
        return f'{self.method} {self.names()}{signed}'


# Bodies an intruder sends, by method and path template with topics spelled
# as queues. A described operation with a body but no entry fails the
# matrix: add one.
BODIES: dict[tuple[str, str], list[Any]] = {
    ('PUT', '/v2/queues/{queue_name}'): [{'owner': 'intruder', 'extra': 1}, None],
    ('PATCH', '/v2/queues/{queue_name}'): [
        [{'op': 'replace', 'path': '/metadata/owner', 'value': 'intruder'}],
        [{'op': 'remove', 'path': '/metadata/owner'}],
    ],
    ('POST', '/v2/queues/{queue_name}/purge'): [
        {'resource_types': ['messages', 'subscriptions']},
        None,
    ],
    ('POST', '/v2/queues/{queue_name}/share'): [
        {'paths': ['messages', 'claims', 'subscriptions'], 'methods': ['GET', 'POST']}
    ],
    ('POST', '/v2/queues/{queue_name}/messages'): [
        {'messages': [{'body': 'intruder', 'ttl': 300}]}
    ],
    ('POST', '/v2/queues/{queue_name}/claims'): [{'ttl': 300, 'grace': 60}, None],
    ('PATCH', '/v2/queues/{queue_name}/claims/{claim_id}'): [{'ttl': 900, 'grace': 60}],
    ('POST', '/v2/queues/{queue_name}/subscriptions'): [
        {'subscriber': 'http://127.0.0.1:9/intruder', 'ttl': 3600}
    ],
    ('PATCH', '/v2/queues/{queue_name}/subscriptions/{subscription_id}'): [
        {'ttl': 7200, 'subscriber': 'http://127.0.0.1:9/intruder', 'options': {}}
    ],
    ('PUT', '/v2/queues/{queue_name}/subscriptions/{subscription_id}/confirm'): [
        {'confirmed': False},
        {'confirmed': True},
    ],
}


def _queries(
    key: tuple[str, str], collection: str, world: World
) -> list[dict[str, str]]:
    """Query strings an intruder sends, naming A's values where they fit."""
    method, template = key
    ids = world.message_ids.get(collection, [])
    if template == '/v2/queues' and method == 'GET':
        return [
            {},
            {'with_count': 'true', 'detailed': 'true'},
            {'name': world.name[:4], 'with_count': 'true'},
            {'owner': world.marker, 'detailed': 'true'},
            {'marker': '', 'limit': '20'},
        ]
    if template.endswith('/messages') and method == 'GET':
        return [
            {},
            {
                'echo': 'true',
                'include_claimed': 'true',
                'include_delayed': 'true',
                'limit': '20',
            },
            {'ids': ','.join(ids)},
            {'marker': '0', 'echo': 'true', 'include_claimed': 'true'},
        ]
    if template.endswith('/messages') and method == 'DELETE':
        return [{'ids': ','.join(ids)}, {'pop': '20'}]
    if template.endswith('/messages/{message_id}') and method == 'DELETE':
        return [{}, {'claim_id': world.claim_id}]
    if template.endswith('/claims') and method == 'POST':
        return [{'limit': '20'}]
    if template.endswith('/subscriptions') and method == 'GET':
        return [{}, {'marker': world.subscription_ids.get(collection, '')}]
    return [{}]


def _path_values(template: str, collection: str, world: World) -> list[dict[str, str]]:
    """Fillings of a template's parameters with A's names and ids."""
    candidates: dict[str, list[str]] = {
        'queue_name': [world.name],
        'topic_name': [world.name],
        'claim_id': [world.claim_id],
        'subscription_id': [world.subscription_ids.get(collection, 'none')],
    }
    ids = world.message_ids.get(collection, [])
    unclaimed = [value for value in ids if value != world.claimed_id]
    candidates['message_id'] = (
        [world.claimed_id, unclaimed[0]] if collection == 'queues' else ids[:1]
    )
    names = [
        part[1:-1]
        for part in template.split('/')
        if part.startswith('{') and part.endswith('}')
    ]
    for name in names:
        assert name in candidates, f'{template}: no value of A for {{{name}}}'
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(candidates[name] for name in names))
    ]


def requests_for(description: Mapping[str, Any], world: World) -> Iterator[Request]:
    """Every request of the matrix: each described operation, filled in."""
    for template, item in description['paths'].items():
        collection = 'topics' if template.startswith('/v2/topics') else 'queues'
        key_template = template.replace('/v2/topics', '/v2/queues').replace(
            '{topic_name}', '{queue_name}'
        )
        for method_name, operation in item.items():
            if method_name not in HTTP_METHODS:
                continue
            method = method_name.upper()
            key = (method, key_template)
            content = (operation.get('requestBody') or {}).get('content', {})
            content_type = next(iter(content), JSON)
            if content:
                assert key in BODIES, (
                    f'{method} {template} takes a body: give the isolation '
                    'matrix one in BODIES'
                )
            documents = BODIES.get(key, [None])
            for values in _path_values(template, collection, world):
                path = template.format(**values)
                for query, document in itertools.product(
                    _queries(key, collection, world), documents
                ):
                    request = Request(
                        operation['operationId'],
                        template,
                        method,
                        path,
                        query,
                        document,
                        content_type,
                    )
                    yield request
                    if world.grant and _granted(world.grant, path, method):
                        yield dataclasses.replace(request, signed=True)


def _granted(grant: Mapping[str, Any], path: str, method: str) -> bool:
    """Tell whether A's grant covers the request (were it A's)."""
    parts = path.split('/')
    return (
        path.startswith('/v2/queues/')
        and len(parts) >= 5
        and parts[4] in grant['paths']
        and method in grant['methods']
    )


def signature_headers(grant: Mapping[str, Any]) -> dict[str, str]:
    """The ``URL-*`` headers of a grant."""
    return {
        'URL-Signature': grant['signature'],
        'URL-Expires': grant['expires'],
        'URL-Methods': ','.join(grant['methods']),
        'URL-Paths': ','.join(grant['paths']),
    }


def leaks(
    request: Request,
    reply: Reply,
    owner: World,
    mode: str,
) -> list[str]:
    """What in an intruder's answer breaks isolation from ``owner``.

    Args:
        request: What the intruder sent.
        reply: What it got.
        owner: A's world.
        mode: ``fresh`` or ``twin`` (see the module's docstring).
    """
    where = f'[{mode}] {request} -> {reply.status}'
    problems = []
    if reply.status >= 500:
        problems.append(f'{where}: server error {reply.content[:200]!r}')
    text = reply.text()
    if owner.marker in text:
        problems.append(f"{where}: the answer holds A's data: {reply.content[:300]!r}")
    named = request.names()
    shown = sorted(
        value for value in owner.ids() if value in text and value not in named
    )
    if shown:
        problems.append(f"{where}: the answer names A's ids {shown}")
    if request.signed:
        if reply.status != 404:
            problems.append(f"{where}: A's signature served another project")
        return problems
    if request.method not in READS or request.operation in STATIC_OPERATIONS:
        return problems
    if any(value in request.path for value in owner.ids()) and reply.status != 404:
        problems.append(f"{where}: a read naming A's id must answer 404")
    if mode == 'fresh' and request.method == 'HEAD' and reply.status != 404:
        problems.append(f'{where}: a project with nothing has nothing to HEAD')
    if 200 <= reply.status < 300 and reply.content:
        bound = 0 if mode == 'fresh' else TWIN_COUNT_BOUND
        problems += [
            f'{where}: {problem}' for problem in _excess(reply.json(), mode, bound)
        ]
    return problems


def _excess(document: Any, mode: str, bound: int, key: str = '') -> Iterator[str]:
    """Lists and counts in a read's answer that its project cannot have."""
    if isinstance(document, dict):
        for name, value in document.items():
            if name in COUNT_KEYS and isinstance(value, int) and value > bound:
                yield f'{name} = {value} (at most {bound} are its own)'
            yield from _excess(value, mode, bound, name)
    elif isinstance(document, list):
        if mode == 'fresh' and document:
            yield f'{key!r} lists {len(document)} items; the project has none'
        if mode == 'twin' and key in ('queues', 'topics', 'subscriptions'):
            if len(document) > 1:
                yield f'{key!r} lists {len(document)} items; the project has one'
        for item in document:
            yield from _excess(item, mode, bound, key)


@dataclasses.dataclass
class Outcome:
    """What a run of the matrix did and found."""

    sent: int = 0
    operations: set[str] = dataclasses.field(default_factory=set)
    problems: list[str] = dataclasses.field(default_factory=list)
    # The statuses each operation answered.
    statuses: dict[str, set[int]] = dataclasses.field(default_factory=dict)

    def answered(self, status: int) -> set[str]:
        """The operations that answered ``status`` at least once."""
        return {name for name, seen in self.statuses.items() if status in seen}


# How intruders' project names relate to the owner's: storage that joins a
# project and a name with a separator, or keys on a prefix, would mix them.
INTRUDER_NAMES = (
    '{owner}:{unique}',
    '{unique}:{owner}',
    '{owner}{unique}',
    '{owner}/{unique}',
    '{owner}.{unique}',
    '{length}:{owner}:{unique}',
    '{owner} {unique}',
    '{owner}\u00e9{unique}',
    'intruder-{unique}',
)


def intruder_name(owner: str, unique: str) -> str:
    """An intruder's project name, close to the owner's (see INTRUDER_NAMES)."""
    pattern = INTRUDER_NAMES[sum(map(ord, unique)) % len(INTRUDER_NAMES)]
    return pattern.format(owner=owner, unique=unique, length=len(owner))


def run_matrix(
    send: Send,
    description: Mapping[str, Any],
    owner: World,
    mode: str,
    subscriber_base: str,
    share: bool,
) -> Outcome:
    """Send every request of the matrix from intruders; collect problems.

    Args:
        send: How to reach the service.
        description: The OpenAPI description (its paths are the routes).
        owner: A's world, already built.
        mode: ``fresh`` or ``twin``.
        subscriber_base: Subscriber URL prefix for twins' worlds.
        share: Whether twins sign a grant too.
    """
    outcome = Outcome()
    baseline = fingerprint(send, owner)
    for index, request in enumerate(requests_for(description, owner)):
        project = intruder_name(owner.project, f'{mode}{index}{uuid.uuid4().hex[:6]}')
        if mode == 'twin':
            twin = build_world(
                send, project, owner.name, subscriber_base, TWIN_MESSAGES, share
            )
            heads = twin.headers()
        else:
            heads = World(project, owner.name, '', str(uuid.uuid4())).headers()
        if request.signed:
            assert owner.grant is not None
            heads = {**heads, **signature_headers(owner.grant)}
        reply = call(
            send,
            request.method,
            request.path,
            heads,
            request.query,
            request.document,
            request.content_type,
        )
        outcome.sent += 1
        outcome.operations.add(request.operation)
        outcome.statuses.setdefault(request.operation, set()).add(reply.status)
        outcome.problems += leaks(request, reply, owner, mode)
        if request.method not in READS:
            now = fingerprint(send, owner)
            if now != baseline:
                changed = [
                    f'{before[0]}: {before[1:]} became {after[1:]}'
                    for before, after in zip(baseline, now, strict=True)
                    if before != after
                ]
                outcome.problems.append(
                    f"[{mode}] {request} -> {reply.status} changed A's data: {changed}"
                )
                baseline = now
    return outcome


# Reads whose answers hold lists or counts: each must have answered 200 at
# least once, or the checks of lists and counts did not run.
COUNTING_READS = frozenset(
    {
        'getHealth',
        'listQueues',
        'listTopics',
        'getQueueStats',
        'getTopicStats',
        'listMessages',
        'listTopicMessages',
        'listSubscriptions',
        'listTopicSubscriptions',
    }
)


def described_operations(description: Mapping[str, Any]) -> set[str]:
    """The operationId of every operation the description lists."""
    return {
        operation['operationId']
        for item in description['paths'].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
