"""The Redis driver's Lua files: composed, linted, shipped, read when needed.

Which method runs which script is tested against a real server in
test_redis.py; these tests need no server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from tests import services
from zaqar.storage.redis import scripts
from zaqar.storage.redis.scripts import Lua

REPO = Path(__file__).resolve().parents[2]
LUA_IN_WHEEL = 'zaqar/storage/redis/lua/'


def lua_files() -> set[str]:
    """The names of the .lua files the package holds."""
    directory = resources.files('zaqar.storage.redis').joinpath(scripts.LUA_DIRECTORY)
    return {entry.name for entry in directory.iterdir() if entry.name.endswith('.lua')}


def test_every_lua_file_is_in_some_script_and_every_named_file_exists() -> None:
    named = {name for script in Lua for name in script.files}

    assert named == lua_files()


def test_each_script_has_a_file_of_its_own_after_the_fragments_it_needs() -> None:
    own = [script.files[-1] for script in Lua]

    assert len(set(own)) == len(Lua)
    assert not any(name.startswith('_') for name in own)
    for script in Lua:
        assert script.files[0] == scripts.PRELUDE
        assert all(name.startswith('_') for name in script.files[:-1])


def test_the_lua_files_are_read_when_a_driver_is_built_not_on_import() -> None:
    """Importing the driver opens no .lua file; building one reads them all."""
    program = '\n'.join(
        [
            'import sys',
            'opened = []',
            'def audit(event, args):',
            "    if event == 'open' and str(args[0]).endswith('.lua'):",
            '        opened.append(str(args[0]))',
            'sys.addaudithook(audit)',
            'import redis',
            'from zaqar.common.clock import SystemClock',
            'from zaqar.storage.redis.driver import RedisDriver',
            'print(len(opened))',
            'RedisDriver(redis.Redis(), SystemClock())',
            'print(len(set(opened)))',
        ]
    )
    result = subprocess.run(
        [sys.executable, '-c', program],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    on_import, after_build = result.stdout.split()
    assert (int(on_import), int(after_build)) == (0, len(lua_files()))


def luacheck() -> str:
    found = shutil.which('luacheck')
    if found is None:
        services.unavailable('luacheck', 'install it, e.g. apt-get install lua-check')
    return found


@pytest.mark.parametrize('script', list(Lua), ids=lambda script: script.name)
def test_each_script_as_redis_runs_it_passes_luacheck(script: Lua) -> None:
    """Every name a composed script uses is defined, by it or by a fragment.

    The files are linted one by one too (tools/test), where the fragments'
    names are taken on trust; composed, nothing is. Functions of a fragment
    that this script does not call are no mistake.
    """
    result = subprocess.run(
        [
            luacheck(),
            '--config',
            str(REPO / '.luacheckrc'),
            '--filename',
            f'composed/{script.name.lower()}.lua',
            '--ignore',
            '211',
            '--no-color',
            '-',
        ],
        input=scripts.source(script),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def copy_of_the_checkout(destination: Path) -> Path:
    """Copy the files git tracks or would track (none it ignores)."""
    git = shutil.which('git')
    if git is None or not (REPO / '.git').exists():
        pytest.skip('not a git checkout: no list of the files to build from')
    listed = subprocess.run(
        [git, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        capture_output=True,
        check=True,
        cwd=REPO,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split('\0')):
        source = REPO / name
        # NOTE: a tracked file deleted from the working tree is still listed.
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def test_a_built_wheel_ships_every_lua_file_and_runs_from_them(
    tmp_path: Path,
) -> None:
    """A plain (not editable) install has the scripts the driver reads."""
    source = copy_of_the_checkout(tmp_path / 'source')
    subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '--quiet',
            '--no-deps',
            '--no-build-isolation',
            '--wheel-dir',
            str(tmp_path / 'dist'),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / 'dist').glob('zaqar-*.whl')
    installed = tmp_path / 'installed'
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name.removeprefix(LUA_IN_WHEEL)
            for name in archive.namelist()
            if name.startswith(LUA_IN_WHEEL)
        }
        archive.extractall(installed)

    assert shipped == lua_files()
    # From the unpacked wheel, not from this checkout.
    program = (
        f'import sys; sys.path.insert(0, {str(installed)!r}); '
        'from zaqar.storage.redis import scripts; '
        'print(scripts.__file__); '
        '[scripts.source(script) for script in scripts.Lua]'
    )
    result = subprocess.run(
        [sys.executable, '-I', '-c', program],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip().startswith(str(installed))
