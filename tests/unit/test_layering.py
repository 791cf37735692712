"""Layering rules, checked by reading the source with ``ast``.

The transport never imports a backend client library, and storage never
imports the web framework (style guide §5.4, habit 5).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import zaqar

PACKAGE_ROOT = Path(zaqar.__file__).parent

BACKEND_MODULES = frozenset({'pymongo', 'redis', 'sqlite3'})
WEB_MODULES = frozenset({'falcon'})


def imported_modules(path: Path) -> Iterator[str]:
    """Yield the top-level name of every module a source file imports."""
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split('.')[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split('.')[0]


def offending_imports(package: str, forbidden: frozenset[str]) -> list[str]:
    found = []
    for path in sorted((PACKAGE_ROOT / package).rglob('*.py')):
        for module in imported_modules(path):
            if module in forbidden:
                found.append(f'{path.relative_to(PACKAGE_ROOT.parent)}: {module}')
    return found


def test_the_transport_sources_exist() -> None:
    assert list((PACKAGE_ROOT / 'transport').rglob('*.py'))


def test_transport_never_imports_a_backend_library() -> None:
    assert offending_imports('transport', BACKEND_MODULES) == []


def test_storage_never_imports_the_web_framework() -> None:
    assert offending_imports('storage', WEB_MODULES) == []


def test_validation_is_free_of_the_web_framework() -> None:
    path = PACKAGE_ROOT / 'transport' / 'validation.py'
    assert WEB_MODULES.isdisjoint(imported_modules(path))


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
