"""What the lint rules beyond the schema share: each subscription parsed once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdpctl import triggers
from cdpctl.diagnostics import Diagnostic
from cdpctl.lint.reach import Reach, analyse
from cdpctl.lint.spec import CALL_TYPES
from cdpctl.loading import Document
from cdpctl.providers.base import Action, Provider

Where = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription with its trigger parsed and analysed (None where it does not parse)."""

    index: int
    item: dict[str, Any]
    trigger: triggers.Trigger | None
    reach: Reach | None
    action: Action | None

    @property
    def base(self) -> Where:
        return ("subscriptions", self.index)

    @property
    def name(self) -> str:
        return str(self.item["name"])

    @property
    def enabled(self) -> bool:
        return self.item.get("enabled", True) is not False

    @property
    def mapping(self) -> dict[str, Any]:
        return self.item.get("mapping") or {}

    @property
    def types(self) -> frozenset[str]:
        """The call types the trigger can match (all of them when that is unknown)."""
        if self.reach is None or self.reach.never:
            return frozenset(CALL_TYPES)
        return self.reach.types


Rule = Callable[[Document, Provider, list[Subscription]], list[Diagnostic]]


def subscriptions(document: Document, provider: Provider) -> list[Subscription]:
    out = []
    for index, item in enumerate(document.data["subscriptions"]):
        try:
            trigger: triggers.Trigger | None = triggers.parse(item["trigger"])
        except triggers.TriggerSyntaxError:
            trigger = None
        reach = analyse(trigger) if trigger is not None else None
        out.append(Subscription(index, item, trigger, reach, provider.action(item["action"])))
    return out


def trigger_column(document: Document, where: Where, column: int) -> int:
    """Column in the file of `column` inside the trigger text (quoted scalars shift by one)."""
    position = document.locate(where)
    return position.column + column - 1 + (1 if position.quoted else 0)
