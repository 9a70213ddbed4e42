"""Chaos, bounded: for every provider action kind (batched and single, idempotent, keyed and
not), a random fault schedule, kill -9 at random points and `--resume` until the run ends;
every event settled and never received twice unless a repeat is harmless (tests/chaos.py).
bench/chaos.py runs many more rounds."""

from __future__ import annotations

from pathlib import Path

import pytest
from chaos import CASES, run_round

from cdpctl.sandbox.server import SandboxServer


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_chaos_round_keeps_every_event_settled_and_never_duplicates(
    tmp_path: Path, sandbox: SandboxServer, case: str
) -> None:
    figures = run_round(sandbox, tmp_path, case, count=60, seed=sorted(CASES).index(case) + 11)
    assert figures["runs"] >= 2
