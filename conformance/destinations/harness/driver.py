"""The harness's steps, run by run.sh:

    python -m harness.driver corpus  OUT/corpus.json      # write the seeded corpus
    (node runner.js OUT/corpus.json OUT/segment.json)     # Segment's code on every case
    python -m harness.driver compare OUT                  # cdpctl on every case, compare,
                                                          # report, write the vectors

`compare` prints the per-action table and the summary line, writes OUT/report.json (every
difference of every case) and OUT/findings.md (the undocumented ones, grouped), and writes
tests/vectors/destinations/<provider>.json for the actions without an undocumented difference.
Exit status: 0 when nothing is undocumented, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from . import adapter, corpus
from .compare import Decisions, Difference, differences, load_decisions
from .model import Case, Run

VECTORS = corpus.ROOT / "tests" / "vectors" / "destinations"
VECTORS_PER_ACTION = 24
EXACT, DOCUMENTED, UNDOCUMENTED = "exact", "documented", "UNDOCUMENTED"


def judge(
    case: Case, segment: Run, cdpctl: Run, decisions: Decisions
) -> tuple[str, list[tuple[Difference, str | None]]]:
    """The case's verdict and each difference with the decision covering it (None: none)."""
    found = differences(case, segment, cdpctl, decisions.not_compared)
    labelled = [(d, decisions.label(d, case)) for d in found]
    if not labelled:
        return EXACT, labelled
    if all(label is not None for _, label in labelled):
        return DOCUMENTED, labelled
    return UNDOCUMENTED, labelled


def _write_corpus(path: Path, seed: int) -> None:
    cases = corpus.generate(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"seed": seed, "cases": [c.to_json() for c in cases]}, ensure_ascii=False),
        encoding="utf-8",
    )
    events = sum(len(c.events) for c in cases)
    print(f"corpus: {len(cases)} cases, {events} events (seed {seed})", file=sys.stderr)


def _compare(out: Path, write_vectors: bool) -> int:
    cases = [Case.from_json(c) for c in json.loads((out / "corpus.json").read_text())["cases"]]
    recorded = json.loads((out / "segment.json").read_text(encoding="utf-8"))
    segment_runs = {r["id"]: Run.from_json(r) for r in recorded["results"]}
    decisions = load_decisions()
    per_action: dict[str, Counter[str]] = defaultdict(Counter)
    events: Counter[str] = Counter()
    report: list[dict[str, Any]] = []
    undocumented: dict[tuple[str, str, str], list[tuple[str, Difference]]] = defaultdict(list)
    kept: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        segment = segment_runs[case.id]
        cdpctl = adapter.run(case)
        verdict, labelled = judge(case, segment, cdpctl, decisions)
        action = case.qualified_action
        per_action[action][verdict] += 1
        events[action] += len(case.events)
        if labelled:
            report.append(
                {
                    "case": case.id,
                    "tags": list(case.tags),
                    "verdict": verdict,
                    "differences": [
                        {**d.to_json(), "decision": label or UNDOCUMENTED} for d, label in labelled
                    ],
                }
            )
        for difference, label in labelled:
            if label is None:
                key = (action, difference.kind, _shape(difference.path))
                undocumented[key].append((case.id, difference))
        kept[action].append(
            {
                "case": case.to_json(),
                "segment": segment.to_json(),
                "verdict": verdict,
                "decisions": sorted({label for _, label in labelled if label}),
            }
        )
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    (out / "findings.md").write_text(_findings(undocumented, per_action), encoding="utf-8")
    rows = _table(per_action, events)
    print(rows)
    agree = [a for a, c in per_action.items() if not c[UNDOCUMENTED]]
    if write_vectors:
        _write_vectors(kept, agree, recorded["versions"])
    exact = sum(1 for c in per_action.values() if not c[UNDOCUMENTED] and not c[DOCUMENTED])
    documented = sum(1 for c in per_action.values() if not c[UNDOCUMENTED] and c[DOCUMENTED])
    bad = sum(1 for c in per_action.values() if c[UNDOCUMENTED])
    print(
        f"{len(per_action)} actions, {sum(events.values()):,} events: {exact} exact, "
        f"{documented} differ only by documented decisions, {bad} undocumented"
    )
    none = corpus.unmapped()
    if none:
        print(f"no Segment counterpart (not compared): {', '.join(none)}")
    return 1 if bad else 0


def _shape(path: str) -> str:
    """A JSON path with indices folded, to group differences: $.contacts[3].x -> $.contacts[].x"""
    import re

    return re.sub(r"\[\d+\]", "[]", path)


def _table(per_action: dict[str, Counter[str]], events: Counter[str]) -> str:
    lines = [f"{'ACTION':42} {'EVENTS':>7} {'EXACT':>6} {'DOC':>6} {'UNDOC':>6}  RESULT"]
    for action in sorted(per_action):
        c = per_action[action]
        result = (
            UNDOCUMENTED if c[UNDOCUMENTED] else "documented decisions" if c[DOCUMENTED] else EXACT
        )
        lines.append(
            f"{action:42} {events[action]:>7} {c[EXACT]:>6} {c[DOCUMENTED]:>6} "
            f"{c[UNDOCUMENTED]:>6}  {result}"
        )
    return "\n".join(lines)


def _findings(
    undocumented: dict[tuple[str, str, str], list[tuple[str, Difference]]],
    per_action: dict[str, Counter[str]],
) -> str:
    lines = ["# Undocumented differences (Segment's code vs cdpctl)", ""]
    if not undocumented:
        lines.append("None.")
    for (action, kind, path), hits in sorted(undocumented.items()):
        case_ids = list(dict.fromkeys(case for case, _ in hits))
        lines.append(f"## {action}: {kind} {path} ({len(case_ids)} cases)")
        for case_id, difference in hits[:3]:
            lines.append(f"- `{case_id}` {difference.describe()[:600]}")
        lines.append("")
    return "\n".join(lines)


def _pick(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A compact, deterministic selection: every documented-difference case first (up to
    half), then an even spread of the rest."""
    documented = [e for e in entries if e["verdict"] == DOCUMENTED][: VECTORS_PER_ACTION // 2]
    rest = [e for e in entries if e["verdict"] == EXACT]
    room = VECTORS_PER_ACTION - len(documented)
    step = max(1, len(rest) // max(1, room))
    return documented + rest[::step][:room]


def _write_vectors(
    kept: dict[str, list[dict[str, Any]]], agree: list[str], versions: dict[str, str]
) -> None:
    VECTORS.mkdir(parents=True, exist_ok=True)
    by_provider: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for action in sorted(agree):
        for entry in _pick(kept[action]):
            by_provider[action.split(".")[0]].append(entry)
    for stale in VECTORS.glob("*.json"):
        stale.unlink()
    for provider, entries in sorted(by_provider.items()):
        data = {
            "provenance": {
                "packages": versions,
                "generated": date.today().isoformat(),
                "command": "conformance/destinations/run.sh",
            },
            "vectors": entries,
        }
        (VECTORS / f"{provider}.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=0, separators=(",", ":")) + "\n",
            encoding="utf-8",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.driver")
    steps = parser.add_subparsers(dest="step", required=True)
    make = steps.add_parser("corpus")
    make.add_argument("path", type=Path)
    make.add_argument("--seed", type=int, default=11)
    check = steps.add_parser("compare")
    check.add_argument("out", type=Path)
    check.add_argument("--no-vectors", action="store_true")
    args = parser.parse_args(argv)
    if args.step == "corpus":
        _write_corpus(args.path, args.seed)
        return 0
    return _compare(args.out, not args.no_vectors)


if __name__ == "__main__":
    sys.exit(main())
