"""SFMC views a new user reads: an unset credential reference in its token form, and an event
whose name differs in case from settings.events shown as skipped, with the configured name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

ROOT = Path(__file__).parents[2]


def test_sfmc_dry_run_shows_an_unset_reference_in_its_token_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SFMC_CLIENT_ID", "SFMC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli(["test-event", str(ROOT / "examples" / "sfmc.yaml"), "track"])
    assert result.exit_code == 0, result.output
    token_bodies = [line for line in result.stdout.splitlines() if "grant_type=" in line]
    assert token_bodies
    for line in token_bodies:
        assert line == (
            "  account_id=100000001&client_id=${SFMC_CLIENT_ID}&client_secret=***"
            "&grant_type=client_credentials"
        )
    assert "%24%7B" not in result.stdout


def test_sfmc_event_differing_in_case_says_skipped_with_the_configured_name(
    tmp_path: Path,
) -> None:
    event = json.loads((ROOT / "sample_events" / "track.json").read_text())
    event["event"] = "order completed"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = run_cli(["test-event", str(ROOT / "examples" / "sfmc.yaml"), str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "✓ Classic conversion events → trackDataExtension  matched" not in lines
    assert (
        "○ Classic conversion events → trackDataExtension  matched, skipped: nothing to send"
        in (lines)
    )
    assert (
        '  skipped: "order completed" is not configured in settings.events: nothing to send — '
        'did you mean "Order Completed"? (event names match exactly, case included)'
    ) in lines
    assert lines[-1] == "2 of 10 subscription(s) matched (2 skipped: nothing to send)"
