"""Check HTTP answers against the OpenAPI description of the v2 API.

The description (``zaqar/transport/openapi/v2.yaml``) is the contract: every
answer the in-process tests receive must be one it describes. An answer is
checked for its operation (path template and method), its status code, the
headers the description marks required, and its JSON body against the
response schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).

Paths the description does not name are not checked: the app answers them
404 and no operation is involved. Methods a described path does not list
must be answered 405 (or, for OPTIONS, the framework's 200), with the
``Allow`` header naming exactly the described methods.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from zaqar.transport import openapi

# The description's own URI in the registry; every schema is validated as a
# reference into it, so that its "#/components/..." references resolve.
DOCUMENT_URI = 'urn:zaqar:openapi:v2'

FRAMEWORK_METHODS = frozenset({'OPTIONS'})
HTTP_METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace')


class DescriptionMismatch(AssertionError):
    """An answer the OpenAPI description does not allow."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the checker needs of an HTTP answer.

    Attributes:
        status: The status code.
        headers: The headers; looked up case-insensitively.
        content: The raw body.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes

    def header(self, name: str) -> str | None:
        """Return a header's value, whatever the case of its name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


def pointer_escape(segment: str) -> str:
    """Escape one JSON-pointer segment (RFC 6901)."""
    return segment.replace('~', '~0').replace('/', '~1')


@dataclasses.dataclass(frozen=True)
class Template:
    """One path of the description, split for matching.

    Attributes:
        path: The path as the description spells it.
        segments: Its segments; None where a ``{parameter}`` stands.
    """

    path: str
    segments: tuple[str | None, ...]

    @classmethod
    def of(cls, path: str) -> Template:
        """Split a described path into literal and parameter segments."""
        return cls(
            path,
            tuple(
                None if part.startswith('{') and part.endswith('}') else part
                for part in path.split('/')
            ),
        )

    def matches(self, parts: list[str]) -> bool:
        """Tell whether a request path, split on ``/``, fits this template."""
        # NOTE: a parameter matches an empty segment too, as Falcon's router
        # does (/v2/queues//stats reaches the stats resource).
        return len(parts) == len(self.segments) and all(
            literal is None or literal == part
            for literal, part in zip(self.segments, parts, strict=True)
        )

    @property
    def parameters(self) -> int:
        """How many segments are parameters."""
        return sum(1 for literal in self.segments if literal is None)


class Description:
    """The OpenAPI description, ready to check answers against.

    Args:
        document: The parsed description.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._templates = [Template.of(path) for path in document['paths']]
        resource = referencing.Resource.from_contents(
            document, default_specification=referencing.jsonschema.DRAFT202012
        )
        self._registry: referencing.Registry[Any] = (
            referencing.Registry().with_resource(DOCUMENT_URI, resource)
        )

    # Looking things up

    def template_of(self, path: str) -> str | None:
        """Return the described path a request path reaches, if any.

        Args:
            path: The request path, percent-encoded as sent; any query string
                is ignored.
        """
        # NOTE: Falcon decodes the path before routing, so an encoded slash
        # adds a segment there too.
        parts = urllib.parse.unquote(path.partition('?')[0]).split('/')
        candidates = [
            template for template in self._templates if template.matches(parts)
        ]
        if not candidates:
            return None
        # Literal segments win over parameters, as in Falcon's router.
        return min(candidates, key=lambda template: template.parameters).path

    def operations(self, template: str) -> dict[str, dict[str, Any]]:
        """Return the operations of a described path by uppercase method."""
        item = self.document['paths'][template]
        return {
            method.upper(): operation
            for method, operation in item.items()
            if method in HTTP_METHODS
        }

    def resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        """Follow OpenAPI ``$ref``s (responses, headers) to their target.

        Siblings of a ``$ref`` (a response's own ``description``) override
        the target's, as OpenAPI 3.1 lets them.

        Returns:
            The resolved object and its JSON pointer in the document.
        """
        merged = dict(node)
        while '$ref' in merged:
            reference = merged.pop('$ref')
            if not reference.startswith('#/'):
                raise DescriptionMismatch(f'unsupported reference {reference!r}')
            pointer = reference[1:]
            target: Any = self.document
            for segment in pointer.split('/')[1:]:
                key = segment.replace('~1', '/').replace('~0', '~')
                target = target[key]
            merged = {**target, **merged}
        return merged, pointer

    @functools.cache  # noqa: B019 - one Description lives for the session
    def _validator(self, pointer: str) -> jsonschema.protocols.Validator:
        schema = {'$ref': f'{DOCUMENT_URI}#{pointer}'}
        return jsonschema.Draft202012Validator(
            schema,
            registry=self._registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    def validate(self, pointer: str, instance: Any) -> list[str]:
        """Validate ``instance`` against the schema at ``pointer``.

        Returns:
            One line per error, empty when the instance is valid.
        """
        errors = self._validator(pointer).iter_errors(instance)
        return [
            f'at {error.json_path}: {error.message}'
            for error in sorted(errors, key=lambda error: list(error.path))
        ]

    # Checking

    def check(self, method: str, path: str, answer: Answer) -> None:
        """Fail unless the description allows ``answer`` to the request.

        Raises:
            DescriptionMismatch: With what differs and where.
        """
        method = method.upper()
        template = self.template_of(path)
        if template is None:
            return
        where = f'{method} {path} (described as {template})'
        operations = self.operations(template)
        if method not in operations:
            self._check_framework_answer(where, method, set(operations), answer)
            return
        operation = operations[method]
        pointer = (
            f'/paths/{pointer_escape(template)}/{method.lower()}/responses/'
            f'{answer.status}'
        )
        described = operation['responses'].get(str(answer.status))
        if described is None:
            raise DescriptionMismatch(
                f'{where} answered {answer.status}, which the description does '
                f'not list (it lists {", ".join(sorted(operation["responses"]))}); '
                f'body: {answer.content[:300]!r}'
            )
        response, pointer = self.resolve(described, pointer)
        self._check_headers(where, answer, response)
        self._check_body(where, method, answer, response, pointer)

    def _check_framework_answer(
        self, where: str, method: str, described: set[str], answer: Answer
    ) -> None:
        """Check Falcon's answer to a method the path does not list."""
        expected = 200 if method in FRAMEWORK_METHODS else 405
        if answer.status != expected:
            raise DescriptionMismatch(
                f'{where}: the method is not described, so the answer must be '
                f'{expected}, not {answer.status}'
            )
        allow = answer.header('Allow') or ''
        allowed = {name.strip() for name in allow.split(',') if name.strip()}
        if allowed - FRAMEWORK_METHODS != described:
            raise DescriptionMismatch(
                f'{where}: Allow lists {sorted(allowed)}, the description '
                f'{sorted(described)}'
            )
        if expected == 405:
            response, pointer = self.resolve(
                {'$ref': '#/components/responses/MethodNotAllowed'}, ''
            )
            self._check_body(where, method, answer, response, pointer)

    def _check_headers(
        self, where: str, answer: Answer, response: dict[str, Any]
    ) -> None:
        for name, header in response.get('headers', {}).items():
            header, _ = self.resolve(header, '')
            if header.get('required') and answer.header(name) is None:
                raise DescriptionMismatch(
                    f'{where} answered {answer.status} without the required '
                    f'header {name}'
                )

    def _check_body(
        self,
        where: str,
        method: str,
        answer: Answer,
        response: dict[str, Any],
        pointer: str,
    ) -> None:
        content = response.get('content')
        if method == 'HEAD' or not content:
            # NOTE: HEAD answers never carry a body, whatever GET would send.
            if answer.content:
                raise DescriptionMismatch(
                    f'{where} answered {answer.status} with a body the '
                    f'description does not have: {answer.content[:300]!r}'
                )
            return
        if not answer.content:
            raise DescriptionMismatch(
                f'{where} answered {answer.status} without the body the description has'
            )
        declared = answer.header('Content-Type') or ''
        media_type = declared.split(';', 1)[0].strip().lower()
        if media_type not in content:
            raise DescriptionMismatch(
                f'{where} answered {answer.status} as {declared!r}; the '
                f'description has {sorted(content)}'
            )
        try:
            instance = json.loads(answer.content)
        except ValueError as ex:
            raise DescriptionMismatch(
                f'{where} answered {answer.status} with a body that is not '
                f'JSON ({ex}): {answer.content[:300]!r}'
            ) from None
        schema_pointer = f'{pointer}/content/{pointer_escape(media_type)}/schema'
        problems = self.validate(schema_pointer, instance)
        if problems:
            raise DescriptionMismatch(
                f'{where} answered {answer.status} with a body that does not '
                f'match {schema_pointer}:\n  '
                + '\n  '.join(problems)
                + f'\nbody: {answer.content[:500]!r}'
            )


@functools.cache
def v2() -> Description:
    """The shipped description, parsed once per test session."""
    return Description(openapi.load_v2())
