"""The limits and defaults of requests, read from ``[transport]``.

Plain values, no framework: the operations layer and every transport read
them from here, and the OpenAPI description (``zaqar/transport/openapi``)
documents the same defaults.
"""

from __future__ import annotations

import dataclasses

from oslo_config import cfg


@dataclasses.dataclass(frozen=True)
class Limits:
    """Defaults and limits of the ``[transport]`` option group."""

    default_message_ttl: int = 3600
    default_message_delay: int = 0
    default_claim_ttl: int = 300
    default_claim_grace: int = 60
    max_queues_per_page: int = 20
    max_messages_per_page: int = 20
    max_messages_per_claim_or_pop: int = 20
    max_queue_metadata: int = 65536
    max_messages_post_size: int = 262144
    max_message_ttl: int = 1209600
    max_message_delay: int = 900
    max_claim_ttl: int = 43200
    max_claim_grace: int = 43200
    client_id_uuid_safe: str = 'strict'
    min_length_client_id: int = 10
    max_length_client_id: int = 36
    idempotency_window: int = 3600
    message_delete_with_claim_id: bool = False
    default_subscription_ttl: int = 3600
    max_subscriptions_per_page: int = 20
    subscriber_types: tuple[str, ...] = ('http', 'https', 'mailto')

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Limits:
        """Read every limit from ``conf.transport``."""
        group = conf.transport
        values = {field.name: group[field.name] for field in dataclasses.fields(cls)}
        values['subscriber_types'] = tuple(values['subscriber_types'])
        return cls(**values)
