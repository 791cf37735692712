"""Errors of the operations layer: what a request did wrong.

Transports map each to their own answer; the HTTP transport's table is
``zaqar.transport.wsgi.errors``. Storage failures are
:mod:`zaqar.storage.errors` and pass through this layer unchanged. Message
texts follow upstream Zaqar's, because they reach clients as error
descriptions.
"""

from __future__ import annotations


class ValidationFailed(ValueError):
    """A request breaks an API limit or rule (HTTP: 400 "Invalid API request")."""


class InvalidBody(ValidationFailed):
    """A request body is unreadable or has the wrong shape or types.

    HTTP: 400 "Invalid request body".
    """


class NotFound(LookupError):
    """Nothing matches what the request names (HTTP: 404 "Not found")."""


class PatchConflict(ValueError):
    """A JSON-patch operation names a key the metadata does not have (409)."""
