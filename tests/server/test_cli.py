"""zaqar-server as an operator meets it: help, defaults, bad configuration."""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from tests.server.conftest import server_command
from tests.server.conftest import write_config


def run_server(*args: str) -> subprocess.CompletedProcess[str]:
    """Run zaqar-server to completion (help or a start-up failure)."""
    return subprocess.run(
        [*server_command(), *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_the_flags_and_the_defaults() -> None:
    result = run_server('--help')
    assert result.returncode == 0
    for flag in ('--config-file', '--bind', '--workers'):
        assert flag in result.stdout
    assert '127.0.0.1:8888' in result.stdout


def test_unknown_storage_driver_stops_startup_with_a_clear_message(
    tmp_path: Path,
) -> None:
    conf = write_config(tmp_path / 'z.conf', {'drivers': {'message_store': 'nosuch'}})
    result = run_server('--config-file', str(conf))
    assert result.returncode == 2
    assert "message_store = 'nosuch'" in result.stderr
    assert 'zaqar.data.storage' in result.stderr


def test_unwritable_database_directory_stops_startup(tmp_path: Path) -> None:
    blocker = tmp_path / 'file'
    blocker.write_text('not a directory')
    conf = write_config(
        tmp_path / 'z.conf',
        {'drivers:message_store:sqlite': {'database': blocker / 'sub' / 'z.db'}},
    )
    result = run_server('--config-file', str(conf))
    assert result.returncode == 2
    assert 'cannot create directory' in result.stderr


def test_without_configuration_it_creates_the_default_database(
    tmp_path: Path, server_factory
) -> None:
    # No config file: the database goes to ~/.local/share/zaqar/zaqar.db.
    home = tmp_path / 'home'
    home.mkdir()
    server = server_factory(env={'HOME': str(home)}, use_config=False)
    response = requests.put(
        f'{server.url}/v2/queues/first', headers=server.headers(), timeout=10
    )
    assert response.status_code == 201
    assert (home / '.local' / 'share' / 'zaqar' / 'zaqar.db').exists()
    log = server.output()
    assert 'listening on http://127.0.0.1:' in log
    assert 'storage: sqlite (' in log
    # No per-user gunicorn control socket that a second server would fight over.
    assert not (home / '.gunicorn').exists()


def test_an_unsupported_auth_strategy_stops_startup(tmp_path: Path) -> None:
    """Refusing is safer than serving unauthenticated to someone expecting auth."""
    conf = write_config(tmp_path / 'z.conf', {'DEFAULT': {'auth_strategy': 'ldap'}})
    result = run_server('--config-file', str(conf))
    assert result.returncode == 2
    assert '[DEFAULT] auth_strategy' in result.stderr
    assert 'ldap' in result.stderr
