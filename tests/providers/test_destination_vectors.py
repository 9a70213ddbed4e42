"""cdpctl against requests recorded from Segment's published destination code.

Each vector in tests/vectors/destinations/ holds a case (events, settings, mapping, scripted
replies) and what `@segment/action-destinations` did with it (the requests, or its rejection),
recorded by conformance/destinations/run.sh. cdpctl runs every case here, with the same
replies, and must send the same bytes — or differ only where a documented decision of
conformance/destinations/decisions.yaml (mirrored in docs/fidelity.md) says so. No Node, no
network: the comparison code is the harness's own (conformance/destinations/harness).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "conformance" / "destinations"))

from harness import adapter  # noqa: E402
from harness.compare import differences, load_decisions  # noqa: E402
from harness.model import Case, Run  # noqa: E402

VECTORS = Path(__file__).parents[1] / "vectors" / "destinations"
DECISIONS = load_decisions()


def _vectors() -> list[Any]:
    found = []
    for path in sorted(VECTORS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for vector in data["vectors"]:
            found.append(pytest.param(vector, id=vector["case"]["id"]))
    return found


ALL = _vectors()


def test_vectors_are_vendored() -> None:
    assert len(ALL) > 100
    providers = {v.values[0]["case"]["provider"] for v in ALL}
    assert providers >= {"sendgrid", "sfmc", "customerio", "dotdigital"}


@pytest.mark.parametrize("vector", ALL)
def test_cdpctl_sends_what_segment_sends(vector: dict[str, Any]) -> None:
    case = Case.from_json(vector["case"])
    segment = Run.from_json(vector["segment"])
    cdpctl = adapter.run(case)
    found = differences(case, segment, cdpctl, DECISIONS.not_compared)
    undocumented = [d.describe() for d in found if DECISIONS.label(d, case) is None]
    assert not undocumented, "\n".join(undocumented)
    labels = sorted({DECISIONS.label(d, case) or "" for d in found})
    assert labels == vector["decisions"], "the differences are not those recorded"


def test_every_decision_is_in_the_fidelity_table() -> None:
    """decisions.yaml and docs/fidelity.md's table are one list: same decisions, same words."""
    page = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    table = page.split("## Deliberate differences", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    decisions = {re.sub(r"[`*]", "", row.split("|")[1]).strip() for row in rows[1:]}
    assert decisions == {d.decision for d in DECISIONS.decisions}


def test_a_wrong_byte_is_caught() -> None:
    """The comparison is byte-exact: a number rounded differently is an undocumented difference."""
    vector = next(
        v.values[0] for v in ALL if v.values[0]["segment"]["requests"] and "body" in str(v.values)
    )
    case = Case.from_json(vector["case"])
    recorded = vector["segment"]
    request = next(r for r in recorded["requests"] if r["body"].startswith(("{", "[")))
    tampered = {**request, "body": request["body"][:-1] + ' ,"extra":9007199254740993' + "}"}
    if request["body"].endswith("]"):
        tampered["body"] = request["body"][:-1] + ",9007199254740993]"
    segment = Run.from_json(
        {**recorded, "requests": [tampered if r is request else r for r in recorded["requests"]]}
    )
    found = differences(case, segment, adapter.run(case), DECISIONS.not_compared)
    assert [d for d in found if DECISIONS.label(d, case) is None]
