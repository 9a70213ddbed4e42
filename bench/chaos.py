"""The long chaos run: many rounds of random fault schedules × kill -9 × `--resume` over every
provider action kind of tests/chaos.py, each checked per event against the sandbox's receipts.

    python bench/chaos.py [--rounds 40] [--events 120]

Prints, per action kind, the rounds, runs, kills and the settled totals (delivered, failed, in
doubt); exits 1 on the first broken invariant, naming the event.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from chaos import CASES, run_round

from cdpctl.sandbox.server import Faults, SandboxServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--events", type=int, default=120)
    args = parser.parse_args()
    totals: dict[str, Counter[str]] = {name: Counter() for name in CASES}
    with tempfile.TemporaryDirectory() as work:
        for round_number in range(args.rounds):
            for name in sorted(CASES):
                server = SandboxServer(0, faults=Faults(rate_limits=False))
                server.start_background()
                try:
                    figures = run_round(
                        server,
                        Path(work) / f"{name}-{round_number}",
                        name,
                        args.events,
                        seed=1000 + round_number,
                    )
                except AssertionError as broken:
                    sys.exit(f"round {round_number}, {name}: {broken}")
                finally:
                    server.shutdown()
                    server.server_close()
                counted = totals[name]
                counted["rounds"] += 1
                counted["runs"] += figures["runs"]
                counted["kills"] += figures["kills"]
                for sub in figures["report"]["subscriptions"].values():
                    for column in ("delivered", "failed", "in_doubt", "already_done"):
                        counted[column] += sub[column]
    print(f"{'action kind':<26} rounds  runs kills  settled: delivered failed in-doubt")
    for name, counted in totals.items():
        print(
            f"{name:<26} {counted['rounds']:>6} {counted['runs']:>5} {counted['kills']:>5} "
            f"{counted['delivered'] + counted['already_done']:>19} {counted['failed']:>6} "
            f"{counted['in_doubt']:>8}"
        )
    print("every event of every round: settled, never received twice unless harmless")


if __name__ == "__main__":
    main()
