"""Policy over HTTP: upstream's rules, their defaults, an operator's file.

See README.md, "Security", and zaqar/transport/policy.py.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import falcon.testing
import pytest

from zaqar import conf as zaqar_conf
from zaqar.common.limits import Limits
from zaqar.operations import Operations
from zaqar.operations.kinds import Kind
from zaqar.storage.base import DataDriver
from zaqar.transport import policy
from zaqar.transport.wsgi import hooks
from zaqar.transport.wsgi import routes
from zaqar.transport.wsgi.resource import Dependencies

from . import openapi_check
from .auth_helpers import AppFactory
from .auth_helpers import make_app_fixture  # noqa: F401
from .auth_helpers import sqlite_storage_fixture  # noqa: F401

JSON_PATCH = 'application/openstack-messaging-v2.0-json-patch'
FORBIDDEN = {
    'title': 'Not authorized',
    'description': 'You are not authorized to complete this action.',
}


def headers(project: str = 'project-a', roles: str | None = None) -> dict[str, str]:
    found = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': project}
    if roles is not None:
        found['X-Roles'] = roles
    return found


def client_with(
    make_app: AppFactory,
    tmp_path: Path,
    policy_text: str | None = None,
) -> falcon.testing.TestClient:
    sections: dict[str, dict[str, object]] = {'DEFAULT': {'admin_mode': True}}
    if policy_text is not None:
        path = tmp_path / 'policy.yaml'
        path.write_text(policy_text)
        sections['oslo_policy'] = {'policy_file': path}
    return falcon.testing.TestClient(make_app(sections))


def test_by_default_admin_only_routes_refuse_others(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    client = client_with(make_app, tmp_path)
    for roles in (None, 'member', 'administrator, reader'):
        result = client.simulate_get('/v2/health', headers=headers(roles=roles))
        assert result.status_code == 403
        assert result.json == FORBIDDEN
    result = client.simulate_get('/v2/health', headers=headers(roles='reader, ADMIN'))
    assert result.status_code == 200


def test_by_default_everything_else_is_open(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    client = client_with(make_app, tmp_path)
    calls = [
        ('PUT', '/v2/queues/q', None),
        ('GET', '/v2/queues', None),
        ('HEAD', '/v2/queues/q', None),
        ('PATCH', '/v2/queues/q', None),
        ('POST', '/v2/queues/q/messages', {'messages': [{'body': 1}]}),
        ('POST', '/v2/queues/q/claims', {}),
        ('GET', '/v2/queues/q/stats', None),
        ('POST', '/v2/queues/q/subscriptions', {'subscriber': 'http://127.0.0.1:9/'}),
        ('PUT', '/v2/topics/t', None),
        ('GET', '/v2/ping', None),
        ('HEAD', '/v2/ping', None),
        ('DELETE', '/v2/queues/q', None),
    ]
    for method, path, body in calls:
        if method == 'PATCH':
            result = client.simulate_patch(
                path,
                headers={**headers(), 'Content-Type': JSON_PATCH},
                body='[]',
            )
        else:
            result = client.simulate_request(method, path, headers=headers(), json=body)
        assert result.status_code < 400, (method, path, result.status_code, result.text)


def test_a_policy_file_can_deny_one_operation(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    client = client_with(make_app, tmp_path, '"queues:delete": "!"\n')
    assert client.simulate_put('/v2/queues/q', headers=headers()).status_code == 201
    result = client.simulate_delete('/v2/queues/q', headers=headers(roles='admin'))
    assert result.status_code == 403
    assert result.json == FORBIDDEN
    # The same operation on topics has a rule of its own.
    assert client.simulate_put('/v2/topics/t', headers=headers()).status_code == 201
    assert client.simulate_delete('/v2/topics/t', headers=headers()).status_code == 204


def test_a_policy_file_can_restrict_an_operation_by_role(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    client = client_with(
        make_app,
        tmp_path,
        '"messages:create": "role:producer or rule:context_is_admin"\n'
        '"messages:get_all": "rule:admin_or_owner"\n',
    )
    body = {'messages': [{'body': 'x'}]}
    for path in ('/v2/queues/q/messages', '/v2/topics/t/messages'):
        refused = client.simulate_post(
            path, headers=headers(roles='consumer'), json=body
        )
        assert refused.status_code == 403
        assert refused.json == FORBIDDEN
        for roles in ('Producer', 'admin'):
            result = client.simulate_post(path, headers=headers(roles=roles), json=body)
            assert result.status_code == 201
    listing = client.simulate_get('/v2/queues/q/messages', headers=headers())
    assert listing.status_code == 200


def test_an_edited_policy_file_applies_without_a_restart(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    client = client_with(make_app, tmp_path, '"queues:get_all": ""\n')
    assert client.simulate_get('/v2/queues', headers=headers()).status_code == 200
    (tmp_path / 'policy.yaml').write_text('"queues:get_all": "role:lister"\n')
    time.sleep(policy.RELOAD_INTERVAL + 0.1)
    assert client.simulate_get('/v2/queues', headers=headers()).status_code == 403
    result = client.simulate_get('/v2/queues', headers=headers(roles='lister'))
    assert result.status_code == 200


def test_a_missing_or_broken_policy_file_stops_the_app_from_being_built(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    with pytest.raises(zaqar_conf.InvalidOption, match='not found'):
        make_app({'oslo_policy': {'policy_file': tmp_path / 'absent.yaml'}})
    broken = tmp_path / 'broken.yaml'
    broken.write_text('"queues:get": "rule:no_such_rule"\n')
    with pytest.raises(zaqar_conf.InvalidOption, match=r'missing rules.*queues:get'):
        make_app({'oslo_policy': {'policy_file': broken}})
    broken.write_text('"queues:get": [\n')
    with pytest.raises(zaqar_conf.InvalidOption, match='could not be read'):
        make_app({'oslo_policy': {'policy_file': broken}})


def test_every_routed_responder_declares_a_rule(sqlite_storage: DataDriver) -> None:
    """Fail-closed: create_app refuses a responder without a rule."""
    ops = Operations.build(sqlite_storage, Limits())
    table = routes.build_routes(Dependencies(ops, admin_mode=True))
    assert hooks.undeclared_responders(table) == []

    class Bare:
        def on_get(self, req: object, resp: object) -> None:
            pass

    assert hooks.undeclared_responders([('/x', Bare())]) == ['GET /x (Bare)']


def test_rule_names_are_upstream_s() -> None:
    with pytest.raises(ValueError, match='no policy rule'):
        policy.enforce('queues:destroy')
    assert {
        'context_is_admin',
        'admin_or_owner',
        'queues:get_all',
        'queues:share',
        'messages:delete_all',
        'claims:update',
        'subscription:confirm',
        'topics:purge',
        'pools:update',
        'flavors:get',
        'health:get',
        'ping:get',
    } <= policy.RULE_NAMES


def test_the_description_lists_401_and_403_wherever_they_can_happen(
    make_app: AppFactory,
) -> None:
    """401 off the public routes; 403 wherever a policy rule applies."""
    description = openapi_check.v2()
    app = make_app({'DEFAULT': {'admin_mode': True}})
    for path in description.document['paths']:
        found = app._router.find(path)
        assert found is not None, path
        resource = found[0]
        public = bool(getattr(resource, 'public', False))
        for method, operation in description.operations(path).items():
            statuses = set(operation['responses'])
            assert public or '401' in statuses, (method, path)
            responder = getattr(resource, f'on_{method.lower()}')
            topic = getattr(resource, 'kind', None) is Kind.TOPIC
            if isinstance(policy.rule_of(responder, topic), str):
                assert '403' in statuses, (method, path)


def test_the_request_checks_come_before_the_policy(
    make_app: AppFactory,
    tmp_path: Path,
) -> None:
    """http-api.md, Request checks: the policy rule is the last check."""
    client = client_with(make_app, tmp_path, '"queues:get_all": "!"\n')
    result = client.simulate_get('/v2/queues', headers={'X-Project-ID': 'project-a'})
    assert result.status_code == 400
    assert client.simulate_get('/v2/queues', headers=headers()).status_code == 403
