"""The mapping-file model: a destination and its subscriptions, read from a checked document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdpctl.loading import Document
from cdpctl.providers.base import Action


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    index: int
    name: str
    trigger: str
    action: str
    mapping: dict[str, Any]
    enabled: bool = True
    use_defaults: bool = True
    # The subscription's Segment id (`id:`), when the file has one: a stable identity across
    # renames, written by `cdpctl workspace pull`/`push`.
    id: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentLink:
    """`destination.segment`: the Segment workspace destination the file is kept in step with."""

    destination_id: str
    region: str = "us"


@dataclass(frozen=True, slots=True)
class MappingFile:
    path: str
    provider: str
    name: str
    settings: dict[str, Any]
    subscriptions: tuple[SubscriptionConfig, ...]
    endpoint: str | None = None
    rate_limit: float | None = None
    segment: SegmentLink | None = None


def read_mapping_file(document: Document) -> MappingFile:
    """Build the model from a document that passed `cdpctl.lint.check_document`."""
    data = document.data
    destination = data["destination"]
    subscriptions = tuple(
        SubscriptionConfig(
            index=index,
            name=item["name"],
            trigger=item["trigger"],
            action=item["action"],
            mapping=dict(item.get("mapping") or {}),
            enabled=item.get("enabled", True),
            use_defaults=item.get("defaults", True),
            id=item.get("id"),
        )
        for index, item in enumerate(data["subscriptions"])
    )
    return MappingFile(
        path=document.path,
        provider=destination["provider"],
        name=destination.get("name") or destination["provider"],
        settings=dict(destination.get("settings") or {}),
        subscriptions=subscriptions,
        endpoint=destination.get("endpoint"),
        rate_limit=destination.get("rateLimit"),
        segment=_segment_link(destination.get("segment")),
    )


def _segment_link(data: Any) -> SegmentLink | None:
    if not isinstance(data, dict):
        return None
    return SegmentLink(data["destination_id"], data.get("region", "us"))


def effective_mapping(
    action: Action, mapping: dict[str, Any], use_defaults: bool
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The mapping actually applied, and the fields defaulted. Payload and request keys follow
    the mapping's order, as in Segment. Without defaults (`defaults: false`, as `import segment`
    writes) the mapping is the file's, in the file's order. With defaults the file fills in
    Segment's editor, which lists every field in the action's order, defaults pre-filled: the
    effective mapping is in that order."""
    if not use_defaults:
        return dict(mapping), ()
    effective: dict[str, Any] = {}
    defaulted: list[str] = []
    for spec in action.fields:
        if spec.name in mapping:
            effective[spec.name] = mapping[spec.name]
        elif spec.has_default:
            effective[spec.name] = spec.default
            defaulted.append(spec.name)
    for key, value in mapping.items():
        effective.setdefault(key, value)
    return effective, tuple(defaulted)
