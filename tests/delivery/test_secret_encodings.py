"""Secrets in every encoding, credentials given as ${ENV}, short and unsendable secrets."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from helpers import run_cli

from cdpctl.secrets import Redactor

ROOT = Path(__file__).parents[2]
ODD_SECRET = 'line-one\nline-two "quoted" ünïcode/+&= tail'


def forms(secret: str) -> list[str]:
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    ]


def test_the_redactor_hides_every_encoding_of_a_secret() -> None:
    redactor = Redactor()
    redactor.add(ODD_SECRET, "${KEY}")
    for form in forms(ODD_SECRET):
        assert redactor.text(f"before {form} after") == "before ${KEY} after", form


def test_a_short_secret_is_redacted_only_where_it_stands_alone() -> None:
    redactor = Redactor()
    redactor.add("x", "${LOOPS_API_KEY}")
    assert redactor.text("jane.doe@example.com") == "jane.doe@example.com"
    assert redactor.text("Bearer x") == "Bearer ${LOOPS_API_KEY}"
    assert redactor.value({"apiKey": "x", "box": "xx"}) == {
        "apiKey": "${LOOPS_API_KEY}",
        "box": "xx",
    }


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_secret_with_a_newline_leaks_in_no_form(fmt: str) -> None:
    env = {"LOOPS_API_KEY": ODD_SECRET}
    for args in (
        ["test-event", "examples/loops.yaml", "identify"],
        ["send", "examples/loops.yaml", "identify", "-v"],
    ):
        result = run_cli([*args, "--format", fmt], env=env)
        output = result.stdout + result.stderr
        for form in forms(ODD_SECRET):
            assert form not in output, (args, form)
        assert "${LOOPS_API_KEY}" in output


def test_a_secret_that_cannot_go_in_a_header_is_refused_before_sending() -> None:
    result = run_cli(
        ["send", "examples/loops.yaml", "identify", "--live", "--endpoint", "http://127.0.0.1:9"],
        env={"LOOPS_API_KEY": "schlüssel-with-umlaut"},
    )
    assert result.exit_code == 2
    assert "apiKey (from ${LOOPS_API_KEY}) holds a character that cannot be sent" in result.stderr
    assert "schlüssel" not in result.stderr


@pytest.mark.parametrize("command", ["send", "replay"])
def test_a_one_character_secret_is_refused_for_live_sends(command: str) -> None:
    args = (
        ["send", "examples/loops.yaml", "identify"]
        if command == "send"
        else ["replay", "tests/cases/output/events.ndjson", "-m", "examples/loops.yaml"]
    )
    result = run_cli([*args, "--live"], env={"LOOPS_API_KEY": "x"})
    assert result.exit_code == 2
    assert "apiKey (from ${LOOPS_API_KEY}) is 1 character(s) long" in result.stderr
    dry = run_cli(["test-event", "examples/loops.yaml", "identify"], env={"LOOPS_API_KEY": "x"})
    assert "jane.doe@example.com" in dry.stdout


def test_a_credential_given_as_env_is_redacted_everywhere(tmp_path: Path, sandbox) -> None:
    from cdpctl.sandbox.providers.sfmc import CLIENT_ID, CLIENT_SECRET

    env = {"SFMC_CLIENT_ID": CLIENT_ID, "SFMC_CLIENT_SECRET": CLIENT_SECRET}
    golden = tmp_path / "golden.json"
    record = tmp_path / "record"
    events = tmp_path / "events.ndjson"
    events.write_text((ROOT / "tests/cases/output/events.ndjson").read_text())
    outputs = [
        run_cli(["test-event", "examples/sfmc.yaml", "identify", "-f", "json"], env=env).stdout,
        run_cli(
            [
                *("send", "examples/sfmc.yaml", "identify", "--live", "-v"),
                *("--endpoint", sandbox.url, "--save-expect", str(golden)),
            ],
            env=env,
        ).stdout,
        run_cli(
            [
                *("replay", str(events), "-m", "examples/sfmc.yaml", "--live"),
                *("--endpoint", sandbox.url, "--record", str(record), "--no-progress"),
            ],
            env=env,
        ).stdout,
    ]
    files = [golden.read_text(), *(p.read_text() for p in record.iterdir())]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    for text in outputs + files:
        assert CLIENT_ID not in text
        assert CLIENT_SECRET not in text
        assert basic not in text
    assert "${SFMC_CLIENT_ID}" in outputs[0]


@pytest.mark.parametrize("command", ["pull", "status", "push"])
def test_a_public_api_token_that_cannot_go_in_a_header_is_refused_unprinted(
    command: str, tmp_path: Path
) -> None:
    args = {
        "pull": ["--destination", "dst1", "-o", str(tmp_path / "out.yaml")],
        "status": ["examples/loops.yaml", "--destination", "dst1"],
        "push": ["examples/sendgrid.yaml", "--destination", "dst1", "--yes"],
    }[command]
    result = run_cli(
        ["workspace", command, *args, "--api-url", "http://127.0.0.1:9"],
        env={"SEGMENT_PUBLIC_API_TOKEN": ODD_SECRET},
    )
    assert result.exit_code == 2
    assert "SEGMENT_PUBLIC_API_TOKEN is not a usable token" in result.stderr
    for form in forms(ODD_SECRET):
        assert form not in result.output, form
