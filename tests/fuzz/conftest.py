"""Fixed budgets and shared checks of the fuzz tests (marker ``fuzz``).

The fuzz tests run in CI with every other test, on a fixed budget and a
fixed seed, so a run is reproducible and bounded. For a longer run, raise
the budget (and change the seed to explore other inputs)::

    ZAQAR_FUZZ_EXAMPLES=200 ZAQAR_FUZZ_SEED=7 tools/test -m fuzz

``ZAQAR_FUZZ_EXAMPLES`` is the number of generated cases per operation in
process (``test_schemathesis.py``); the real-server runs send
:data:`REQUESTS_PER_EXAMPLE` times as many hostile requests per store
(``test_hostile_requests.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

# Real servers, as the server tests start them (a fixture, used by name).
from tests.server.conftest import server_factory  # noqa: F401

EXAMPLES_ENV = 'ZAQAR_FUZZ_EXAMPLES'
SEED_ENV = 'ZAQAR_FUZZ_SEED'
DEFAULT_EXAMPLES = 25
DEFAULT_SEED = 20261206
REQUESTS_PER_EXAMPLE = 25


def examples() -> int:
    """Generated cases per operation (``ZAQAR_FUZZ_EXAMPLES``)."""
    return max(1, int(os.environ.get(EXAMPLES_ENV, '') or DEFAULT_EXAMPLES))


def seed() -> int:
    """The seed every generator starts from (``ZAQAR_FUZZ_SEED``)."""
    return int(os.environ.get(SEED_ENV, '') or DEFAULT_SEED)


def error_body_problem(
    status: int, headers: Mapping[str, str], content: bytes, method: str
) -> str | None:
    """Say what is wrong with an error answer's body, if anything.

    Every 4xx and 5xx the application gives is JSON ``{"title": ...,
    "description"?: ...}`` (doc/http-api.md, "Errors"); HEAD answers have
    no body at all.
    """
    if status < 400:
        return None
    if method == 'HEAD':
        return f'{status} to HEAD has a body' if content else None
    media_type = next(
        (value for key, value in headers.items() if key.lower() == 'content-type'),
        '',
    )
    if media_type.split(';', 1)[0].strip().lower() != 'application/json':
        return f'{status} answered as {media_type!r}, not JSON: {content[:200]!r}'
    try:
        document = json.loads(content)
    except ValueError:
        return f'{status} body is not JSON: {content[:200]!r}'
    if not (
        isinstance(document, dict)
        and isinstance(document.get('title'), str)
        and set(document) <= {'title', 'description'}
        and isinstance(document.get('description', ''), str)
    ):
        return f'{status} body is not {{"title", "description"?}}: {document!r}'
    return None
