"""`account pull` against the sandbox on 127.0.0.1, then `validate` with the snapshot, dry runs
that use it, and `replay --live --check-account`.

The mapping files live in tests/cases/account/: `<provider>-mismatch.yaml` marks each line
that must get a finding with `# expect: CDPnnn`, and no other line may get one;
`<provider>-fits.yaml` fits the sandbox's seeded account and must validate clean.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl.account import pull as pull_module
from cdpctl.account.snapshot import load_snapshot
from cdpctl.sandbox.server import load_emulators
from cdpctl.secrets import encodings

ROOT = Path(__file__).parents[2]
CASES = ROOT / "tests" / "cases" / "account"
PROVIDERS = ("dotdigital", "loops", "sendgrid", "sfmc")
ENV = {
    "LOOPS_API_KEY": "sandbox-loops-key",
    "DOTDIGITAL_USERNAME": "apiuser-sandbox@apiconnector.com",
    "DOTDIGITAL_PASSWORD": "sandbox-dotdigital-password",
    "SENDGRID_API_KEY": "SG.cdpctl-sandbox",
    "SFMC_CLIENT_ID": "sandbox-sfmc-client",
    "SFMC_CLIENT_SECRET": "sandbox-sfmc-secret",
}
FINDING = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+):(?P<column>\d+): (?P<severity>\w+) (?P<code>CDP\d{3}) ", re.M
)


def copy_case(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(CASES / name, target)
    return target


def pull(sandbox, *mappings: Path, env: dict[str, str] | None = None):
    return run_cli(
        ["account", "pull", *map(str, mappings), "--endpoint", sandbox.url], env=env or ENV
    )


def expected(mapping: Path) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(mapping.read_text().splitlines(), 1):
        marker = re.search(r"# expect: (.+)$", line)
        if marker:
            found |= {(number, code.strip()) for code in marker.group(1).split(",")}
    return found


def findings(output: str) -> set[tuple[int, str]]:
    return {(int(m["line"]), m["code"]) for m in FINDING.finditer(output)}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_pull_then_validate_reports_every_mismatch_where_it_is(
    provider: str, sandbox, tmp_path: Path
) -> None:
    mapping = copy_case(tmp_path, f"{provider}-mismatch.yaml")
    pulled = pull(sandbox, mapping)
    assert pulled.exit_code == 0, pulled.stderr
    assert (tmp_path / f"{provider}-mismatch.account.json").is_file()
    assert f"wrote {tmp_path / f'{provider}-mismatch.account.json'}" in pulled.stdout
    result = run_cli(["validate", str(mapping)], env=ENV)
    assert result.exit_code == 1, result.stdout
    assert findings(result.stdout) == expected(mapping), result.stdout
    json_result = run_cli(["validate", str(mapping), "--format", "json"], env=ENV)
    assert "CDP9" in json_result.stdout


def test_the_mismatch_cases_cover_every_kind_of_finding() -> None:
    codes = {code for p in PROVIDERS for _, code in expected(CASES / f"{p}-mismatch.yaml")}
    assert codes == {f"CDP9{n:02d}" for n in (4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_mapping_that_fits_the_account_validates_clean(
    provider: str, sandbox, tmp_path: Path
) -> None:
    mapping = copy_case(tmp_path, f"{provider}-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    result = run_cli(["validate", str(mapping), "--strict"], env=ENV)
    assert result.exit_code == 0, result.stdout
    assert findings(result.stdout) == set()
    assert "all valid" in result.stdout


def test_strict_turns_the_account_warnings_into_failures(sandbox, tmp_path: Path) -> None:
    mapping = tmp_path / "sfmc.yaml"
    text = (CASES / "sfmc-mismatch.yaml").read_text()
    # Keep only the subscriptions whose findings are warnings (the async row, classic identify).
    head, _, subscriptions = text.partition("subscriptions:\n")
    blocks = re.split(r"(?m)^(?=  - name: )", subscriptions)
    kept = [b for b in blocks if "Async order" in b or "Classic identify" in b]
    settings = (
        head.replace("        primaryKey: Contact Key  # expect: CDP907\n", "")
        .replace("      - event: Order Completed\n        externalKey: orders_de\n", "")
        .replace("    events:\n", "")
    )
    mapping.write_text(settings + "subscriptions:\n" + "".join(kept))
    assert pull(sandbox, mapping).exit_code == 0
    plain = run_cli(["validate", str(mapping)], env=ENV)
    assert plain.exit_code == 0, plain.stdout
    assert {code for _, code in findings(plain.stdout)} == {"CDP908", "CDP909"}
    strict = run_cli(["validate", str(mapping), "--strict"], env=ENV)
    assert strict.exit_code == 1


def credential_forms() -> list[str]:
    forms = []
    for emulator in load_emulators():
        for value in emulator.credentials.values():
            if len(value) >= 8:
                forms += encodings(value)
    forms += encodings(
        base64.b64encode(
            f"{ENV['DOTDIGITAL_USERNAME']}:{ENV['DOTDIGITAL_PASSWORD']}".encode()
        ).decode()
    )
    return forms


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_snapshot_holds_no_secret(provider: str, sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, f"{provider}-fits.yaml")
    result = pull(sandbox, mapping)
    assert result.exit_code == 0
    data = (tmp_path / f"{provider}-fits.account.json").read_text()
    for form in [*credential_forms(), "sbx.", "Bearer", "Basic "]:
        assert form not in data, form
    for form in credential_forms():
        assert form not in result.stdout + result.stderr


def test_an_account_that_echoes_a_credential_is_written_redacted(sandbox, tmp_path: Path) -> None:
    """A hostile (or careless) account naming a list after the API key: redacted anyway."""
    sandbox.state.providers["loops"]["lists"].append(
        {"id": "cm-echo", "name": f"leak {ENV['LOOPS_API_KEY']} here"}
    )
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    data = (tmp_path / "loops-fits.account.json").read_text()
    assert ENV["LOOPS_API_KEY"] not in data
    assert "leak ${LOOPS_API_KEY} here" in data


def test_wrong_credentials_are_one_line_without_the_secret(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "sendgrid-fits.yaml")
    result = pull(sandbox, mapping, env={**ENV, "SENDGRID_API_KEY": "SG.wrong-key-123456"})
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "SendGrid answered 401 to GET /v3/marketing/field_definitions" in line
    assert "check the credentials" in line
    assert "SG.wrong-key-123456" not in result.stdout + result.stderr
    assert not (tmp_path / "sendgrid-fits.account.json").exists()


def test_sfmc_refused_client_is_one_line(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "sfmc-fits.yaml")
    result = pull(sandbox, mapping, env={**ENV, "SFMC_CLIENT_SECRET": "not-the-secret"})
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "SFMC refused the token request (401" in line
    assert "not-the-secret" not in line


def test_unset_credentials_name_the_variable_and_send_nothing(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    before = sandbox.state.stats["requests"]
    result = pull(sandbox, mapping, env={"LOOPS_API_KEY": None})
    assert result.exit_code == 2
    assert "environment variable(s) not set: LOOPS_API_KEY" in result.stderr
    assert sandbox.state.stats["requests"] == before


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"not": "a list"}, "Loops answered something other than a list of mailing lists"),
        (["just text"], "Loops answered mailing lists item 0 that is not an object"),
        ([{"id": {"nested": 1}, "name": "x"}], "Loops answered an unexpected mailing list id"),
    ],
)
def test_hostile_answers_are_one_located_line(
    answer, message: str, sandbox, tmp_path: Path
) -> None:
    sandbox.state.providers["loops"]["lists"] = answer
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    result = pull(sandbox, mapping)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"cdpctl: {mapping}: {message}"), line
    assert "Traceback" not in result.stderr


def test_an_answer_larger_than_the_bound_is_not_read(
    sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pull_module, "MAX_RESPONSE_BYTES", 2000)
    sandbox.state.providers["loops"]["lists"] = [
        {"id": f"cm{n:024d}", "name": "x" * 50} for n in range(100)
    ]
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    result = pull(sandbox, mapping)
    assert result.exit_code == 1
    assert "is larger than 0 MB; not read" in result.stderr or "larger than" in result.stderr


def test_dotdigital_and_sendgrid_pages_are_all_read(sandbox, tmp_path: Path) -> None:
    books = sandbox.state.providers["dotdigital"]["address_books"]
    books += [{"id": 900000 + n, "name": f"Book {n}", "visibility": "Private"} for n in range(450)]
    lists = sandbox.state.providers["sendgrid"]["lists"]
    for n in range(2100):
        lists[f"list-{n}"] = {"id": f"list-{n}", "name": f"List {n}"}
    templates = sandbox.state.providers["sendgrid"]["templates"]
    templates += [
        {"id": f"d-{n:032x}", "name": f"T{n}", "generation": "dynamic"} for n in range(250)
    ]
    dotdigital = copy_case(tmp_path, "dotdigital-fits.yaml")
    sendgrid = copy_case(tmp_path, "sendgrid-fits.yaml")
    result = pull(sandbox, dotdigital, sendgrid)
    assert result.exit_code == 0, result.stderr
    dd = load_snapshot(tmp_path / "dotdigital-fits.account.json")
    assert len(dd.kind("lists")) == 452
    assert dd.find("lists", "900449") is not None
    sg = load_snapshot(tmp_path / "sendgrid-fits.account.json")
    assert len(sg.kind("lists")) == 2102
    assert len(sg.kind("templates")) == 254
    assert "(3 lists" not in result.stdout
    assert "2102 lists, 254 templates, 4 fields; 6 request(s)" in result.stdout


def test_a_provider_without_a_schema_says_so(tmp_path: Path) -> None:
    mapping = tmp_path / "customerio.yaml"
    shutil.copy(ROOT / "examples" / "customerio.yaml", mapping)
    result = run_cli(["account", "pull", str(mapping)], env={})
    assert result.exit_code == 2
    assert "Customer.io exposes no account schema cdpctl can read" in result.stderr


def test_an_unusable_snapshot_is_a_located_error(tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    (tmp_path / "loops-fits.account.json").write_text('{"format": "something else"}')
    result = run_cli(["validate", str(mapping)])
    assert result.exit_code == 1
    assert re.search(
        r"loops-fits\.yaml:\d+:\d+: error CDP901 .*not an account snapshot", result.stdout
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = run_cli(["validate", str(mapping), "--account", str(broken)])
    assert "CDP901" in result.stdout and "not valid JSON" in result.stdout


def test_a_snapshot_of_another_provider_is_refused(sandbox, tmp_path: Path) -> None:
    loops = copy_case(tmp_path, "loops-fits.yaml")
    assert pull(sandbox, loops).exit_code == 0
    sendgrid = copy_case(tmp_path, "sendgrid-fits.yaml")
    result = run_cli(
        ["validate", str(sendgrid), "--account", str(tmp_path / "loops-fits.account.json")]
    )
    assert result.exit_code == 1
    assert "is a loops account snapshot, but this file is for sendgrid" in result.stdout


def test_an_old_snapshot_is_said_and_its_age_is_configurable(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "dotdigital-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    snapshot = tmp_path / "dotdigital-fits.account.json"
    data = json.loads(snapshot.read_text())
    data["pulled_at"] = "2020-01-01T00:00:00Z"
    snapshot.write_text(json.dumps(data))
    result = run_cli(["validate", str(mapping)])
    assert result.exit_code == 0
    assert {code for _, code in findings(result.stdout)} == {"CDP902"}
    assert run_cli(["validate", str(mapping), "--strict"]).exit_code == 1
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}})
    )
    shown = run_cli(["test-event", str(mapping), str(event)])
    assert "account snapshot" in shown.stderr and "was pulled" in shown.stderr
    fresh = run_cli(["validate", str(mapping)], env={"CDPCTL_ACCOUNT_MAX_AGE": "5000w"})
    assert findings(fresh.stdout) == set()
    bad = run_cli(["validate", str(mapping)], env={"CDPCTL_ACCOUNT_MAX_AGE": "soon"})
    assert bad.exit_code == 2
    assert "CDPCTL_ACCOUNT_MAX_AGE" in bad.stderr


def test_a_dotdigital_dry_run_converts_every_data_field_by_its_real_type(
    sandbox, tmp_path: Path
) -> None:
    mapping = copy_case(tmp_path, "dotdigital-fits.yaml")
    event = tmp_path / "event.json"
    traits = {
        "email": "ann@example.com",
        "firstName": "  Ann ",
        "lastName": " Lee",
        "birthday": "1990-05-17",
        "age": "42",
        "vip": "yes",
    }
    event.write_text(json.dumps({"type": "identify", "userId": "u1", "traits": traits}))
    before = run_cli(["send", str(mapping), str(event), "--format", "json"])
    assert data_fields_sent(before.stdout)["FIRSTNAME"] == "  Ann "  # no types known: as is
    assert pull(sandbox, mapping).exit_code == 0
    for command in ("send", "test-event"):
        result = run_cli([command, str(mapping), str(event), "--format", "json"])
        assert result.exit_code == 0, result.stdout
        sent = data_fields_sent(result.stdout)
        assert sent == {
            "FIRSTNAME": "Ann",
            "LASTNAME": "Lee",
            "BIRTHDAY": "1990-05-17T00:00:00.000Z",
            "AGE": "42",
            "VIP": True,
            "PLAN": "Pro",
        }
    text = run_cli(["test-event", str(mapping), str(event)]).stdout
    assert "the types of account snapshot" in text and "assumes" not in text
    # A dry replay judges each event by the same real types: "forty" is no Numeric value.
    archive = tmp_path / "events.ndjson"
    archive.write_text(
        json.dumps({"type": "identify", "traits": {**traits, "age": "forty"}}) + "\n"
    )
    replay = run_cli(["replay", str(archive), "-m", str(mapping), "--no-progress", "-f", "json"])
    assert replay.exit_code == 1, replay.stdout + replay.stderr
    report = json.loads(replay.stdout)
    assert report["subscriptions"]["Upsert contact"]["invalid"] == 1
    assert report["errors"][0]["message"] == "Data field AGE value forty is not a valid number"
    (tmp_path / "dotdigital-fits.account.json").unlink()
    without = run_cli(["replay", str(archive), "-m", str(mapping), "--no-progress", "-f", "json"])
    assert json.loads(without.stdout)["subscriptions"]["Upsert contact"]["invalid"] == 0


def data_fields_sent(output: str) -> dict:
    """The dataFields of the PATCH in a send/test-event JSON report."""
    found = []

    def walk(node) -> None:
        if isinstance(node, dict):
            body = node.get("json") if node.get("method") == "PATCH" else None
            if isinstance(body, dict) and "dataFields" in body:
                found.append(body["dataFields"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(output))
    assert len(found) == 1, output
    return found[0]


def test_a_dry_run_refuses_a_data_field_the_account_lacks(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "dotdigital-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    mapping.write_text(mapping.read_text().replace('PLAN: "Pro"', 'TIER: "Pro"'))
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}})
    )
    result = run_cli(["test-event", str(mapping), str(event)])
    assert result.exit_code == 1
    assert "CDP915" in result.stdout and "Data field TIER not found in Dotdigital" in result.stdout


def test_check_account_refuses_a_live_replay_when_a_used_column_went_away(
    sandbox, tmp_path: Path
) -> None:
    mapping = copy_case(tmp_path, "sfmc-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    archive = tmp_path / "events.ndjson"
    archive.write_text(
        json.dumps(
            {
                "type": "track",
                "event": "Order Completed",
                "userId": "u1",
                "messageId": "m1",
                "properties": {"order_id": "o1", "revenue": 10, "currency": "EUR"},
            }
        )
        + "\n"
    )
    args = [
        "replay",
        str(archive),
        "-m",
        str(mapping),
        "--live",
        "--check-account",
        "--endpoint",
        sandbox.url,
        "--no-progress",
        "--state",
        str(tmp_path / "state.db"),
        "--dead-letter",
        str(tmp_path / "dead.ndjson"),
    ]
    tables = sandbox.state.providers["sfmc"]["data_extensions"]
    orders = next(t for t in tables.values() if t["key"] == "orders_de")
    orders["columns"] = [c for c in orders["columns"] if c["name"] != "Revenue"]
    before = sandbox.state.stats["acknowledged"]
    refused = run_cli(args, env=ENV)
    assert refused.exit_code == 2, refused.stdout + refused.stderr
    assert "CDP917" in refused.stderr
    assert 'no column "Revenue"' in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert sandbox.state.stats["acknowledged"] == before
    dry = run_cli(["replay", str(archive), "-m", str(mapping), "--check-account"], env=ENV)
    assert dry.exit_code == 2 and "add --live" in dry.stderr


def test_check_account_lets_an_unchanged_account_through(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    archive = tmp_path / "events.ndjson"
    archive.write_text(
        json.dumps({"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}})
        + "\n"
    )
    result = run_cli(
        [
            "replay",
            str(archive),
            "-m",
            str(mapping),
            "--live",
            "--check-account",
            "--endpoint",
            sandbox.url,
            "--no-progress",
            "--state",
            str(tmp_path / "state.db"),
            "--dead-letter",
            str(tmp_path / "dead.ndjson"),
        ],
        env=ENV,
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert sandbox.state.stats["acknowledged"] >= 1


def test_pull_runs_as_a_process_without_a_traceback(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "loops-fits.yaml")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdpctl",
            "account",
            "pull",
            str(mapping),
            "--endpoint",
            sandbox.url,
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LOOPS_API_KEY": "wrong-key-12345"},
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Loops answered 401" in result.stderr
    assert "Traceback" not in result.stderr


SFMC_DYNAMIC = """\
version: 1
destination:
  provider: sfmc
  settings:
    subdomain: mc563885gzs27c5t9-63k636ttgm
    account_id: "100000001"
    client_id: ${SFMC_CLIENT_ID}
    client_secret: ${SFMC_CLIENT_SECRET}
    identifyExtensionExternalKey: segment_identify
subscriptions:
  - name: Classic identify
    trigger: type = "identify"
    action: identifyDataExtension
  - name: Order row
    trigger: type = "track"
    action: dataExtension
    mapping:
      key: orders_de
      keys:
        Contact Key: {"@path": "$.userId"}
        Order Id: {"@path": "$.properties.order_id"}
      values: {"@path": "$.properties.row"}
"""


def test_sfmc_values_mapped_from_the_event_are_checked_per_event(sandbox, tmp_path: Path) -> None:
    """Whole objects (the classic traits, `values: $.properties.row`) name their columns only
    per event: test-event says which value SFMC would drop, at the event's key."""
    mapping = tmp_path / "sfmc.yaml"
    mapping.write_text(SFMC_DYNAMIC)
    assert pull(sandbox, mapping).exit_code == 0
    assert findings(run_cli(["validate", str(mapping), "--strict"]).stdout) == set()
    identify = tmp_path / "identify.json"
    traits = {"email": "a@example.com", "firstName": "Ann", "favoriteColor": "blue"}
    identify.write_text(json.dumps({"type": "identify", "userId": "u1", "traits": traits}))
    shown = run_cli(["test-event", str(mapping), str(identify)]).stdout
    assert "warning CDP909 $.traits.favoriteColor" in shown
    assert 'no column "Favorite Color"' in shown
    assert shown.count("CDP909") == 1  # First Name and Email are columns
    track = tmp_path / "track.json"
    row = {"order_id": "o1", "row": {"Revenue": 3, "Coupon": "X"}}
    track.write_text(json.dumps({"type": "track", "event": "x", "userId": "u1", "properties": row}))
    shown = run_cli(["test-event", str(mapping), str(track)]).stdout
    assert 'warning CDP905 $.values.Coupon data extension key "orders_de" has no column' in shown
    assert "$.values.Revenue" not in shown


def test_loops_attributes_mapped_from_the_event_are_checked_per_event(
    sandbox, tmp_path: Path
) -> None:
    mapping = tmp_path / "loops.yaml"
    mapping.write_text(  # every trait a contact property: each is checked per event
        "version: 1\ndestination:\n  provider: loops\n  settings:\n"
        "    apiKey: ${LOOPS_API_KEY}\nsubscriptions:\n"
        '  - name: contacts\n    trigger: type = "identify"\n'
        "    action: createOrUpdateContact\n    mapping:\n"
        '      customAttributes: {"@path": "$.traits"}\n'
        '      mailingLists: {"@path": "$.traits.mailingLists"}\n'
    )
    assert pull(sandbox, mapping).exit_code == 0
    event = tmp_path / "identify.json"
    traits = {
        "email": "a@example.com",
        "firstName": "Ann",
        "favoriteColor": "blue",
        "shoeSize": 43,
        "seats": "many",
        "mailingLists": {"cm06f5v0e45nf0ml5754o9cix": True, "cmgone1": True},
    }
    event.write_text(json.dumps({"type": "identify", "userId": "u1", "traits": traits}))
    shown = run_cli(["test-event", str(mapping), str(event)]).stdout
    assert "warning CDP915 $.customAttributes.shoeSize" in shown
    assert "warning CDP916 $.customAttributes.seats" in shown
    assert "is number in the Loops account" in shown and "sends a string" in shown
    assert "warning CDP910 $.mailingLists.cmgone1" in shown
    assert shown.count("CDP91") == 3  # email, firstName, favoriteColor are defined


def test_a_sendgrid_dry_run_shows_the_real_custom_field_ids(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "sendgrid-fits.yaml")
    event = tmp_path / "identify.json"
    event.write_text(
        json.dumps({"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}})
    )
    before = run_cli(["test-event", str(mapping), str(event)]).stdout
    assert "<id of custom field age>" in before  # no snapshot: placeholders
    assert pull(sandbox, mapping).exit_code == 0
    shown = run_cli(["test-event", str(mapping), str(event)]).stdout
    assert '"e1_N": 42' in shown and '"e3_D": "2026-01-31"' in shown
    assert "<id of custom field" not in shown
    mapping.write_text(mapping.read_text().replace("        age: 42\n", "        Shoe: 4\n"))
    refused = run_cli(["test-event", str(mapping), str(event)])
    assert refused.exit_code == 1
    assert "Unknown custom field 'Shoe'" in refused.stdout


def test_server_errors_are_retried_and_no_answer_is_one_line(sandbox, tmp_path: Path) -> None:
    from cdpctl.sandbox.server import Faults

    sandbox.set_faults(Faults(error_rate=0.4, rate_limits=False, seed=3))
    mapping = copy_case(tmp_path, "dotdigital-fits.yaml")
    result = pull(sandbox, mapping)
    assert result.exit_code == 0, result.stderr
    assert sandbox.state.stats["errors_injected"] > 0
    assert len(load_snapshot(tmp_path / "dotdigital-fits.account.json").kind("fields")) == 9
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run_cli(["account", "pull", str(mapping), "--endpoint", closed], env=ENV)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert f"no answer from GET {closed}/v2/data-fields/ after 4 attempts" in line


def test_a_data_extension_named_after_the_pull_asks_for_a_new_pull(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "sfmc-fits.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    mapping.write_text(mapping.read_text().replace("key: orders_de", "key: returns_de"))
    result = run_cli(["validate", str(mapping)])
    assert result.exit_code == 0, result.stdout
    assert {code for _, code in findings(result.stdout)} == {"CDP903"}
    assert 'data extension key "returns_de" is not in' in result.stdout
    assert "run `cdpctl account pull" in result.stdout


def test_an_account_larger_than_a_snapshot_may_hold_is_one_line(
    sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdpctl.account import snapshot

    monkeypatch.setattr(snapshot, "MAX_ITEMS", 5)
    mapping = copy_case(tmp_path, "dotdigital-fits.yaml")
    result = pull(sandbox, mapping)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "the account is too large to snapshot" in line and "more than 5 entries" in line


def test_the_account_and_a_tracking_plan_are_checked_together(sandbox, tmp_path: Path) -> None:
    mapping = copy_case(tmp_path, "loops-mismatch.yaml")
    assert pull(sandbox, mapping).exit_code == 0
    plan = ROOT / "tests" / "fixtures" / "plans" / "shop" / "protocols.json"
    result = run_cli(["validate", "--plan", str(plan), str(mapping)])
    assert result.exit_code == 1
    found = findings(result.stdout)
    assert (28, "CDP915") in found and (28, "CDP703") in found
    assert expected(mapping) <= found
