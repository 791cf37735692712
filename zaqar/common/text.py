"""Text for operators' messages."""

from __future__ import annotations


def describe_exception(ex: BaseException) -> str:
    """Render an exception on one line, even one whose ``__str__`` fails."""
    try:
        text = str(ex)
    except Exception:
        text = f'<{type(ex).__name__} that cannot be printed>'
    return ' '.join(text.split())
