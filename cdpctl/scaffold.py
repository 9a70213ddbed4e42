"""`cdpctl init`: a commented starter mapping file for a provider, valid as it stands.

The file holds every required setting (secrets as `${PROVIDER_SETTING}` references), and one
subscription per chosen action with its default trigger and every default mapping written out,
so what the file says is exactly what runs (`defaults: false`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cdpctl import resources, yamltext
from cdpctl.catalog import find_action, type_name
from cdpctl.providers.base import Action, Field, Provider, Setting


def env_name(provider: Provider, setting: str) -> str:
    """`LOOPS_API_KEY` for loops.apiKey; `SENDGRID_API_KEY` (not SENDGRID_SEND_GRID_…) for
    sendgrid.sendGridApiKey — the provider prefix is not repeated."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", setting).upper()
    prefix = re.sub(r"[^A-Z0-9]", "", provider.name.upper())
    squashed = snake.replace("_", "")
    if squashed.startswith(prefix) and squashed != prefix:
        # Drop the words that spell the provider's name again.
        words, taken = snake.split("_"), ""
        while words and len(taken) < len(prefix):
            taken += words.pop(0)
        if taken == prefix and words:
            snake = "_".join(words)
    return f"{prefix}_{snake}"


def project_schema(output: Path | None) -> str | None:
    """A `schemas/mapping.schema.json` committed in the project (written by `cdpctl schema
    --write schemas`), found from the folder of the file about to be written at `output`
    (None: stdout, taken as the current folder) up to the repository root, relative to that
    folder; None when there is none."""
    base = (output.absolute().parent if output is not None else Path.cwd()).absolute()
    for folder in (base, *base.parents):
        candidate = folder / "schemas" / "mapping.schema.json"
        if candidate.is_file():
            return Path(os.path.relpath(candidate, base)).as_posix()
        if (folder / ".git").exists():
            break
    return None


def installed_schema() -> str:
    """The mapping-file schema installed with cdpctl, as an absolute path: it resolves on this
    machine (the schema's `$id` URL is a name, not a page that can be fetched)."""
    return resources.path("schemas/mapping.schema.json").resolve().as_posix()


def schema_reference(output: Path | None) -> str:
    """The `$schema` reference for a file about to be written at `output`: the project's
    committed schema when there is one (it works for everyone who clones the repository),
    else the installed schema (`installed_schema`; `cdpctl init` says it works on this
    machine only, and how to commit the schemas)."""
    return project_schema(output) or installed_schema()


# --- content ---------------------------------------------------------------------------------


PLACEHOLDER_PREFIX = "your-"  # `validate` flags settings still holding such a value (CDP609)


def _placeholder(setting: Setting) -> str:
    return PLACEHOLDER_PREFIX + re.sub(r"(?<=[a-z0-9])(?=[A-Z])|_", "-", setting.name).lower()


def choose_settings(provider: Provider, actions: Sequence[Action] = ()) -> dict[str, Any]:
    """Settings a new file needs: every required one (secrets as env references, others as
    their default, an env reference, or — where the setting's pattern cannot accept a
    reference — a literal placeholder), plus, as an env reference, any optional one whose
    absence the provider's checks complain about (for the chosen actions)."""
    chosen: dict[str, Any] = {}
    for spec in provider.settings:
        if not spec.required:
            continue
        reference = "${" + env_name(provider, spec.name) + "}"
        if spec.secret:
            chosen[spec.name] = reference
        elif spec.has_default:
            chosen[spec.name] = spec.default
        elif spec.pattern is not None and not re.fullmatch(spec.pattern, reference):
            chosen[spec.name] = _placeholder(spec)
        else:
            chosen[spec.name] = reference
    for spec in provider.settings:
        if spec.required or spec.secret or spec.has_default or spec.type != "string":
            continue
        with_it = {**chosen, spec.name: "${" + env_name(provider, spec.name) + "}"}
        if _complaints(provider, actions, with_it) < _complaints(provider, actions, chosen):
            chosen = with_it
    return chosen


def _complaints(provider: Provider, actions: Sequence[Action], settings: dict[str, Any]) -> int:
    """How many problems (any severity) the provider's settings checks and the actions' own
    checks of an empty payload report for these settings."""
    count = len(provider.check_settings(settings)) if provider.check_settings else 0
    for action in actions:
        if action.check is None:
            continue
        try:
            count += len(action.check({}, settings))
        except (KeyError, TypeError, ValueError):
            # Most checks expect the action's required fields; those say nothing here.
            continue
    return count


def trigger_for(action: Action) -> tuple[str, bool]:
    """The action's default trigger, or (when Segment defines none) one that matches only a
    track event named after the action, so nothing is sent until the user picks a trigger."""
    trigger = action.default_trigger.strip()
    if trigger:
        return trigger, False
    return f'type = "track" and event = "{action.title}"', True


def todo_mapping(field: Field, trigger: str) -> dict[str, str]:
    """A stand-in for a required field with no default mapping: the same-named key of
    `traits` (identify and group triggers) or `properties`."""
    root = "traits" if re.search(r'type\s*=\s*"(identify|group)"', trigger) else "properties"
    return {"@path": f"$.{root}.{field.name}"}


def _field_comment(field: Field) -> str:
    kind = type_name(field)
    need = "required" if field.required else "optional"
    return f"{field.title} ({kind}, {need})"


def _subscription(provider: Provider, action: Action, name: str) -> list[str]:
    trigger, invented = trigger_for(action)
    lines = [f"  - name: {yamltext.plain_or_quoted(name)}"]
    if invented:
        lines.extend(
            yamltext.comment(
                f"Segment gives {action.name} no default trigger: this one matches only track "
                f'events named "{action.title}". Change it to the events you mean.',
                4,
            )
        )
    lines.append(f"    trigger: {yamltext.plain_or_quoted(trigger)}")
    lines.append(f"    action: {action.name}")
    todo = [f.name for f in action.fields if f.required and not f.has_default]
    if todo:
        lines.append("    enabled: false  # until the TODO fields below are mapped")
    lines.append("    defaults: false  # the mapping below is all that is sent")
    mapped = [f for f in action.fields if f.has_default or f.required]
    unmapped = [f for f in action.fields if not (f.has_default or f.required)]
    if mapped:
        lines.append("    mapping:")
    for field in mapped:
        lines.extend(yamltext.comment(_field_comment(field), 6))
        if field.has_default:
            lines.extend(yamltext.entry(field.name, field.default, 6))
        else:
            lines.extend(
                yamltext.entry(
                    field.name,
                    todo_mapping(field, trigger),
                    6,
                    "TODO: required and no default mapping; map your data",
                )
            )
    if unmapped:
        lines.extend(
            yamltext.comment(
                "Optional fields with no default mapping (`cdpctl fields "
                f"{provider.name} {action.name}` describes them): "
                + ", ".join(f.name for f in unmapped)
                + ".",
                4 + 2 * bool(mapped),
            )
        )
    return lines


def scaffold(provider: Provider, action_names: Sequence[str] = (), *, schema_ref: str) -> str:
    """The text of a new mapping file. Raises catalog.LookupFailed for an unknown action."""
    actions = (
        [find_action(provider, name) for name in dict.fromkeys(action_names)]
        if action_names
        else list(provider.actions)
    )
    settings = choose_settings(provider, actions)
    secrets = [
        value[2:-1]
        for key, value in settings.items()
        if isinstance(value, str)
        and value.startswith("${")
        and (spec := provider.setting(key)) is not None
        and spec.secret
    ]
    lines = [f"# yaml-language-server: $schema={schema_ref}"]
    lines.extend(yamltext.comment(f"{provider.title}: {provider.description}", 0))
    lines.extend(
        yamltext.comment(
            f"Generated by `cdpctl init {provider.name}`; check it with `cdpctl validate FILE` "
            "and preview events with `cdpctl test-event FILE EVENT`.",
            0,
        )
    )
    if secrets:
        lines.extend(
            yamltext.comment(
                f"Needs {' and '.join(secrets)} in the environment to send; dry runs work without.",
                0,
            )
        )
    lines += [
        "version: 1",
        "destination:",
        f"  provider: {provider.name}",
        f"  name: {yamltext.plain_or_quoted(provider.title)}",
    ]
    lines.append("  settings:" if settings else "  settings: {}")
    for spec in provider.settings:
        if spec.name not in settings:
            continue
        value = settings[spec.name]
        need = "required" if spec.required else "optional"
        kind = "secret: set it in the environment" if spec.secret else need
        if not spec.secret and isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX):
            kind += ", TODO: your value"
        lines.extend(yamltext.comment(f"{spec.title} ({kind}). {spec.description}".strip(), 4))
        lines.append(f"    {yamltext.key(spec.name)}: {yamltext.scalar(value)}")
    optional = [s for s in provider.settings if s.name not in settings]
    if optional:
        lines.extend(
            yamltext.comment(
                "Optional settings: "
                + ", ".join(
                    f"{s.name}"
                    + (f" (default {yamltext.flow(s.default)})" if s.has_default else "")
                    for s in optional
                )
                + f". See docs/providers/{provider.name}.md.",
                4,
            )
        )
    lines.append("subscriptions:")
    names: set[str] = set()
    for index, action in enumerate(actions):
        name = action.title
        if name in names:
            name = f"{action.title} ({action.name})"
        names.add(name)
        if index:
            lines.append("")
        lines.extend(_subscription(provider, action, name))
    return "\n".join(lines) + "\n"
