"""Layering rules, checked by reading the source with ``ast``.

The layers, top to bottom: transport (HTTP only, under ``transport/wsgi``;
what transports share directly under ``transport``) -> operations ->
pipeline -> storage; ``common`` is beneath them all. A layer imports only
layers below it; no layer but a driver imports a backend client library,
and only ``transport/wsgi`` (and ``cmd``) import the web framework.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import zaqar

PACKAGE_ROOT = Path(zaqar.__file__).parent

BACKEND_MODULES = frozenset({'pymongo', 'redis', 'sqlite3'})
WEB_MODULES = frozenset({'falcon', 'gunicorn'})


def imported_modules(path: Path, depth: int = 1) -> Iterator[str]:
    """Yield the name of every module a source file imports.

    Args:
        path: The source file.
        depth: How many dotted parts of each name to keep (1: ``zaqar``,
            2: ``zaqar.storage``).
    """
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield '.'.join(alias.name.split('.')[:depth])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield '.'.join(node.module.split('.')[:depth])


def sources(package: str) -> list[Path]:
    found = sorted((PACKAGE_ROOT / package).rglob('*.py'))
    assert found, f'no sources under zaqar/{package}'
    return found


def offending_imports(
    package: str,
    forbidden: frozenset[str],
    depth: int = 1,
    skip: str | None = None,
) -> list[str]:
    found = []
    for path in sources(package):
        if skip and path.is_relative_to(PACKAGE_ROOT / skip):
            continue
        for module in imported_modules(path, depth):
            if module in forbidden:
                found.append(f'{path.relative_to(PACKAGE_ROOT.parent)}: {module}')
    return found


def test_transport_never_imports_a_backend_library() -> None:
    assert offending_imports('transport', BACKEND_MODULES) == []


def test_what_transports_share_is_free_of_the_web_framework() -> None:
    assert offending_imports('transport', WEB_MODULES, skip='transport/wsgi') == []


@pytest.mark.parametrize('layer', ['operations', 'pipeline', 'storage', 'common'])
def test_lower_layers_never_import_the_web_framework(layer: str) -> None:
    assert offending_imports(layer, WEB_MODULES) == []


@pytest.mark.parametrize('layer', ['operations', 'pipeline', 'common'])
def test_only_drivers_import_a_backend_library(layer: str) -> None:
    assert offending_imports(layer, BACKEND_MODULES) == []


@pytest.mark.parametrize(
    ('layer', 'above'),
    [
        ('operations', {'zaqar.transport', 'zaqar.cmd'}),
        ('pipeline', {'zaqar.transport', 'zaqar.operations', 'zaqar.cmd'}),
        (
            'storage',
            {'zaqar.transport', 'zaqar.operations', 'zaqar.pipeline', 'zaqar.cmd'},
        ),
        (
            'common',
            {
                'zaqar.transport',
                'zaqar.operations',
                'zaqar.pipeline',
                'zaqar.storage',
                'zaqar.cmd',
            },
        ),
    ],
)
def test_a_layer_never_imports_a_layer_above_it(layer: str, above: set[str]) -> None:
    assert offending_imports(layer, frozenset(above), depth=2) == []


@pytest.mark.parametrize(
    ('source', 'expected'),
    [
        ('import sqlite3', ['sqlite3']),
        ('import redis.client as rc', ['redis']),
        ('from pymongo import errors', ['pymongo']),
        ('from . import sqlite3', []),
        ('def f():\n    import falcon\n', ['falcon']),
    ],
)
def test_import_scanner_sees_every_import_form(
    tmp_path: Path, source: str, expected: list[str]
) -> None:
    path = tmp_path / 'module.py'
    path.write_text(source)
    assert list(imported_modules(path)) == expected


def test_import_scanner_keeps_the_parts_asked_for(tmp_path: Path) -> None:
    path = tmp_path / 'module.py'
    path.write_text('from zaqar.storage.base import DataDriver\nimport zaqar.common')
    assert list(imported_modules(path, depth=2)) == ['zaqar.storage', 'zaqar.common']
