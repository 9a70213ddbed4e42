"""Give Segment's `transform` the mapping cdpctl applies, with `@jmespath` rewritten.

actions-core has no `@jmespath`, so each one becomes its closest mapping-kit equivalent:

    a.b.c               → {"@path": "$.a.b.c"}
    length(a.b)         → {"@path": "$.a.b.length"}   (mapping-kit's @path reads JS properties)
    a.b || c.d          → {"@if": {"exists": a.b, "then": a.b, "else": c.d}} (as @path)

Anything else is refused, so the two engines never silently run different mappings. The
mapping is cdpctl's *effective* one (the action's defaults filled in where a subscription keeps
them), read through cdpctl's own loader.

    python bench/node_mapping.py MAPPING.yaml OUT.json
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from cdpctl.loading import load_yaml
from cdpctl.mappingfile import read_mapping_file
from cdpctl.pipeline import compile_destination

FIELDS = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
RULES: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(rf"({FIELDS})"), lambda m: {"@path": f"$.{m[1]}"}),
    (re.compile(rf"length\(({FIELDS})\)"), lambda m: {"@path": f"$.{m[1]}.length"}),
    (
        re.compile(rf"({FIELDS})\s*\|\|\s*({FIELDS})"),
        lambda m: {
            "@if": {
                "exists": {"@path": f"$.{m[1]}"},
                "then": {"@path": f"$.{m[1]}"},
                "else": {"@path": f"$.{m[2]}"},
            }
        },
    ),
)


def translate(expression: str) -> Any:
    for pattern, build in RULES:
        match = pattern.fullmatch(expression.strip())
        if match:
            return build(match)
    raise SystemExit(f"no mapping-kit equivalent for @jmespath {expression!r}; add a rule")


def rewrite(node: Any, seen: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"@jmespath"}:
            seen[node["@jmespath"]] = translate(node["@jmespath"])
            return seen[node["@jmespath"]]
        return {key: rewrite(value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [rewrite(item, seen) for item in node]
    return node


def node_mapping(path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The subscriptions for transform.js, and each @jmespath with what replaced it."""
    destination = compile_destination(read_mapping_file(load_yaml(path)), {})
    seen: dict[str, Any] = {}
    subscriptions = [
        {"name": sub.name, "trigger": sub.trigger, "mapping": rewrite(sub.mapping, seen)}
        for sub in destination.subscriptions
        if sub.enabled
    ]
    return subscriptions, seen


def main() -> None:
    mapping_path, out = sys.argv[1:3]
    subscriptions, seen = node_mapping(mapping_path)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(subscriptions, handle, indent=1)
    with open(out.removesuffix(".json") + ".rewrites.json", "w", encoding="utf-8") as handle:
        json.dump(seen, handle, indent=1)


if __name__ == "__main__":
    main()
