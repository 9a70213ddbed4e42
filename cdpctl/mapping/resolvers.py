"""The compiled form of a mapping: resolvers, functions from an event payload to a value."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from cdpctl.mapping.problems import MappingError, MappingProblem

Resolver = Callable[[Any], Any]


class CompileChild(Protocol):
    """Compiles a nested mapping node; ``keep_undefined`` keeps keys resolving to undefined."""

    def __call__(self, node: Any, keep_undefined: bool = False) -> Resolver: ...


def constant(value: Any) -> Resolver:
    """A resolver that ignores the payload."""

    def resolve_constant(payload: Any) -> Any:
        return value

    return resolve_constant


def raising(message: str, problems: Iterable[MappingProblem] = ()) -> Resolver:
    """A resolver for a node mapping-kit only rejects once it resolves it."""
    problems = tuple(problems)

    def fail(payload: Any) -> Any:
        raise MappingError(message, problems)

    return fail
