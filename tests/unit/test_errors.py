"""Unit tests of the error table (doc/http-api.md, "Errors")."""

from __future__ import annotations

import logging

import falcon
import falcon.testing
import pytest

from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import ValidationFailed
from zaqar.storage import errors as storage_errors
from zaqar.transport.wsgi import errors


class Raiser:
    """Raises whatever exception the test put in ``self.error``."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    @errors.failure_description('Widget could not be frobbed.')
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        assert self.error is not None
        raise self.error

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        assert self.error is not None
        raise self.error


@pytest.fixture
def raiser() -> Raiser:
    return Raiser()


@pytest.fixture
def client(raiser: Raiser) -> falcon.testing.TestClient:
    app = falcon.App()
    errors.register(app)
    app.add_route('/thing', raiser)
    return falcon.testing.TestClient(app)


def call(
    client: falcon.testing.TestClient, raiser: Raiser, error: BaseException
) -> falcon.testing.Result:
    raiser.error = error
    return client.simulate_get('/thing')


@pytest.mark.parametrize(
    ('error', 'status', 'body'),
    [
        (
            ValidationFailed('Limit is wrong.'),
            400,
            {'title': 'Invalid API request', 'description': 'Limit is wrong.'},
        ),
        (
            InvalidBody('Missing "body" field.'),
            400,
            {'title': 'Invalid request body', 'description': 'Missing "body" field.'},
        ),
        (
            storage_errors.QueueDoesNotExist('q', 'p'),
            404,
            {
                'title': 'Not found',
                'description': 'Queue q does not exist for project p',
            },
        ),
        (
            storage_errors.MessageDoesNotExist('m', 'q', 'p'),
            404,
            {
                'title': 'Not found',
                'description': 'Message m does not exist in queue q for project p',
            },
        ),
        (
            storage_errors.ClaimDoesNotExist('c', 'q', 'p'),
            404,
            {
                'title': 'Not found',
                'description': 'Claim c does not exist in queue q for project p',
            },
        ),
        (
            storage_errors.MessageIsClaimed('m'),
            403,
            {
                'title': 'Unable to delete',
                'description': 'This message is claimed; it cannot be deleted '
                'without a valid claim ID.',
            },
        ),
        (
            storage_errors.MessageNotClaimed('m'),
            400,
            {
                'title': 'Unable to delete',
                'description': 'A claim was specified, but the message is not '
                'currently claimed.',
            },
        ),
        (
            storage_errors.InvalidClaimId('zzz'),
            400,
            {
                'title': 'Unable to delete',
                'description': 'The specified claim does not exist or has expired.',
            },
        ),
        (
            storage_errors.OperationRefused('Quota of 10 queues reached.'),
            403,
            {'title': 'Not authorized', 'description': 'Quota of 10 queues reached.'},
        ),
        (
            storage_errors.MetadataConflict('q', 'p'),
            409,
            {
                'title': 'Resource conflict',
                'description': 'Metadata of queue q in project p changed '
                'concurrently; please retry the request.',
            },
        ),
        (
            falcon.MediaMalformedError('application/json'),
            400,
            {
                'title': 'Invalid request body',
                'description': 'Request body could not be parsed.',
            },
        ),
    ],
)
def test_errors_map_to_zaqar_titles(
    client: falcon.testing.TestClient,
    raiser: Raiser,
    error: Exception,
    status: int,
    body: dict,
) -> None:
    result = call(client, raiser, error)
    assert result.status_code == status
    assert result.json == body
    assert result.headers['content-type'] == 'application/json'


@pytest.mark.parametrize(
    'error',
    [
        storage_errors.StorageUnavailable('database is locked'),
        storage_errors.StorageError('odd'),
        storage_errors.NotPermitted('generic'),
    ],
)
def test_storage_failures_are_503_with_the_responder_description(
    client: falcon.testing.TestClient, raiser: Raiser, error: Exception
) -> None:
    result = call(client, raiser, error)
    assert result.status_code == 503
    assert result.json == {
        'title': 'Service temporarily unavailable',
        'description': 'Widget could not be frobbed. Please try again in a few '
        'seconds.',
    }


def test_storage_failure_without_declared_description_uses_a_generic_one(
    client: falcon.testing.TestClient, raiser: Raiser
) -> None:
    raiser.error = storage_errors.StorageUnavailable('down')
    result = client.simulate_post('/thing')
    assert result.status_code == 503
    assert result.json['description'] == (
        'The request could not be completed. Please try again in a few seconds.'
    )


def test_unexpected_errors_are_500_logged_and_never_leak_details(
    client: falcon.testing.TestClient,
    raiser: Raiser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger=errors.__name__):
        result = call(client, raiser, KeyError('secret-internal-detail'))
    assert result.status_code == 500
    assert result.json['title'] == 'Internal server error'
    assert 'secret-internal-detail' not in result.text
    assert 'Traceback' not in result.text
    reference = result.json['description'].split('ref ')[1].rstrip(').')
    [record] = caplog.records
    assert reference in record.getMessage()
    assert record.exc_info is not None


def test_falcon_http_errors_keep_their_own_handling(
    client: falcon.testing.TestClient, raiser: Raiser
) -> None:
    result = call(client, raiser, falcon.HTTPConflict(title='Resource conflict'))
    assert result.status_code == 409
    assert result.json == {'title': 'Resource conflict'}


def test_errors_are_json_even_when_the_client_prefers_xml(
    client: falcon.testing.TestClient, raiser: Raiser
) -> None:
    raiser.error = ValidationFailed('nope')
    result = client.simulate_get('/thing', headers={'Accept': 'application/xml'})
    assert result.headers['content-type'] == 'application/json'
    assert result.json['title'] == 'Invalid API request'


def test_helpers_build_the_documented_errors() -> None:
    forbidden = errors.forbidden()
    assert forbidden.status == falcon.HTTP_403
    assert forbidden.title == 'Not authorized'
    assert forbidden.description == 'You are not authorized to complete this action.'
    assert errors.not_found('x').title == 'Not found'
