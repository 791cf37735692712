"""Query-string helpers beyond Falcon's ``get_param_as_*``.

Blank values are dropped by the app (``keep_blank_qs_values = False``), so
every helper here treats ``?name=`` as an absent parameter.
"""

from __future__ import annotations

import falcon


def get_list(req: falcon.Request, name: str) -> list[str] | None:
    """Return a list parameter given as ``a,b`` and/or as repeated keys.

    Returns:
        The non-empty items in order, or None when the parameter is absent.
    """
    values = req.get_param_as_list(name)
    if values is None:
        return None
    return [item for value in values for item in value.split(',') if item]
