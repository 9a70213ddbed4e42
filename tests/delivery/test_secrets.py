"""Secrets never leave the process: API keys, passwords, client secrets, Basic credentials and
OAuth tokens are absent from every output, recording, dead-letter file and ledger.

Each provider's bundled example is run live against the sandbox (with good credentials and with
wrong ones, so dead letters carry real provider error bodies), then every artefact is searched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import run_cli

from cdpctl.providers import get_provider
from cdpctl.sandbox.server import load_emulators
from cdpctl.secrets import resolve_settings

ROOT = Path(__file__).parents[2]
SAMPLES = ("identify", "track", "page", "screen", "group", "alias")
SFMC_TOKEN = re.compile(rb"sbx\.[0-9a-f]{16}\.\d+\.[0-9a-f]{32}")
# Provider emulators; the Segment Public API one (no provider, no example) has its own test.
EMULATORS = {e.name: e for e in load_emulators() if get_provider(e.name) is not None}


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


def _echo_server():
    """A real HTTP server on 127.0.0.1 that refuses every request and echoes its Authorization
    header in the body (a careless proxy): cdpctl must redact what comes back."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            told = self.headers.get("Authorization")
            body = json.dumps({"errors": [{"message": f"bad token: {told}"}]}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_public_api_token_is_in_no_output_file_or_error(tmp_path: Path, sandbox) -> None:
    """workspace pull, status (with --events) and push, in text and JSON, with the sandbox's
    token, a wrong one, and an API that echoes the token back in its error."""
    from cdpctl.sandbox.providers.segment_public_api import DEMO_DESTINATION, TOKEN

    events = tmp_path / "events.ndjson"
    events.write_text(
        "".join(
            (ROOT / "sample_events" / f"{n}.json").read_text().replace("\n", "") + "\n"
            for n in SAMPLES
        )
    )
    mapping = tmp_path / "loops.yaml"
    echo = _echo_server()
    outputs: list[str] = []
    try:
        for token, url in (
            (TOKEN, sandbox.url),
            ("wrong-token-0123456789", sandbox.url),
            (TOKEN, f"http://127.0.0.1:{echo.server_address[1]}"),
        ):
            env = {"SEGMENT_PUBLIC_API_TOKEN": token}
            api = ["--api-url", url]
            runs = [
                ["workspace", "pull", "--destination", DEMO_DESTINATION, "-o", str(mapping), *api]
                if not mapping.exists()
                else ["workspace", "pull", str(mapping), *api],
                ["workspace", "push", str(mapping), "--yes", "--prune", *api],
            ]
            for fmt in ("text", "json"):
                runs.append(["workspace", "status", str(mapping), "-f", fmt, *api])
                runs.append(
                    ["workspace", "status", str(mapping), "--events", str(events), "-f", fmt, *api]
                )
            for args in runs:
                if args[1] == "push" and token == TOKEN and url == sandbox.url:
                    text = mapping.read_text()  # something to push
                    mapping.write_text(text.replace('type = "identify"', 'type = "alias"'))
                result = run_cli(args, env=env)
                assert "Traceback" not in result.output
                outputs += [result.stdout, result.stderr]
                if url != sandbox.url:
                    assert result.exit_code == 2, args
                    assert "${SEGMENT_PUBLIC_API_TOKEN}" in result.stderr
    finally:
        echo.shutdown()
        echo.server_close()
    assert any("1 write(s) applied" in text for text in outputs), "a push really happened"
    assert any("401" in text for text in outputs), "the wrong token really was refused"
    files = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    files["sandbox state"] = json.dumps(sandbox.state.snapshot())
    for token in (TOKEN, "wrong-token-0123456789"):
        for where, text in [*enumerate(outputs), *files.items()]:
            assert token not in text, f"the token leaked into {where}"
