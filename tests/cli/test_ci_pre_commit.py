"""`pre-commit try-repo <this checkout> cdpctl-validate --all-files` in a throwaway git repo.

pre-commit clones the checkout and pip-installs it into an environment of its own (PyPI must be
reachable), so this is slow: one PRE_COMMIT_HOME serves both runs. The checkout's HEAD commit is
what gets installed (try-repo --ref), so commit before running this.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.slow
def test_try_repo_fails_on_an_invalid_mapping_and_passes_on_valid_ones(tmp_path: Path) -> None:
    repo = tmp_path / "mappings-repo"
    (repo / "mappings").mkdir(parents=True)
    _git(repo, "init", "-q")
    examples = sorted((CHECKOUT / "examples").glob("*.yaml"))
    for example in examples:
        shutil.copy(example, repo / "mappings" / example.name)
    broken = (CHECKOUT / "examples" / "loops.yaml").read_text(encoding="utf-8")
    broken = broken.replace("action: sendEvent", "action: sendEvnt")
    (repo / "mappings" / "invalid.yaml").write_text(broken, encoding="utf-8")
    (repo / "README.md").write_text("not YAML, so not checked\n")
    _git(repo, "add", ".")

    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
    }
    head = _git(CHECKOUT, "rev-parse", "HEAD")

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(CHECKOUT),
                "cdpctl-validate",
                "--ref",
                head,
                "--all-files",
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "cdpctl validate" in failed.stdout and "Failed" in failed.stdout
    assert (
        'mappings/invalid.yaml:32:13: error CDP302 loops has no action "sendEvnt"' in failed.stdout
    )
    # pre-commit may split the files over parallel runs, each with its own summary line.
    checked = re.findall(r"^(\d+) files? checked", failed.stdout, re.M)
    assert sum(int(n) for n in checked) == len(examples) + 1, failed.stdout
    assert failed.stdout.count("1 error(s), 0 warning(s)") == 1

    _git(repo, "rm", "-q", "-f", "mappings/invalid.yaml")
    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    assert "invalid.yaml" not in passed.stdout
