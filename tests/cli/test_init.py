"""`cdpctl init`: a commented starter mapping file that validates clean and renders events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import run_cli

from cdpctl import resources
from cdpctl.diagnostics import Severity
from cdpctl.lint import check_file
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Provider
from cdpctl.scaffold import env_name
from cdpctl.schema import SCHEMA_ID


def _provider(name: str) -> Provider:
    provider = get_provider(name)
    assert provider is not None
    return provider


def _init(tmp_path: Path, *args: str) -> Path:
    target = tmp_path / f"{args[0]}.yaml"
    result = run_cli(["init", *args, "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    return target


def _sample(kind: str) -> dict[str, Any]:
    return json.loads(resources.path(f"sample_events/{kind}.json").read_text(encoding="utf-8"))


def _event_for(trigger: str) -> dict[str, Any]:
    """A bundled sample of the trigger's type, renamed to the event the trigger names (several
    providers' default triggers are `type = "track" and event = "<action title>"`)."""
    kind = re.search(r'type = "(\w+)"', trigger)
    event = _sample(kind.group(1) if kind else "track")
    name = re.search(r'(?<!!)event = "([^"]+)"', trigger)
    if name:
        event["event"] = name.group(1)
    return event


def _test_event(path: Path, event: dict[str, Any], tmp_path: Path) -> tuple[int, list[dict]]:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    result = run_cli(["test-event", str(path), str(event_file), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)["results"]


@pytest.mark.parametrize("name", provider_names())
def test_init_output_validates_with_only_its_placeholders_flagged(
    name: str, tmp_path: Path
) -> None:
    """No error, and no warning but CDP609 on each your-… placeholder left to fill in: what
    init writes is what the linter recommends."""
    path = _init(tmp_path, name)
    text = path.read_text(encoding="utf-8")
    findings = [
        d
        for d in check_file(str(path)).diagnostics
        if d.severity in (Severity.ERROR, Severity.WARNING)
    ]
    assert all(d.code == "CDP609" for d in findings), findings
    assert len(findings) == text.count(": your-")
    result = run_cli(["validate", str(path)])
    assert result.exit_code == 0, result.stdout
    filled = tmp_path / "filled.yaml"
    filled.write_text(text.replace(": your-subdomain", ": mc563885gzs27c5t9-63k636ttgm"))
    if "your-" not in filled.read_text():
        assert run_cli(["validate", "--strict", str(filled)]).exit_code == 0


@pytest.mark.parametrize("name", provider_names())
def test_init_output_renders_a_sample_event(name: str, tmp_path: Path) -> None:
    """A bundled sample matches a subscription and renders requests with no errors; where no
    bundled sample matches (every default trigger names an event), a sample renamed to the
    event the first enabled subscription names does."""
    path = _init(tmp_path, name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    samples = [_sample(kind) for kind in ("identify", "track", "page", "screen", "group", "alias")]
    rendered = 0
    for event in samples:
        code, results = _test_event(path, event, tmp_path)
        assert code == 0, [r["errors"] for r in results if r["matched"]]
        rendered += sum(1 for r in results if r["matched"] and r["requests"])
    if not rendered:
        first = next(s for s in data["subscriptions"] if s.get("enabled", True))
        code, results = _test_event(path, _event_for(first["trigger"]), tmp_path)
        assert code == 0, [r["errors"] for r in results if r["matched"]]
        rendered = sum(1 for r in results if r["matched"] and r["requests"])
    assert rendered >= 1


@pytest.mark.parametrize("name", provider_names())
def test_every_enabled_trigger_matches_an_event_of_its_kind(name: str, tmp_path: Path) -> None:
    path = _init(tmp_path, name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for subscription in data["subscriptions"]:
        if subscription.get("enabled", True) is False:
            continue
        _, results = _test_event(path, _event_for(subscription["trigger"]), tmp_path)
        verdict = next(r for r in results if r["subscription"] == subscription["name"])
        assert verdict["matched"], (subscription["trigger"], verdict["reason"])


@pytest.mark.parametrize("name", provider_names())
def test_init_writes_every_default_mapping_and_a_subscription_per_action(name: str) -> None:
    provider = _provider(name)
    result = run_cli(["init", name])
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["destination"]["provider"] == name
    assert [s["action"] for s in data["subscriptions"]] == [a.name for a in provider.actions]
    for subscription in data["subscriptions"]:
        action = provider.action(subscription["action"])
        assert action is not None
        assert subscription["defaults"] is False
        mapping = subscription.get("mapping", {})
        for field in action.fields:
            if field.has_default:
                assert mapping[field.name] == field.default, field.name
            elif field.required:
                assert set(mapping[field.name]) == {"@path"}, field.name
                assert subscription["enabled"] is False
            else:
                assert field.name not in mapping
        if action.default_trigger.strip():
            assert subscription["trigger"] == action.default_trigger.strip()
        else:
            assert subscription["trigger"] == f'type = "track" and event = "{action.title}"'


@pytest.mark.parametrize("name", provider_names())
def test_secrets_are_env_references_and_required_settings_present(name: str) -> None:
    provider = _provider(name)
    data = yaml.safe_load(run_cli(["init", name]).stdout)
    settings = data["destination"]["settings"]
    for spec in provider.settings:
        if spec.secret:
            assert settings[spec.name] == "${" + env_name(provider, spec.name) + "}"
        elif spec.required:
            assert spec.name in settings


def test_every_field_has_a_comment_with_title_type_and_requirement() -> None:
    text = run_cli(["init", "loops", "sendEvent"]).stdout
    assert '      # User ID (string, required)\n      userId: {"@path": "$.userId"}\n' in text
    assert '      # Contact Email (string, optional)\n      email:\n        "@if":\n' in text
    assert "contactProperties" in text.split("mapping:")[1]  # listed as optional, unmapped


def test_header_schema_line_and_secret_note() -> None:
    lines = run_cli(["init", "sendgrid"]).stdout.splitlines()
    assert lines[0].startswith("# yaml-language-server: $schema=")
    assert any("Needs SENDGRID_API_KEY in the environment" in line for line in lines)
    assert "    sendGridApiKey: ${SENDGRID_API_KEY}" in lines


def test_schema_reference_resolves_committed_schemas_first(tmp_path: Path) -> None:
    # A repository without committed schemas: the installed schema, a file that exists (the
    # $id URL names the schema but is no page), and a note that it works on this machine only.
    (tmp_path / ".git").mkdir()
    target = tmp_path / "loops.yaml"
    result = run_cli(["init", "loops", "-o", str(target)])
    assert result.exit_code == 0, result.output
    first = target.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix) and "cdpctl.dev" not in first
    installed = Path(first[len(prefix) :])
    assert installed.is_absolute()
    assert json.loads(installed.read_text(encoding="utf-8"))["$id"] == SCHEMA_ID
    assert (
        f"note: the $schema line points at the schema installed with cdpctl ({installed}), "
        "which works on this machine only; for one everyone who clones the repository gets, "
        "commit it with `cdpctl schema --write schemas/` at the repository root and run init "
        "again\n"
    ) in result.stderr
    # With the schemas committed (cdpctl schema --write schemas), the file points at them.
    assert run_cli(["schema", "--write", str(tmp_path / "schemas")]).exit_code == 0
    nested = tmp_path / "mappings" / "team" / "loops.yaml"
    result = run_cli(["init", "loops", "-o", str(nested)])  # folders are created
    assert result.exit_code == 0, result.output
    first = nested.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../schemas/mapping.schema.json"
    custom = run_cli(["init", "loops", "--schema", "https://example.com/m.json"]).stdout
    assert custom.startswith("# yaml-language-server: $schema=https://example.com/m.json\n")


def test_chosen_actions_only_and_in_order(tmp_path: Path) -> None:
    data = yaml.safe_load(
        run_cli(["init", "customerio", "trackEvent", "createUpdatePerson"]).stdout
    )
    assert [s["action"] for s in data["subscriptions"]] == ["trackEvent", "createUpdatePerson"]


def test_required_setting_without_a_usable_reference_gets_a_valid_placeholder() -> None:
    data = yaml.safe_load(run_cli(["init", "sfmc", "contact"]).stdout)
    settings = data["destination"]["settings"]
    assert settings["subdomain"] == "your-subdomain"  # a host name part: no ${...} there
    assert settings["client_id"] == "${SFMC_CLIENT_ID}"
    assert settings["client_secret"] == "${SFMC_CLIENT_SECRET}"
    # Optional, but the provider warns without it: included as a reference.
    assert settings["account_id"] == "${SFMC_ACCOUNT_ID}"


def test_required_setting_with_a_default_uses_it() -> None:
    data = yaml.safe_load(run_cli(["init", "dotdigital"]).stdout)
    settings = data["destination"]["settings"]
    assert settings["api_host"] == "https://r1-api.dotdigital.com"
    assert settings["username"] == "${DOTDIGITAL_USERNAME}"
    assert settings["password"] == "${DOTDIGITAL_PASSWORD}"


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "loops.yaml"
    target.write_text("keep me\n", encoding="utf-8")
    result = run_cli(["init", "loops", "-o", str(target)])
    assert result.exit_code == 2
    assert "already exists; use --force" in result.stderr
    assert target.read_text(encoding="utf-8") == "keep me\n"
    forced = run_cli(["init", "loops", "-o", str(target), "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert target.read_text(encoding="utf-8").startswith("# yaml-language-server:")
    assert "wrote" in forced.stderr and forced.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "loop"], 'unknown provider "loop" — did you mean "loops"?'),
        (["init", "loops", "sendEvnt"], 'unknown loops action "sendEvnt" — did you mean'),
    ],
)
def test_unknown_provider_or_action(args: list[str], message: str) -> None:
    result = run_cli(args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_output_into_a_folder_is_refused(tmp_path: Path) -> None:
    result = run_cli(["init", "loops", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a folder" in result.stderr


@pytest.mark.parametrize(
    ("provider", "setting", "expected"),
    [
        ("loops", "apiKey", "LOOPS_API_KEY"),
        ("sendgrid", "sendGridApiKey", "SENDGRID_API_KEY"),
        ("segment", "source_write_key", "SEGMENT_SOURCE_WRITE_KEY"),
        ("customerio", "siteId", "CUSTOMERIO_SITE_ID"),
        ("sfmc", "client_secret", "SFMC_CLIENT_SECRET"),
    ],
)
def test_env_names(provider: str, setting: str, expected: str) -> None:
    assert env_name(_provider(provider), setting) == expected
