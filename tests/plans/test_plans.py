"""Tracking plans: the four formats into one model, `validate --plan` (YAML cases in
tests/cases/plans/ with `# plan:` and `# expect:` headers), `plan show`, unreadable plans, and
the `plan` key of the project config."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl import codes
from cdpctl.plans import PlanError, load_plan

CASES = Path(__file__).parents[1] / "cases" / "plans"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "plans"
SHOP = ("shop/protocols.json", "shop/avo.json", "shop/rudderstack", "shop/iglu")
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (CDP\d+) (.*)$")


def _header(case: Path) -> tuple[list[str], list[tuple[int, int, str, str]]]:
    plans: list[str] = []
    expected = []
    for line in case.read_text().splitlines():
        if line.startswith("# plan: "):
            plans = line.removeprefix("# plan: ").split()
        match = EXPECT.match(line)
        if match:
            expected.append((int(match[1]), int(match[2]), match[3], match[4]))
    return plans, expected


def _validate(plan: str, case: Path) -> tuple[int, list[dict]]:
    result = run_cli(["validate", "--format", "json", "--plan", str(FIXTURES / plan), str(case)])
    (report,) = json.loads(result.stdout)["files"]
    return result.exit_code, report["errors"]


CASE_RUNS = [(case, plan) for case in sorted(CASES.glob("*.yaml")) for plan in _header(case)[0]]


@pytest.mark.parametrize(
    ("case", "plan"), CASE_RUNS, ids=[f"{c.stem}-{p.replace('/', '-')}" for c, p in CASE_RUNS]
)
def test_each_finding_at_its_line_and_column_with_its_default_severity(
    case: Path, plan: str
) -> None:
    _, expected = _header(case)
    exit_code, errors = _validate(plan, case)
    got = [(e["line"], e["column"], e["code"], e["message"], e["severity"]) for e in errors]
    for line, column, code, words in expected:
        matching = [g for g in got if g[:3] == (line, column, code) and words in g[3]]
        assert matching, f"expected {code} at {line}:{column} with {words!r}; got {got}"
        assert matching[0][4] == codes.default_severity(code), matching[0]
    assert len(got) == len(expected), got
    errors_expected = any(codes.default_severity(code) == "error" for *_, code, _ in expected)
    assert exit_code == (1 if errors_expected else 0)


def test_the_same_plan_in_four_formats_gives_the_same_findings() -> None:
    case = CASES / "shop-loops.yaml"
    outputs = {plan: _validate(plan, case) for plan in SHOP}
    first = outputs[SHOP[0]]
    assert first[1], "the case must have findings to compare"
    for plan, output in outputs.items():
        assert output == first, plan


def _model(plan: str) -> dict:
    loaded = load_plan(FIXTURES / plan)
    return {
        event.key: [
            (p.path, p.types, p.format, p.required, p.guaranteed, p.enum) for p in event.properties
        ]
        for event in loaded.events
    }


def test_the_four_formats_read_into_the_same_model() -> None:
    models = {plan: _model(plan) for plan in SHOP}
    assert len(models[SHOP[0]]) == 4
    for plan, model in models.items():
        assert model == models[SHOP[0]], plan
    order = dict(models[SHOP[0]])[("track", "order_completed")]
    assert (("properties", "products", "[]", "sku"), ("string",), None, True, False, None) in order
    assert (("properties", "email"), ("string",), "email", False, False, None) in order


@pytest.mark.parametrize("plan", [*SHOP, "shop/rudderstack/tracking-plan.yaml"])
def test_format_is_told_from_the_content(plan: str) -> None:
    expected = {
        "protocols.json": "segment-protocols",
        "avo.json": "avo",
        "rudderstack": "rudderstack",
        "tracking-plan.yaml": "rudderstack",
        "iglu": "snowplow-iglu",
    }
    assert load_plan(FIXTURES / plan).format == expected[Path(plan).name]


def test_a_protocols_plan_and_an_undeclared_read_exit_1_naming_the_closest_property() -> None:
    result = run_cli(
        [
            "validate",
            "--plan",
            str(FIXTURES / "protocols" / "ecommerce.json"),
            str(CASES / "protocols-ecommerce.yaml"),
        ]
    )
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if "order_total" in x)
    assert re.search(r"protocols-ecommerce\.yaml:\d+:\d+: error CDP703", line), line
    assert "did you mean $.properties.total?" in line


@pytest.mark.parametrize("plan", SHOP)
def test_plan_show_lists_every_event_and_property(plan: str) -> None:
    text = run_cli(["plan", "show", str(FIXTURES / plan), "--color", "never"])
    assert text.exit_code == 0, text.output
    assert "4 events" in text.stdout.splitlines()[0]
    rows = text.stdout.splitlines()
    order = next(r for r in rows if r.startswith("order_completed"))
    assert "properties.order_id" in order and "string" in order and "yes" in order
    assert any("properties.currency" in r and "USD, EUR, GBP" in r for r in rows)
    assert any("properties.products[].sku" in r for r in rows)
    shown = run_cli(["plan", "show", str(FIXTURES / plan), "--format", "json"])
    document = json.loads(shown.stdout)
    assert {e["name"] for e in document["events"]} == {
        "order_completed",
        "checkout_started",
        "product_viewed",
        "signed_up",
    }
    signed_up = next(e for e in document["events"] if e["name"] == "signed_up")
    assert {"path": "properties.plan", "enum": ["free", "pro"], "required": True}.items() <= next(
        p for p in signed_up["properties"] if p["path"] == "properties.plan"
    ).items()


UNREADABLE = [
    ("not-a-plan.json", "1:1", codes.PLAN_UNREADABLE, "not a tracking plan cdpctl reads"),
    ("broken-json.json", "4:36", codes.JSON_SYNTAX, "invalid JSON"),
    ("binary.json", "1:1", codes.NOT_TEXT, "binary data"),
    ("protocols-unknown-type.json", "4:34", codes.PLAN_UNREADABLE, "unknown rule type 'TRAK'"),
    (
        "protocols-invalid-schema.json",
        "3:1",
        codes.PLAN_UNREADABLE,
        'properties.total.type: "numbr"',
    ),
    (
        "rudder-properties-file.yaml",
        "2:7",
        codes.PLAN_UNREADABLE,
        "a RudderStack properties file, not a tracking plan",
    ),
    (
        "rudder-missing-property",
        "15:11",
        codes.PLAN_UNREADABLE,
        "unknown property reference '#property:totl' — defined: #property:order_id",
    ),
    ("iglu-bad-version", "3:93", codes.PLAN_UNREADABLE, 'self.version "1.0" is not a SchemaVer'),
    ("no-such-plan.json", "1:1", codes.FILE_UNREADABLE, "file not found"),
]


@pytest.mark.parametrize(("name", "where", "code", "words"), UNREADABLE, ids=lambda v: str(v))
@pytest.mark.parametrize("command", ["plan", "validate"])
def test_an_unreadable_plan_is_one_located_error_and_exit_2(
    name: str, where: str, code: str, words: str, command: str
) -> None:
    plan = str(CASES / "unreadable" / name)
    args = ["plan", "show", plan] if command == "plan" else ["validate", "--plan", plan]
    result = run_cli([*args, str(CASES / "shop-loops.yaml")] if command == "validate" else args)
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert re.match(rf"cdpctl: .*{re.escape(name)}\S*:{where}: error {code} ", line), line
    assert words in line


def test_a_folder_without_a_plan_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "notes.yaml").write_text("just: notes\n")
    with pytest.raises(PlanError) as caught:
        load_plan(tmp_path)
    assert caught.value.diagnostic.code == codes.PLAN_UNREADABLE
    assert "no tracking plan in this folder" in caught.value.diagnostic.message


def test_a_rudder_plan_file_finds_its_catalog_beside_it_and_skips_other_yaml(
    tmp_path: Path,
) -> None:
    project = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "shop" / "rudderstack", project)
    (project / "ci.yaml").write_text("on: [push]\njobs: {build: {runs-on: [ubuntu\n")  # broken
    plan = load_plan(project / "tracking-plan.yaml")
    assert [e.name for e in plan.events][:2] == ["order_completed", "checkout_started"]


def test_iglu_keeps_the_highest_schemaver(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "shop" / "iglu", tmp_path / "iglu")
    folder = tmp_path / "iglu" / "com.example.shop" / "signed_up" / "jsonschema"
    newer = json.loads((folder / "1-0-0").read_text())
    newer["self"]["version"] = "1-0-10"
    newer["properties"]["referrer"] = {"type": "string"}
    (folder / "1-0-10").write_text(json.dumps(newer))
    older = dict(newer, self={**newer["self"], "version": "1-0-2"})
    (folder / "1-0-2").write_text(json.dumps(older))
    event = load_plan(tmp_path / "iglu").event("track", "signed_up")
    assert event is not None
    assert event.prop(("properties", "referrer")) is not None


def test_avo_variants_are_alternatives_of_one_event(tmp_path: Path) -> None:
    export = json.loads((FIXTURES / "shop" / "avo.json").read_text())
    variant = json.loads(json.dumps(export["events"][3]))
    variant["eventType"] = "variant"
    variant["variantName"] = "Invited"
    variant["rules"]["properties"]["properties"]["properties"]["invited_by"] = {"type": "string"}
    variant["rules"]["properties"]["properties"]["required"] = ["email", "invited_by"]
    export["events"].append(variant)
    (tmp_path / "avo.json").write_text(json.dumps(export))
    plan = load_plan(tmp_path / "avo.json")
    assert [e.name for e in plan.events].count("signed_up") == 1
    event = plan.event("track", "signed_up")
    assert event is not None
    invited = event.prop(("properties", "invited_by"))
    email = event.prop(("properties", "email"))
    assert invited is not None and not invited.required  # only one variant requires it
    assert email is not None and email.required  # every variant does


def _project(tmp_path: Path, table: str) -> Path:
    shutil.copy(CASES / "shop-loops.yaml", tmp_path / "loops.yaml")
    shutil.copy(FIXTURES / "shop" / "protocols.json", tmp_path / "plan.json")
    (tmp_path / "pyproject.toml").write_text(f'[tool.cdpctl]\npaths = ["loops.yaml"]\n{table}')
    return tmp_path


def test_the_plan_key_of_the_project_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(_project(tmp_path, 'plan = "plan.json"\n'))
    result = run_cli(["validate"])
    assert result.exit_code == 1
    assert "CDP703" in result.stdout and "loops.yaml:26:26" in result.stdout
    flag = run_cli(["validate", "--plan", str(FIXTURES / "shop" / "avo.json")])
    assert flag.stdout == result.stdout  # the same plan in another format: the same findings


def test_a_bad_plan_key_is_a_config_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(_project(tmp_path, "plan = 3\n"))
    result = run_cli(["validate"])
    assert result.exit_code == 2
    assert "plan must be the tracking plan's file or folder name" in result.stderr
    monkeypatch.chdir(_project(tmp_path, 'plan = "nope.json"\n'))
    missing = run_cli(["validate"])
    assert missing.exit_code == 2
    assert "nope.json" in missing.stderr and "CDP100" in missing.stderr


def test_without_a_plan_validate_reports_no_plan_codes() -> None:
    result = run_cli(["validate", "--format", "json", str(CASES / "shop-loops.yaml")])
    (report,) = json.loads(result.stdout)["files"]
    assert not [e for e in report["errors"] if e["code"].startswith("CDP7")]
