"""A dry run shows what live mode does: the same archive, replayed dry and live (into the real
sandbox, no faults), gives the same verdict counts per subscription for every bundled example,
and every event a dry run would send is either delivered or refused by the provider.
`send` and `replay` agree on single events too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from archives import mixed_events
from helpers import run_cli

from cdpctl.sandbox.server import load_emulators

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.yaml"))
EMULATORS = {emulator.name: emulator for emulator in load_emulators()}
VERDICT_COLUMNS = ("matched", "no_match", "invalid", "skipped", "would_send")
SAMPLES = ("identify", "track", "page", "screen", "group", "alias")


def sandbox_mapping(provider: str, tmp_path: Path, endpoint: str) -> tuple[Path, dict[str, str]]:
    """The bundled example, pointed at the sandbox with the credentials it accepts."""
    document = yaml.safe_load((ROOT / "examples" / f"{provider}.yaml").read_text())
    settings = document["destination"]["settings"]
    env = {}
    for key, value in settings.items():
        accepted = EMULATORS[provider].credentials.get(key)
        if accepted is None:
            continue
        if isinstance(value, str) and value.startswith("${"):
            env[value[2:-1]] = accepted
        else:
            settings[key] = accepted
    document["destination"]["endpoint"] = endpoint
    path = tmp_path / f"{provider}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path, env


def replay(events: Path, mapping: Path, env: dict[str, str], *extra: str) -> dict[str, Any]:
    result = run_cli(
        ["replay", str(events), "-m", str(mapping), "--no-progress", "-f", "json", *extra],
        env=env,
    )
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("provider", EXAMPLES)
def test_dry_run_and_live_replay_agree_per_subscription(
    provider: str, tmp_path: Path, sandbox
) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("".join(json.dumps(e) + "\n" for e in mixed_events(1200)))
    mapping, env = sandbox_mapping(provider, tmp_path, sandbox.url)
    dry = replay(events, mapping, env, "--workers", "1")
    parallel = replay(events, mapping, env, "--workers", "2")
    live = replay(events, mapping, env, "--live", "--rate", "100000")
    assert parallel["subscriptions"] == dry["subscriptions"]
    assert dry["subscriptions"].keys() == live["subscriptions"].keys()
    sent = 0
    for name, counts in dry["subscriptions"].items():
        live_counts = live["subscriptions"][name]
        assert {c: counts[c] for c in VERDICT_COLUMNS} == {
            c: live_counts[c] for c in VERDICT_COLUMNS
        }, name
        assert live_counts["would_send"] == live_counts["delivered"] + live_counts["failed"], name
        sent += live_counts["delivered"]
    assert sent > 0, "the archive exercised no delivery at all"
    # One process caches an OAuth token or a field lookup once, as live mode does.
    assert dry["planned_requests"] == live["planned_requests"]
    assert dry["planned_bytes"] == live["planned_bytes"]


@pytest.mark.parametrize("provider", EXAMPLES)
def test_send_and_replay_agree_on_single_events(provider: str, tmp_path: Path) -> None:
    mapping = ROOT / "examples" / f"{provider}.yaml"
    for sample in SAMPLES:
        event = json.loads((ROOT / "sample_events" / f"{sample}.json").read_text())
        events = tmp_path / f"{sample}.ndjson"
        events.write_text(json.dumps(event) + "\n")
        sent = json.loads(run_cli(["send", str(mapping), sample, "-f", "json"]).stdout)
        counts = replay(events, mapping, {}, "--workers", "1")["subscriptions"]
        for entry in sent["subscriptions"]:
            replayed = counts[entry["subscription"]]
            errors = [e for e in entry["errors"] if e["severity"] == "error"]
            assert replayed["matched"] == int(entry["matched"]), (sample, entry)
            assert replayed["invalid"] == int(entry["matched"] and bool(errors)), (sample, entry)
            assert replayed["would_send"] == int(bool(entry["requests"])), (sample, entry)
