"""Who a request acts as: the project, roles and user the auth layer found.

Transport-neutral: the HTTP transport fills an :class:`Identity` from the
validated Keystone token, the API key's entry, or (with no authentication)
the request's own headers, and the policy checks read only this.
"""

from __future__ import annotations

import dataclasses
import enum


class Method(enum.Enum):
    """How an identity was established."""

    # NOTE: the values appear in logs, never in answers.
    HEADERS = 'headers'
    KEYSTONE = 'keystone'
    API_KEY = 'api_key'
    SIGNED_URL = 'signed_url'


@dataclasses.dataclass(frozen=True)
class Identity:
    """The caller of one request.

    Attributes:
        method: How it was established.
        project_id: The project the request acts in; None when the
            credentials name none (a Keystone token not scoped to a project,
            a request without a project header).
        roles: The caller's role names, as given (policy compares them
            case-insensitively).
        user_id: The user, when the credentials name one (for logs and
            policy rules such as ``user_id:%(user_id)s``).
    """

    method: Method
    project_id: str | None
    roles: tuple[str, ...] = ()
    user_id: str | None = None

    @property
    def authenticated(self) -> bool:
        """Whether credentials were verified (not merely headers trusted)."""
        return self.method in (Method.KEYSTONE, Method.API_KEY)


def split_roles(value: str | None) -> tuple[str, ...]:
    """Split a comma-separated role list (``X-Roles``), dropping blanks."""
    if not value:
        return ()
    return tuple(role.strip() for role in value.split(',') if role.strip())
