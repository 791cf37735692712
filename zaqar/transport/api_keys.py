"""API keys: the ``auth_strategy = api_key`` credentials, from a key file.

The operator lists the accepted keys in ``[api_key] key_file`` (YAML or
JSON), each by the SHA-256 hash of the key with the project and roles it
acts as::

    keys:
      - hash: sha256:<64 hex digits>
        project: billing
        roles: [admin]
        name: ci            # optional; names the key in logs

Why SHA-256 and no salt or slow hash: the keys are 256-bit random values
(:func:`new_key`), not passwords; guessing one, or finding a key matching a
stolen hash, takes 2**256 tries whatever the hash costs, and a slow hash
would cost CPU on every request. Keys a person chose would need a slow,
salted hash; this module does not accept such keys by design (the file only
holds hashes, so the key tool is the way to make entries).

A presented key is hashed and compared with every entry in constant time
(:func:`hmac.compare_digest`), so the time an answer takes says nothing
about how close a guess came. Keys are never logged; entries are named in
logs by their ``name``.

The file is looked at again at most every :data:`RECHECK_INTERVAL` seconds
and read again when its modification time, size or inode changed, so keys
are added and revoked without a restart. A file that has become unreadable
or invalid refuses every key until it is fixed (the error is logged): it may
be the revocation of a key, so the old entries are not kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import yaml

LOG = logging.getLogger(__name__)

HASH_SCHEME = 'sha256'
RECHECK_INTERVAL = 1.0
# Generated keys start with this, so that secret scanners and people can
# tell what a leaked string is.
KEY_PREFIX = 'zaqar_'

_HEX_DIGEST = re.compile('[0-9a-f]{64}')
_CONTROL_CHARACTERS = re.compile('[\x00-\x1f\x7f]')
_FIELDS = frozenset({'hash', 'project', 'roles', 'name'})


class InvalidKeyFile(ValueError):
    """The key file cannot be read or is not a valid list of keys."""


@dataclasses.dataclass(frozen=True)
class KeyEntry:
    """One accepted key.

    Attributes:
        digest: SHA-256 of the key.
        project: The project requests with the key act in.
        roles: The roles they have.
        name: What logs call the key; may be None.
    """

    digest: bytes
    project: str
    roles: tuple[str, ...] = ()
    name: str | None = None

    @property
    def label(self) -> str:
        """How logs name the key: its name, else its project."""
        return (
            self.name if self.name is not None else f'(unnamed, project {self.project})'
        )


def new_key() -> str:
    """Return a fresh random key (256 bits, URL-safe characters)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(key: str) -> bytes:
    """The SHA-256 digest of a key as sent."""
    # NOTE: header values reach us as text decoded byte for byte; keys made
    # by new_key() are ASCII, where every encoding agrees.
    return hashlib.sha256(key.encode('utf-8', 'surrogateescape')).digest()


def hash_of(key: str) -> str:
    """The ``hash`` field of a key's entry: ``sha256:<hex>``."""
    return f'{HASH_SCHEME}:{digest_of(key).hex()}'


def parse_entries(document: Any) -> tuple[KeyEntry, ...]:
    """Check a parsed key file and return its entries.

    Raises:
        InvalidKeyFile: Says which entry is wrong and how (never quoting a
            hash, so that the message can be logged).
    """
    if not isinstance(document, dict) or set(document) != {'keys'}:
        raise InvalidKeyFile('expected a mapping with one key, "keys"')
    items = document['keys']
    if items is None:
        items = []
    if not isinstance(items, list):
        raise InvalidKeyFile('"keys" must be a list')
    entries = []
    seen: set[bytes] = set()
    for position, item in enumerate(items, start=1):
        entry = _parse_entry(item, f'entry {position}')
        if entry.digest in seen:
            raise InvalidKeyFile(f'entry {position} ({entry.label}): hash listed twice')
        seen.add(entry.digest)
        entries.append(entry)
    return tuple(entries)


def _parse_entry(item: Any, where: str) -> KeyEntry:
    if not isinstance(item, dict):
        raise InvalidKeyFile(f'{where}: expected a mapping')
    unknown = set(item) - _FIELDS
    if unknown:
        raise InvalidKeyFile(
            f'{where}: unknown fields {", ".join(sorted(map(str, unknown)))}'
        )
    name = item.get('name')
    if name is not None and not isinstance(name, str):
        raise InvalidKeyFile(f'{where}: "name" must be a string')
    if name is not None:
        where = f'{where} ({name})'
    value = item.get('hash')
    scheme, _, hex_digest = (
        value.partition(':') if isinstance(value, str) else ('', '', '')
    )
    if scheme != HASH_SCHEME or not _HEX_DIGEST.fullmatch(hex_digest):
        raise InvalidKeyFile(
            f'{where}: "hash" must be "sha256:" and 64 lowercase hex digits '
            f'(zaqar-api-key prints it)'
        )
    project = item.get('project')
    if (
        not isinstance(project, str)
        or not project
        or _CONTROL_CHARACTERS.search(project)
    ):
        raise InvalidKeyFile(
            f'{where}: "project" must be a non-empty string without control characters'
        )
    roles = item.get('roles', [])
    if roles is None:
        roles = []
    if not isinstance(roles, list) or not all(
        isinstance(role, str) and role.strip() and ',' not in role for role in roles
    ):
        raise InvalidKeyFile(f'{where}: "roles" must be a list of role names')
    return KeyEntry(
        digest=bytes.fromhex(hex_digest),
        project=project,
        roles=tuple(role.strip() for role in roles),
        name=name,
    )


def read_key_file(path: str) -> tuple[KeyEntry, ...]:
    """Read and check a key file.

    Raises:
        InvalidKeyFile: The file cannot be read or is invalid.
    """
    try:
        with open(path, 'rb') as stream:
            document = yaml.safe_load(stream)
    except OSError as ex:
        raise InvalidKeyFile(f'{path}: {ex.strerror or ex}') from None
    except yaml.YAMLError as ex:
        # NOTE: the problem's position only, never the offending text.
        mark = getattr(ex, 'problem_mark', None)
        where = f' at line {mark.line + 1}' if mark is not None else ''
        raise InvalidKeyFile(f'{path}: not valid YAML or JSON{where}') from None
    try:
        return parse_entries(document)
    except InvalidKeyFile as ex:
        raise InvalidKeyFile(f'{path}: {ex}') from None


_Signature = tuple[int, int, int, int]


def _signature(path: str) -> _Signature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_dev)


class KeyStore:
    """The accepted keys, kept in step with the key file.

    Safe to share between threads.

    Args:
        path: The key file.
        clock: Monotonic seconds, for the interval between looks at the file.
    """

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: tuple[KeyEntry, ...] = ()
        self._signature: _Signature | None = None
        self._healthy = False
        self._next_check = 0.0

    def load(self) -> None:
        """Read the file now.

        Raises:
            InvalidKeyFile: The file cannot be read or is invalid.
        """
        with self._lock:
            signature = _signature(self._path)
            self._entries = read_key_file(self._path)
            self._signature = signature
            self._healthy = True
            self._next_check = self._clock() + RECHECK_INTERVAL

    def lookup(self, key: str) -> KeyEntry | None:
        """Return the entry of ``key``, or None when it is not accepted."""
        if not key:
            return None
        entries = self._current()
        digest = digest_of(key)
        found = None
        # NOTE: every entry is compared, and in constant time, so that the
        # answer's timing does not depend on which entry (if any) matched.
        for entry in entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry
        return found

    def _current(self) -> tuple[KeyEntry, ...]:
        now = self._clock()
        if now < self._next_check:
            return self._entries
        with self._lock:
            if now >= self._next_check:
                self._next_check = now + RECHECK_INTERVAL
                self._reload_if_changed()
            return self._entries

    def _reload_if_changed(self) -> None:
        signature = _signature(self._path)
        if self._healthy and signature == self._signature:
            return
        try:
            entries = read_key_file(self._path)
        except InvalidKeyFile as ex:
            # NOTE: refuse every key rather than keep ones the operator may
            # just have revoked; logged on each look until fixed.
            LOG.error('API key file unusable, every key is refused: %s', ex)
            self._entries = ()
            self._healthy = False
            self._signature = signature
            return
        LOG.info('API key file %s read: %d key(s)', self._path, len(entries))
        self._entries = entries
        self._signature = signature
        self._healthy = True
