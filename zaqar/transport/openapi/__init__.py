"""The OpenAPI 3.1 description of the v2 HTTP API, shipped as package data.

``v2.yaml`` is written by hand, and it is a contract rather than
documentation only: the in-process HTTP tests check every response against
it, and ``GET /v2/openapi.json`` serves it to clients.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml

V2_FILE = 'v2.yaml'


def v2_text() -> str:
    """Return the description exactly as the file holds it."""
    resource = importlib.resources.files(__name__).joinpath(V2_FILE)
    return resource.read_text(encoding='utf-8')


def load_v2() -> dict[str, Any]:
    """Parse the description into plain JSON-compatible values.

    Raises:
        ValueError: The file does not hold a mapping (a packaging mistake).
    """
    # NOTE: safe_load, because nothing in the file needs Python objects; the
    # file quotes every value YAML would otherwise read as a date or boolean.
    document = yaml.safe_load(v2_text())
    if not isinstance(document, dict):
        raise ValueError(f'{V2_FILE} does not hold an OpenAPI document')
    return document
