"""What the engine reports: validation problems and the error transform raises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PathKey = str | int


@dataclass(frozen=True, slots=True)
class MappingProblem:
    """One validation problem at ``path`` (keys and indexes into the mapping as written);
    ``message`` is in mapping-kit's wording, its ``/json/path`` prefix included."""

    path: tuple[PathKey, ...]
    message: str
    hint: str | None = None


class MappingError(Exception):
    """Raised where mapping-kit's ``transform`` throws; ``problems`` holds the validation
    problems and is empty for runtime errors."""

    def __init__(self, message: str, problems: Iterable[MappingProblem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[MappingProblem, ...] = tuple(problems)

    def __reduce__(self) -> tuple[type[MappingError], tuple[str, tuple[MappingProblem, ...]]]:
        # Keep the problems when the error crosses a process boundary (bulk replay workers).
        return type(self), (str(self), self.problems)

    @classmethod
    def from_problems(cls, problems: Iterable[MappingProblem]) -> MappingError:
        """The error mapping-kit's validator throws: its messages, one a line."""
        problems = tuple(problems)
        return cls("\n".join(problem.message for problem in problems), problems)
