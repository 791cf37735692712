"""The authentication layers' small decisions, without HTTP."""

from __future__ import annotations

import logging

import pytest

from zaqar import conf as zaqar_conf
from zaqar.transport.wsgi import auth


@pytest.mark.parametrize(
    ('bind', 'level'),
    [
        ('127.0.0.1:8888', logging.INFO),
        ('127.0.0.5:8888', logging.INFO),
        ('[::1]:8888', logging.INFO),
        ('localhost:8888', logging.INFO),
        ('0.0.0.0:8888', logging.WARNING),
        ('[::]:8888', logging.WARNING),
        ('192.0.2.10:8888', logging.WARNING),
        ('zaqar.example.com:8888', logging.WARNING),
    ],
)
def test_noauth_is_a_warning_unless_on_loopback(bind: str, level: int) -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    exposure = auth.noauth_exposure(conf, bind)
    assert exposure is not None
    assert exposure[0] == level
    if level == logging.WARNING:
        assert 'anyone who can reach it acts as any project' in exposure[1]


def test_with_authentication_there_is_nothing_to_say() -> None:
    conf = zaqar_conf.new_conf([], default_config_files=[])
    conf.set_override('auth_strategy', 'keystone')
    assert auth.noauth_exposure(conf, '0.0.0.0:8888') is None


@pytest.mark.parametrize(
    ('environ', 'key'),
    [
        ({'HTTP_AUTHORIZATION': 'Bearer abc'}, 'abc'),
        ({'HTTP_AUTHORIZATION': 'bearer   abc  '}, 'abc'),
        ({'HTTP_X_AUTH_TOKEN': 'abc'}, 'abc'),
        ({'HTTP_X_AUTH_TOKEN': 'abc', 'HTTP_AUTHORIZATION': 'Bearer abc'}, 'abc'),
        ({'HTTP_X_AUTH_TOKEN': 'abc', 'HTTP_AUTHORIZATION': 'Bearer abd'}, ''),
        ({'HTTP_AUTHORIZATION': 'Basic abc'}, ''),
        ({'HTTP_AUTHORIZATION': 'Bearer'}, ''),
        ({}, ''),
    ],
)
def test_the_key_is_read_from_either_header(environ: dict[str, str], key: str) -> None:
    found, problem = auth._presented_key(environ)
    assert found == key
    assert bool(problem) == (not key)
