"""The dry-run tests again with the generated fast path off (CDPCTL_FASTPATH=0), so CI checks
both modes: the rest of the suite runs with it on, the default. The fast path only changes how
dry runs judge events, so the modules that check dry runs are the ones run again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
DRY_RUN_MODULES = (
    "test_coalesce.py",
    "test_estimate.py",
    "test_hostile_archives.py",
    "test_inputs.py",
    "test_pipeline_agreement.py",
    "test_plan_replay.py",
    "test_replay.py",
    "test_views.py",
)


def test_dry_run_tests_pass_with_the_fast_path_off() -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider"),
            *(str(TESTS / module) for module in DRY_RUN_MODULES),
        ],
        cwd=TESTS.parent,
        env={**os.environ, "CDPCTL_FASTPATH": "0"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
