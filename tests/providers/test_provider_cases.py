"""Golden provider cases: tests/cases/providers/<provider>/<action>/<case>.yaml.

Each file holds a mapping file's destination (provider and settings, secrets as `${NAME}`), one
subscription, an event, and what cdpctl's dry run gives for it (`cdpctl test-event` shows the
same): the exact requests — method, URL, headers without the versioned User-Agent, body text
byte for byte — or the refusal (`invalid`: codes and messages) or skip reason. Every action has
at least a `required-fields` case (only the required fields, mapped to literals, no defaults)
and an `all-fields` case (every field mapped); `defaults` cases apply the action's default
mapping to the sample event of its trigger.

After a deliberate change, rewrite the expected part of the files (then read the diff):

    python tests/providers/test_provider_cases.py --regenerate          # every case
    python tests/providers/test_provider_cases.py --regenerate loops    # one provider or action

Adding an action: run `--regenerate`; it writes the action's cases from its declarations
(literal values by field type), which you then read and adjust.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "cases" / "providers"
SAMPLES = ROOT / "sample_events"
KINDS = ("required-fields", "all-fields", "defaults")

sys.path.insert(0, str(ROOT))

from cdpctl.pipeline import (  # noqa: E402
    Destination,
    Invalid,
    Ready,
    Skipped,
    Verdict,
    evaluate,
    load_destination,
)
from cdpctl.providers import get_provider, provider_names  # noqa: E402
from cdpctl.providers.base import Action, Field, FieldType, Format  # noqa: E402
from cdpctl.requestview import request_view  # noqa: E402


def environ(settings: dict[str, Any]) -> dict[str, str]:
    """A value for every `${NAME}` the settings use: `test-name` (long enough to redact)."""
    names = [v[2:-1] for v in settings.values() if isinstance(v, str) and v.startswith("${")]
    return {name: f"test-{name.lower().replace('_', '-')}" for name in names}


def judged(case: dict[str, Any], tmp_path: Path) -> tuple[Destination, Verdict]:
    """The case's one subscription as a mapping file, and its dry-run verdict on the event."""
    document = {
        "version": 1,
        "destination": case["destination"],
        "subscriptions": [case["subscription"]],
    }
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    destination = load_destination(str(path), environ(case["destination"]["settings"]))
    (sub,) = destination.subscriptions
    return destination, evaluate(sub, case["event"], destination.context(dry_run=True))


def outcome(case: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """What cdpctl's dry run gives for the case: requests, or the refusal."""
    destination, verdict = judged(case, tmp_path)
    redactor = destination.redactor()
    if isinstance(verdict, Ready):
        requests = []
        for request in verdict.requests:
            view = request_view(request, redactor)
            view["headers"].pop("User-Agent")
            requests.append(
                {
                    "method": view["method"],
                    "url": view["url"],
                    "headers": view["headers"],
                    "body": redactor.text(request.body().decode("utf-8", "replace")),
                }
            )
        return {"requests": requests}
    if isinstance(verdict, Invalid):
        return {"invalid": [{"code": d.code, "message": d.message} for d in verdict.diagnostics]}
    if isinstance(verdict, Skipped):
        return {"skipped": verdict.reason}
    return {"not matched": type(verdict).__name__}


def case_files() -> list[Path]:
    return sorted(CASES.glob("*/*/*.yaml"))


@pytest.mark.parametrize(
    "path", case_files(), ids=lambda p: str(p.relative_to(CASES).with_suffix(""))
)
def test_case(path: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert outcome(case, tmp_path) == case["expected"], (
        f"{path} differs: if the change is deliberate, run "
        f"`python tests/providers/test_provider_cases.py --regenerate {path.parent.parent.name}`"
    )


def test_every_action_has_its_cases() -> None:
    missing = []
    for name in provider_names():
        provider = get_provider(name)
        assert provider is not None
        for action in provider.actions:
            for kind in ("required-fields", "all-fields"):
                if not (CASES / name / action.name / f"{kind}.yaml").exists():
                    missing.append(f"{name}/{action.name}/{kind}.yaml")
    assert not missing, (
        "actions without golden cases (write them with "
        f"`python tests/providers/test_provider_cases.py --regenerate`): {', '.join(missing)}"
    )


def test_every_request_carries_cdpctls_user_agent(tmp_path: Path) -> None:
    from cdpctl import __version__

    case = yaml.safe_load((CASES / "loops/createOrUpdateContact/all-fields.yaml").read_text())
    document = {"version": 1, "destination": case["destination"]}
    document["subscriptions"] = [case["subscription"]]
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    destination = load_destination(str(path), environ(case["destination"]["settings"]))
    verdict = evaluate(
        destination.subscriptions[0], case["event"], destination.context(dry_run=True)
    )
    assert isinstance(verdict, Ready)
    for request in verdict.requests:
        assert request.wire_headers()["User-Agent"] == f"cdpctl/{__version__}"


# --- writing cases ---------------------------------------------------------------------------


def _literal(field: Field) -> Any:
    """A plausible literal for a field, by its declaration."""
    if field.enum:
        return field.enum[0]
    if field.type is FieldType.OBJECT:
        if field.properties:
            value: Any = {child.name: _literal(child) for child in field.properties}
        else:
            value = {"plan": "pro", "visits": 3}
    elif field.type is FieldType.BOOLEAN:
        value = True
    elif field.type in (FieldType.NUMBER, FieldType.INTEGER):
        value = 42
    elif field.type is FieldType.DATETIME or field.format is Format.DATE_TIME:
        value = "2026-03-04T05:06:07.000Z"
    elif field.format is Format.EMAIL or any(w in field.name.lower() for w in ("email", "address")):
        value = "jane.doe@example.com"
    elif field.format is Format.URI or "url" in field.name.lower():
        value = "https://example.com/welcome"
    elif (
        field.format is Format.E164
        or "phone" in field.name.lower()
        or "mobile" in field.name.lower()
    ):
        value = "+14155550123"
    else:
        value = f"{field.name}-value"
    return [value] if field.multiple else value


def _trigger_type(action: Action) -> str:
    for kind in ("identify", "track", "page", "screen", "group", "alias"):
        if f'"{kind}"' in action.default_trigger:
            return kind
    return "track"


def _example_settings(provider: str) -> dict[str, Any]:
    example = yaml.safe_load((ROOT / "examples" / f"{provider}.yaml").read_text())
    return example["destination"]["settings"]


def _new_case(provider: str, action: Action, kind: str) -> dict[str, Any]:
    event = json.loads((SAMPLES / f"{_trigger_type(action)}.json").read_text())
    subscription: dict[str, Any] = {
        "name": f"{action.name} {kind}",
        "trigger": f'type = "{event["type"]}"',
        "action": action.name,
    }
    if kind == "defaults":  # the defaults, plus the required fields that have none
        subscription["mapping"] = {
            f.name: _literal(f) for f in action.fields if f.required and not f.has_default
        }
    else:
        chosen = [f for f in action.fields if f.required or kind == "all-fields"]
        subscription["mapping"] = {f.name: _literal(f) for f in chosen}
        subscription["defaults"] = False
    return {
        "destination": {"provider": provider, "settings": _example_settings(provider)},
        "subscription": subscription,
        "event": event,
    }


def regenerate(selector: str, tmp_path: Path) -> int:
    written = 0
    for name in provider_names():
        provider = get_provider(name)
        assert provider is not None
        for action in provider.actions:
            if selector and selector not in (name, f"{name}/{action.name}"):
                continue
            for kind in KINDS:
                path = CASES / name / action.name / f"{kind}.yaml"
                if path.exists():
                    case = yaml.safe_load(path.read_text(encoding="utf-8"))
                else:
                    case = _new_case(name, action, kind)
                case["expected"] = outcome(case, tmp_path)
                path.parent.mkdir(parents=True, exist_ok=True)
                text = yaml.safe_dump(case, sort_keys=False, allow_unicode=True, width=100)
                path.write_text(f"# {name}/{action.name}: {kind}\n{text}", encoding="utf-8")
                written += 1
    return written


if __name__ == "__main__":
    import tempfile

    if len(sys.argv) not in (2, 3) or sys.argv[1] != "--regenerate":
        sys.stderr.write(
            "usage: python tests/providers/test_provider_cases.py --regenerate [provider]\n"
        )
        raise SystemExit(2)
    with tempfile.TemporaryDirectory() as folder:
        count = regenerate(sys.argv[2] if len(sys.argv) == 3 else "", Path(folder))
    print(f"{count} case file(s) written under {CASES.relative_to(ROOT)}")
