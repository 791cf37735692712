"""Options of ``[transport]``: defaults and limits applied to API requests."""

from __future__ import annotations

from oslo_config import cfg

GROUP_NAME = 'transport'


def _int(name: str, default: int, help: str, minimum: int = 1) -> cfg.IntOpt:
    return cfg.IntOpt(name, default=default, min=minimum, help=help)


ALL_OPTS = [
    _int(
        'default_message_ttl',
        3600,
        'Message TTL in seconds when neither the message nor its queue '
        '(_default_message_ttl) gives one.',
        minimum=60,
    ),
    _int(
        'default_message_delay',
        0,
        'Delay in seconds reported as the _default_message_delay of a '
        'queue that sets none.',
        minimum=0,
    ),
    _int(
        'default_claim_ttl',
        300,
        'Claim TTL in seconds when the request gives none.',
        minimum=60,
    ),
    _int(
        'default_claim_grace',
        60,
        'Claim grace in seconds when the request gives none.',
        minimum=60,
    ),
    _int('max_queues_per_page', 20, 'Largest "limit" of a queue listing.'),
    _int(
        'max_messages_per_page',
        20,
        'Largest "limit" of a message listing, and most ids per request.',
    ),
    _int(
        'max_messages_per_claim_or_pop', 20, 'Most messages one claim or pop may take.'
    ),
    _int(
        'max_queue_metadata',
        65536,
        'Largest queue metadata body, in bytes, for PUT and PATCH.',
    ),
    _int('max_messages_post_size', 262144, 'Largest message POST body, in bytes.'),
    _int(
        'max_message_ttl',
        1209600,
        'Largest message TTL in seconds (also bounds TTL-like metadata).',
        minimum=60,
    ),
    _int('max_message_delay', 900, 'Largest message delay in seconds.', minimum=0),
    _int('max_claim_ttl', 43200, 'Largest claim TTL in seconds.', minimum=60),
    _int('max_claim_grace', 43200, 'Largest claim grace in seconds.', minimum=60),
    cfg.StrOpt(
        'client_id_uuid_safe',
        default='strict',
        choices=[
            ('strict', 'Client-ID must be a UUID.'),
            ('off', 'Client-ID may be any string of allowed length.'),
        ],
        help='How strictly the Client-ID header is checked.',
    ),
    _int(
        'min_length_client_id',
        10,
        'Shortest Client-ID accepted when client_id_uuid_safe is off.',
    ),
    _int(
        'max_length_client_id',
        36,
        'Longest Client-ID accepted when client_id_uuid_safe is off.',
    ),
    _int(
        'idempotency_window',
        3600,
        'Seconds a message POST with an Idempotency-Key header is remembered: '
        'a repeat with the same key (same project and queue or topic) within '
        'them answers the first 201 and stores nothing. Each remembered key '
        'costs storage (a few hundred bytes) for the whole window.',
        minimum=60,
    ),
    cfg.BoolOpt(
        'message_delete_with_claim_id',
        default=False,
        help='When true, a bulk delete by "ids" must also give "claim_ids", '
        'and "claim_ids" must come with "ids"; other bulk deletes are refused '
        'with 400, so that no client deletes messages it has not claimed. '
        'Pops are not affected. Whatever this says, a bulk delete that gives '
        '"claim_ids" deletes only if those claims hold the messages.',
    ),
    _int(
        'default_subscription_ttl',
        3600,
        'Subscription TTL in seconds when the request gives none.',
        minimum=60,
    ),
    _int(
        'max_subscriptions_per_page',
        20,
        'Largest "limit" of a subscription listing.',
    ),
    cfg.ListOpt(
        'subscriber_types',
        default=['http', 'https', 'mailto'],
        help='URI schemes a subscriber may use. This server delivers to '
        'http, https and mailto subscribers; trust+http and trust+https '
        '(which need Keystone trusts) are refused at start-up.',
    ),
]
