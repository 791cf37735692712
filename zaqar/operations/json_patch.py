"""JSON-patch documents on queue metadata: parse, apply.

The accepted subset is described in the API description
(``zaqar/transport/openapi/v2.yaml``, queue PATCH): ``add``, ``remove`` and
``replace`` of one key under ``/metadata/``. Malformed documents raise
:class:`~zaqar.operations.errors.InvalidBody`, operations that contradict
the stored metadata :class:`~zaqar.operations.errors.PatchConflict`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from zaqar.operations.errors import InvalidBody
from zaqar.operations.errors import PatchConflict
from zaqar.storage.models import Metadata

PATCH_OPERATIONS = ('add', 'remove', 'replace')

# NOTE: upstream also treats whitespace between two slashes as adjacent.
_ADJACENT_SLASHES_RE = re.compile(r'/\s*/')
_BAD_ESCAPE_RE = re.compile(r'~([^01]|$)')


@dataclasses.dataclass(frozen=True)
class PatchOperation:
    """One validated JSON-patch operation on queue metadata.

    Attributes:
        op: ``add``, ``remove`` or ``replace``.
        key: The metadata key (second segment of the pointer).
        value: The new value; None for ``remove``.
    """

    op: str
    key: str
    value: Any = None


def parse(changes: object) -> list[PatchOperation]:
    """Check a JSON-patch document for queue metadata.

    Raises:
        InvalidBody: The document or one of its operations is invalid.
    """
    if not isinstance(changes, list):
        raise InvalidBody('Document type not supported.')
    return [_operation(change) for change in changes]


def apply(metadata: Metadata, change: PatchOperation, reserved: Metadata) -> None:
    """Apply one parsed operation to ``metadata`` in place.

    ``replace`` and ``remove`` accept reserved keys that were never stored,
    because python-zaqarclient removes every key it saw in a GET, including
    the reserved defaults the server added.

    Raises:
        PatchConflict: ``replace`` or ``remove`` of an unknown key.
    """
    key = change.key
    if change.op == 'add':
        metadata[key] = change.value
    elif change.op == 'replace':
        if key not in metadata and key not in reserved:
            raise PatchConflict(f"Can't replace non-existent object {key}.")
        metadata[key] = change.value
    elif key in metadata:
        del metadata[key]
    elif key not in reserved:
        raise PatchConflict(f"Can't remove non-existent object {key}.")


def _operation(change: object) -> PatchOperation:
    """Validate one JSON-patch operation."""
    if not isinstance(change, dict):
        raise InvalidBody('Operations must be JSON objects.')
    available = ', '.join(PATCH_OPERATIONS)
    if 'op' not in change:
        raise InvalidBody(
            'Unable to find `op` in JSON Schema change. It must be one of the '
            f'following: {available}.'
        )
    op = change['op']
    if op not in PATCH_OPERATIONS:
        raise InvalidBody(
            f'Invalid operation: `{op}`. It must be one of the following: {available}.'
        )
    if 'path' not in change:
        raise InvalidBody("Unable to find 'path' in JSON Schema change")
    segments = decode_pointer(change['path'])
    if len(segments) != 2:
        raise InvalidBody(
            "Invalid JSON pointer for this resource: '/"
            + '/'.join(segments)
            + ", e.g /metadata/key'"
        )
    # NOTE: remove does not check the root segment; python-zaqarclient only
    # ever sends /metadata/<key>, and upstream accepts any root there.
    if op != 'remove':
        if segments[0].lower() != 'metadata':
            raise InvalidBody('The root of path must be metadata, e.g /metadata/key.')
        if 'value' not in change:
            raise InvalidBody(f'Operation "{op}" requires a member named "value".')
        return PatchOperation(op, segments[1], change['value'])
    return PatchOperation(op, segments[1])


def decode_pointer(pointer: object) -> list[str]:
    """Split a JSON pointer (RFC 6901) into its unescaped segments.

    Raises:
        InvalidBody: The pointer is not a string or is malformed.
    """
    if not isinstance(pointer, str):
        raise InvalidBody('The "path" of an operation must be a string.')
    if not pointer.startswith('/'):
        raise InvalidBody(f'Pointer `{pointer}` does not start with "/".')
    if _ADJACENT_SLASHES_RE.search(pointer):
        raise InvalidBody(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith('/'):
        raise InvalidBody(f'Pointer `{pointer}` end with "/".')
    if _BAD_ESCAPE_RE.search(pointer):
        raise InvalidBody(
            f'Pointer `{pointer}` contains "~" not part of a recognized escape '
            'sequence.'
        )
    return [
        part.replace('~1', '/').replace('~0', '~').strip()
        for part in pointer[1:].split('/')
    ]
