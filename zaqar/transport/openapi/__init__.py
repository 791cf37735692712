"""The OpenAPI 3.1 description of the v2 HTTP API, shipped as package data.

``v2.yaml`` is written by hand, and it is a contract rather than
documentation only: the in-process HTTP tests check every response against
it, and ``GET /v2/openapi.json`` serves it to clients.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from typing import Any

import yaml

V2_FILE = 'v2.yaml'


def v2_text() -> str:
    """Return the description exactly as the file holds it."""
    resource = importlib.resources.files(__name__).joinpath(V2_FILE)
    return resource.read_text(encoding='utf-8')


def load_v2() -> dict[str, Any]:
    """Parse the description into plain JSON-compatible values (a copy).

    Raises:
        ValueError: The file does not hold a mapping (a packaging mistake).
    """
    return copy.deepcopy(_parsed_v2())


@functools.cache
def _parsed_v2() -> dict[str, Any]:
    # NOTE: parsed once per process (every app built in it shares the file),
    # with libyaml's parser where PyYAML has it: the pure-Python one takes
    # about half a second for this document.
    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    # NOTE: a safe loader, because nothing in the file needs Python objects;
    # the file quotes every value YAML would otherwise read as a date or
    # boolean.
    document = yaml.load(v2_text(), Loader=loader)
    if not isinstance(document, dict):
        raise ValueError(f'{V2_FILE} does not hold an OpenAPI document')
    return document
