"""Loops: golden requests and every vector of shared/reference/providers/loops.md §5.

The vectors' mappings are literal (Segment's own test style), so they go straight through the
framework step and the plan; the default-mapping example (§3.1) goes through the mapping engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import body_json, header, live_run, plan_requests

from cdpctl import __version__
from cdpctl.delivery.transport import PlanFailed
from cdpctl.mapping import strip_undefined, transform
from cdpctl.mappingfile import effective_mapping
from cdpctl.providers import get_provider
from cdpctl.providers.payload import prepare
from cdpctl.sandbox.providers.loops import API_KEY

SETTINGS = {"apiKey": "some random secret"}
LOOPS = get_provider("loops")


def test_every_request_carries_bearer_auth_and_json_content_type() -> None:
    (request,) = plan_requests("loops", "sendEvent", {"userId": "u", "eventName": "e"}, SETTINGS)
    assert header(request, "Authorization") == "Bearer some random secret"
    assert header(request, "Content-Type") == "application/json"


def test_v2_upsert_with_every_standard_field_all_fields_golden() -> None:
    payload = {
        "createdAt": "2025-05-05T14:17:38.089Z",
        "customAttributes": {"favoriteColor": "blue"},
        "email": "test@example.com",
        "firstName": "Ellen",
        "lastName": "Richards",
        "source": "Segment",
        "subscribed": True,
        "userGroup": "Alum",
        "userId": "some-id-1",
    }
    (request,) = plan_requests("loops", "createOrUpdateContact", payload, SETTINGS)
    assert (request.method, request.url) == ("PUT", "https://app.loops.so/api/v1/contacts/update")
    assert request.body() == (
        b'{"favoriteColor":"blue","createdAt":"2025-05-05T14:17:38.089Z","email":"test@example.com",'
        b'"firstName":"Ellen","lastName":"Richards","source":"Segment","subscribed":true,'
        b'"userGroup":"Alum","userId":"some-id-1","mailingLists":{}}'
    )


def test_v3_mailing_lists_filter_keeps_booleans_and_boolean_strings() -> None:
    payload = {
        "email": "test@example.com",
        "userId": "some-id-2",
        "mailingLists": {"1234": "true", "74648": "false", "56456": "foobar"},
    }
    (request,) = plan_requests("loops", "createOrUpdateContact", payload, SETTINGS)
    assert request.body() == (
        b'{"email":"test@example.com","userId":"some-id-2",'
        b'"mailingLists":{"1234":true,"74648":false}}'
    )


@pytest.mark.parametrize("lists", [{}, None])
def test_v3_empty_or_absent_mailing_lists_send_an_empty_object(lists: dict | None) -> None:
    payload = {"email": "test@example.com", "userId": "some-id-2"}
    if lists is not None:
        payload["mailingLists"] = lists
    (request,) = plan_requests("loops", "createOrUpdateContact", payload, SETTINGS)
    assert request.body() == b'{"email":"test@example.com","userId":"some-id-2","mailingLists":{}}'


def test_documented_array_form_of_mailing_lists_in_traits_is_converted_to_the_map() -> None:
    payload = {
        "userId": "u1",
        "email": "a@example.com",
        "customAttributes": {
            "mailingLists": [
                {"listId": "cm06", "subscribed": True},
                {"listId": "cm16", "subscribed": "false"},
            ]
        },
    }
    (request,) = plan_requests("loops", "createOrUpdateContact", payload, SETTINGS)
    assert body_json(request)["mailingLists"] == {"cm06": True, "cm16": False}


def test_dropped_mailing_list_entries_are_warned_about_not_silently_lost() -> None:
    action = LOOPS.action("createOrUpdateContact")
    payload = {"userId": "u1", "email": "a@example.com", "mailingLists": {"x": "foobar"}}
    _, problems = prepare(action, payload, SETTINGS)
    assert [p.severity.value for p in problems] == ["warning"]
    assert "foobar" in problems[0].message


def test_v4_new_contact_without_email_is_rejected_by_the_sandbox(sandbox) -> None:
    payload = {"firstName": "Ellen", "userId": "some-id-1"}
    (request,) = plan_requests("loops", "createOrUpdateContact", payload, SETTINGS)
    assert request.body() == b'{"firstName":"Ellen","userId":"some-id-1","mailingLists":{}}'
    with pytest.raises(PlanFailed) as failure:
        live_run("loops", "createOrUpdateContact", payload, {"apiKey": API_KEY}, sandbox.url)
    assert failure.value.status == 400
    assert "cannot create a new contact without an email" in failure.value.reason


def test_missing_email_is_warned_before_sending() -> None:
    _, problems = prepare(LOOPS.action("createOrUpdateContact"), {"userId": "u"}, SETTINGS)
    assert any("rejects creating one without an email" in p.message for p in problems)


def test_v5a_send_event_with_email() -> None:
    payload = {"email": "test@example.com", "eventName": "signup", "userId": "some-id-1"}
    (request,) = plan_requests("loops", "sendEvent", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", "https://app.loops.so/api/v1/events/send")
    assert (
        request.body() == b'{"email":"test@example.com","eventName":"signup","userId":"some-id-1"}'
    )


def test_v5b_send_event_required_fields_only_leaves_email_out() -> None:
    (request,) = plan_requests(
        "loops", "sendEvent", {"userId": "some-id-1", "eventName": "signup"}, SETTINGS
    )
    assert request.body() == b'{"eventName":"signup","userId":"some-id-1"}'


def test_v5c_send_event_all_fields_spreads_contact_properties_at_top_level() -> None:
    payload = {
        "userId": "some-id-1",
        "eventName": "signup",
        "eventProperties": {
            "someField": True,
            "someField1": "hello",
            "someField2": "2024-04-01T10:09:65Z",
        },
        "contactProperties": {"firstName": "Bob", "anIntegerProperty": 1},
    }
    (request,) = plan_requests("loops", "sendEvent", payload, SETTINGS)
    assert request.body() == (
        b'{"eventName":"signup","userId":"some-id-1","eventProperties":{"someField":true,'
        b'"someField1":"hello","someField2":"2024-04-01T10:09:65Z"},"firstName":"Bob",'
        b'"anIntegerProperty":1}'
    )


def test_v5d_empty_mapping_fails_validation_naming_both_required_fields() -> None:
    _, problems = prepare(LOOPS.action("sendEvent"), {}, SETTINGS)
    assert sorted(p.json_path for p in problems) == [("eventName",), ("userId",)]
    assert all(p.code == "CDP401" for p in problems)


def test_contact_property_colliding_with_a_mapped_key_is_warned() -> None:
    payload = {"userId": "u1", "eventName": "e", "contactProperties": {"userId": "other"}}
    _, problems = prepare(LOOPS.action("sendEvent"), payload, SETTINGS)
    assert [p.severity.value for p in problems] == ["warning"]
    assert problems[0].json_path == ("contactProperties", "userId")


def test_v7_required_fields_only_contact_body() -> None:
    (request,) = plan_requests("loops", "createOrUpdateContact", {"userId": "id-7"}, SETTINGS)
    assert body_json(request) == {"mailingLists": {}, "userId": "id-7"}


def _render_with_defaults(action_name: str, mapping: dict, event: dict) -> bytes:
    action = LOOPS.action(action_name)
    effective, _ = effective_mapping(action, mapping, use_defaults=True)
    payload, problems = prepare(action, strip_undefined(transform(effective, event)), SETTINGS)
    assert not [p for p in problems if p.severity.value == "error"]
    (request,) = plan_requests("loops", action_name, payload, SETTINGS)
    return request.body()


def test_reference_identify_example_with_default_mappings() -> None:
    event = {
        "type": "identify",
        "userId": "test-user-a5h7xb",
        "traits": {
            "email": "adam@example.com",
            "firstName": "Adam",
            "favoriteColor": "blue",
            "favoriteNumber": 42,
            "mailingLists": {
                "cm06f5v0e45nf0ml5754o9cix": True,
                "cm16k73gq014h0mmj5b6jdi9r": "false",
            },
        },
    }
    assert _render_with_defaults("createOrUpdateContact", {}, event) == (
        b'{"email":"adam@example.com","firstName":"Adam","favoriteColor":"blue","favoriteNumber":42,'
        b'"source":"Segment","userId":"test-user-a5h7xb",'
        b'"mailingLists":{"cm06f5v0e45nf0ml5754o9cix":true,"cm16k73gq014h0mmj5b6jdi9r":false}}'
    )


def test_reference_track_example_with_contact_properties_from_context_traits() -> None:
    event = {
        "type": "track",
        "event": "User Registered",
        "userId": "u1",
        "properties": {"plan": "Pro Annual", "accountType": "Facebook"},
        "context": {"traits": {"email": "phil@example.com", "firstName": "Phil"}},
    }
    mapping = {"contactProperties": {"@path": "$.context.traits"}}
    assert _render_with_defaults("sendEvent", mapping, event) == (
        b'{"email":"phil@example.com","eventName":"User Registered","userId":"u1",'
        b'"eventProperties":{"plan":"Pro Annual","accountType":"Facebook"},"firstName":"Phil"}'
    )


def test_sandbox_upsert_then_event_updates_state(sandbox) -> None:
    settings = {"apiKey": API_KEY}
    live_run(
        "loops",
        "createOrUpdateContact",
        {"userId": "u9", "email": "u9@example.com", "mailingLists": {"L1": True}},
        settings,
        sandbox.url,
    )
    live_run("loops", "sendEvent", {"userId": "u9", "eventName": "signup"}, settings, sandbox.url)
    state = sandbox.state.providers["loops"]
    (contact,) = state["contacts"].values()
    assert contact["email"] == "u9@example.com" and contact["mailingLists"] == {"L1": True}
    assert state["events"] == [{"eventName": "signup", "userId": "u9"}]


def test_sandbox_rejects_a_wrong_api_key_with_401(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "loops",
            "sendEvent",
            {"userId": "u", "eventName": "e"},
            {"apiKey": "wrong"},
            sandbox.url,
        )
    assert failure.value.status == 401
    assert "Invalid API key" in failure.value.reason


def test_seed_sample_identify_through_the_default_mapping_gives_the_documented_request(
    tmp_path: Path,
) -> None:
    """Loops' own Segment page (seed 001): its sample identify, with the array form of
    mailingLists it documents, through the action's default mapping (customAttributes:
    $.traits, as that page sets it up; examples/loops.yaml names its traits instead)."""
    import json

    from helpers import run_cli

    root = Path(__file__).parents[2]
    mapping = tmp_path / "loops.yaml"
    mapping.write_text(
        "version: 1\n"
        "destination:\n"
        "  provider: loops\n"
        "  settings:\n"
        "    apiKey: ${LOOPS_API_KEY}\n"
        "subscriptions:\n"
        "  - name: Upsert contact\n"
        '    trigger: type = "identify"\n'
        "    action: createOrUpdateContact\n"
        "    mapping:\n"
        '      userId: {"@path": "$.userId"}\n'
    )
    result = run_cli(
        [
            "test-event",
            "--format",
            "json",
            str(mapping),
            str(root / "tests" / "fixtures" / "loops" / "seed-identify.json"),
        ]
    )
    assert result.exit_code == 0, result.output
    upsert = json.loads(result.stdout)["results"][0]
    assert upsert["matched"] is True
    (request,) = upsert["requests"]
    assert (request["method"], request["url"]) == (
        "PUT",
        "https://app.loops.so/api/v1/contacts/update",
    )
    assert request["headers"] == {
        "Authorization": "Bearer ${LOOPS_API_KEY}",
        "Content-Type": "application/json",
        "User-Agent": f"cdpctl/{__version__}",
        "Accept": "*/*",
    }
    assert json.dumps(request["json"], separators=(",", ":")) == (
        '{"firstName":"Adam","favoriteColor":"blue","favoriteNumber":42,'
        '"email":"adam@example.com","source":"Segment","userId":"test-user-a5h7xb",'
        '"mailingLists":{"1234567890":true}}'
    )


def test_object_and_list_contact_properties_are_warned_about_and_still_sent() -> None:
    from cdpctl.diagnostics import Severity
    from cdpctl.providers.loops import property_value_problems

    problems = property_value_problems(
        {"plan": "pro", "company": {"name": "Acme"}, "tags": ["a"], "mailingLists": {"1": True}},
        "customAttributes",
    )
    assert [(p.json_path, p.severity) for p in problems] == [
        (("customAttributes", "company"), Severity.WARNING),
        (("customAttributes", "tags"), Severity.WARNING),
    ]
    assert "company.name → companyName" in (problems[0].hint or "")


def test_a_complete_mapping_keeps_its_key_order_and_an_array_of_lists_is_refused(
    tmp_path,
) -> None:
    import json

    from helpers import run_cli

    mapping = tmp_path / "loops.yaml"
    mapping.write_text(
        """version: 1
destination: {provider: loops, settings: {apiKey: "${LOOPS_API_KEY}"}}
subscriptions:
  - name: Upsert contact
    trigger: type = "identify"
    action: createOrUpdateContact
    defaults: false
    mapping:
      userId: {"@path": "$.userId"}
      lastName: {"@path": "$.traits.lastName"}
      email: {"@path": "$.traits.email"}
      mailingLists: {"@path": "$.traits.lists"}
"""
    )
    event = {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}}
    event["traits"]["lastName"] = "Doe"
    (tmp_path / "event.json").write_text(json.dumps(event))
    result = run_cli(["send", str(mapping), str(tmp_path / "event.json"), "-f", "json"])
    (request,) = json.loads(result.stdout)["subscriptions"][0]["requests"]
    assert list(request["json"]) == ["userId", "lastName", "email", "mailingLists"]
    event["traits"]["lists"] = [{"listId": "1", "subscribed": True}]
    (tmp_path / "event.json").write_text(json.dumps(event))
    refused = run_cli(["send", str(mapping), str(tmp_path / "event.json")])
    assert refused.exit_code == 1
    assert "'mailingLists' must be an object, got an array" in refused.stdout
