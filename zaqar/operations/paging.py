"""Pages of a listing, and the query that fetches the next one."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from typing import Generic
from typing import TypeVar

T = TypeVar('T')


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing.

    Attributes:
        items: What the page holds, in listing order.
        next_query: The parameters that fetch the page after this one (the
            given paging parameters with the new ``marker``), or None when
            the page is empty: clients stop at an empty page, so an empty
            page never links to a next one.
    """

    items: list[T]
    next_query: Mapping[str, Any] | None = None


def next_query(
    given: Mapping[str, Any], marker: object, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The query of the next page: the parameters given, then ``marker``.

    Parameters that were not given (None) are left out, so a next link
    repeats exactly what the client chose.
    """
    query = {name: value for name, value in given.items() if value is not None}
    query.update(extra or {})
    query['marker'] = marker
    return query
