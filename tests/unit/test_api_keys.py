"""API keys: the key file's format, hashing, reloading, and the key tool."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from zaqar.cmd import api_key as api_key_cmd
from zaqar.transport import api_keys

KEY = 'zaqar_' + 'k' * 43


def entry(key: str = KEY, **fields: object) -> dict[str, object]:
    return {'hash': api_keys.hash_of(key), 'project': 'p', **fields}


def test_keys_are_random_and_hashed_with_sha256() -> None:
    first, second = api_keys.new_key(), api_keys.new_key()
    assert first != second
    assert first.startswith(api_keys.KEY_PREFIX)
    # 32 random bytes, URL-safe base64.
    assert len(first) == len(api_keys.KEY_PREFIX) + 43
    assert api_keys.hash_of(KEY) == 'sha256:' + hashlib.sha256(KEY.encode()).hexdigest()


def test_a_valid_file_gives_its_entries() -> None:
    [parsed] = api_keys.parse_entries(
        {'keys': [entry(roles=['admin', ' member '], name='ci')]}
    )
    assert parsed == api_keys.KeyEntry(
        hashlib.sha256(KEY.encode()).digest(), 'p', ('admin', 'member'), 'ci'
    )
    assert api_keys.parse_entries({'keys': []}) == ()
    assert api_keys.parse_entries({'keys': None}) == ()


@pytest.mark.parametrize(
    ('document', 'problem'),
    [
        ([], 'one key, "keys"'),
        ({'keys': [], 'extra': 1}, 'one key, "keys"'),
        ({'keys': {}}, 'must be a list'),
        ({'keys': ['x']}, 'entry 1: expected a mapping'),
        ({'keys': [{'project': 'p'}]}, '"hash" must be'),
        ({'keys': [{'hash': 'md5:00', 'project': 'p'}]}, '"hash" must be'),
        ({'keys': [{'hash': 'sha256:' + 'A' * 64, 'project': 'p'}]}, '"hash" must be'),
        ({'keys': [entry(project='')]}, '"project" must be'),
        ({'keys': [entry(project='a\nb')]}, '"project" must be'),
        ({'keys': [entry(roles='admin')]}, '"roles" must be'),
        ({'keys': [entry(roles=['a,b'])]}, '"roles" must be'),
        ({'keys': [entry(role=['admin'])]}, 'unknown fields role'),
        (
            {'keys': [entry(), entry(name='again')]},
            'entry 2 (again): hash listed twice',
        ),
    ],
)
def test_invalid_files_are_refused_with_the_reason(
    document: object, problem: str
) -> None:
    with pytest.raises(api_keys.InvalidKeyFile) as raised:
        api_keys.parse_entries(document)
    assert problem in str(raised.value)
    # Messages name entries, never hashes (they are logged).
    assert api_keys.hash_of(KEY).split(':')[1] not in str(raised.value)


def test_yaml_and_json_files_are_read(tmp_path: Path) -> None:
    as_yaml = tmp_path / 'keys.yaml'
    as_yaml.write_text(yaml.safe_dump({'keys': [entry(name='y')]}))
    as_json = tmp_path / 'keys.json'
    as_json.write_text(json.dumps({'keys': [entry(name='j')]}))
    assert api_keys.read_key_file(str(as_yaml))[0].name == 'y'
    assert api_keys.read_key_file(str(as_json))[0].name == 'j'
    as_yaml.write_text('keys: [\n')
    with pytest.raises(api_keys.InvalidKeyFile, match='not valid YAML or JSON'):
        api_keys.read_key_file(str(as_yaml))
    with pytest.raises(api_keys.InvalidKeyFile, match='missing'):
        api_keys.read_key_file(str(tmp_path / 'missing'))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_store_follows_the_file_at_most_once_per_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / 'keys.json'
    path.write_text(json.dumps({'keys': [entry(name='old')]}))
    clock = Clock()
    store = api_keys.KeyStore(str(path), clock=clock)
    store.load()
    assert store.lookup(KEY) is not None
    assert store.lookup('') is None
    assert store.lookup(KEY + 'x') is None

    other = api_keys.new_key()
    path.write_text(json.dumps({'keys': [entry(other, name='new-and-longer')]}))
    clock.now += api_keys.RECHECK_INTERVAL / 2
    assert store.lookup(KEY) is not None, 'looked again too early'
    clock.now += api_keys.RECHECK_INTERVAL
    assert store.lookup(KEY) is None
    found = store.lookup(other)
    assert found is not None and found.name == 'new-and-longer'

    with caplog.at_level(logging.ERROR):
        path.write_text('{"keys": [')
        clock.now += api_keys.RECHECK_INTERVAL
        assert store.lookup(other) is None
    assert 'every key is refused' in caplog.text
    assert other not in caplog.text


def test_the_key_tool_prints_a_key_and_the_entry_that_accepts_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        api_key_cmd.main(['--project', 'billing', '--role', 'admin', '--name', 'ci'])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('key: zaqar_')
    assert lines[1].startswith('entry: - ')
    key = lines[0].removeprefix('key: ')
    document = yaml.safe_load('keys:\n  ' + lines[1].removeprefix('entry: '))
    [parsed] = api_keys.parse_entries(document)
    assert (parsed.project, parsed.roles, parsed.name) == ('billing', ('admin',), 'ci')
    assert parsed.digest == api_keys.digest_of(key)


def test_the_key_tool_hashes_a_key_from_stdin() -> None:
    result = subprocess.run(
        [sys.executable, '-m', 'zaqar.cmd.api_key', '--project', 'p', '--hash-stdin'],
        input=KEY + '\n',
        capture_output=True,
        text=True,
        check=True,
    )
    assert KEY not in result.stdout
    assert result.stdout == f'entry: - {json.dumps(entry(roles=[]))}\n'
    refused = subprocess.run(
        [sys.executable, '-m', 'zaqar.cmd.api_key', '--project', '', '--hash-stdin'],
        input=KEY,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert '"project" must be' in refused.stderr
