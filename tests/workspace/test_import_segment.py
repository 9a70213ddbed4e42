"""`cdpctl import segment`: a Segment Public API export becomes a cdpctl mapping file whose
subscriptions match and map events exactly as Segment's own packages do.

The expectations in tests/fixtures/segment_export/expected.json were produced by Segment's
published @segment/actions-core (transform) and @segment/destination-subscriptions (parseFql,
validate); the fixture's README says how.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import run_cli

from cdpctl import mapping, triggers
from cdpctl.providers import provider_for_segment_slug, segment_slugs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "segment_export"
EXPORT = json.loads((FIXTURES / "export.json").read_text(encoding="utf-8"))["data"]
EVENTS: dict[str, Any] = json.loads((FIXTURES / "events.json").read_text(encoding="utf-8"))
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
BY_NAME = {s["name"]: s for s in EXPORT["subscriptions"]}


def _decode(value: Any) -> Any:
    """Expected values: `{"$undefined": true}` is JavaScript undefined, which a payload (JSON)
    never carries, so such object keys are dropped."""
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items() if v != {"$undefined": True}}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("import") / "customerio.yaml"
    result = run_cli(["import", "segment", str(FIXTURES / "export.json"), "-o", str(out)])
    assert result.exit_code == 1, result.stderr  # some items could not be converted
    return out, yaml.safe_load(out.read_text(encoding="utf-8")), result.stderr


def test_fixture_has_at_least_five_convertible_subscriptions(imported) -> None:
    _, data, _ = imported
    assert data["destination"]["provider"] == "customerio"  # inferred from the action slugs
    assert len(data["subscriptions"]) >= 5
    assert len(EXPORT["subscriptions"]) == 9


def test_imported_file_validates(imported) -> None:
    path, _, _ = imported
    result = run_cli(["validate", str(path)])
    assert result.exit_code == 0, result.stdout


def test_triggers_enabled_and_mappings_are_kept_as_they_are(imported) -> None:
    _, data, _ = imported
    for sub in data["subscriptions"]:
        source = BY_NAME[sub["name"]]
        assert sub["trigger"] == source["trigger"]
        assert sub["action"] == source["actionSlug"]
        assert sub["enabled"] is source["enabled"]
        assert sub["defaults"] is False
        kept = {k: v for k, v in source["settings"].items() if k in sub["mapping"]}
        assert sub["mapping"] == kept


def test_secrets_become_env_references(imported) -> None:
    _, data, _ = imported
    assert data["destination"]["settings"] == {
        "siteId": "${CUSTOMERIO_SITE_ID}",
        "apiKey": "${CUSTOMERIO_API_KEY}",
    }


def test_what_was_not_converted_is_listed_in_the_file_and_on_stderr(imported) -> None:
    path, _, stderr = imported
    head = path.read_text(encoding="utf-8").split("version: 1")[0]
    expected = [
        'subscription "Trigger Campaign" (sub3Gt5Hy7Ju9Ki2Lo4Mp6): action "triggerCampaign" is '
        "not a customerio action in cdpctl",
        'subscription "Product Viewed" (sub1Nb3Vc5Xz7Lk9Jh2Gf4): field "legacy_field" is not a '
        "field of customerio.trackEvent in cdpctl; left out",
        'subscription "Product Viewed" (sub1Nb3Vc5Xz7Lk9Jh2Gf4): field "timestamp": /timestamp '
        "has an invalid directive: @pathh; left out",
    ]
    flat_head = " ".join(line.lstrip("#").strip() for line in head.splitlines())
    assert "Not converted (3):" in flat_head
    for item in expected:
        assert item in flat_head
        assert item in stderr
    assert "8 of 9 subscription(s) converted to customerio; 3 item(s) not converted" in stderr


def _cases() -> list[tuple[str, str]]:
    names = [s["name"] for s in EXPORT["subscriptions"] if s["actionSlug"] != "triggerCampaign"]
    return [(name, event) for name in names for event in EVENTS]


@pytest.mark.parametrize(("name", "event_name"), _cases())
def test_payloads_match_segment_mapping_kit(imported, name: str, event_name: str) -> None:
    """cdpctl's engine on the imported mapping returns what Segment's transform() returned on
    the exported one, for every subscription and event; a field left out by the import is
    compared field by field (Segment maps each top-level field independently)."""
    _, data, _ = imported
    sub = next(s for s in data["subscriptions"] if s["name"] == name)
    source = BY_NAME[name]
    expected = EXPECTED["subscriptions"][source["id"]]["events"][event_name]
    event = EVENTS[event_name]
    assert triggers.matches(sub["trigger"], event) is expected["matches"]
    if sub["mapping"] == source["settings"]:
        assert expected["error"] is None
        got = mapping.strip_undefined(mapping.transform(sub["mapping"], event))
        assert got == _decode(expected["payload"])
        return
    # Partly converted: the whole Segment mapping fails to validate (the bad directive), so
    # compare each field the import kept with Segment's result for that field alone.
    assert expected["error"] is not None
    for key, value in sub["mapping"].items():
        field_expected = expected["fields"][key]
        assert "error" not in field_expected
        got = mapping.strip_undefined(mapping.transform({key: value}, event))
        assert got == _decode({key: field_expected["value"]})


def test_imported_file_renders_events_through_test_event(imported) -> None:
    path, _, _ = imported
    result = run_cli(["test-event", str(path), "track", "--format", "json"])
    assert result.exit_code == 0, result.stdout
    matched = [r for r in json.loads(result.stdout)["results"] if r["matched"]]
    assert [r["subscription"] for r in matched] == ["Order Completed"]
    assert matched[0]["payload"]["name"] == "order_completed"
    assert matched[0]["requests"]


def test_provider_flag_accepts_a_segment_slug_and_stdout(tmp_path: Path) -> None:
    result = run_cli(
        ["import", "segment", str(FIXTURES / "export.json"), "--provider", "actions-customerio"]
    )
    assert result.exit_code == 1
    assert yaml.safe_load(result.stdout)["destination"]["provider"] == "customerio"


def test_bare_list_and_destination_object(tmp_path: Path) -> None:
    """A list of subscriptions, or an object with the destination (GET /destinations/{id})
    next to them: its slug names the provider and its non-secret settings are kept."""
    clean = [s for s in EXPORT["subscriptions"] if s["name"] in ("Track Event", "Merge People")]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(clean), encoding="utf-8")
    result = run_cli(["import", "segment", str(bare)])
    assert result.exit_code == 0, result.stderr
    assert len(yaml.safe_load(result.stdout)["subscriptions"]) == 2

    with_destination = tmp_path / "destination.json"
    destination = {
        "id": "dst6Jd2Fg8Hk4Lm1Np3Qr5",
        "name": "Customer.io EU",
        "metadata": {"slug": "actions-customerio"},
        "settings": {"apiKey": "live-key-never-copied", "accountRegion": "EU 🇪🇺", "legacy": 1},
    }
    with_destination.write_text(
        json.dumps({"data": {"destination": destination, "subscriptions": clean}}),
        encoding="utf-8",
    )
    result = run_cli(["import", "segment", str(with_destination)])
    assert result.exit_code == 1  # "legacy" has no cdpctl equivalent
    assert "live-key-never-copied" not in result.stdout + result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["destination"]["name"] == "Customer.io EU"
    assert data["destination"]["settings"]["apiKey"] == "${CUSTOMERIO_API_KEY}"
    assert data["destination"]["settings"]["accountRegion"] == "EU 🇪🇺"
    assert 'destination setting "legacy" has no cdpctl equivalent' in result.stderr


def test_duplicate_names_are_made_unique_and_missing_required_fields_filled(
    tmp_path: Path,
) -> None:
    """A required field missing from the export gets cdpctl's default mapping, or (with no
    default) a TODO stand-in with the subscription disabled, so the file still validates."""
    subs = [
        {
            "id": "a",
            "name": "Same",
            "actionSlug": "sendEvent",
            "enabled": True,
            "trigger": 'type = "track" and event = "A"',
            "settings": {"userId": {"@path": "$.userId"}, "eventName": {"@path": "$.event"}},
        },
        {
            "id": "b",
            "name": "Same",
            "actionSlug": "sendEvent",
            "enabled": True,
            "trigger": 'type = "track" and event = "B"',
            "settings": {"eventName": "B"},
        },
    ]
    path = tmp_path / "loops.json"
    path.write_text(json.dumps({"subscriptions": subs}), encoding="utf-8")
    out = tmp_path / "loops.yaml"
    result = run_cli(["import", "segment", str(path), "-o", str(out)])
    assert result.exit_code == 1
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [s["name"] for s in data["subscriptions"]] == ["Same", "Same (2)"]
    assert data["subscriptions"][1]["mapping"]["userId"] == {"@path": "$.userId"}
    assert data["subscriptions"][1]["enabled"] is True
    assert 'required field "userId" is not in the export; cdpctl\'s default' in result.stderr
    assert 'name already used; renamed to "Same (2)"' in result.stderr
    assert run_cli(["validate", str(out)]).exit_code == 0

    subs[1] = {
        "id": "c",
        "name": "Send",
        "actionSlug": "sendEmail",
        "enabled": True,
        "trigger": 'type = "track"',
        "settings": {"to": {"email": "a@example.com"}},
    }
    path.write_text(json.dumps([subs[1]]), encoding="utf-8")
    result = run_cli(["import", "segment", str(path), "-p", "sendgrid", "-o", str(out), "--force"])
    assert result.exit_code == 1
    sub = yaml.safe_load(out.read_text(encoding="utf-8"))["subscriptions"][0]
    assert sub["enabled"] is False
    assert sub["mapping"]["template_id"] == {"@path": "$.properties.template_id"}
    assert "has no default; mapped to a TODO stand-in" in result.stderr
    assert run_cli(["validate", str(out)]).exit_code == 0


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", [], "bad.json:1:2: CDP109 invalid JSON"),
        ('{"data": {}}', [], "not a Segment subscriptions export"),
        ("[1]", [], "bad.json: subscriptions[0] is not an object"),
        ('[{"actionSlug": "x", "settings": []}]', [], "subscriptions[0].settings"),
        (
            '[{"actionSlug": "mystery", "trigger": "type = \\"track\\""}]',
            [],
            "cannot tell the provider from the action slugs (mystery); pass --provider",
        ),
        ("[]", [], "bad.json: the export holds no subscriptions"),
        ('[{"actionSlug": "sendEvent"}]', ["--provider", "loopz"], '"loopz" is neither a'),
        (
            '{"destination": {"metadata": {"slug": "actions-braze"}}, "subscriptions": [{}]}',
            [],
            'Segment destination "actions-braze" has no cdpctl provider',
        ),
        (
            '[{"actionSlug": "nope", "trigger": "type = \\"track\\""}]',
            ["-p", "loops"],
            "none of 1 subscription(s) could be converted",
        ),
    ],
)
def test_bad_exports_exit_2_with_one_line(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = run_cli(["import", "segment", str(path), *args], env={})
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "x.yaml"
    out.write_text("keep\n", encoding="utf-8")
    result = run_cli(["import", "segment", str(FIXTURES / "export.json"), "-o", str(out)])
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert out.read_text(encoding="utf-8") == "keep\n"


def test_every_segment_slug_belongs_to_exactly_one_provider() -> None:
    slugs = segment_slugs()
    assert len(slugs) == len(set(slugs))
    assert "actions-loops" in slugs and "segment-connections" in slugs
    for slug in slugs:
        provider = provider_for_segment_slug(slug)
        assert provider is not None and slug in provider.segment_slugs


def test_an_import_that_does_not_validate_says_so(tmp_path: Path) -> None:
    """A Segment trigger with a misspelt field parses (Segment drops the condition), so it is
    imported as it is — and the report and the file say it does not validate."""
    broken = dict(EXPORT["subscriptions"][0], trigger='type = "identify" and evnt = "x"')
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"data": {"subscriptions": [broken]}}))
    out = tmp_path / "customerio.yaml"
    result = run_cli(["import", "segment", str(export), "-o", str(out)])
    assert result.exit_code == 1
    message = f'subscription "{broken["name"]}" does not validate: CDP314'
    assert message in result.stderr
    assert message in out.read_text()
    assert run_cli(["validate", str(out)]).exit_code == 1
