"""The error and warning values the trigger parser reports."""

from __future__ import annotations

from dataclasses import dataclass


class TriggerSyntaxError(ValueError):
    """FQL that Segment cannot parse; ``column`` is 1-based (an offset into the whole text)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message, column)
        self.message = message
        self.column = max(column, 1)

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class TriggerWarning:
    """FQL that Segment accepts but probably does not do what the author meant.

    `drops_condition`: Segment drops a whole condition (an unknown field, a function on a
    field it does not apply to), so the trigger matches more than it reads."""

    column: int
    message: str
    drops_condition: bool = False

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


class TriggerEvaluationError(TypeError):
    """Segment's ``validate()`` throws for this trigger and event (a null event, a broken path)."""
