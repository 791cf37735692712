"""The OpenAPI description is a valid OpenAPI 3.1 document that agrees with
the shipped limits.

The HTTP tests check answers against it (tests/functional/openapi_check.py);
these tests check the document itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

from zaqar.common.limits import Limits
from zaqar.transport import openapi

DEFAULTS = Limits()


@pytest.fixture(scope='module')
def document() -> dict[str, Any]:
    return openapi.load_v2()


def at(document: dict[str, Any], pointer: str) -> Any:
    """Return the value at a slash-separated path (``~1`` for ``/``)."""
    node: Any = document
    for segment in pointer.strip('/').split('/'):
        key = segment.replace('~1', '/')
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def parameter(document: dict[str, Any], path: str, method: str, name: str) -> Any:
    """Return the schema of an operation's own parameter."""
    operation = document['paths'][path][method]
    [found] = [item for item in operation['parameters'] if item.get('name') == name]
    return found['schema']


def test_the_description_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document['openapi'] == '3.1.0'
    errors = [
        error.message for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]
    assert errors == []


def test_the_description_survives_conversion_to_json(document: dict[str, Any]) -> None:
    """YAML reads unquoted 200 or 2030-01-01 as a number or a date; JSON
    clients (and GET /v2/openapi.json) need strings."""
    assert json.loads(json.dumps(document)) == document


def test_a_schema_breaking_json_schema_is_noticed(document: dict[str, Any]) -> None:
    """The validator looks inside the schemas, not only at the structure."""
    broken = json.loads(json.dumps(document))
    broken['components']['schemas']['Message']['properties']['ttl']['minimum'] = 'x'
    assert list(OpenAPIV31SpecValidator(broken).iter_errors()) != []


def test_a_dangling_reference_is_noticed(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    broken['paths']['/v2/ping']['get']['responses']['204'] = {
        '$ref': '#/components/responses/Missing'
    }
    with pytest.raises(Unresolvable):
        list(OpenAPIV31SpecValidator(broken).iter_errors())


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [
        operation['operationId']
        for item in document['paths'].values()
        for operation in item.values()
        if isinstance(operation, dict) and 'operationId' in operation
    ]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ('path', 'method', 'name', 'maximum', 'default'),
    [
        ('/v2/queues', 'get', 'limit', DEFAULTS.max_queues_per_page, 10),
        (
            '/v2/queues/{queue_name}/messages',
            'get',
            'limit',
            DEFAULTS.max_messages_per_page,
            10,
        ),
        (
            '/v2/queues/{queue_name}/messages',
            'delete',
            'pop',
            DEFAULTS.max_messages_per_claim_or_pop,
            None,
        ),
        (
            '/v2/queues/{queue_name}/claims',
            'post',
            'limit',
            DEFAULTS.max_messages_per_claim_or_pop,
            10,
        ),
    ],
)
def test_query_limits_are_the_shipped_defaults(
    document: dict[str, Any],
    path: str,
    method: str,
    name: str,
    maximum: int,
    default: int | None,
) -> None:
    schema = parameter(document, path, method, name)
    assert (schema['minimum'], schema['maximum']) == (1, maximum)
    assert schema.get('default') == default


@pytest.mark.parametrize(
    ('pointer', 'low', 'high', 'default'),
    [
        ('NewMessage/properties/ttl', 60, DEFAULTS.max_message_ttl, None),
        ('NewMessage/properties/delay', 0, DEFAULTS.max_message_delay, None),
        (
            'ClaimCreate/properties/ttl',
            60,
            DEFAULTS.max_claim_ttl,
            DEFAULTS.default_claim_ttl,
        ),
        (
            'ClaimCreate/properties/grace',
            60,
            DEFAULTS.max_claim_grace,
            DEFAULTS.default_claim_grace,
        ),
        (
            'ClaimRenew/properties/ttl',
            60,
            DEFAULTS.max_claim_ttl,
            DEFAULTS.default_claim_ttl,
        ),
        (
            'ClaimRenew/properties/grace',
            60,
            DEFAULTS.max_claim_grace,
            DEFAULTS.default_claim_grace,
        ),
        (
            'QueueMetadata/properties/_max_messages_post_size',
            1,
            DEFAULTS.max_messages_post_size,
            None,
        ),
        (
            'QueueMetadata/properties/_default_message_ttl',
            60,
            DEFAULTS.max_message_ttl,
            None,
        ),
        (
            'QueueMetadata/properties/_default_message_delay',
            0,
            DEFAULTS.max_message_delay,
            None,
        ),
        (
            'QueueMetadata/properties/_dead_letter_queue_messages_ttl',
            60,
            DEFAULTS.max_message_ttl,
            None,
        ),
    ],
)
def test_body_ranges_are_the_shipped_defaults(
    document: dict[str, Any], pointer: str, low: int, high: int, default: int | None
) -> None:
    schema = at(document, f'components/schemas/{pointer}')
    assert (schema['minimum'], schema['maximum']) == (low, high)
    assert schema.get('default') == default
