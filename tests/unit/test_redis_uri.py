"""The Redis driver's ``uri`` option: accepted forms and refused ones."""

from __future__ import annotations

import pytest

from zaqar.storage.redis.uri import InvalidRedisURI
from zaqar.storage.redis.uri import RedisLocation
from zaqar.storage.redis.uri import parse


@pytest.mark.parametrize(
    ('uri', 'expected'),
    [
        ('redis://localhost', RedisLocation(hosts=(('localhost', 6379),))),
        ('redis://h:7000/3', RedisLocation(hosts=(('h', 7000),), db=3)),
        ('redis://h/', RedisLocation(hosts=(('h', 6379),))),
        (
            'redis://:p%40ss@h:1/2',
            RedisLocation(hosts=(('h', 1),), db=2, password='p@ss'),
        ),
        (
            'redis://user:pw@h',
            RedisLocation(hosts=(('h', 6379),), username='user', password='pw'),
        ),
        # Upstream Zaqar accepted a bare password before '@'.
        ('redis://pw@h', RedisLocation(hosts=(('h', 6379),), password='pw')),
        ('redis://[::1]:6380/1', RedisLocation(hosts=(('::1', 6380),), db=1)),
        ('rediss://h:6380', RedisLocation(hosts=(('h', 6380),), tls=True)),
        (
            'redis://h?dbid=5&socket_timeout=0.5',
            RedisLocation(hosts=(('h', 6379),), db=5, socket_timeout=0.5),
        ),
        ('unix:///run/redis.sock', RedisLocation(socket_path='/run/redis.sock')),
        (
            'unix:///run/redis.sock?db=2&password=s%26cret',
            RedisLocation(socket_path='/run/redis.sock', db=2, password='s&cret'),
        ),
        (
            'redis:///run/redis.sock?dbid=1',
            RedisLocation(socket_path='/run/redis.sock', db=1),
        ),
        (
            'redis+sentinel://:pw@s1,s2:26380/mymaster/4',
            RedisLocation(
                hosts=(('s1', 26379), ('s2', 26380)),
                service='mymaster',
                db=4,
                password='pw',
            ),
        ),
        (
            'redis+sentinel://s1/mymaster',
            RedisLocation(hosts=(('s1', 26379),), service='mymaster'),
        ),
        (
            'redis://s1:26379,s2?master=mymaster&dbid=2',
            RedisLocation(
                hosts=(('s1', 26379), ('s2', 26379)), service='mymaster', db=2
            ),
        ),
        (
            'redis://s1?master=mymaster',
            RedisLocation(hosts=(('s1', 26379),), service='mymaster'),
        ),
    ],
)
def test_accepted_forms(uri: str, expected: RedisLocation) -> None:
    assert parse(uri) == expected


@pytest.mark.parametrize(
    ('uri', 'reason'),
    [
        ('', 'unknown scheme'),
        ('http://h', 'unknown scheme'),
        ('redis://', 'host name'),
        ('redis://h:port', 'port'),
        ('redis://h:0', 'port'),
        ('redis://h:70000', 'port'),
        ('redis://h/db', 'database'),
        ('redis://h/1/2', 'database'),
        ('redis://h/1?dbid=2', 'two different database'),
        ('redis://h?db=1', 'unknown query parameter'),
        ('redis://h?socket_timeout=0', 'socket_timeout'),
        ('redis://h?socket_timeout=soon', 'socket_timeout'),
        ('redis://h?dbid=1&dbid=1', 'twice'),
        ('redis://::1', 'brackets'),
        ('redis://[::1', 'cannot be parsed'),
        ('redis://h1,h2', 'master'),
        ('rediss://h1?master=m', 'TLS'),
        ('rediss:///run/redis.sock', 'host'),
        ('unix://host/run/redis.sock', 'three slashes'),
        ('unix://', 'path'),
        ('unix:///run/redis.sock?dbid=x', 'database'),
        ('redis+sentinel://s1', 'service name'),
        ('redis+sentinel://s1/m/1/2', 'service name'),
        ('redis+sentinel:///m', 'host name'),
        ('redis+sentinel://s1,:1/m', 'host name'),
    ],
)
def test_refused_forms_say_why(uri: str, reason: str) -> None:
    with pytest.raises(InvalidRedisURI, match=reason):
        parse(uri)


def test_errors_and_descriptions_never_show_the_password() -> None:
    with pytest.raises(InvalidRedisURI) as raised:
        parse('redis://:hunter2@h:bad/0')

    assert 'hunter2' not in str(raised.value)
    for uri in [
        'redis://:hunter2@h/1',
        'rediss://u:hunter2@h:7/1',
        'unix:///s?password=hunter2',
        'redis+sentinel://:hunter2@s1,s2/m/3',
    ]:
        location = parse(uri)
        assert location.password == 'hunter2'
        assert 'hunter2' not in location.describe()
        assert 'hunter2' not in repr(location)


@pytest.mark.parametrize(
    'uri',
    [
        # '#' starts a fragment: the host would be 'admin', the port 'Pa55'.
        'redis://admin:Pa55#Qz9@h/0',
        'unix:///run/redis.sock?password=Pa55#Qz9',
        # '/' ends the network location: the rest is taken for the database.
        'redis://:Pa55/Qz9@h/0',
        'redis://Pa55:Qz9/1@h/0',
        # '?' starts the query: the rest is taken for parameters.
        'redis://:Pa55?Qz9@h/0',
        'redis://:Pa55?db=Qz9@h/0',
        'redis://:Pa55?dbid=1&Qz9=1@h/0',
        'redis://:Pa55?dbid=Qz9@h/0',
        # Brackets are for IPv6 hosts; NFKC turns U+2100 into 'a/c'.
        'redis://:Pa55[Qz9@h/0',
        'redis://:Pa55\u2100Qz9@h/0',
    ],
)
def test_a_password_that_throws_the_parser_off_never_shows_in_the_error(
    uri: str,
) -> None:
    with pytest.raises(InvalidRedisURI) as raised:
        parse(uri)

    assert 'Pa55' not in str(raised.value)
    assert 'Qz9' not in str(raised.value)
    assert 'percent-encode' in str(raised.value)


def test_a_percent_encoded_password_may_hold_any_character() -> None:
    location = parse('redis://:Pa55%23%2F%3F%5B%40%3A%25Qz9@h/0')

    assert location.password == 'Pa55#/?[@:%Qz9'


def test_descriptions_name_the_server() -> None:
    assert parse('redis://h').describe() == 'redis://h:6379/0'
    assert parse('rediss://[::1]:7/2').describe() == 'rediss://[::1]:7/2'
    assert parse('unix:///s?db=1').describe() == 'unix:///s?db=1'
    assert (
        parse('redis://a,b:1?master=m').describe() == 'redis+sentinel://a:26379,b:1/m/0'
    )
