"""CI output of `cdpctl validate`: SARIF (checked against the vendored 2.1.0 schema), JUnit,
GitHub annotations with their escaping and the job summary, and --exit-zero."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from helpers import run_cli

from cdpctl import codes
from cdpctl.output.diagnostics import _escape_data, _escape_property
from cdpctl.output.rules import all_rules

TESTS = Path(__file__).parents[1]
ROOT = TESTS.parent
SCHEMA = json.loads((TESTS / "vendor" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
BROKEN = TESTS / "cases" / "validate" / "semantic-errors.yaml"
WARNINGS_ONLY = TESTS / "cases" / "lint" / "literals.yaml"
CLEAN = ROOT / "examples" / "loops.yaml"


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDPCTL_FORMAT", "CDPCTL_COLOR", "NO_COLOR", "FORCE_COLOR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding mappings/broken.yaml, mappings/clean.yaml and a file with
    a space in its name."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(BROKEN, mappings / "broken.yaml")
    shutil.copy(CLEAN, mappings / "clean.yaml")
    shutil.copy(BROKEN, mappings / "with space.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _sarif(args: list[str]) -> dict:
    result = run_cli(["validate", "--format", "sarif", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_sarif_of_a_broken_file_passes_the_sarif_2_1_0_schema(workdir: Path) -> None:
    log = _sarif(["mappings/broken.yaml", "mappings/clean.yaml"])
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    problems = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not problems, "\n".join(f"{list(p.absolute_path)}: {p.message}" for p in problems)
    assert log["version"] == "2.1.0"
    log["runs"][0]["results"][0]["level"] = "fatal"  # the schema really is enforced
    assert any(validator.iter_errors(log))


def test_sarif_lists_every_code_as_a_rule_with_its_description_and_severity(
    workdir: Path,
) -> None:
    (run,) = _sarif(["mappings/clean.yaml"])["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(codes.DESCRIPTIONS)
    for rule in rules:
        assert rule["shortDescription"]["text"] == codes.DESCRIPTIONS[rule["id"]]
        assert rule["defaultConfiguration"]["level"] == codes.default_severity(rule["id"])
    by_id = {r["id"]: r for r in rules}
    assert by_id["CDP303"]["name"] == "UnknownField"
    assert by_id["CDP602"]["defaultConfiguration"]["level"] == "warning"
    assert run["results"] == []


def test_sarif_results_point_at_files_relative_to_the_working_directory(workdir: Path) -> None:
    (run,) = _sarif(["mappings/broken.yaml", "mappings/with space.yaml"])["runs"]
    rules = run["tool"]["driver"]["rules"]
    first = run["results"][0]
    assert first["ruleId"] == "CDP308"
    assert rules[first["ruleIndex"]]["id"] == "CDP308"
    assert first["level"] == "error"
    assert first["message"]["text"].startswith("apiKey is a secret")
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "mappings/broken.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 11, "startColumn": 13}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workdir.resolve().as_uri() + "/"
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["CDP306"] == "warning"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"mappings/broken.yaml", "mappings/with%20space.yaml"}


def test_sarif_names_a_file_outside_the_working_directory_by_absolute_uri(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "broken.yaml"
    shutil.copy(BROKEN, elsewhere)
    (run,) = _sarif([str(elsewhere)])["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": elsewhere.resolve().as_uri()}


@pytest.mark.parametrize(
    "content",
    [b"", bytes(range(256)), b"version: 1\n\tx: 1\n", b"- 1\n"],
    ids=["empty", "binary", "tabs", "list"],
)
def test_sarif_and_junit_of_hostile_files_stay_valid(workdir: Path, content: bytes) -> None:
    path = workdir / "hostile.yaml"
    path.write_bytes(content)
    log = _sarif(["hostile.yaml"])
    jsonschema.Draft7Validator(SCHEMA).validate(log)
    result = run_cli(["validate", "--format", "junit", "hostile.yaml"])
    assert result.exit_code == 1
    ET.fromstring(result.stdout.encode())


def test_junit_has_a_suite_per_file_and_a_failing_case_per_error(workdir: Path) -> None:
    shutil.copy(WARNINGS_ONLY, workdir / "mappings" / "warnings.yaml")
    result = run_cli(
        [
            "validate",
            "--format",
            "junit",
            "mappings/broken.yaml",
            "mappings/clean.yaml",
            "mappings/warnings.yaml",
        ]
    )
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout.encode())
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["mappings/broken.yaml", "mappings/clean.yaml", "mappings/warnings.yaml"]

    broken = suites["mappings/broken.yaml"]
    cases = broken.findall("testcase")
    assert len(cases) == 5 == int(broken.get("failures")) == int(broken.get("tests"))
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("type") == "CDP308"
    assert cases[0].get("name") == "CDP308 at 11:13"
    assert failure.text.startswith("mappings/broken.yaml:11:13: error CDP308")
    assert "CDP306" in broken.find("system-out").text  # the warning rides along

    clean = suites["mappings/clean.yaml"]
    (case,) = clean.findall("testcase")
    assert case.find("failure") is None and clean.get("failures") == "0"

    warned = suites["mappings/warnings.yaml"]
    (case,) = warned.findall("testcase")
    assert case.find("failure") is None
    assert warned.find("system-out").text.count("CDP606") == 4
    assert root.get("tests") == "7" and root.get("failures") == "5"


def test_github_escaping_follows_the_workflow_command_rules() -> None:
    assert _escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert _escape_property("a:b,c%d\n") == "a%3Ab%2Cc%25d%0A"


def test_github_annotations_escape_file_names_and_messages(workdir: Path) -> None:
    path = workdir / "we,ird:name.yaml"
    path.write_text('"x%y\\r\\nz,a:b": 1\n' + CLEAN.read_text(encoding="utf-8"))
    result = run_cli(["validate", "--format", "github", path.name])
    assert result.exit_code == 1, result.output
    (annotation,) = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotation.startswith("::error file=we%2Cird%3Aname.yaml,line=1,col=1,title=CDP201::")
    assert 'unknown key "x%25y%0D%0Az,a:b"' in annotation


def test_github_format_appends_a_markdown_summary_when_github_asks(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = workdir / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_cli(["validate", "--format", "github", "mappings/broken.yaml"])
    assert result.exit_code == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## cdpctl validate\n")
    assert "❌ 1 file checked: 5 error(s), 1 warning(s)" in text
    assert "| File | Line | Column | Severity | Code | Message |" in text
    assert "| mappings/broken.yaml | 11 | 13 | error | CDP308 | apiKey is a secret" in text
    rows = [line for line in text.splitlines() if line.startswith("| mappings/")]
    assert len(rows) == 6
    assert all(line.count(" | ") == 5 for line in rows)  # no unescaped pipes in messages


def test_summary_cells_escape_pipes_newlines_and_html() -> None:
    from cdpctl.diagnostics import Diagnostic
    from cdpctl.lint import FileReport
    from cdpctl.output.summary import render_step_summary

    odd = Diagnostic("CDP201", 'a|b\nc <d@e.com> & "f"', path="x.yaml", line=1, column=2)
    text = render_step_summary([FileReport("x.yaml", [odd])])
    assert '| x.yaml | 1 | 2 | error | CDP201 | a\\|b<br>c &lt;d@e.com&gt; &amp; "f" |' in text


def test_clean_run_summary_says_so(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = workdir / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run_cli(["validate", "--format", "github", "mappings/clean.yaml"])
    assert result.exit_code == 0
    assert "✅ 1 file checked: all valid" in summary.read_text(encoding="utf-8")


def test_other_formats_leave_the_summary_alone(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = workdir / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run_cli(["validate", "--format", "sarif", "mappings/broken.yaml"])
    assert not summary.exists()


def test_exit_zero_reports_findings_but_exits_0(workdir: Path) -> None:
    result = run_cli(["validate", "--exit-zero", "mappings/broken.yaml"])
    assert result.exit_code == 0
    assert "error CDP308" in result.stdout


def test_exit_zero_still_exits_2_on_usage_errors(workdir: Path) -> None:
    result = run_cli(["validate", "--exit-zero", "mappings/nope.yaml"])
    assert result.exit_code == 2
    result = run_cli(["validate", "--exit-zero", "--format", "xml", "mappings/broken.yaml"])
    assert result.exit_code == 2


def test_rule_catalogue_covers_every_code_once() -> None:
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules) == len(codes.DESCRIPTIONS)
    assert all(r.severity in ("error", "warning") and r.description for r in rules)
