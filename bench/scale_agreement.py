"""At scale, every engine prints the local engine's summary: replay and diff, from files and S3.

    python bench/scale_agreement.py [--events 240000] [--files 8]

The suite checks the Dask engine on a few thousand events (tests/scale/test_scale.py); this runs the
same comparison on a realistic archive: EVENTS generated events (bench/generate.py, seed 42)
in FILES gzip files, replayed dry through bench/mapping.yaml and diffed against a changed copy
of it, each in text and JSON, with

- the local engine (the reference),
- `--engine dask` on its own LocalCluster of 2 workers,
- `--engine dask --scheduler` on a `dask scheduler` and two `dask worker` processes,
- the same archive uploaded to an S3-compatible server (moto, on 127.0.0.1) in Segment's
  layout and read through `s3://` URLs by the local engine (then the reference) and by the
  external cluster.

It prints one line per comparison and exits 1 if any output differs (elapsed time and
throughput aside).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from scale import MAPPING, archive  # noqa: E402 - bench/ is not a package

CDPCTL = [sys.executable, "-m", "cdpctl"]
TIMING = re.compile(r" · [\d.,]+s · [\d,]+ events/s")
DAY_MS = 86_400_000
FIRST_DAY = 1_714_521_600_000  # 2024-05-01, as Segment names its RECEIVED_DAY folders


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run([*CDPCTL, *args], capture_output=True, text=True, env=env)
    if done.returncode not in (0, 1):
        raise SystemExit(f"cdpctl {' '.join(args)} failed:\n{done.stderr}")
    return done.returncode, done.stdout


def comparable(output: str, fmt: str) -> object:
    if fmt == "json":
        report = json.loads(output)
        if isinstance(report, dict):
            report.pop("elapsed_seconds", None)
        return report
    return TIMING.sub("", output)


@contextmanager
def s3_server(folder: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """moto in server mode holding the archive as segment-logs/SOURCE/RECEIVED_DAY/*.gz."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    variables = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    client = boto3.client("s3", endpoint_url=variables["AWS_ENDPOINT_URL"], **_keys(variables))
    client.create_bucket(Bucket="bench-segment")
    for day, path in enumerate(sorted(folder.glob("*.gz"))):
        key = f"segment-logs/src1/{FIRST_DAY + day * DAY_MS}/{path.name}"
        client.put_object(Bucket="bench-segment", Key=key, Body=path.read_bytes())
    try:
        yield "s3://bench-segment/segment-logs/src1/*/*.gz", variables
    finally:
        server.stop()


def _keys(variables: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": variables["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": variables["AWS_SECRET_ACCESS_KEY"],
        "region_name": variables["AWS_DEFAULT_REGION"],
    }


@contextmanager
def external_cluster(env: dict[str, str], workers: int) -> Iterator[str]:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1 (they read S3 too)."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    with tempfile.TemporaryDirectory() as folder:
        scheduler_file = Path(folder) / "scheduler.json"
        started = [
            subprocess.Popen(
                [
                    *(dask, "scheduler", "--host", "127.0.0.1", "--port", "0"),
                    *("--no-dashboard", "--scheduler-file", str(scheduler_file)),
                ],
                **quiet,
            )
        ]
        try:
            deadline = time.monotonic() + 60
            while not scheduler_file.exists() or not scheduler_file.read_text().strip():
                if time.monotonic() > deadline or started[0].poll() is not None:
                    raise SystemExit("the dask scheduler did not start")
                time.sleep(0.1)
            address = json.loads(scheduler_file.read_text())["address"]
            started.append(
                subprocess.Popen(
                    [
                        *(dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1"),
                        *("--no-dashboard", "--host", "127.0.0.1", "--local-directory", folder),
                    ],
                    **quiet,
                )
            )
            with Client(address, timeout="30s", set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=60)
            yield address
        finally:
            for process in reversed(started):
                process.terminate()
                process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=240_000)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()

    folder = archive(args.events, args.files)
    changed = BENCH / "data" / "scale" / "mapping-changed.yaml"
    changed.write_text(
        MAPPING.read_text().replace('"else": "free"', '"else": "trial"', 1),
    )
    env = {**os.environ, "SEGMENT_WRITE_KEY": "bench-write-key-0000"}
    files = [str(path) for path in sorted(folder.glob("*.gz"))]
    commands = {
        "replay": lambda inputs: ["replay", *inputs, "-m", str(MAPPING), "--no-progress"],
        "diff": lambda inputs: ["diff", str(MAPPING), str(changed), *inputs],
    }
    failures = 0
    with s3_server(folder) as (url, aws):
        env.update(aws)
        with external_cluster(env, 2) as address:
            inputs = {"files": files, "s3:// URLs": [url]}
            engines = {
                "files": {
                    "dask, own LocalCluster of 2": ["--engine", "dask", "--workers", "2"],
                    "dask, external scheduler": ["--engine", "dask", "--scheduler", address],
                },
                "s3:// URLs": {
                    "dask, external scheduler": ["--engine", "dask", "--scheduler", address],
                },
            }
            for source, named in inputs.items():
                for command, build in commands.items():
                    for fmt in ("text", "json"):
                        started = time.perf_counter()
                        code, reference = run([*build(named), "-f", fmt, "--workers", "2"], env)
                        seconds = time.perf_counter() - started
                        read = ""
                        if fmt == "json" and command == "replay":
                            read = f", {json.loads(reference)['events_read']:,} events"
                        print(f"{command} {fmt} of {source}: local engine {seconds:.1f} s{read}")
                        for label, options in engines[source].items():
                            started = time.perf_counter()
                            other_code, output = run([*build(named), "-f", fmt, *options], env)
                            seconds = time.perf_counter() - started
                            same = other_code == code and comparable(output, fmt) == comparable(
                                reference, fmt
                            )
                            failures += not same
                            verdict = "identical" if same else "DIFFERENT"
                            print(f"  {label}: {verdict} ({seconds:.1f} s)")
    print(f"{failures} difference(s)")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
