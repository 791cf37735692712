"""Constants and small helpers shared by the HTTP tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

import falcon.testing

PROJECT_A = 'project-a'
PROJECT_B = 'project-b'
JSON_PATCH = 'application/openstack-messaging-v2.0-json-patch'


def headers(project: str = PROJECT_A, client_id: str | None = None) -> dict[str, str]:
    """The headers every v2 request needs."""
    return {'Client-ID': client_id or uuid.uuid4().hex, 'X-Project-ID': project}


def post_messages(
    client: falcon.testing.TestClient,
    queue: str,
    *bodies: Any,
    ttl: int | None = None,
    **extra: Any,
) -> list[str]:
    """Post one message per body and return the new ids."""
    items = []
    for body in bodies:
        item = {'body': body, **extra}
        if ttl is not None:
            item['ttl'] = ttl
        items.append(item)
    result = client.simulate_post(
        f'/v2/queues/{queue}/messages', json={'messages': items}
    )
    assert result.status_code == 201, result.text
    return [href.rsplit('/', 1)[1] for href in result.json['resources']]


def claim(
    client: falcon.testing.TestClient,
    queue: str,
    limit: int | None = None,
    **body: Any,
) -> tuple[str | None, list[dict[str, Any]]]:
    """Claim messages; return the claim id (None on 204) and the messages."""
    params = {'limit': limit} if limit is not None else None
    result = client.simulate_post(
        f'/v2/queues/{queue}/claims', json=body or None, params=params
    )
    if result.status_code == 204:
        return None, []
    assert result.status_code == 201, result.text
    claim_id = result.headers['location'].rsplit('/', 1)[1]
    return claim_id, result.json['messages']


def patch_queue(
    client: falcon.testing.TestClient,
    queue: str,
    changes: Any,
    content_type: str = JSON_PATCH,
) -> falcon.testing.Result:
    """Send a JSON-patch document to a queue."""
    return client.simulate_patch(
        f'/v2/queues/{queue}',
        body=json.dumps(changes),
        headers={'Content-Type': content_type},
    )


def bodies(messages: list[dict[str, Any]]) -> list[Any]:
    """The bodies of wire messages, in order."""
    return [message['body'] for message in messages]


def follow_pages(
    client: falcon.testing.TestClient, path: str, key: str, **params: Any
) -> list[list[dict[str, Any]]]:
    """Follow ``next`` links until an empty page; return every page."""
    pages = []
    result = client.simulate_get(path, params=params or None)
    for _ in range(100):
        assert result.status_code == 200, result.text
        page = result.json[key]
        if not page:
            assert result.json['links'] == []
            return pages
        pages.append(page)
        [link] = result.json['links']
        assert link['rel'] == 'next'
        assert link['href'].startswith('/v2/')
        next_path, _, query = link['href'].partition('?')
        result = client.simulate_get(next_path, query_string=query)
    raise AssertionError('paging never reached an empty page')
