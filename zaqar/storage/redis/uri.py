"""The ``uri`` option of the Redis driver: where the server is, how to log in.

Accepted forms (see ``zaqar/conf/redis.py``)::

    redis://[[user]:password@]host[:port][/db]
    rediss://...                              (the same over TLS)
    unix:///path/to/redis.sock[?db=N&password=...]
    redis+sentinel://[:password@]host[:port][,host[:port]...]/service[/db]

and, for configurations written for upstream Zaqar, ``redis:///path/sock``
(a socket), ``?dbid=N`` and ``?socket_timeout=S`` in any form, and
``redis://host:port[,host:port...]?master=service`` (Sentinel). The password
is always that of the Redis server, never of the sentinels.

Error messages never repeat the URI, nor any part of it that could be (part
of) a password: a password with a reserved character such as ``#`` or ``/``
throws the parser off, and its text may end up where a host, port, database
or query is expected. Such a password must be percent-encoded (``#`` as
``%23``); the messages about those parts say so.
"""

from __future__ import annotations

import dataclasses
import urllib.parse

REDIS_PORT = 6379
SENTINEL_PORT = 26379

_COMMON_QUERY = frozenset({'dbid', 'socket_timeout'})
# Query parameter names some form accepts: only these are ever quoted.
_KNOWN_QUERY = _COMMON_QUERY | {'db', 'password', 'master'}

# Appended to errors about parts a misparsed password could end up in.
PASSWORD_HINT = (
    'if the password holds any of / ? # % [ ] @ or :, percent-encode them '
    '(# as %23, for example)'
)


class InvalidRedisURI(ValueError):
    """The URI cannot be understood; the text says why (without secrets)."""


@dataclasses.dataclass(frozen=True)
class RedisLocation:
    """A parsed ``uri``: exactly one of a server, a socket or sentinels.

    Attributes:
        hosts: The server's (host, port), or the sentinels' when
            ``service`` is set.
        socket_path: The server's unix socket.
        service: The name the sentinels monitor the primary under.
        db: Database number.
        username: ACL user name, if any.
        password: The server's password, if any.
        tls: Connect over TLS (``rediss://``).
        socket_timeout: From ``?socket_timeout=``; overrides the option.
    """

    hosts: tuple[tuple[str, int], ...] = ()
    socket_path: str | None = None
    service: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    tls: bool = False
    socket_timeout: float | None = None

    def describe(self) -> str:
        """Return the location as a URI without credentials, for logs."""
        if self.socket_path is not None:
            return f'unix://{self.socket_path}?db={self.db}'
        hosts = ','.join(_format_host(host, port) for host, port in self.hosts)
        if self.service is not None:
            return f'redis+sentinel://{hosts}/{self.service}/{self.db}'
        scheme = 'rediss' if self.tls else 'redis'
        return f'{scheme}://{hosts}/{self.db}'


def parse(uri: str) -> RedisLocation:
    """Parse the ``uri`` option.

    Raises:
        InvalidRedisURI: The URI has no form listed in the module docstring,
            or a part of it is malformed.
    """
    try:
        parts = urllib.parse.urlsplit(uri.strip())
    except ValueError:
        # NOTE: the parser's message may quote the network location.
        raise InvalidRedisURI(f'it cannot be parsed; {PASSWORD_HINT}') from None
    if '#' in uri:
        # NOTE: '#' starts a fragment, which no form has: it is almost
        # certainly part of a password, cut short here.
        raise InvalidRedisURI(f'it contains "#"; {PASSWORD_HINT}')
    scheme = parts.scheme.lower()
    userinfo, _, hostinfo = parts.netloc.rpartition('@')
    username, password = _credentials(userinfo)
    query = _query(parts.query)
    if scheme in ('redis', 'rediss'):
        return _parse_redis(scheme, hostinfo, parts.path, query, username, password)
    if scheme == 'unix':
        return _parse_unix(hostinfo, parts.path, query, username, password)
    if scheme == 'redis+sentinel':
        return _parse_sentinel(hostinfo, parts.path, query, username, password)
    raise InvalidRedisURI(
        f'unknown scheme {parts.scheme!r}; use redis, rediss, unix or redis+sentinel'
    )


def _parse_redis(
    scheme: str,
    hostinfo: str,
    path: str,
    query: dict[str, str],
    username: str | None,
    password: str | None,
) -> RedisLocation:
    tls = scheme == 'rediss'
    if 'master' in query or ',' in hostinfo:
        # Upstream Zaqar's Sentinel form.
        if tls:
            raise InvalidRedisURI('TLS through Sentinel is not supported')
        if not query.get('master'):
            raise InvalidRedisURI(
                'several hosts are given but no ?master=<service name>; '
                'for Sentinel use redis+sentinel://host[:port],.../service; '
                f'{PASSWORD_HINT}'
            )
        _check_query(query, _COMMON_QUERY | {'master'})
        return RedisLocation(
            hosts=_hosts(hostinfo, SENTINEL_PORT),
            service=query['master'],
            db=_db(_path_db(path), query),
            username=username,
            password=password,
            socket_timeout=_socket_timeout(query),
        )
    if not hostinfo:
        if path in ('', '/'):
            raise InvalidRedisURI('the host name is missing')
        # Upstream Zaqar's socket form, redis:///path/to/redis.sock.
        if tls:
            raise InvalidRedisURI('rediss:// needs a host name')
        return _parse_unix(hostinfo, path, query, username, password)
    _check_query(query, _COMMON_QUERY)
    return RedisLocation(
        hosts=_hosts(hostinfo, REDIS_PORT),
        db=_db(_path_db(path), query),
        username=username,
        password=password,
        tls=tls,
        socket_timeout=_socket_timeout(query),
    )


def _parse_unix(
    hostinfo: str,
    path: str,
    query: dict[str, str],
    username: str | None,
    password: str | None,
) -> RedisLocation:
    if hostinfo:
        raise InvalidRedisURI(
            'a socket URI has no host: unix:///path/to/redis.sock (three slashes)'
        )
    if not path or path.endswith('/'):
        raise InvalidRedisURI('the path of the socket is missing')
    _check_query(query, _COMMON_QUERY | {'db', 'password'})
    if 'password' in query:
        password = query['password'] or None
    return RedisLocation(
        socket_path=urllib.parse.unquote(path),
        db=_db(query.get('db'), query),
        username=username,
        password=password,
        socket_timeout=_socket_timeout(query),
    )


def _parse_sentinel(
    hostinfo: str,
    path: str,
    query: dict[str, str],
    username: str | None,
    password: str | None,
) -> RedisLocation:
    _check_query(query, _COMMON_QUERY)
    segments = path.strip('/').split('/') if path.strip('/') else []
    if not segments or len(segments) > 2 or not segments[0]:
        raise InvalidRedisURI(
            'the service name is missing: redis+sentinel://host[:port],.../'
            'service_name[/db]'
        )
    return RedisLocation(
        hosts=_hosts(hostinfo, SENTINEL_PORT),
        service=urllib.parse.unquote(segments[0]),
        db=_db(segments[1] if len(segments) == 2 else None, query),
        username=username,
        password=password,
        socket_timeout=_socket_timeout(query),
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    """Split ``[user]:password``; a bare word is a password (as upstream)."""
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(':')
    if not colon:
        user, password = '', user
    return (
        urllib.parse.unquote(user) or None,
        urllib.parse.unquote(password) or None,
    )


def _query(text: str) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text)
        )
    except ValueError:
        raise InvalidRedisURI(
            f'its query string is malformed; {PASSWORD_HINT}'
        ) from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query:
            raise InvalidRedisURI(
                f'query parameter {_query_name(name)} is given twice; {PASSWORD_HINT}'
            )
        query[name] = value
    return query


def _check_query(query: dict[str, str], accepted: frozenset[str]) -> None:
    unknown = sorted(set(query) - accepted)
    if unknown:
        raise InvalidRedisURI(
            f'unknown query parameter {_query_name(unknown[0])} '
            f'(this form accepts: {", ".join(sorted(accepted))}); {PASSWORD_HINT}'
        )


def _query_name(name: str) -> str:
    """Quote a query parameter's name only if it is one some form accepts."""
    return repr(name) if name in _KNOWN_QUERY else '(name not shown)'


def _hosts(hostinfo: str, default_port: int) -> tuple[tuple[str, int], ...]:
    if not hostinfo:
        raise InvalidRedisURI('the host name is missing')
    return tuple(_host_port(item, default_port) for item in hostinfo.split(','))


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    """Parse ``host[:port]``, where an IPv6 host is written in brackets."""
    if item.startswith('['):
        host, bracket, rest = item[1:].partition(']')
        if not bracket or (rest and not rest.startswith(':')):
            raise InvalidRedisURI(f'a host is malformed; {PASSWORD_HINT}')
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_or_empty = item.partition(':')
        port_text = port_text_or_empty if colon else None
        if ':' in port_text_or_empty:
            raise InvalidRedisURI(
                'a host is malformed (write IPv6 addresses in brackets); '
                f'{PASSWORD_HINT}'
            )
    if not host:
        raise InvalidRedisURI(f'a host name is missing; {PASSWORD_HINT}')
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidRedisURI(
            f'a port is not a number from 1 to 65535; {PASSWORD_HINT}'
        )
    return host, int(port_text)


def _path_db(path: str) -> str | None:
    """The ``/db`` part of a server URI; None when absent."""
    if path in ('', '/'):
        return None
    return path[1:]


def _db(from_path: str | None, query: dict[str, str]) -> int:
    """The database number, from the path (or ?db=) or upstream's ?dbid=."""
    given = [value for value in (from_path, query.get('dbid')) if value is not None]
    for value in given:
        if not value.isdigit() or not value.isascii():
            raise InvalidRedisURI(f'the database is not a number; {PASSWORD_HINT}')
    numbers = {int(value) for value in given}
    if len(numbers) > 1:
        raise InvalidRedisURI('two different database numbers are given')
    return numbers.pop() if numbers else 0


def _socket_timeout(query: dict[str, str]) -> float | None:
    if 'socket_timeout' not in query:
        return None
    try:
        timeout = float(query['socket_timeout'])
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise InvalidRedisURI('socket_timeout must be a number of seconds above 0')
    return timeout


def _format_host(host: str, port: int) -> str:
    return f'[{host}]:{port}' if ':' in host else f'{host}:{port}'
