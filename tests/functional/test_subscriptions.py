"""Subscriptions over HTTP: ``/v2/{queues,topics}/{name}/subscriptions...``.

Most tests run on a queue and on a topic (the ``source`` fixture), since the
same routes serve both. What a subscriber receives is tested with the
notification library (tests/server, tests/unit); here, only the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from typing import NoReturn

import falcon.testing
import pytest
from oslo_config import cfg

from zaqar import pipeline
from zaqar.common.clock import ManualClock
from zaqar.common.limits import Limits
from zaqar.operations.validation import MAX_SUBSCRIPTION_TTL
from zaqar.operations.validation import MIN_SUBSCRIPTION_TTL
from zaqar.pipeline.pipeline import Pipeline
from zaqar.pipeline.pipeline import Pipelines
from zaqar.pipeline.pipeline import StageHooks
from zaqar.storage import errors as storage_errors
from zaqar.storage.base import DataDriver
from zaqar.storage.sqlite.driver import SqliteDriver
from zaqar.transport.wsgi.app import create_app

from . import openapi_check
from .conftest import ClientFactory
from .helpers import PROJECT_A
from .helpers import PROJECT_B
from .helpers import follow_pages
from .helpers import headers
from .helpers import post_messages

HOOK = 'https://hooks.example.com/zaqar'
OTHER_HOOK = 'http://other.example.com:8080/hook?team=ops'
MAIL = 'mailto:ops@example.com'
# Where the rules are checked once: topics share the code of queues.
QUEUE = '/v2/queues/q'
SECRET = 'test-secret'

# The keys python-zaqarclient reads from a listed subscription.
CLIENT_KEYS = {'source', 'subscriber', 'ttl', 'id', 'age', 'confirmed', 'options'}

OPTIONS = {
    'post_data': '{"text": "$zaqar_message$"}',
    'post_headers': {'Authorization': 'Bearer 3f1c', 'X-Team': 'ops'},
    'signing_secret': 'sh',
    'from': 'zaqar@example.com',
    'subject': 'News',
    '_retry_policy': {
        'retries_with_no_delay': 1,
        'minimum_delay_retries': 0,
        'minimum_delay': 2,
        'maximum_delay': 40,
        'maximum_delay_retries': 2,
        'retry_backoff_function': 'geometric',
        'ignore_subscription_override': False,
    },
    'custom': [1, 2],
}


@pytest.fixture(params=['queues', 'topics'])
def source(request: pytest.FixtureRequest) -> str:
    """The path of a queue, or of a topic, named ``src``."""
    return f'/v2/{request.param}/src'


def subscribe(
    client: falcon.testing.TestClient,
    source: str,
    subscriber: str = HOOK,
    **fields: Any,
) -> str:
    """Subscribe and return the subscription id."""
    result = client.simulate_post(
        f'{source}/subscriptions', json={'subscriber': subscriber, **fields}
    )
    assert result.status_code == 201, result.text
    subscription_id: str = result.json['subscription_id']
    return subscription_id


def get(
    client: falcon.testing.TestClient, source: str, subscription_id: str
) -> falcon.testing.Result:
    return client.simulate_get(f'{source}/subscriptions/{subscription_id}')


def listed(client: falcon.testing.TestClient, source: str) -> list[dict[str, Any]]:
    """The first page of the source's subscriptions (at most 20)."""
    result = client.simulate_get(f'{source}/subscriptions', params={'limit': 20})
    assert result.status_code == 200, result.text
    subscriptions: list[dict[str, Any]] = result.json['subscriptions']
    return subscriptions


def confirm(
    client: falcon.testing.TestClient,
    source: str,
    subscription_id: str,
    confirmed: object = True,
) -> falcon.testing.Result:
    return client.simulate_put(
        f'{source}/subscriptions/{subscription_id}/confirm',
        json={'confirmed': confirmed},
    )


# Create and read


def test_create_answers_the_id_with_the_collection_as_location(
    client: falcon.testing.TestClient, source: str
) -> None:
    result = client.simulate_post(f'{source}/subscriptions', json={'subscriber': HOOK})
    assert result.status_code == 201
    assert result.headers['location'] == f'{source}/subscriptions'
    assert list(result.json) == ['subscription_id']
    subscription_id = result.json['subscription_id']
    found = get(client, source, subscription_id)
    assert found.status_code == 200
    assert found.json == {
        'id': subscription_id,
        'source': 'src',
        'subscriber': HOOK,
        'ttl': 3600,
        'age': 0,
        'options': {},
        'confirmed': False,
    }


def test_create_creates_the_source(
    client: falcon.testing.TestClient, source: str
) -> None:
    assert client.simulate_head(source).status_code == 404
    subscribe(client, source)
    assert client.simulate_head(source).status_code == 204


def test_create_keeps_ttl_and_options_as_given(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source, MAIL, ttl=120, options=OPTIONS)
    found = get(client, source, subscription_id).json
    assert (found['subscriber'], found['ttl'], found['options']) == (
        MAIL,
        120,
        OPTIONS,
    )


def test_null_ttl_and_options_take_their_defaults(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source, ttl=None, options=None)
    found = get(client, source, subscription_id).json
    assert (found['ttl'], found['options']) == (3600, {})


def test_the_default_ttl_is_configurable(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    conf.set_override('default_subscription_ttl', 600, group='transport')
    client = falcon.testing.TestClient(
        create_app(conf, storage=storage), headers=headers()
    )
    subscription_id = subscribe(client, '/v2/queues/q')
    assert get(client, '/v2/queues/q', subscription_id).json['ttl'] == 600


@pytest.mark.parametrize(
    'subscriber',
    [
        HOOK,
        OTHER_HOOK,
        'HTTPS://Hooks.Example.com/x',
        MAIL,
        'mailto:a@example.com,b@example.com?subject=Hi',
    ],
)
def test_http_https_and_mailto_subscribers_are_accepted(
    client: falcon.testing.TestClient, subscriber: str
) -> None:
    subscription_id = subscribe(client, '/v2/queues/q', subscriber)
    assert get(client, '/v2/queues/q', subscription_id).json['subscriber'] == (
        subscriber
    )


LONGEST_HOOK = 'https://example.com/' + 'x' * (2048 - len('https://example.com/'))


@pytest.mark.parametrize(
    ('body', 'title', 'description'),
    [
        (None, 'Invalid API request', 'No subscription to create.'),
        ('{}', 'Invalid API request', 'No subscription to create.'),
        ('[]', 'Invalid API request', 'No subscription to create.'),
        ('[1]', 'Invalid API request', 'Subscriptions must be a dict.'),
        (
            '{"subscriber": ',
            'Invalid request body',
            'Request body could not be parsed.',
        ),
        ('{"ttl": 60}', 'Invalid API request', 'Missing parameter subscriber in body.'),
        (
            '{"subscriber": null}',
            'Invalid API request',
            'Missing parameter subscriber in body.',
        ),
        (
            '{"subscriber": 5}',
            'Invalid API request',
            'The subscriber must be a URI string.',
        ),
        (
            '{"subscriber": "ftp://example.com/x"}',
            'Invalid API request',
            'The subscriber type of subscription must be supported in the list '
            "['http', 'https', 'mailto'].",
        ),
        (
            '{"subscriber": "trust+https://example.com/x"}',
            'Invalid API request',
            'The subscriber type of subscription must be supported in the list '
            "['http', 'https', 'mailto'].",
        ),
        (
            '{"subscriber": "hooks.example.com/x"}',
            'Invalid API request',
            'The subscriber type of subscription must be supported in the list '
            "['http', 'https', 'mailto'].",
        ),
        (
            '{"subscriber": "mailto:ops.example.com"}',
            'Invalid API request',
            "The subscriber 'mailto:ops.example.com' is not a mailto: address.",
        ),
        (
            '{"subscriber": "https:///path"}',
            'Invalid API request',
            "The subscriber 'https:///path' is not a URL with a host.",
        ),
        (
            json.dumps({'subscriber': LONGEST_HOOK + 'x'}),
            'Invalid API request',
            'is not a URL with a host.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "ttl": "60"}}',
            'Invalid API request',
            'TTL must be an integer.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "ttl": true}}',
            'Invalid API request',
            'TTL must be an integer.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "ttl": 60.5}}',
            'Invalid API request',
            'TTL must be an integer.',
        ),
        *(
            (
                f'{{"subscriber": "{HOOK}", "ttl": {ttl}}}',
                'Invalid API request',
                'The TTL for a subscription must be at least 60 seconds long, '
                'and may not exceed 315360000 seconds.',
            )
            for ttl in (0, 59, -60, 315360001)
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": []}}',
            'Invalid API request',
            'Options must be a dict.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": "x"}}',
            'Invalid API request',
            'Options must be a dict.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": {{"post_headers": {{"a": 1}}}}}}',
            'Invalid API request',
            'post_headers must be an object of strings.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": {{"post_headers": ["a"]}}}}',
            'Invalid API request',
            'post_headers must be an object of strings.',
        ),
        *(
            (
                f'{{"subscriber": "{HOOK}", "options": {{"{key}": 1}}}}',
                'Invalid API request',
                f'{key} must be a string.',
            )
            for key in ('post_data', 'signing_secret', 'from', 'subject')
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": {{"_retry_policy": 3}}}}',
            'Invalid API request',
            'retry_policy must be a dict.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"_retry_policy": {"minimum_delay": "5"}}}',
            'Invalid API request',
            'Retry policy: minimum_delay must be a integer.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"_retry_policy": {"retries_with_no_delay": -1}}}',
            'Invalid API request',
            'Retry policy: retries_with_no_delay must not be negative.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"_retry_policy": {"retry_backoff_function": "cubic"}}}',
            'Invalid API request',
            'invalid retry_backoff_function.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"_retry_policy": {"ignore_subscription_override": 1}}}',
            'Invalid API request',
            'ignore_subscription_override must be a boolean.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"_retry_policy": {"minimum_delay": 50}}}',
            'Invalid API request',
            'minimum_delay must less than maximum_delay.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"_retry_policy": {"minimum_delay": 25}}}',
            'Invalid API request',
            'invalid minimum_delay and maximum_delay.',
        ),
        # What every delivery would then refuse for good.
        (
            f'{{"subscriber": "{HOOK}", "options": '
            '{"post_headers": {"Content-Length": "1"}}}',
            'Invalid API request',
            'post_headers may not set Content-Length.',
        ),
        (
            f'{{"subscriber": "{HOOK}", "options": {{"signing_secret": ""}}}}',
            'Invalid API request',
            'signing_secret must be a non-empty string.',
        ),
        (
            '{"subscriber": "mailto:a@example.com", "options": '
            '{"subject": "a\\r\\nBcc: b@example.com"}}',
            'Invalid API request',
            'subject may not contain a line break.',
        ),
    ],
)
def test_create_refuses_bad_bodies(
    client: falcon.testing.TestClient,
    body: str | None,
    title: str,
    description: str,
) -> None:
    result = client.simulate_post(f'{QUEUE}/subscriptions', body=body)
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description in result.json['description']
    assert listed(client, QUEUE) == []


def test_topic_routes_check_bodies_as_queue_routes(
    client: falcon.testing.TestClient,
) -> None:
    base = '/v2/topics/t/subscriptions'
    result = client.simulate_post(base, json={'subscriber': 'mailto:nobody'})
    assert result.status_code == 400
    assert result.json['description'] == (
        "The subscriber 'mailto:nobody' is not a mailto: address."
    )
    subscription_id = subscribe(client, '/v2/topics/t')
    result = client.simulate_patch(f'{base}/{subscription_id}', json={'ttl': 59})
    assert result.status_code == 400
    result = client.simulate_put(
        f'{base}/{subscription_id}/confirm', json={'confirmed': 'yes'}
    )
    assert result.json['description'] == "The 'confirmed' should be boolean."
    result = client.simulate_get(base, params={'limit': 21})
    assert result.status_code == 400


def test_the_longest_subscriber_is_accepted(
    client: falcon.testing.TestClient,
) -> None:
    assert len(LONGEST_HOOK) == 2048
    subscribe(client, '/v2/queues/q', LONGEST_HOOK)


def test_a_body_over_64_kib_is_refused(client: falcon.testing.TestClient) -> None:
    body = json.dumps({'subscriber': HOOK, 'options': {'post_data': 'x' * 65536}})
    result = client.simulate_post('/v2/queues/q/subscriptions', body=body)
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid API request',
        'description': 'Request body is too large. Max size: 65536',
    }


def test_a_bad_source_name_is_refused(client: falcon.testing.TestClient) -> None:
    result = client.simulate_post(
        '/v2/queues/a%20b/subscriptions', json={'subscriber': HOOK}
    )
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid queue identification'


def test_get_of_a_missing_subscription_is_404(
    client: falcon.testing.TestClient, source: str
) -> None:
    result = get(client, source, 'nope')
    assert result.status_code == 404
    assert result.json == {
        'title': 'Not found',
        'description': 'Subscription nope does not exist',
    }


# Listing


def test_listed_subscriptions_have_the_keys_python_zaqarclient_reads(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source, options={'post_data': 'x'})
    [item] = listed(client, source)
    assert set(item) == CLIENT_KEYS
    assert item == get(client, source, subscription_id).json


def test_listing_pages_in_creation_order(
    client: falcon.testing.TestClient, source: str, clock: ManualClock
) -> None:
    ids = []
    for number in range(5):
        ids.append(subscribe(client, source, f'{HOOK}/{number}'))
        clock.advance(1)
    pages = follow_pages(client, f'{source}/subscriptions', 'subscriptions', limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [item['id'] for page in pages for item in page] == ids
    assert [item['subscriber'] for item in pages[0]] == [f'{HOOK}/0', f'{HOOK}/1']


def test_the_next_link_keeps_the_limit(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source)
    result = client.simulate_get(f'{source}/subscriptions', params={'limit': 3})
    assert result.json['links'] == [
        {
            'rel': 'next',
            'href': f'{source}/subscriptions?limit=3&marker={subscription_id}',
        }
    ]


def test_the_default_page_has_ten_subscriptions(
    client: falcon.testing.TestClient, clock: ManualClock
) -> None:
    for number in range(12):
        subscribe(client, '/v2/queues/q', f'{HOOK}/{number}')
        clock.advance(1)
    result = client.simulate_get('/v2/queues/q/subscriptions')
    assert len(result.json['subscriptions']) == 10
    pages = follow_pages(client, '/v2/queues/q/subscriptions', 'subscriptions')
    assert [len(page) for page in pages] == [10, 2]


def test_an_empty_or_missing_source_lists_nothing(
    client: falcon.testing.TestClient, source: str
) -> None:
    result = client.simulate_get(f'{source}/subscriptions')
    assert result.status_code == 200
    assert result.json == {'subscriptions': [], 'links': []}


@pytest.mark.parametrize('limit', ['0', '-1', '21'])
def test_a_limit_out_of_range_is_refused(
    client: falcon.testing.TestClient, limit: str
) -> None:
    result = client.simulate_get(f'{QUEUE}/subscriptions', params={'limit': limit})
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid API request',
        'description': 'Limit must be at least 1 and may not be greater than 20.',
    }


def test_a_limit_that_is_no_integer_is_refused(
    client: falcon.testing.TestClient,
) -> None:
    result = client.simulate_get('/v2/queues/q/subscriptions', params={'limit': 'x'})
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid parameter'


def test_the_largest_limit_is_configurable(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    conf.set_override('max_subscriptions_per_page', 2, group='transport')
    client = falcon.testing.TestClient(
        create_app(conf, storage=storage), headers=headers()
    )
    result = client.simulate_get('/v2/queues/q/subscriptions', params={'limit': 3})
    assert result.status_code == 400
    assert result.json['description'] == (
        'Limit must be at least 1 and may not be greater than 2.'
    )


def test_the_description_quotes_the_shipped_limits() -> None:
    document = openapi_check.v2().document
    components = document['components']
    limit = components['parameters']['SubscriptionListingLimit']['schema']
    assert (limit['minimum'], limit['maximum'], limit['default']) == (
        1,
        Limits().max_subscriptions_per_page,
        10,
    )
    ttl = components['schemas']['SubscriptionTtl']
    assert (ttl['minimum'], ttl['maximum']) == (
        MIN_SUBSCRIPTION_TTL,
        MAX_SUBSCRIPTION_TTL,
    )
    create = components['schemas']['SubscriptionCreate']['properties']
    assert create['ttl']['default'] == Limits().default_subscription_ttl


def test_a_marker_after_the_last_subscription_gives_an_empty_page(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source)
    result = client.simulate_get(
        f'{source}/subscriptions', params={'marker': subscription_id}
    )
    assert result.json == {'subscriptions': [], 'links': []}


# Update


def test_patch_changes_only_what_it_gives(
    client: falcon.testing.TestClient, source: str, clock: ManualClock
) -> None:
    subscription_id = subscribe(client, source, ttl=300, options={'subject': 'a'})
    path = f'{source}/subscriptions/{subscription_id}'
    result = client.simulate_patch(path, json={'subscriber': OTHER_HOOK})
    assert result.status_code == 204
    assert result.content == b''
    assert result.headers['location'] == path
    found = get(client, source, subscription_id).json
    assert (found['subscriber'], found['ttl'], found['options']) == (
        OTHER_HOOK,
        300,
        {'subject': 'a'},
    )


def test_patch_replaces_the_options_whole(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source, options=OPTIONS)
    path = f'{source}/subscriptions/{subscription_id}'
    new_options = {'post_headers': {'X-New': 'yes'}}
    assert client.simulate_patch(path, json={'options': new_options}).status_code == (
        204
    )
    assert get(client, source, subscription_id).json['options'] == new_options


def test_patch_of_the_ttl_counts_from_now(
    client: falcon.testing.TestClient, source: str, clock: ManualClock
) -> None:
    subscription_id = subscribe(client, source, ttl=60)
    clock.advance(50)
    assert get(client, source, subscription_id).json['age'] == 50
    path = f'{source}/subscriptions/{subscription_id}'
    assert client.simulate_patch(path, json={'ttl': 100}).status_code == 204
    found = get(client, source, subscription_id).json
    assert (found['ttl'], found['age']) == (100, 0)
    clock.advance(99)
    assert get(client, source, subscription_id).status_code == 200
    clock.advance(1)
    assert get(client, source, subscription_id).status_code == 404


def test_patch_keeps_the_confirmation(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source)
    assert confirm(client, source, subscription_id).status_code == 204
    path = f'{source}/subscriptions/{subscription_id}'
    result = client.simulate_patch(path, json={'subscriber': MAIL, 'ttl': 120})
    assert result.status_code == 204
    found = get(client, source, subscription_id).json
    assert (found['subscriber'], found['ttl'], found['confirmed']) == (
        MAIL,
        120,
        True,
    )


def test_patch_to_its_own_subscriber_is_no_conflict(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source)
    path = f'{source}/subscriptions/{subscription_id}'
    assert client.simulate_patch(path, json={'subscriber': HOOK}).status_code == 204


def test_patch_to_another_subscriptions_subscriber_conflicts(
    client: falcon.testing.TestClient, source: str
) -> None:
    first = subscribe(client, source, HOOK)
    second = subscribe(client, source, OTHER_HOOK)
    result = client.simulate_patch(
        f'{source}/subscriptions/{second}', json={'subscriber': HOOK, 'ttl': 90}
    )
    assert result.status_code == 409
    assert result.json['title'] == 'Resource conflict'
    assert 'Such subscription already exists.' in result.json['description']
    found = get(client, source, second).json
    assert (found['subscriber'], found['ttl']) == (OTHER_HOOK, 3600)
    assert get(client, source, first).json['subscriber'] == HOOK


@pytest.mark.parametrize(
    ('body', 'title', 'description'),
    [
        (None, 'Invalid API request', 'No subscription to update.'),
        ('{}', 'Invalid API request', 'No subscription to update.'),
        ('[]', 'Invalid API request', 'No subscription to update.'),
        ('[1]', 'Invalid API request', 'Subscriptions must be a dict.'),
        ('{"a"', 'Invalid request body', 'Request body could not be parsed.'),
        (
            '{"confirmed": true}',
            'Invalid API request',
            'The update must change "subscriber", "ttl" or "options".',
        ),
        (
            '{"subscriber": null, "ttl": null, "options": null}',
            'Invalid API request',
            'The update must change "subscriber", "ttl" or "options".',
        ),
        (
            '{"subscriber": "ftp://example.com"}',
            'Invalid API request',
            'The subscriber type of subscription must be supported',
        ),
        (
            '{"subscriber": "mailto:nobody"}',
            'Invalid API request',
            'is not a mailto: address.',
        ),
        ('{"ttl": "60"}', 'Invalid API request', 'TTL must be an integer.'),
        (
            '{"ttl": 59}',
            'Invalid API request',
            'The TTL for a subscription must be at least 60 seconds long',
        ),
        ('{"options": [1]}', 'Invalid API request', 'Options must be a dict.'),
        (
            '{"options": {"post_headers": {"a": false}}}',
            'Invalid API request',
            'post_headers must be an object of strings.',
        ),
        (
            '{"options": {"_retry_policy": {"maximum_delay_retries": true}}}',
            'Invalid API request',
            'Retry policy: maximum_delay_retries must be a integer.',
        ),
        # Mail rules too, for a webhook: a later update may make it mailto.
        (
            '{"options": {"from": "a@example.com\\nBcc: b@example.com"}}',
            'Invalid API request',
            'from may not contain a line break.',
        ),
    ],
)
def test_patch_refuses_bad_bodies(
    client: falcon.testing.TestClient,
    body: str | None,
    title: str,
    description: str,
) -> None:
    subscription_id = subscribe(client, QUEUE, ttl=300)
    before = get(client, QUEUE, subscription_id).json
    result = client.simulate_patch(
        f'{QUEUE}/subscriptions/{subscription_id}', body=body
    )
    assert result.status_code == 400
    assert result.json['title'] == title
    assert description in result.json['description']
    assert get(client, QUEUE, subscription_id).json == before


def test_patch_of_a_missing_subscription_is_404(
    client: falcon.testing.TestClient, source: str
) -> None:
    result = client.simulate_patch(f'{source}/subscriptions/nope', json={'ttl': 60})
    assert result.status_code == 404
    assert result.json['description'] == 'Subscription nope does not exist'


# Delete


def test_delete_is_idempotent(client: falcon.testing.TestClient, source: str) -> None:
    subscription_id = subscribe(client, source)
    path = f'{source}/subscriptions/{subscription_id}'
    for _ in range(2):
        result = client.simulate_delete(path)
        assert result.status_code == 204
        assert result.content == b''
    assert get(client, source, subscription_id).status_code == 404
    assert listed(client, source) == []
    assert client.simulate_delete(f'{source}/subscriptions/nope').status_code == 204


def test_after_a_delete_the_subscriber_may_subscribe_again(
    client: falcon.testing.TestClient, source: str
) -> None:
    first = subscribe(client, source)
    assert confirm(client, source, first).status_code == 204
    client.simulate_delete(f'{source}/subscriptions/{first}')
    second = subscribe(client, source)
    assert second != first
    assert get(client, source, second).json['confirmed'] is False


def test_deleting_the_source_keeps_its_subscriptions(
    client: falcon.testing.TestClient, source: str
) -> None:
    """They expire on their own, as upstream's do."""
    subscription_id = subscribe(client, source)
    assert client.simulate_delete(source).status_code == 204
    assert [item['id'] for item in listed(client, source)] == [subscription_id]


# Confirm


def test_confirm_and_cancel(client: falcon.testing.TestClient, source: str) -> None:
    subscription_id = subscribe(client, source)
    path = f'{source}/subscriptions/{subscription_id}/confirm'
    result = confirm(client, source, subscription_id)
    assert result.status_code == 204
    assert result.content == b''
    assert result.headers['location'] == path
    assert get(client, source, subscription_id).json['confirmed'] is True
    assert confirm(client, source, subscription_id, False).status_code == 204
    assert get(client, source, subscription_id).json['confirmed'] is False
    assert confirm(client, source, subscription_id, True).status_code == 204
    assert listed(client, source)[0]['confirmed'] is True


@pytest.mark.parametrize(
    'body',
    [
        '{"confirmed": 1}',
        '{"confirmed": "true"}',
        '{"confirmed": null}',
        '{}',
        '[]',
        '[true]',
        '{"confirm": true}',
    ],
)
def test_confirm_needs_a_boolean(client: falcon.testing.TestClient, body: str) -> None:
    subscription_id = subscribe(client, QUEUE)
    result = client.simulate_put(
        f'{QUEUE}/subscriptions/{subscription_id}/confirm', body=body
    )
    assert result.status_code == 400
    assert result.json == {
        'title': 'Invalid API request',
        'description': "The 'confirmed' should be boolean.",
    }
    assert get(client, QUEUE, subscription_id).json['confirmed'] is False


@pytest.mark.parametrize(
    ('body', 'description'),
    [
        (None, 'Request body can not be empty'),
        ('{"confirmed": tru', 'Request body could not be parsed.'),
    ],
)
def test_confirm_needs_a_readable_body(
    client: falcon.testing.TestClient, body: str | None, description: str
) -> None:
    subscription_id = subscribe(client, QUEUE)
    result = client.simulate_put(
        f'{QUEUE}/subscriptions/{subscription_id}/confirm', body=body
    )
    assert result.status_code == 400
    assert result.json == {'title': 'Invalid request body', 'description': description}


def test_confirm_of_a_missing_subscription_is_404(
    client: falcon.testing.TestClient, source: str
) -> None:
    result = confirm(client, source, 'nope')
    assert result.status_code == 404
    assert result.json['description'] == 'Subscription nope does not exist'


# Duplicates


def test_reposting_an_unconfirmed_subscriber_answers_the_same_id(
    client: falcon.testing.TestClient, source: str
) -> None:
    first = subscribe(client, source, ttl=300, options={'subject': 'a'})
    result = client.simulate_post(
        f'{source}/subscriptions',
        json={'subscriber': HOOK, 'ttl': 900, 'options': {'subject': 'b'}},
    )
    assert result.status_code == 201
    assert result.headers['location'] == f'{source}/subscriptions'
    assert result.json == {'subscription_id': first}
    [item] = listed(client, source)
    # The existing subscription is answered as it is, not updated.
    assert (item['id'], item['ttl'], item['options']) == (first, 300, {'subject': 'a'})


def test_reposting_a_confirmed_subscriber_conflicts(
    client: falcon.testing.TestClient, source: str
) -> None:
    first = subscribe(client, source)
    assert confirm(client, source, first).status_code == 204
    result = client.simulate_post(f'{source}/subscriptions', json={'subscriber': HOOK})
    assert result.status_code == 409
    noun = 'topic' if source.startswith('/v2/topics/') else 'queue'
    assert result.json == {
        'title': 'Resource conflict',
        'description': 'Such subscription already exists. Subscriptions are '
        f'unique by project + {noun} + subscriber URI.',
    }
    assert [item['id'] for item in listed(client, source)] == [first]


def test_a_cancelled_subscription_is_answered_again(
    client: falcon.testing.TestClient, source: str
) -> None:
    first = subscribe(client, source)
    confirm(client, source, first, True)
    confirm(client, source, first, False)
    assert subscribe(client, source) == first


def test_subscribers_differ_by_their_whole_uri(
    client: falcon.testing.TestClient, source: str
) -> None:
    ids = {subscribe(client, source, uri) for uri in (HOOK, f'{HOOK}/', MAIL)}
    assert len(ids) == 3


# Expiry


def test_a_subscription_expires_with_its_ttl(
    client: falcon.testing.TestClient, source: str, clock: ManualClock
) -> None:
    subscription_id = subscribe(client, source, ttl=60)
    clock.advance(59)
    found = get(client, source, subscription_id).json
    assert (found['ttl'], found['age']) == (60, 59)
    clock.advance(1)
    assert get(client, source, subscription_id).status_code == 404
    assert listed(client, source) == []
    path = f'{source}/subscriptions/{subscription_id}'
    assert client.simulate_patch(path, json={'ttl': 60}).status_code == 404
    assert confirm(client, source, subscription_id).status_code == 404


def test_an_expired_subscription_does_not_block_its_subscriber(
    client: falcon.testing.TestClient, source: str, clock: ManualClock
) -> None:
    first = subscribe(client, source, ttl=60)
    confirm(client, source, first)
    clock.advance(60)
    second = subscribe(client, source)
    assert second != first
    assert [item['id'] for item in listed(client, source)] == [second]


def test_an_expired_subscription_does_not_block_a_patch(
    client: falcon.testing.TestClient, source: str, clock: ManualClock
) -> None:
    subscribe(client, source, HOOK, ttl=60)
    other = subscribe(client, source, OTHER_HOOK, ttl=120)
    clock.advance(60)
    path = f'{source}/subscriptions/{other}'
    assert client.simulate_patch(path, json={'subscriber': HOOK}).status_code == 204
    assert get(client, source, other).json['subscriber'] == HOOK


# Purge


def test_purging_subscriptions_keeps_the_messages(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscribe(client, source, HOOK)
    subscribe(client, source, MAIL)
    client.simulate_post(f'{source}/messages', json={'messages': [{'body': 1}]})
    result = client.simulate_post(
        f'{source}/purge', json={'resource_types': ['subscriptions']}
    )
    assert result.status_code == 204
    assert listed(client, source) == []
    assert client.simulate_get(f'{source}/stats').json['messages']['total'] == 1


def test_purging_messages_keeps_the_subscriptions(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscription_id = subscribe(client, source)
    client.simulate_post(f'{source}/messages', json={'messages': [{'body': 1}]})
    result = client.simulate_post(
        f'{source}/purge', json={'resource_types': ['messages']}
    )
    assert result.status_code == 204
    assert [item['id'] for item in listed(client, source)] == [subscription_id]
    assert client.simulate_get(f'{source}/stats').json['messages']['total'] == 0


def test_a_purge_without_a_body_removes_both(
    client: falcon.testing.TestClient, source: str
) -> None:
    subscribe(client, source)
    client.simulate_post(f'{source}/messages', json={'messages': [{'body': 1}]})
    assert client.simulate_post(f'{source}/purge').status_code == 204
    assert listed(client, source) == []
    assert client.simulate_get(f'{source}/stats').json['messages']['total'] == 0


def test_a_purge_leaves_other_sources_alone(
    client: falcon.testing.TestClient, source: str
) -> None:
    other = source.replace('/src', '/other')
    kept = subscribe(client, other)
    subscribe(client, source)
    client.simulate_post(f'{source}/purge', json={'resource_types': ['subscriptions']})
    assert [item['id'] for item in listed(client, other)] == [kept]


# Isolation


def test_projects_never_see_each_others_subscriptions(
    make_client: ClientFactory, source: str
) -> None:
    alice = make_client(PROJECT_A)
    bob = make_client(PROJECT_B)
    mine = subscribe(alice, source)
    assert listed(bob, source) == []
    assert get(bob, source, mine).status_code == 404
    path = f'{source}/subscriptions/{mine}'
    assert bob.simulate_patch(path, json={'ttl': 60}).status_code == 404
    assert confirm(bob, source, mine).status_code == 404
    assert bob.simulate_delete(path).status_code == 204
    bob.simulate_post(f'{source}/purge')
    # Bob's own subscription of the same subscriber is another one.
    theirs = subscribe(bob, source)
    assert theirs != mine
    found = get(alice, source, mine).json
    assert (found['ttl'], found['confirmed']) == (3600, False)
    assert [item['id'] for item in listed(alice, source)] == [mine]


def test_a_subscription_belongs_to_its_source(
    client: falcon.testing.TestClient, source: str
) -> None:
    mine = subscribe(client, source)
    other = source.replace('/src', '/other')
    assert get(client, other, mine).status_code == 404
    assert confirm(client, other, mine).status_code == 404
    assert client.simulate_delete(f'{other}/subscriptions/{mine}').status_code == 204
    assert get(client, source, mine).json['source'] == 'src'


def test_a_queue_and_a_topic_of_one_name_have_their_own_subscriptions(
    client: falcon.testing.TestClient,
) -> None:
    on_queue = subscribe(client, '/v2/queues/t', HOOK)
    assert listed(client, '/v2/topics/t') == []
    assert get(client, '/v2/topics/t', on_queue).status_code == 404
    assert confirm(client, '/v2/topics/t', on_queue).status_code == 404
    on_topic = subscribe(client, '/v2/topics/t', HOOK)
    assert on_topic != on_queue
    assert confirm(client, '/v2/topics/t', on_topic).status_code == 204
    assert get(client, '/v2/queues/t', on_queue).json['confirmed'] is False
    client.simulate_delete(f'/v2/topics/t/subscriptions/{on_queue}')
    client.simulate_post('/v2/topics/t/purge')
    assert [item['id'] for item in listed(client, '/v2/queues/t')] == [on_queue]
    assert listed(client, '/v2/topics/t') == []


# Pre-signed URLs


@pytest.fixture
def signing_conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    conf.set_override('secret_key', SECRET, group='signed_url')
    return conf


def test_a_grant_on_subscriptions_lets_its_holder_confirm(
    signing_conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    client = falcon.testing.TestClient(
        create_app(signing_conf, storage=storage), headers=headers()
    )
    subscription_id = subscribe(client, '/v2/queues/q')
    grant = client.simulate_post(
        '/v2/queues/q/share', json={'paths': ['subscriptions'], 'methods': ['PUT']}
    ).json
    signed = {
        'URL-Signature': grant['signature'],
        'URL-Expires': grant['expires'],
        'URL-Methods': ','.join(grant['methods']),
        'URL-Paths': ','.join(grant['paths']),
        'X-Project-ID': PROJECT_A,
        'Client-ID': 'a' * 32,
    }
    path = f'/v2/queues/q/subscriptions/{subscription_id}/confirm'
    holder = falcon.testing.TestClient(client.app)
    result = holder.simulate_put(path, json={'confirmed': True}, headers=signed)
    assert result.status_code == 204
    assert get(client, '/v2/queues/q', subscription_id).json['confirmed'] is True
    # The grant names PUT only, and a forged signature proves nothing.
    refused = holder.simulate_get(
        f'/v2/queues/q/subscriptions/{subscription_id}', headers=signed
    )
    assert (refused.status_code, refused.json) == (404, {'title': '404 Not Found'})
    forged = {**signed, 'URL-Signature': '0' * 64}
    result = holder.simulate_put(path, json={'confirmed': False}, headers=forged)
    assert (result.status_code, result.json) == (404, {'title': '404 Not Found'})


# Stages and storage failures


def test_a_refusing_stage_answers_403(
    conf: cfg.ConfigOpts, storage: DataDriver
) -> None:
    def refuse(**kwargs: object) -> NoReturn:
        raise storage_errors.OperationRefused('No webhooks on Sundays.')

    stages = Pipelines(
        subscription=Pipeline('subscription', [StageHooks('guard', {'create': refuse})])
    )
    client = falcon.testing.TestClient(
        create_app(conf, storage=pipeline.wrap(storage, stages)), headers=headers()
    )
    result = client.simulate_post(
        '/v2/queues/q/subscriptions', json={'subscriber': HOOK}
    )
    assert result.status_code == 403
    assert result.json == {
        'title': 'Not authorized',
        'description': 'No webhooks on Sundays.',
    }
    assert listed(client, '/v2/queues/q') == []


class _Unreachable:
    """A subscription controller whose backend is down."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: object, **kwargs: object) -> NoReturn:
            raise storage_errors.StorageUnavailable('backend down')

        return fail


class UnreachableSubscriptions(SqliteDriver):
    """A SQLite driver whose subscriptions cannot be reached."""

    @property
    def subscriptions(self) -> Any:
        return _Unreachable()


@pytest.mark.parametrize(
    ('method', 'path', 'body', 'description'),
    [
        (
            'POST',
            '/v2/queues/q/subscriptions',
            {'subscriber': HOOK},
            'Subscription could not be created.',
        ),
        (
            'GET',
            '/v2/topics/t/subscriptions',
            None,
            'Subscriptions could not be listed.',
        ),
        (
            'GET',
            '/v2/queues/q/subscriptions/s',
            None,
            'Subscription could not be retrieved.',
        ),
        (
            'PATCH',
            '/v2/queues/q/subscriptions/s',
            {'ttl': 60},
            'Subscription could not be updated.',
        ),
        (
            'DELETE',
            '/v2/topics/t/subscriptions/s',
            None,
            'Subscription could not be deleted.',
        ),
        (
            'PUT',
            '/v2/queues/q/subscriptions/s/confirm',
            {'confirmed': True},
            'Subscription could not be confirmed.',
        ),
    ],
)
def test_unreachable_storage_answers_503(
    conf: cfg.ConfigOpts,
    tmp_path: Path,
    clock: ManualClock,
    method: str,
    path: str,
    body: object,
    description: str,
) -> None:
    driver = UnreachableSubscriptions(database=str(tmp_path / 'z.db'), clock=clock)
    client = falcon.testing.TestClient(
        create_app(conf, storage=driver), headers=headers()
    )
    result = client.simulate_request(method, path, json=body)
    assert result.status_code == 503
    assert result.headers['retry-after'] == '5'
    assert result.json == {
        'title': 'Service temporarily unavailable',
        'description': f'{description} Please try again in a few seconds.',
    }
    driver.close()


# A driver without subscriptions


class WithoutSubscriptions(SqliteDriver):
    """A real SQLite driver that does not offer subscriptions."""

    @property
    def subscriptions(self) -> Any:
        # The default of DataDriver: raises Unsupported.
        return super(SqliteDriver, self).subscriptions


@pytest.fixture
def plain_client(
    conf: cfg.ConfigOpts, tmp_path: Path, clock: ManualClock
) -> Iterator[falcon.testing.TestClient]:
    driver = WithoutSubscriptions(database=str(tmp_path / 'plain.db'), clock=clock)
    client = falcon.testing.TestClient(
        create_app(conf, storage=driver), headers=headers()
    )
    yield client
    driver.close()


@pytest.mark.parametrize(
    ('method', 'path', 'body'),
    [
        ('POST', '/v2/queues/q/subscriptions', {'subscriber': HOOK}),
        ('GET', '/v2/queues/q/subscriptions', None),
        ('GET', '/v2/topics/t/subscriptions', None),
        ('GET', '/v2/queues/q/subscriptions/s', None),
        ('PATCH', '/v2/queues/q/subscriptions/s', {'ttl': 60}),
        ('DELETE', '/v2/queues/q/subscriptions/s', None),
        ('PUT', '/v2/topics/t/subscriptions/s/confirm', {'confirmed': True}),
        ('POST', '/v2/queues/q/purge', {'resource_types': ['subscriptions']}),
        (
            'POST',
            '/v2/topics/t/purge',
            {'resource_types': ['messages', 'subscriptions']},
        ),
    ],
)
def test_without_subscriptions_their_routes_answer_400(
    plain_client: falcon.testing.TestClient,
    method: str,
    path: str,
    body: object,
) -> None:
    source = path.split('/subscriptions')[0].removesuffix('/purge')
    post_messages_to(plain_client, source)
    result = plain_client.simulate_request(method, path, json=body)
    assert result.status_code == 400
    assert result.json['title'] == 'Invalid API request'
    description = result.json['description']
    assert description.startswith('The storage driver of this server (')
    assert description.endswith(') does not support subscriptions.')
    # It names the kind of driver, never where it keeps its data.
    assert '/' not in description
    # Nothing was done, not even the part that was possible.
    stats = plain_client.simulate_get(f'{source}/stats').json
    assert stats['messages']['total'] == 1


def post_messages_to(client: falcon.testing.TestClient, source: str) -> None:
    result = client.simulate_post(
        f'{source}/messages', json={'messages': [{'body': 1}]}
    )
    assert result.status_code == 201, result.text


def test_without_subscriptions_queues_and_topics_work(
    plain_client: falcon.testing.TestClient,
) -> None:
    assert plain_client.simulate_put('/v2/queues/q').status_code == 201
    assert plain_client.simulate_put('/v2/topics/t').status_code == 201
    post_messages(plain_client, 'q', 'a', 'b')
    post_messages_to(plain_client, '/v2/topics/t')
    listing = plain_client.simulate_get('/v2/queues/q/messages', params={'echo': True})
    assert [item['body'] for item in listing.json['messages']] == ['a', 'b']
    # A purge without a body purges what there is: the messages.
    for source in ('/v2/queues/q', '/v2/topics/t'):
        assert plain_client.simulate_post(f'{source}/purge').status_code == 204
        stats = plain_client.simulate_get(f'{source}/stats').json
        assert stats['messages']['total'] == 0
    result = plain_client.simulate_post(
        '/v2/queues/q/purge', json={'resource_types': ['messages']}
    )
    assert result.status_code == 204
    assert plain_client.simulate_delete('/v2/queues/q').status_code == 204
