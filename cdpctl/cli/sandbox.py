"""`cdpctl sandbox` — run the local provider emulator on 127.0.0.1."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from cdpctl.cli.common import fail, note


def command(
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
    seed: int | None = typer.Option(None, "--seed", help="Seed for reproducible faults."),
) -> None:
    """Emulate every provider API on http://127.0.0.1:PORT for live sends without production.

    Point `send`/`replay --live` at it with `--endpoint http://127.0.0.1:PORT`. Inspect state
    with GET /_sandbox/state, clear it with POST /_sandbox/reset, change faults with
    POST /_sandbox/faults."""
    from cdpctl import jsonwire
    from cdpctl.sandbox.server import Faults, SandboxServer

    faults = Faults(
        latency_ms=latency_ms,
        error_rate=error_rate,
        throttle_rate=throttle_rate,
        reset_rate=reset_rate,
        retry_after=retry_after,
        rate_limits=rate_limits,
        seed=seed,
    )
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
