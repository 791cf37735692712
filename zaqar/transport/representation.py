"""Wire shapes: records and operation results turned into v2 JSON documents.

Shared by transports; nothing here knows Falcon. The shapes are those of the
API description (``zaqar/transport/openapi/v2.yaml``). Every href is a
relative path beginning with ``/v2/``: python-zaqarclient follows hrefs by
replacing that prefix with its endpoint, so absolute URLs would break it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import urllib.parse
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from zaqar.operations.health import HealthReport
from zaqar.operations.health import MessageVolume
from zaqar.operations.kinds import Kind
from zaqar.operations.paging import Page
from zaqar.operations.queues import QueueListing
from zaqar.operations.signed_url import Grant
from zaqar.storage.models import Claim
from zaqar.storage.models import Message
from zaqar.storage.models import MessageSummary
from zaqar.storage.models import QueueInfo
from zaqar.storage.models import QueueStats
from zaqar.storage.models import Subscription

PREFIX = '/v2'

Document = dict[str, Any]


def queue_href(queue: str, kind: Kind = Kind.QUEUE) -> str:
    """Return the path of a queue (or topic)."""
    return f'{PREFIX}/{kind.collection}/{queue}'


def message_href(
    queue: str,
    message_id: str,
    claim_id: str | None = None,
    kind: Kind = Kind.QUEUE,
) -> str:
    """Return the path of a message, quoting its live claim if any."""
    href = f'{queue_href(queue, kind)}/messages/{message_id}'
    return f'{href}?claim_id={claim_id}' if claim_id else href


def claim_href(queue: str, claim_id: str) -> str:
    """Return the path of a claim."""
    return f'{queue_href(queue)}/claims/{claim_id}'


def subscriptions_href(source: str, kind: Kind = Kind.QUEUE) -> str:
    """Return the path of a queue's (or topic's) subscriptions."""
    return f'{queue_href(source, kind)}/subscriptions'


def checksum(body: Any) -> str | None:
    """Return ``MD5:<hex>`` of the body as Python's json.dumps renders it.

    Upstream hashes ``json.dumps(body)`` with the default separators and
    ASCII escaping; a null body has no checksum.
    """
    if body is None:
        return None
    digest = hashlib.md5(json.dumps(body).encode('utf-8'), usedforsecurity=False)
    return f'MD5:{digest.hexdigest()}'


def message(
    record: Message,
    queue: str,
    with_checksum: bool = False,
    claim_id: str | None = None,
    kind: Kind = Kind.QUEUE,
) -> Document:
    """Return the wire form of a message.

    Args:
        record: The stored message.
        queue: Name of its queue (or topic).
        with_checksum: Add ``checksum`` (``[DEFAULT] enable_checksum``).
        claim_id: The claim to quote in ``href``; the message's own live
            claim by default.
        kind: Whether ``queue`` names a queue or a topic.
    """
    document: Document = {
        'id': record.id,
        'href': message_href(queue, record.id, claim_id or record.claim_id, kind),
        'ttl': record.ttl,
        'age': record.age,
        'body': record.body,
    }
    if with_checksum:
        digest = checksum(record.body)
        if digest is not None:
            document['checksum'] = digest
    return document


def popped_message(record: Message) -> Document:
    """Return the raw shape pop answers with (no ``href``)."""
    return {
        'id': record.id,
        'age': record.age,
        'ttl': record.ttl,
        'claim_count': record.claim_count,
        'body': record.body,
        'claim_id': record.claim_id,
    }


def claim(record: Claim, queue: str, with_checksum: bool = False) -> Document:
    """Return the wire form of a claim with the messages it holds."""
    return {
        'age': record.age,
        'ttl': record.ttl,
        'href': claim_href(queue, record.id),
        'messages': [
            message(item, queue, with_checksum, claim_id=record.id)
            for item in record.messages
        ],
    }


def isotime(timestamp: float) -> str:
    """Format seconds since the epoch as UTC ISO 8601 with a ``Z``."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _summary(record: MessageSummary, queue: str, kind: Kind) -> Document:
    return {
        'href': message_href(queue, record.id, kind=kind),
        'age': record.age,
        'created': isotime(record.created),
    }


def _counts(record: QueueStats | MessageVolume) -> Document:
    """The ``free``, ``claimed`` and ``total`` message counts."""
    return {'free': record.free, 'claimed': record.claimed, 'total': record.total}


def stats(record: QueueStats, queue: str, kind: Kind = Kind.QUEUE) -> Document:
    """Return the wire form of queue (or topic) statistics."""
    counts = _counts(record)
    if record.total and record.oldest is not None and record.newest is not None:
        counts['oldest'] = _summary(record.oldest, queue, kind)
        counts['newest'] = _summary(record.newest, queue, kind)
    return {'messages': counts}


def next_link(path: str, params: Mapping[str, Any]) -> Document:
    """Return a ``next`` link to ``path`` with the given query parameters.

    Booleans are rendered lowercase and lists comma-joined; parameters are
    sorted so that links are stable.
    """
    rendered = {name: _render(value) for name, value in sorted(params.items())}
    return {'rel': 'next', 'href': f'{path}?{urllib.parse.urlencode(rendered)}'}


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list | tuple):
        return ','.join(str(item) for item in value)
    return str(value)


def links(path: str, page: Page[Any]) -> list[Document]:
    """The ``links`` of a listing: a ``next`` link unless the page is empty."""
    if page.next_query is None:
        return []
    return [next_link(path, page.next_query)]


def queue(info: QueueInfo, kind: Kind = Kind.QUEUE) -> Document:
    """Return a queue as listed: name, href, and metadata when detailed."""
    document: Document = {'name': info.name, 'href': queue_href(info.name, kind)}
    if info.metadata is not None:
        document['metadata'] = info.metadata
    return document


def queue_listing(
    path: str, listing: QueueListing, kind: Kind = Kind.QUEUE
) -> Document:
    """Return the answer to a queue (or topic) listing at ``path``."""
    document: Document = {
        kind.collection: [queue(info, kind) for info in listing.page.items],
        'links': links(path, listing.page),
    }
    if listing.count is not None:
        document['count'] = listing.count
    return document


def message_listing(
    path: str,
    page: Page[Message],
    queue: str,
    with_checksum: bool = False,
    kind: Kind = Kind.QUEUE,
) -> Document:
    """Return the answer to a message listing at ``path``."""
    return {
        **messages(page.items, queue, with_checksum, kind),
        'links': links(path, page),
    }


def messages(
    records: Iterable[Message],
    queue: str,
    with_checksum: bool = False,
    kind: Kind = Kind.QUEUE,
) -> Document:
    """Return the answer listing ``records`` without paging (get by ids)."""
    return {
        'messages': [message(item, queue, with_checksum, kind=kind) for item in records]
    }


def posted(queue: str, ids: list[str], kind: Kind = Kind.QUEUE) -> tuple[str, Document]:
    """Return the location and body of the answer to a message post."""
    base = f'{queue_href(queue, kind)}/messages'
    location = f'{base}?ids={",".join(ids)}'
    return location, {'resources': [f'{base}/{message_id}' for message_id in ids]}


def health(report: HealthReport) -> Document:
    """Return the detailed health document."""
    document: Document = {'storage_reachable': report.storage_reachable}
    if report.message_volume is not None:
        document['message_volume'] = _counts(report.message_volume)
    return document


def subscription(record: Subscription) -> Document:
    """Return the wire form of a subscription."""
    return {
        'id': record.id,
        'source': record.source,
        'subscriber': record.subscriber,
        'ttl': record.ttl,
        'age': record.age,
        'options': record.options,
        'confirmed': record.confirmed,
    }


def subscription_listing(path: str, page: Page[Subscription]) -> Document:
    """Return the answer to a subscription listing at ``path``."""
    return {
        'subscriptions': [subscription(item) for item in page.items],
        'links': links(path, page),
    }


def signed_grant(grant: Grant, signature: str) -> Document:
    """Return a pre-signed URL grant, as the share request answers it."""
    return {
        'paths': list(grant.paths),
        'methods': list(grant.methods),
        'project': grant.project,
        'expires': grant.expires_text,
        'signature': signature,
    }
