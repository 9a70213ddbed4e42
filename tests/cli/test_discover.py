"""Discovery commands: providers, actions, fields, schema (and the committed schemas/ folder),
shell completion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl.providers import get_provider, provider_names
from cdpctl.schema import action_payload_schema, all_schemas, mapping_file_schema, schema_text

ROOT = Path(__file__).parents[2]
LOOPS_ACTIONS = [action.name for action in get_provider("loops").actions]


def test_providers_text_lists_every_provider_with_counts_rate_and_docs() -> None:
    result = run_cli(["providers"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PROVIDER", "TITLE", "ACTIONS", "RATE", "LIMIT", "DOCS"]
    assert len(lines) == 1 + len(provider_names())
    loops = next(line for line in lines if line.startswith("loops "))
    count = str(len(get_provider("loops").actions))
    assert loops.split() == ["loops", "Loops", count, "10/s", "https://loops.so/docs/api-reference"]


def test_providers_json() -> None:
    result = run_cli(["providers", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == list(provider_names())
    for row in rows:
        provider = get_provider(row["name"])
        assert provider is not None
        assert row["title"] == provider.title
        assert row["actions"] == len(provider.actions)
        assert row["rateLimit"]["requestsPerSecond"] == provider.rate_limit.requests_per_second
        assert row["docs"] == provider.docs_url


@pytest.mark.parametrize("name", provider_names())
def test_actions_json_matches_the_provider_module(name: str) -> None:
    provider = get_provider(name)
    assert provider is not None
    result = run_cli(["actions", name, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == [a.name for a in provider.actions]
    for row, action in zip(rows, provider.actions, strict=True):
        assert row["title"] == action.title
        assert row["defaultTrigger"] == (action.default_trigger.strip() or None)
        assert (row["batch"] is None) == (action.batch is None)


def test_actions_text() -> None:
    result = run_cli(["actions", "sendgrid"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ACTION             TITLE                             BATCH  DEFAULT TRIGGER",
        "updateUserProfile  Upsert Contact                    yes    (none: choose one)",
        "sendEmail          Send Email with Dynamic Template  no     (none: choose one)",
    ]


def test_fields_json_has_types_defaults_and_constraints() -> None:
    result = run_cli(["fields", "sendgrid", "updateUserProfile", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["provider"] == "sendgrid"
    assert data["name"] == "updateUserProfile"
    fields = {f["name"]: f for f in data["fields"]}
    email = fields["primary_email"]
    assert email["type"] == "string"
    assert email["required"] is False
    # No format: Segment's action sends any text as primary_email (docs/fidelity.md).
    assert "format" not in email["constraints"]
    assert email["constraints"]["maxLength"] == 254
    assert fields["phone_number_id"]["type"] == "string"
    assert email["default"]["@if"]["then"] == {"@path": "$.traits.email"}
    assert fields["customFields"]["default"] is None


def test_fields_json_enum_and_required() -> None:
    result = run_cli(["fields", "dotdigital", "addContactToList", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    fields = {f["name"]: f for f in json.loads(result.stdout)["fields"]}
    assert fields["channelIdentifier"]["required"] is True
    assert fields["channelIdentifier"]["constraints"]["enum"] == ["email", "mobileNumber"]


def test_fields_text() -> None:
    result = run_cli(["fields", "loops", "sendEvent"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith('loops.sendEvent — Send Event\ndefault trigger: type = "track"\n')
    assert 'userId  string  required  default {"@path": "$.userId"}\n' in text
    assert "    format email\n" in text
    assert "contactProperties  object  optional\n" in text


def test_fields_text_shows_nested_properties() -> None:
    result = run_cli(["fields", "sendgrid", "sendEmail"])
    assert result.exit_code == 0, result.stderr
    assert "\n  from.email  string  required\n" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["actions", "lops"], 'unknown provider "lops" — did you mean "loops"?'),
        (["fields", "sendgird", "sendEmail"], 'did you mean "sendgrid"?'),
        (
            ["fields", "sendgrid", "sendEmial"],
            'unknown sendgrid action "sendEmial" — did you mean "sendEmail"?',
        ),
        (["fields", "loops", "zzz"], f"(known: {', '.join(LOOPS_ACTIONS)})"),
        (["schema", "--action", "loops.sendEvnt"], 'did you mean "sendEvent"?'),
        (["schema", "--action", "loops"], "expected PROVIDER.ACTION"),
        (["providers", "--format", "xml"], "--format must be one of text, json"),
    ],
)
def test_unknown_names_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = run_cli(args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_schema_prints_the_mapping_file_schema() -> None:
    result = run_cli(["schema"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == schema_text(mapping_file_schema())


def test_schema_prints_one_action_payload_schema() -> None:
    result = run_cli(["schema", "--action", "loops.sendEvent"])
    assert result.exit_code == 0, result.stderr
    provider = get_provider("loops")
    assert provider is not None
    action = provider.action("sendEvent")
    assert action is not None
    assert json.loads(result.stdout) == action_payload_schema(provider, action)


def test_schema_write_writes_every_schema_and_reports_stale_ones(tmp_path: Path) -> None:
    (tmp_path / "actions").mkdir()
    (tmp_path / "actions" / "loops.gone.schema.json").write_text("{}")
    result = run_cli(["schema", "--write", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    schemas = all_schemas()
    assert f"{len(schemas)} schema(s) written, 0 unchanged" in result.stdout
    assert "loops.gone.schema.json: stale" in result.stderr
    for relative, value in schemas.items():
        assert (tmp_path / relative).read_text(encoding="utf-8") == schema_text(value)
    again = run_cli(["schema", "--write", str(tmp_path)])
    assert f"0 schema(s) written, {len(schemas)} unchanged" in again.stdout


def test_committed_schemas_are_what_schema_write_produces() -> None:
    """schemas/ must never drift: regenerate it with `cdpctl schema --write schemas`."""
    folder = ROOT / "schemas"
    expected = all_schemas()
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*.json")}
    assert present == set(expected), "run: cdpctl schema --write schemas"
    for relative, value in expected.items():
        committed = (folder / relative).read_text(encoding="utf-8")
        assert committed == schema_text(value), f"{relative}: run cdpctl schema --write schemas"


def test_schema_write_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = run_cli(["schema", "--write", str(target)])
    assert result.exit_code == 2
    assert "needs a folder" in result.stderr


def test_show_completion_in_bash() -> None:
    # --show-completion detects the shell it runs in: run it from bash, as a user would (the
    # test runner itself may have no shell among its parents).
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m cdpctl --show-completion; exit $?"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "_CDPCTL_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _cdpctl_completion cdpctl" in result.stdout


def _complete(words: str) -> list[str]:
    """What bash completion offers for `words` (the cursor after the last word)."""
    env = {
        "_CDPCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    code = "from cdpctl.cli.main import app; app(prog_name='cdpctl')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return done.stdout.split()


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.endswith("_COMPLETE")}


def test_completion_completes_commands_providers_and_actions() -> None:
    assert "providers" in _complete("cdpctl prov")
    assert _complete("cdpctl init s") == ["segment", "sendgrid", "sfmc"]
    assert _complete("cdpctl fields sendgrid up") == ["updateUserProfile"]


@pytest.mark.parametrize(
    "args", [["providers"], ["actions", "loops"], ["fields", "loops", "sendEvent"]]
)
def test_discovery_commands_take_color_and_cdpctl_format(args: list[str]) -> None:
    colored = run_cli([*args, "--color", "always"])
    assert colored.exit_code == 0
    assert colored.stdout.startswith("\x1b[1m")
    plain = run_cli([*args, "--color", "never"])
    assert "\x1b[" not in plain.stdout
    assert json.loads(run_cli(args, env={"CDPCTL_FORMAT": "json"}).stdout)
