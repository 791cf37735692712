"""Unit tests of the request validator and the queue metadata rules."""

from __future__ import annotations

import pytest

from zaqar import conf as zaqar_conf
from zaqar.common.limits import Limits
from zaqar.common.queue_metadata import Metadata
from zaqar.common.queue_metadata import PostSettings
from zaqar.operations import json_patch
from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.operations.validation import Validator
from zaqar.storage.models import NewMessage


@pytest.fixture
def validator() -> Validator:
    return Validator(Limits())


def settings(metadata: Metadata) -> PostSettings:
    """What a queue with ``metadata`` decides about posts, at default limits."""
    return PostSettings.of(metadata, Limits())


def test_limits_are_read_from_the_transport_group() -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('max_messages_per_page', 7, group='transport')
    conf.set_override('client_id_uuid_safe', 'off', group='transport')
    limits = Limits.from_conf(conf)
    assert limits.max_messages_per_page == 7
    assert limits.client_id_uuid_safe == 'off'
    assert limits.default_claim_grace == 60


@pytest.mark.parametrize('name', ['q', 'a.b', 'A-b_c.9', 'x' * 64])
def test_valid_queue_names_pass(validator: Validator, name: str) -> None:
    validator.queue_identification(name, 'project')


@pytest.mark.parametrize(
    ('name', 'text'),
    [
        ('x' * 65, 'Queue names may not be more than 64 characters long.'),
        ('a b', 'Queue names may only contain ASCII letters, digits, underscores'),
        ('', 'Queue names may only contain'),
        ('caf\u00e9', 'Queue names may only contain'),
        ('a/b', 'Queue names may only contain'),
    ],
)
def test_invalid_queue_names_fail(validator: Validator, name: str, text: str) -> None:
    with pytest.raises(ValidationFailed, match=text):
        validator.queue_identification(name, 'project')


def test_project_id_longer_than_256_fails(validator: Validator) -> None:
    validator.queue_identification('q', 'p' * 256)
    with pytest.raises(ValidationFailed, match='Project ids may not be more than 256'):
        validator.queue_identification('q', 'p' * 257)


@pytest.mark.parametrize(
    'value',
    [
        '3b9e4a8c-6c4f-4a41-9b9c-2f0d5c1e7a11',
        '3b9e4a8c6c4f4a419b9c2f0d5c1e7a11',
        '3B9E4A8C6C4F4A419B9C2F0D5C1E7A11',
        '{3b9e4a8c-6c4f-4a41-9b9c-2f0d5c1e7a11}',
        'urn:uuid:3b9e4a8c-6c4f-4a41-9b9c-2f0d5c1e7a11',
    ],
)
def test_strict_client_ids_are_canonicalised(validator: Validator, value: str) -> None:
    assert validator.client_id(value) == '3b9e4a8c-6c4f-4a41-9b9c-2f0d5c1e7a11'


@pytest.mark.parametrize('value', ['', 'not-a-uuid', '1234', 'g' * 32])
def test_strict_mode_refuses_non_uuid_client_ids(
    validator: Validator, value: str
) -> None:
    with pytest.raises(ValidationFailed, match='Malformed hexadecimal UUID.'):
        validator.client_id(value)


def test_off_mode_checks_only_the_length() -> None:
    validator = Validator(Limits(client_id_uuid_safe='off'))
    assert validator.client_id('my-worker-1') == 'my-worker-1'
    assert validator.client_id('x' * 36) == 'x' * 36
    for bad in ('short', 'x' * 37, ''):
        with pytest.raises(
            ValidationFailed,
            match='Length of client id must be at least 10 and no greater than 36.',
        ):
            validator.client_id(bad)


def test_queue_listing_limit_bounds(validator: Validator) -> None:
    validator.queue_listing(None)
    validator.queue_listing(1)
    validator.queue_listing(20)
    for bad in (0, -1, 21):
        with pytest.raises(
            ValidationFailed, match='Limit must be at least 1 and no greater than 20.'
        ):
            validator.queue_listing(bad)


def test_message_subscription_listing_and_claim_limit_bounds(
    validator: Validator,
) -> None:
    text = 'Limit must be at least 1 and may not be greater than 20.'
    for check in (
        validator.message_listing,
        validator.claim_limit,
        validator.subscription_listing,
    ):
        check(None)
        check(20)
        with pytest.raises(ValidationFailed, match=text):
            check(21)
        with pytest.raises(ValidationFailed, match=text):
            check(0)


def test_message_deletion_needs_exactly_one_of_ids_and_pop(
    validator: Validator,
) -> None:
    validator.message_deletion(['a'], None)
    validator.message_deletion(None, 3)
    with pytest.raises(ValidationFailed, match='pop and id params cannot be present'):
        validator.message_deletion(['a'], 1)
    with pytest.raises(ValidationFailed, match='either "ids" or "pop" parameter'):
        validator.message_deletion(None, None)
    with pytest.raises(ValidationFailed, match='at least 1 and not greater than 20'):
        validator.message_deletion([], None)
    with pytest.raises(ValidationFailed, match='at least 1 and not greater than 20'):
        validator.message_deletion(['x'] * 21, None)
    with pytest.raises(ValidationFailed, match='Pop value must be at least 1'):
        validator.message_deletion(None, 0)
    with pytest.raises(ValidationFailed, match='Pop value must be at least 1'):
        validator.message_deletion(None, 21)


def test_queue_defaults_follow_the_limits() -> None:
    validator = Validator(Limits(default_message_ttl=120, max_messages_post_size=1000))
    assert validator.queue_defaults() == {
        '_max_messages_post_size': 1000,
        '_default_message_ttl': 120,
        '_default_message_delay': 0,
        '_dead_letter_queue': None,
        '_dead_letter_queue_messages_ttl': None,
        '_max_claim_count': None,
        '_enable_encrypt_messages': False,
    }


def test_with_defaults_replaces_missing_and_falsy_reserved_values(
    validator: Validator,
) -> None:
    merged = validator.with_defaults(
        {'_default_message_ttl': 0, '_max_claim_count': 3, 'colour': 'red'}
    )
    assert merged['_default_message_ttl'] == 3600
    assert merged['_max_claim_count'] == 3
    assert merged['colour'] == 'red'
    assert merged['_dead_letter_queue'] is None


@pytest.mark.parametrize(
    'metadata',
    [
        {},
        {'description': 'anything', 'nested': {'x': [1, 2]}},
        {'_max_messages_post_size': 1, '_default_message_ttl': 60},
        {'_default_message_delay': 0, '_dead_letter_queue_messages_ttl': 1209600},
        {'_dead_letter_queue': 'dlq.1', '_max_claim_count': 5},
        {'_dead_letter_queue': None, '_dead_letter_queue_messages_ttl': None},
        {'_enable_encrypt_messages': False},
    ],
)
def test_valid_queue_metadata_passes(validator: Validator, metadata: dict) -> None:
    validator.queue_metadata(metadata)


@pytest.mark.parametrize(
    ('metadata', 'text'),
    [
        ({'_max_messages_post_size': 0}, '_max_messages_post_size can not exceed'),
        ({'_max_messages_post_size': 262145}, 'can not exceed 262144'),
        ({'_max_messages_post_size': '10'}, '_max_messages_post_size must be integer'),
        ({'_default_message_ttl': 59}, '_default_message_ttl can not exceed 1209600'),
        ({'_default_message_ttl': 1.5}, '_default_message_ttl must be integer.'),
        ({'_default_message_ttl': True}, '_default_message_ttl must be integer.'),
        ({'_default_message_ttl': ''}, '_default_message_ttl must be integer.'),
        ({'_default_message_delay': 901}, 'The TTL can not exceed 900 seconds'),
        ({'_default_message_delay': -1}, 'must be at least 0 seconds long'),
        ({'_dead_letter_queue_messages_ttl': 10}, 'The TTL for a message may not'),
        ({'_max_claim_count': 'many'}, '_max_claim_count must be integer.'),
        ({'_dead_letter_queue': 7}, '_dead_letter_queue must be a valid queue name.'),
        ({'_dead_letter_queue': 'a b'}, '_dead_letter_queue must be a valid queue'),
        ({'_enable_encrypt_messages': 'yes'}, '_enable_encrypt_messages must be'),
        ({'_enable_encrypt_messages': True}, 'encryption is not supported'),
    ],
)
def test_invalid_reserved_metadata_fails(
    validator: Validator, metadata: dict, text: str
) -> None:
    with pytest.raises(ValidationFailed, match=text):
        validator.queue_metadata(metadata)


def test_queue_metadata_can_raise_a_body_error(validator: Validator) -> None:
    with pytest.raises(InvalidBody):
        validator.queue_metadata({'_default_message_ttl': 5}, error=InvalidBody)


def test_post_size_limit_is_the_smaller_of_queue_and_config(
    validator: Validator,
) -> None:
    assert settings({}).size_limit == 262144
    assert settings({'_max_messages_post_size': 100}).size_limit == 100
    assert settings({'_max_messages_post_size': 10**9}).size_limit == 262144
    assert settings({'_max_messages_post_size': 'x'}).size_limit == 262144


def test_messages_take_ttl_from_message_then_queue_then_config(
    validator: Validator,
) -> None:
    document = {'messages': [{'body': 1}, {'body': {'a': None}, 'ttl': 90}]}
    assert validator.messages(document, settings({})) == [
        NewMessage(body=1, ttl=3600, delay=0),
        NewMessage(body={'a': None}, ttl=90, delay=0),
    ]
    queue = {'_default_message_ttl': 120}
    assert validator.messages(document, settings(queue))[0].ttl == 120


def test_messages_accept_a_null_body_and_drop_unknown_fields(
    validator: Validator,
) -> None:
    result = validator.messages(
        {'messages': [{'body': None, 'extra': 1}]}, settings({})
    )
    assert result == [NewMessage(body=None, ttl=3600, delay=0)]


def test_delay_is_dropped_unless_the_queue_is_a_delay_queue(
    validator: Validator,
) -> None:
    document = {'messages': [{'body': 1, 'delay': 'ignored'}]}
    not_delayed = settings({'_default_message_delay': 0})
    assert validator.messages(document, not_delayed)[0].delay == 0
    delay_queue = settings({'_default_message_delay': 30})
    assert validator.messages({'messages': [{'body': 1}]}, delay_queue)[0].delay == 30
    explicit = {'messages': [{'body': 1, 'delay': 0}]}
    assert validator.messages(explicit, delay_queue)[0].delay == 0
    too_long = {'messages': [{'body': 1, 'delay': 901}]}
    with pytest.raises(ValidationFailed, match='The Delay for a message may not'):
        validator.messages(too_long, delay_queue)
    with pytest.raises(InvalidBody, match='"delay" field must be a int'):
        validator.messages(document, delay_queue)


@pytest.mark.parametrize(
    ('document', 'error', 'text'),
    [
        ({}, ValidationFailed, 'No messages were found in the request body.'),
        ([{'body': 1}], ValidationFailed, 'No messages were found'),
        ({'messages': {'body': 1}}, InvalidBody, 'Document type not supported.'),
        ({'messages': []}, ValidationFailed, 'No messages to enqueue.'),
        ({'messages': [1]}, InvalidBody, 'Document type not supported.'),
        ({'messages': [{'ttl': 60}]}, InvalidBody, 'Missing "body" field.'),
        ({'messages': [{'body': 1, 'ttl': '60'}]}, InvalidBody, '"ttl" field must'),
        ({'messages': [{'body': 1, 'ttl': True}]}, InvalidBody, '"ttl" field must'),
        ({'messages': [{'body': 1, 'ttl': None}]}, InvalidBody, '"ttl" field must'),
        ({'messages': [{'body': 1, 'ttl': 60.5}]}, InvalidBody, '"ttl" field must'),
        ({'messages': [{'body': 1, 'ttl': 59}]}, ValidationFailed, 'at least 60'),
        ({'messages': [{'body': 1, 'ttl': 1209601}]}, ValidationFailed, '1209600'),
    ],
)
def test_bad_message_documents_fail(
    validator: Validator, document: object, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        validator.messages(document, settings({}))


def test_claim_options_default_missing_and_null_values(
    validator: Validator,
) -> None:
    assert validator.claim_options(None) == (300, 60)
    assert validator.claim_options({}) == (300, 60)
    assert validator.claim_options({'ttl': None, 'grace': None}) == (300, 60)
    assert validator.claim_options({'ttl': 100, 'grace': 70, 'x': 1}) == (100, 70)


@pytest.mark.parametrize(
    ('document', 'error', 'text'),
    [
        ([], InvalidBody, 'Document type not supported.'),
        ({'ttl': '100'}, InvalidBody, 'The value of the "ttl" field must be a int.'),
        ({'grace': False}, InvalidBody, '"grace" field must be a int'),
        ({'ttl': 59}, ValidationFailed, 'The TTL for a claim may not exceed 43200'),
        ({'ttl': 43201}, ValidationFailed, 'The TTL for a claim'),
        ({'grace': 59}, ValidationFailed, 'The grace for a claim may not exceed'),
        ({'grace': 2**62}, ValidationFailed, 'The grace for a claim'),
    ],
)
def test_bad_claim_options_fail(
    validator: Validator, document: object, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        validator.claim_options(document)


def test_purge_resources(validator: Validator) -> None:
    assert validator.purge_resources(None) == {'messages', 'subscriptions'}
    assert validator.purge_resources({'resource_types': ['messages']}) == {'messages'}
    with pytest.raises(ValidationFailed, match='must contain key "resource_types"'):
        validator.purge_resources({})
    for bad in (['queues'], 'messages', [1], None):
        with pytest.raises(ValidationFailed, match='must be a sub set of'):
            validator.purge_resources({'resource_types': bad})


def test_queue_patch_parses_operations(validator: Validator) -> None:
    changes = [
        {'op': 'add', 'path': '/metadata/a', 'value': 1},
        {'op': 'replace', 'path': '/METADATA/b~1c', 'value': None},
        {'op': 'remove', 'path': '/metadata/d~0e'},
    ]
    assert json_patch.parse(changes) == [
        json_patch.PatchOperation('add', 'a', 1),
        json_patch.PatchOperation('replace', 'b/c', None),
        json_patch.PatchOperation('remove', 'd~e'),
    ]


@pytest.mark.parametrize(
    ('changes', 'text'),
    [
        ({'op': 'add'}, 'Document type not supported.'),
        (['add'], 'Operations must be JSON objects.'),
        ([{'path': '/metadata/a'}], 'Unable to find `op` in JSON Schema change'),
        ([{'op': 'move', 'path': '/metadata/a'}], 'Invalid operation: `move`'),
        ([{'op': 'add', 'value': 1}], "Unable to find 'path'"),
        ([{'op': 'add', 'path': '/metadata/a'}], 'requires a member named "value"'),
        ([{'op': 'add', 'path': '/meta/a', 'value': 1}], 'root of path must be'),
        ([{'op': 'add', 'path': '/metadata', 'value': 1}], 'Invalid JSON pointer'),
        ([{'op': 'remove', 'path': '/metadata/a/b'}], 'Invalid JSON pointer'),
        ([{'op': 'remove', 'path': 5}], 'must be a string'),
    ],
)
def test_bad_queue_patches_fail(
    validator: Validator, changes: object, text: str
) -> None:
    with pytest.raises(InvalidBody, match=text):
        json_patch.parse(changes)


def test_remove_does_not_check_the_pointer_root(validator: Validator) -> None:
    assert json_patch.parse([{'op': 'remove', 'path': '/anything/k'}]) == [
        json_patch.PatchOperation('remove', 'k')
    ]


@pytest.mark.parametrize(
    ('pointer', 'text'),
    [
        ('metadata/a', 'does not start with "/"'),
        ('/metadata//a', 'contains adjacent "/"'),
        ('/metadata/ /a', 'contains adjacent "/"'),
        ('/metadata/a/', 'end with "/"'),
        ('/metadata/a~2', 'not part of a recognized escape sequence'),
        ('/metadata/a~', 'not part of a recognized escape sequence'),
    ],
)
def test_malformed_pointers_fail(pointer: str, text: str) -> None:
    with pytest.raises(InvalidBody, match=text):
        json_patch.decode_pointer(pointer)


def test_pointer_segments_are_unescaped() -> None:
    assert json_patch.decode_pointer('/a~01/b~10') == ['a~1', 'b/0']
