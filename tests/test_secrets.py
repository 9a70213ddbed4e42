"""Secrets never leave the process: API keys, passwords, client secrets, Basic credentials and
OAuth tokens are absent from every output, recording, dead-letter file and ledger.

Each provider's bundled example is run live against the sandbox (with good credentials and with
wrong ones, so dead letters carry real provider error bodies), then every artefact is searched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers import run_cli

from cdpctl.providers import get_provider
from cdpctl.sandbox.server import load_emulators
from cdpctl.secrets import resolve_settings

ROOT = Path(__file__).parent.parent
SAMPLES = ("identify", "track", "page", "screen", "group", "alias")
SFMC_TOKEN = re.compile(rb"sbx\.[0-9a-f]{16}\.\d+\.[0-9a-f]{32}")
EMULATORS = {emulator.name: emulator for emulator in load_emulators()}


def _mapping_and_env(provider: str, tmp_path: Path, *, wrong: bool) -> tuple[Path, dict]:
    """The bundled example pointed at the sandbox's credentials (or wrong ones)."""
    document = yaml.safe_load((ROOT / "examples" / f"{provider}.yaml").read_text())
    settings = document["destination"]["settings"]
    accepted = EMULATORS[provider].credentials
    env = {}
    for key, value in settings.items():
        if key not in accepted:
            continue
        secret = accepted[key] + ("-WRONG" if wrong else "")
        if isinstance(value, str) and value.startswith("${"):
            env[value[2:-1]] = secret
        else:
            settings[key] = secret  # a non-secret credential such as Dotdigital's username
    path = tmp_path / f"{provider}{'-wrong' if wrong else ''}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, env


def _secrets(provider: str, mapping: Path, env: dict) -> set[bytes]:
    """Values of secret settings and what the provider derives from them (Basic credentials);
    identifiers such as SFMC's client_id are not secret and may be shown."""
    spec = get_provider(provider)
    document = yaml.safe_load(mapping.read_text())
    resolved = resolve_settings(spec, document["destination"]["settings"], env)
    return {value.encode() for value, _ in resolved.secrets if value}


@pytest.mark.slow
@pytest.mark.parametrize("provider", sorted(EMULATORS))
def test_no_secret_in_any_output_recording_dead_letter_or_ledger(
    provider: str, tmp_path: Path, sandbox
) -> None:
    outputs: list[bytes] = []
    secrets: set[bytes] = set()
    events = tmp_path / "events.ndjson"
    events.write_text(
        "".join(
            (ROOT / "sample_events" / f"{n}.json").read_text().replace("\n", "") + "\n"
            for n in SAMPLES
        )
        + "{not json\n"
    )
    for wrong in (False, True):
        mapping, env = _mapping_and_env(provider, tmp_path, wrong=wrong)
        secrets |= _secrets(provider, mapping, env)
        for sample in SAMPLES:
            for fmt in ("text", "json"):
                for args in (
                    ["test-event", str(mapping), sample],
                    [
                        "send",
                        str(mapping),
                        sample,
                        "--live",
                        "-v",
                        "--endpoint",
                        sandbox.url,
                        "--max-attempts",
                        "2",
                    ],
                ):
                    result = run_cli([*args, "--format", fmt], env=env)
                    assert "Traceback" not in result.output
                    outputs += [result.stdout.encode(), result.stderr.encode()]
        label = "wrong" if wrong else "good"
        result = run_cli(
            [
                "replay",
                str(events),
                "-m",
                str(mapping),
                "--live",
                "--endpoint",
                sandbox.url,
                "--workers",
                "1",
                "--max-attempts",
                "2",
                "--state",
                str(tmp_path / f"{label}.sqlite"),
                "--dead-letter",
                str(tmp_path / f"{label}-dead.ndjson"),
                "--record",
                str(tmp_path / f"{label}-record"),
                "--format",
                "json",
            ],
            env=env,
        )
        outputs += [result.stdout.encode(), result.stderr.encode()]
    assert sandbox.state.stats["acknowledged"] > 0, "the example really delivered something"
    assert sandbox.state.stats["rejected"] > 0, "the wrong credentials really were refused"
    artefacts = {f"output {i}": text for i, text in enumerate(outputs)}
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.name.endswith(".yaml") and path.name != "events.ndjson":
            artefacts[str(path.relative_to(tmp_path))] = path.read_bytes()
    assert any("record" in name for name in artefacts), "recordings were written"
    assert any("dead" in name for name in artefacts), "dead letters were written"
    assert secrets
    for name, content in artefacts.items():
        for secret in secrets:
            assert secret not in content, f"{secret!r} leaked into {name}"
        assert not SFMC_TOKEN.search(content), f"an OAuth token leaked into {name}"
