"""The reference at the end of each docs/providers/<provider>.md, generated from the provider's
declarations (settings, endpoints, actions, fields), so the pages cannot drift from the code.

`python -m cdpctl.output.provider_docs docs/providers` rewrites the generated part of every
page; tests/providers/test_provider_docs.py fails when a page is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cdpctl.catalog import compact_json, constraint_text, type_name
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Endpoint, Field, Provider, Setting

BEGIN = "<!-- BEGIN GENERATED: python -m cdpctl.output.provider_docs docs/providers -->"
END = "<!-- END GENERATED -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _setting_row(setting: Setting) -> str:
    kind = "secret" if setting.secret else "credential" if setting.credential else setting.type
    default = compact_json(setting.default) if setting.has_default else ""
    values = ", ".join(compact_json(v) for v in setting.enum) if setting.enum else ""
    description = " — ".join(p for p in (setting.description, values and f"one of {values}") if p)
    cells = [
        _code(setting.name),
        kind,
        "yes" if setting.required else "no",
        _cell(_code(default)),
        _cell(description),
    ]
    return "| " + " | ".join(cells) + " |"


def _endpoint_row(endpoint: Endpoint) -> str:
    page = endpoint.doc_url.split("://", 1)[-1].rstrip("/")
    link = f"[{_cell(page)}]({endpoint.doc_url})"
    return f"| `{endpoint.method}` | `{_cell(endpoint.path)}` | {link} |"


def _field_rows(field: Field, prefix: str = "") -> list[str]:
    default = compact_json(field.default) if field.has_default else ""
    notes = "; ".join(part for part in (constraint_text(field), field.description) if part)
    row = [
        _code(prefix + field.name),
        type_name(field),
        "yes" if field.required else "no",
        _cell(_code(default)),
        _cell(notes),
    ]
    rows = ["| " + " | ".join(row) + " |"]
    for child in field.properties:
        rows.extend(_field_rows(child, f"{prefix}{field.name}."))
    return rows


def reference(provider: Provider) -> str:
    """The generated block of one provider page."""
    lines = [
        BEGIN,
        "",
        "## Field reference",
        "",
        f"Generated from cdpctl's declarations for `{provider.name}` (also: `cdpctl fields "
        f"{provider.name} ACTION`). Defaults are the mapping cdpctl applies to a field you do "
        "not map, unless the subscription says `defaults: false`.",
        "",
        "### Settings",
        "",
        "| setting | kind | required | default | description |",
        "| --- | --- | --- | --- | --- |",
        *(_setting_row(s) for s in provider.settings),
        "",
        "### Endpoints",
        "",
        "Every API operation cdpctl's requests use (the sandbox serves each of them), relative to "
        "the host the settings select.",
        "",
        "| method | path | documentation |",
        "| --- | --- | --- |",
        *(_endpoint_row(e) for e in provider.endpoints),
    ]
    for action in provider.actions:
        trigger = action.default_trigger.strip()
        batching = f"up to {action.batch.max_events:,} events" if action.batch else "no"
        lines += [
            "",
            f"### `{action.name}` — {action.title}",
            "",
            f"Default trigger: {_code(trigger) or '(none: choose one)'} · batching: {batching}",
            "",
            "| field | type | required | default | constraints and description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for field in action.fields:
            lines.extend(_field_rows(field))
    lines += ["", END]
    return "\n".join(lines)


def rewrite(document: str, provider: Provider) -> str:
    """`document` with its generated block replaced, or the block appended if it has none."""
    if BEGIN not in document:
        return document.rstrip("\n") + "\n\n" + reference(provider) + "\n"
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + reference(provider) + document[end:]


def pages(folder: Path) -> list[tuple[Path, Provider]]:
    found = []
    for name in provider_names():
        provider = get_provider(name)
        if provider is not None:
            found.append((folder / f"{name}.md", provider))
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m cdpctl.output.provider_docs docs/providers\n")
        return 2
    for path, provider in pages(Path(argv[0])):
        path.write_text(rewrite(path.read_text(encoding="utf-8"), provider), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
