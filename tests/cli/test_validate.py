"""`cdpctl validate`: located diagnostics for broken files, formats and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

CASES = Path(__file__).parents[1] / "cases" / "validate"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (CDP\d+) (.*)$")
ROOT = Path(__file__).parents[2]


def _expectations(path: Path) -> list[tuple[int, int, str, str]]:
    found = []
    for line in path.read_text().splitlines():
        match = EXPECT.match(line)
        if match:
            found.append((int(match[1]), int(match[2]), match[3], match[4]))
    return found


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_file_reports_each_error_at_its_line_and_column(case: Path) -> None:
    result = run_cli(["validate", "--format", "json", str(case)])
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)["files"]
    assert report["valid"] is False
    got = [(e["line"], e["column"], e["code"], e["message"]) for e in report["errors"]]
    for line, column, code, words in _expectations(case):
        matching = [g for g in got if g[:3] == (line, column, code) and words in g[3]]
        assert matching, f"expected {code} {words!r} at {line}:{column}; got {got}"
    assert len(got) == len(_expectations(case)), got


def test_bundled_examples_are_clean() -> None:
    result = run_cli(["validate", str(ROOT / "examples")])
    assert result.exit_code == 0, result.output
    assert "all valid" in result.stdout


def test_text_format_is_path_line_column_code_message(tmp_path: Path) -> None:
    case = CASES / "unknown-provider.yaml"
    result = run_cli(["validate", str(case)])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f'{case}:4:13: error CDP301 unknown provider "loop"')


def test_github_format_emits_workflow_annotations_with_escaping(tmp_path: Path) -> None:
    result = run_cli(["validate", "--format", "github", str(CASES / "unknown-key.yaml")])
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations[0].startswith("::error file=")
    assert ",line=6,col=3," in annotations[0]
    assert "::CDP201 unknown key" in annotations[0]


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


def test_unknown_format_is_a_usage_error() -> None:
    result = run_cli(["validate", "--format", "xml", str(CASES / "unknown-key.yaml")])
    assert result.exit_code == 2
    assert "--format must be one of text, json, github" in result.stderr


def test_folder_without_mapping_files_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["validate", str(tmp_path)])
    assert result.exit_code == 2


HOSTILE = {
    "empty": b"",
    "binary": bytes(range(256)) * 4,
    "latin1": "provider: caf\xe9".encode("latin-1"),
    "anchors-bomb": (
        b"a: &a [x, x, x, x, x, x, x, x, x]\n"
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(9)
        )
    ),
    "deeply-nested": b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 200)),
    "deep-flow": b"x: " + b"[" * 5000 + b"]" * 5000,
    "tabs": b"version: 1\ndestination:\n\tprovider: loops\n",
    "list-at-top": b"- 1\n- 2\n",
    "two-documents": b"version: 1\n---\nversion: 1\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gets_a_located_error_never_a_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(HOSTILE[name])
    result = run_cli(["validate", "--format", "json", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (report,) = json.loads(result.stdout)["files"]
    (error, *_) = report["errors"]
    assert error["line"] >= 1 and error["column"] >= 1
    assert error["code"].startswith("CDP")


def test_a_50_mb_file_is_refused_quickly_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"version: 1\nfiller: |\n")
        line = b"  " + b"x" * 1022 + b"\n"
        for _ in range(50 * 1024):
            handle.write(line)
    result = run_cli(["validate", "--format", "json", str(path)])
    assert result.exit_code == 1
    (report,) = json.loads(result.stdout)["files"]
    assert report["errors"][0]["code"] == "CDP102"


def test_merge_keys_bring_in_what_the_mapping_does_not_set_itself() -> None:
    from cdpctl.loading import parse_yaml

    document = parse_yaml(
        "base: &base {a: 1, b: 2}\nother: {<<: *base, b: 3, c: 4}\nlater: {b: 5, <<: *base}\n",
        "merge.yaml",
    )
    assert document.data["other"] == {"a": 1, "b": 3, "c": 4}
    assert document.data["later"] == {"b": 5, "a": 1}
    assert list(document.data["other"]) == ["a", "b", "c"]


def test_links_that_cannot_be_followed_are_reported_not_skipped(tmp_path: Path) -> None:
    tree = tmp_path / "mappings"
    (tree / "team").mkdir(parents=True)
    (tree / "team" / "loops.yaml").write_text((ROOT / "examples" / "loops.yaml").read_text())
    (tree / "dangling.yaml").symlink_to("nowhere.yaml")
    (tree / "loop.yaml").symlink_to("loop.yaml")
    (tree / "team" / "up").symlink_to("..")
    result = run_cli(["validate", "--format", "json", str(tree)])
    assert result.exit_code == 1
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert "broken symbolic link: it points to nowhere.yaml" in str(files["dangling.yaml"])
    assert "symbolic link loop" in str(files["loop.yaml"])
    assert "already checked" in str(files["up"])
    assert files["loops.yaml"]["valid"] is True
    alone = run_cli(["validate", str(tree / "loop.yaml")])
    assert alone.exit_code == 1
    assert "symbolic link loop" in alone.stdout


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    warned = ROOT / "tests" / "cases" / "lint" / "env-in-mapping.yaml"
    assert run_cli(["validate", str(warned)]).exit_code == 0
    assert run_cli(["validate", "--strict", str(warned)]).exit_code == 1
    assert run_cli(["validate", "--strict", "--exit-zero", str(warned)]).exit_code == 0
    (tmp_path / "cdpctl.toml").write_text("strict = true\n")
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run_cli(["validate", str(warned)]).exit_code == 1
    finally:
        os.chdir(here)
