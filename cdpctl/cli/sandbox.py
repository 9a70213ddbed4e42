"""`cdpctl sandbox` — run the local provider emulator on 127.0.0.1; `cdpctl sandbox show` —
what it received."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

from cdpctl.cli.common import fail, note
from cdpctl.cli.help import command_help

DEFAULT_URL = "http://127.0.0.1:8765"

app = typer.Typer(rich_markup_mode=None)


@app.callback(invoke_without_command=True)
def command(
    ctx: typer.Context,
    port: int = typer.Option(8765, "--port", "-p", min=0, max=65535, help="Port (0 = any free)."),
    state: Path | None = typer.Option(
        None, "--state", metavar="FILE", help="Load state from this JSON file and save it on exit."
    ),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0, help="Delay every answer."),
    error_rate: float = typer.Option(
        0.0, "--error-rate", min=0, max=1, help="Fraction of requests answered 503."
    ),
    throttle_rate: float = typer.Option(
        0.0, "--throttle-rate", min=0, max=1, help="Fraction answered 429 with Retry-After."
    ),
    reset_rate: float = typer.Option(
        0.0, "--reset-rate", min=0, max=1, help="Fraction whose connection is reset."
    ),
    retry_after: str = typer.Option(
        "1", "--retry-after", metavar="SECONDS", help='Retry-After value: seconds, or "http-date".'
    ),
    rate_limits: bool = typer.Option(
        True,
        "--rate-limits/--no-rate-limits",
        help="Enforce each provider's documented rate limit.",
    ),
    late_rate: float = typer.Option(
        0.0, "--late-rate", min=0, max=1, help="Fraction processed, then answered --late-ms late."
    ),
    late_ms: float = typer.Option(12000.0, "--late-ms", min=0, help="Delay of a late answer."),
    trickle_rate: float = typer.Option(
        0.0, "--trickle-rate", min=0, max=1, help="Fraction processed, then answered byte by byte."
    ),
    trickle_ms: float = typer.Option(
        2000.0, "--trickle-ms", min=0, help="Pause before each byte of a trickled answer."
    ),
    huge_rate: float = typer.Option(
        0.0, "--huge-rate", min=0, max=1, help="Fraction processed, then answered --huge-bytes."
    ),
    huge_bytes: int = typer.Option(
        800_000_000, "--huge-bytes", min=0, help="Body size of a huge answer."
    ),
    reset_after_rate: float = typer.Option(
        0.0, "--reset-after-rate", min=0, max=1, help="Fraction processed, then reset unanswered."
    ),
    truncate_rate: float = typer.Option(
        0.0, "--truncate-rate", min=0, max=1, help="Fraction processed, then answered cut short."
    ),
    partial_rate: float = typer.Option(
        0.0, "--partial-rate", min=0, max=1, help="Fraction of valid batch items refused (207)."
    ),
    token: str = typer.Option(
        "normal",
        "--token",
        metavar="KIND",
        help="Token answers: normal, non-ascii, crlf, empty, missing, huge, not-json.",
    ),
    only_path: str | None = typer.Option(
        None, "--only-path", metavar="TEXT", help="Faults only for paths containing TEXT."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=0, help="Faults only for the first N matching requests."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed for reproducible faults."),
) -> None:
    """Emulate every provider API on http://127.0.0.1:PORT for live sends without production.

    Point `send`/`replay --live` at it with `--endpoint http://127.0.0.1:PORT`. Inspect state
    with `cdpctl sandbox show` or GET /_sandbox/state, receipts per event with
    GET /_sandbox/receipts, clear it with POST /_sandbox/reset, change faults with
    POST /_sandbox/faults."""
    if ctx.invoked_subcommand is not None:
        return
    from cdpctl import jsonwire
    from cdpctl.sandbox.server import Faults, SandboxServer

    settings: dict[str, Any] = {
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "throttle_rate": throttle_rate,
        "reset_rate": reset_rate,
        "retry_after": retry_after,
        "rate_limits": rate_limits,
        "late_rate": late_rate,
        "late_ms": late_ms,
        "trickle_rate": trickle_rate,
        "trickle_ms": trickle_ms,
        "huge_rate": huge_rate,
        "huge_bytes": huge_bytes,
        "reset_after_rate": reset_after_rate,
        "truncate_rate": truncate_rate,
        "partial_rate": partial_rate,
        "token": token,
        "only_path": only_path,
        "limit": limit,
        "seed": seed,
    }
    try:
        faults = Faults.from_dict(settings)
    except ValueError as error:
        fail(f"invalid fault setting: {error}")
    try:
        server = SandboxServer(port, faults=faults, state_file=state, log=note)
    except jsonwire.JSONInputError as error:
        fail(f"--state: {error}")
    except OSError as error:
        if error.filename is not None:
            fail(f"--state: cannot read {error.filename}: {error.strerror or error}")
        fail(f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}")
    typer.echo(f"cdpctl sandbox listening on {server.url}")
    typer.echo("credentials it accepts (use them in the environment of your mapping files):")
    for emulator in server.state.emulators:
        for key, value in emulator.credentials.items():
            typer.echo(f"  {emulator.name}.{key} = {value}")

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (kill, docker stop) ends the sandbox like Ctrl-C

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopping sandbox")
    finally:
        server.save()
        server.server_close()


@app.command("show", **command_help("sandbox show"))
def show(
    url: str = typer.Option(DEFAULT_URL, "--url", metavar="URL", help="The running sandbox."),
    json_flag: bool = typer.Option(False, "--json", help="Print the view as JSON."),
    last: int = typer.Option(
        20, "--last", min=0, metavar="N", help="Writes listed per provider (0 = all)."
    ),
) -> None:
    """Print what a running sandbox received, per provider: the latest writes (method, path,
    a short summary with credentials redacted) and how many times each event's key arrived,
    keys received more than once first. Control characters from requests are escaped."""
    import httpx

    from cdpctl import jsonwire
    from cdpctl.sandbox import view
    from cdpctl.sandbox.server import load_emulators

    address = url.rstrip("/") + "/_sandbox/state"
    try:
        answer = httpx.get(address, timeout=10)
    except httpx.HTTPError as error:
        fail(f"cannot read the sandbox at {url}: {error}")
    if answer.status_code != 200:
        fail(f"cannot read the sandbox at {url}: HTTP {answer.status_code} from {address}")
    try:
        state = jsonwire.loads(answer.content)
    except ValueError:
        fail(f"cannot read the sandbox at {url}: {address} did not answer JSON")
    if not isinstance(state, dict):
        fail(f"cannot read the sandbox at {url}: {address} did not answer a sandbox state")
    credentials = [v for e in load_emulators() for v in e.credentials.values() if len(v) > 8]
    data = view.build(state, credentials, last=last or None)
    if json_flag:
        typer.echo(jsonwire.dumps(data).decode())
    else:
        typer.echo(view.render_text(data), nl=False)
