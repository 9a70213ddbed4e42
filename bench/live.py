"""Live replay throughput: batched sends into a local sink with no rate limit, ledger on.

    python bench/live.py [N] [--events FILE] [--repeat K]

Generates N events with bench/generate.py (default 100,000), starts a sink on 127.0.0.1 in a
process of its own (answers every POST 200 `{}` after reading its body: Segment's `/v1/batch`
and Customer.io's `/api/v2/batch` answers for a batch with no error), then runs, pinned to one
core (`taskset -c 0`; the sink gets the other one):
- `cdpctl replay --live` with three mappings — forwarding to Segment with Segment's default
  mappings (a backfill's shape), bench/mapping.yaml (Segment `/v1/batch`, every field mapped
  explicitly), and Customer.io `trackEvent` + `createUpdatePerson` (`/api/v2/batch`) — ledger
  and dead-letter file on, `--rate` far above anything the sink limits;
- `cdpctl replay` (dry run, `-w 1`) of the same archive and mapping, for the rate beside it.
Prints whole-process events/s (best of K runs, wall clock) and, beside it, events per second
of the process's own CPU time (user + system; steadier than the wall clock on a shared
machine), and writes nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).parent
ROOT = BENCH.parent
#: Forwarding to a second Segment source with Segment's default mappings: a backfill's shape.
FORWARD = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - name: identify
    trigger: type = "identify"
    action: sendIdentify
  - name: track
    trigger: type = "track"
    action: sendTrack
  - name: page
    trigger: type = "page"
    action: sendPage
"""
CUSTOMERIO = """\
version: 1
destination:
  provider: customerio
  settings:
    siteId: ${CIO_SITE_ID}
    apiKey: ${CIO_API_KEY}
subscriptions:
  - name: events
    trigger: type = "track"
    action: trackEvent
  - name: people
    trigger: type = "identify"
    action: createUpdatePerson
"""


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Every request on the connection: read its head and body, answer 200 `{}`."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(answer)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def serve(port_file: Path) -> None:
    """The sink: one asyncio process on the other core, so it is never what limits cdpctl."""
    os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)})

    async def main() -> None:
        server = await asyncio.start_server(_answer, "127.0.0.1", 0)
        port_file.write_text(str(server.sockets[0].getsockname()[1]))
        await server.serve_forever()

    asyncio.run(main())


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds of the command, and the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--events", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cdpctl-live-bench-"))
    events = args.events or work / f"events-{args.n}.ndjson"
    if args.events is None:
        subprocess.run(
            [sys.executable, str(BENCH / "generate.py"), str(args.n), str(events)], check=True
        )
    count = sum(1 for _ in events.open("rb"))
    (work / "customerio.yaml").write_text(CUSTOMERIO)
    (work / "forward.yaml").write_text(FORWARD)

    port_file = work / "port"
    sink = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(BENCH)!r}); "
            f"import live; live.serve(__import__('pathlib').Path({str(port_file)!r}))",
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if sink.poll() is not None or time.monotonic() > deadline:
                sys.exit("the sink did not start (no port within 30 s)")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        env = {
            **os.environ,
            "SEGMENT_WRITE_KEY": "bench-write-key",
            "CIO_SITE_ID": "bench-site",
            "CIO_API_KEY": "bench-key",
        }
        one_core = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        cdpctl = [*one_core, sys.executable, "-m", "cdpctl"]
        rows = []
        for label, mapping in (
            ("Segment /v1/batch, forward", work / "forward.yaml"),
            ("Segment /v1/batch, bench map", BENCH / "mapping.yaml"),
            ("Customer.io /api/v2/batch", work / "customerio.yaml"),
        ):
            live_times = []
            for run in range(args.repeat):
                state = work / f"state-{len(rows)}-{run}.sqlite"
                live_times.append(
                    timed(
                        [
                            *cdpctl,
                            "replay",
                            str(events),
                            "-m",
                            str(mapping),
                            "--live",
                            "--endpoint",
                            url,
                            "--rate",
                            "1000000",
                            "--no-progress",
                            "--state",
                            str(state),
                            "--dead-letter",
                            str(work / "dead.ndjson"),
                            "--format",
                            "json",
                        ],
                        env,
                    )
                )
            dry_times = [
                timed(
                    [
                        *cdpctl,
                        "replay",
                        str(events),
                        "-m",
                        str(mapping),
                        "-w",
                        "1",
                        "--no-progress",
                        "--format",
                        "json",
                    ],
                    env,
                )
                for _ in range(args.repeat)
            ]
            rows.append(
                (
                    label,
                    count / min(wall for wall, _ in live_times),
                    count / min(cpu for _, cpu in live_times),
                    count / min(wall for wall, _ in dry_times),
                    count / min(cpu for _, cpu in dry_times),
                )
            )
        print(f"{count:,} events, one core for cdpctl, best of {args.repeat} (whole process)")
        print(
            f"{'batched provider':<28} {'live events/s':>14} {'(per CPU s)':>12} "
            f"{'dry-run events/s':>17} {'(per CPU s)':>12}"
        )
        for label, live, live_cpu, dry, dry_cpu in rows:
            print(f"{label:<28} {live:>14,.0f} {live_cpu:>12,.0f} {dry:>17,.0f} {dry_cpu:>12,.0f}")
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
