"""Salesforce Marketing Cloud: token flow, golden requests of every action, every vector of
shared/reference/providers/sfmc.md §4, the classic worked examples A–H (§5.6), and the sandbox.

Segment's vectors use literal, already-mapped payloads (`plan_requests`); the classic actions
take whole events through their default mappings, so those go through the mapping engine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import body_json, header, plan_requests, run_cli

from cdpctl.delivery.limits import RetryPolicy
from cdpctl.delivery.transport import PlanFailed, Transport, drive
from cdpctl.mapping import strip_undefined, transform
from cdpctl.mappingfile import effective_mapping
from cdpctl.pipeline import dry_run
from cdpctl.providers import get_provider
from cdpctl.providers.base import ActionContext, ActionFailed, ItemResult, Reply, Request, Skip
from cdpctl.providers.payload import prepare
from cdpctl.providers.sfmc import api, auth
from cdpctl.providers.sfmc.actions import plan_poll
from cdpctl.providers.sfmc.api import ASYNC_POLL_WAITS
from cdpctl.providers.sfmc.titlecase import title_case
from cdpctl.sandbox.providers.sfmc import (
    ACCOUNT_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    EMULATOR,
    INVALID_CLIENT,
    NOT_AUTHORIZED,
    issue_token,
)
from cdpctl.secrets import Redactor, resolve_settings

DATA = Path(__file__).parent / "sfmc"
ROOT = Path(__file__).parents[2]
SFMC = get_provider("sfmc")
assert SFMC is not None

# Settings of every vector in reference §4.
SETTINGS = {
    "subdomain": "test123",
    "client_id": "test123",
    "client_secret": "test123",
    "account_id": "test123",
}
TOKEN_URL = "https://test123.auth.marketingcloudapis.com/v2/token"
REST = "https://test123.rest.marketingcloudapis.com"
# Classic settings of the worked examples (§5.6).
CLASSIC = {
    **SETTINGS,
    "identifyExtensionExternalKey": "segment_identify",
    "events": [
        {
            "event": "Order Completed",
            "externalKey": "orders_de",
            "primaryKey": "Contact Key, Order Id",
        }
    ],
}
TOKEN = Reply(
    200, {"access_token": "test-access-token", "token_type": "Bearer", "expires_in": 3600}
)
SANDBOX = {
    "subdomain": "mcsandbox",
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "account_id": ACCOUNT_ID,
}


def sent(
    action: str, payload: dict[str, Any], settings: dict[str, Any] = SETTINGS
) -> list[Request]:
    """The requests of a dry run after the token request every run starts with."""
    token, *rest = plan_requests("sfmc", action, payload, settings)
    assert (token.method, token.url) == (
        "POST",
        TOKEN_URL.replace("test123", settings["subdomain"]),
    )
    return rest


SETTLED = Reply(200, {"status": {"requestStatus": "Complete", "resultStatus": "OK"}})


def scripted(
    plan: Generator[Request, Reply, Any], replies: list[Reply]
) -> tuple[list[Request], Any]:
    """Run a plan against scripted replies, one per request; returns (requests, result)."""
    requests: list[Request] = []
    try:
        request = next(plan)
        for reply in replies:
            requests.append(request)
            request = plan.send(reply)
    except StopIteration as stop:
        return requests, stop.value
    raise AssertionError(f"the plan wants another reply for {request.method} {request.url}")


def ctx(settings: dict[str, Any] = SETTINGS, **kwargs: Any) -> ActionContext:
    return ActionContext(settings=settings, dry_run=False, **kwargs)


def render(
    action_name: str,
    event: dict[str, Any],
    mapping: dict[str, Any] | None = None,
    settings=SETTINGS,
) -> tuple[dict[str, Any], list]:
    """An event through an action's (default) mapping and the framework step."""
    action = SFMC.action(action_name)
    effective, _ = effective_mapping(action, mapping or {}, use_defaults=True)
    return prepare(action, strip_undefined(transform(effective, event)), settings)


def errors_of(problems: list) -> list[str]:
    return [p.message for p in problems if p.severity.value == "error"]


def plan_for(action_name: str, payload: dict[str, Any], context: ActionContext):
    return SFMC.action(action_name).plan(payload, context)


def batch_for(action_name: str, payloads: list[dict[str, Any]], context: ActionContext):
    return SFMC.action(action_name).plan_batch(payloads, context)


def live(plan: Generator[Request, Reply, Any], endpoint: str):
    """Drive a plan against the sandbox for real (no retries); returns (exchanges, result)."""

    async def run():
        async with httpx.AsyncClient(timeout=10) as client:
            transport = Transport(
                client, SFMC.is_retryable, policy=RetryPolicy(max_attempts=1), endpoint=endpoint
            )
            return await drive(plan, transport.send)

    return asyncio.run(run())


# --- §1 authentication ------------------------------------------------------------------------


def test_token_request_is_segments_exact_form_post() -> None:
    settings = {**SETTINGS, "account_id": "123456", "client_id": "abc", "client_secret": "s3cr+t"}
    request = auth.token_request(settings)
    assert (request.method, request.url) == ("POST", TOKEN_URL)
    assert header(request, "Content-Type") == "application/x-www-form-urlencoded;charset=UTF-8"
    assert request.body() == (
        b"account_id=123456&client_id=abc&client_secret=s3cr%2Bt&grant_type=client_credentials"
    )


def test_every_rest_call_carries_the_bearer_token_and_json_content_type() -> None:
    (request,) = sent("contact", {"contactKey": "ericForman15"})
    assert header(request, "Authorization") == "Bearer <access_token>"
    assert header(request, "Content-Type") == "application/json"


def test_dry_run_shows_the_token_request_once_per_run_with_a_placeholder_reply() -> None:
    context = ActionContext(settings=SETTINGS)
    first = dry_run(plan_for("contact", {"contactKey": "a"}, context))
    second = dry_run(plan_for("apiEvent", {"contactKey": "a", "eventDefinitionKey": "k"}, context))
    assert [r.url for r in first] == [TOKEN_URL, f"{REST}/contacts/v1/contacts"]
    assert [r.url for r in second] == [f"{REST}/interaction/v1/events"]
    assert header(second[0], "Authorization") == "Bearer <access_token>"
    assert context.secrets_found == []


def test_token_is_cached_until_sixty_seconds_before_it_expires() -> None:
    now = [1000.0]
    context = ctx(clock=lambda: now[0])
    contact = {"contactKey": "a"}
    requests, _ = scripted(plan_for("contact", contact, context), [TOKEN, Reply(200, {})])
    assert [r.url for r in requests] == [TOKEN_URL, f"{REST}/contacts/v1/contacts"]
    now[0] = 1000.0 + 3600 - 60 - 0.5
    requests, _ = scripted(plan_for("contact", contact, context), [Reply(200, {})])
    assert len(requests) == 1
    now[0] = 1000.0 + 3600 - 60
    renewed = Reply(200, {"access_token": "second-token", "expires_in": 1079})
    requests, _ = scripted(plan_for("contact", contact, context), [renewed, Reply(200, {})])
    assert requests[0].url == TOKEN_URL
    assert header(requests[1], "Authorization") == "Bearer second-token"


def test_token_cache_is_per_subdomain_client_id_and_account_id() -> None:
    cache: dict[str, Any] = {}
    for settings in (SETTINGS, {**SETTINGS, "account_id": "other"}):
        requests, _ = scripted(
            plan_for("contact", {"contactKey": "a"}, ctx(settings, cache=cache)),
            [TOKEN, Reply(200, {})],
        )
        assert requests[0].url == TOKEN_URL
    assert len(cache) == 2


def test_a_401_refreshes_the_token_once_and_retries_the_request_once() -> None:
    context = ctx()
    replies = [
        TOKEN,
        Reply(401, {"message": "Not Authorized", "errorcode": 1}),
        Reply(200, {"access_token": "fresh-token", "expires_in": 1079}),
        Reply(200, {}),
    ]
    requests, _ = scripted(plan_for("contact", {"contactKey": "a"}, context), replies)
    assert [r.url for r in requests] == [TOKEN_URL, f"{REST}/contacts/v1/contacts"] * 2
    assert 401 in requests[1].handles
    assert header(requests[3], "Authorization") == "Bearer fresh-token"
    assert context.secrets_found == ["test-access-token", "fresh-token"]


def test_a_second_401_fails_without_a_third_attempt() -> None:
    unauthorized = Reply(401, {"message": "Not Authorized", "errorcode": 1, "documentation": ""})
    with pytest.raises(ActionFailed) as failure:
        scripted(
            plan_for("contact", {"contactKey": "a"}, ctx()),
            [TOKEN, unauthorized, TOKEN, unauthorized],
        )
    assert failure.value.status == 401
    assert failure.value.retryable is False
    assert "Not Authorized" in failure.value.reason


def test_a_refused_token_request_names_sfmcs_error_and_is_not_retried() -> None:
    with pytest.raises(ActionFailed) as failure:
        scripted(plan_for("contact", {"contactKey": "a"}, ctx()), [Reply(401, INVALID_CLIENT)])
    assert failure.value.status == 401 and failure.value.retryable is False
    assert "invalid_client: Client authentication failed." in failure.value.reason


@pytest.mark.parametrize("subdomain", ["mc563885gzs27c5t9-63k636ttgm", "test123"])
def test_subdomain_vectors_accepted(subdomain: str) -> None:
    assert auth.subdomain_problem(subdomain) is None
    assert SFMC.check_settings({**SETTINGS, "subdomain": subdomain}) == []


@pytest.mark.parametrize(
    "subdomain",
    [
        "mc123.attacker.com/",
        "attacker.com/",
        "mc123.attacker.com",
        "mc123@attacker.com",
        "mc123.attacker.com#",
        "mc123.attacker.com?",
        "mc123:8080",
        "mc 123",
        "mc123/../../evil",
        "",
        None,
    ],
)
def test_subdomain_vectors_rejected_before_anything_is_sent(subdomain: str | None) -> None:
    assert auth.subdomain_problem(subdomain).startswith(
        "Invalid Salesforce Marketing Cloud subdomain"
    )
    settings = {**SETTINGS, "subdomain": subdomain}
    (problem,) = SFMC.check_settings(settings)
    assert problem.code == "CDP311"
    with pytest.raises(ActionFailed) as failure:
        next(plan_for("contact", {"contactKey": "a"}, ctx(settings)))
    assert failure.value.status == 400 and not failure.value.retryable


def test_subdomain_left_out_entirely_is_rejected() -> None:
    settings = {k: v for k, v in SETTINGS.items() if k != "subdomain"}
    assert auth.subdomain_problem(settings.get("subdomain")) is not None
    assert [p.code for p in SFMC.check_settings(settings)] == ["CDP311"]


def test_account_id_is_optional_left_out_of_the_form_and_warned_about() -> None:
    settings = {k: v for k, v in SETTINGS.items() if k != "account_id"}
    assert auth.token_request(settings).body() == (
        b"client_id=test123&client_secret=test123&grant_type=client_credentials"
    )
    (warning,) = SFMC.check_settings(settings)
    assert warning.severity.value == "warning" and "account_id" in warning.message


def test_client_secret_is_redacted_also_as_the_form_encodes_it() -> None:
    resolved = resolve_settings(
        SFMC,
        {**SETTINGS, "client_secret": "${SFMC_CLIENT_SECRET}"},
        {"SFMC_CLIENT_SECRET": "s3cr+t/="},
    )
    redactor = Redactor()
    redactor.extend(resolved.secrets)
    body = auth.token_request(resolved.values).body().decode()
    assert "s3cr" not in redactor.text(body)


def test_test_authentication_gets_a_token() -> None:
    requests, _ = scripted(SFMC.test_authentication(ctx()), [TOKEN])
    assert [r.url for r in requests] == [TOKEN_URL]


# --- §2.1 contact (TV-1) ----------------------------------------------------------------------


def test_tv1_contact_explicit_mapping_all_fields_golden() -> None:
    event = {
        "type": "identify",
        "userId": "eric-15",
        "timestamp": "2022-05-12T15:21:15.449Z",
        "traits": {"contactKey": "ericForman15"},
    }
    payload, problems = render("contact", event, {"contactKey": {"@path": "$.traits.contactKey"}})
    assert problems == []
    (request,) = sent("contact", payload)
    assert (request.method, request.url) == ("POST", f"{REST}/contacts/v1/contacts")
    assert request.body() == b'{"contactKey":"ericForman15","attributeSets":[]}'


def test_tv1_contact_default_mapping_required_fields_only() -> None:
    payload, _ = render("contact", {"type": "identify", "userId": "eric-15"})
    (request,) = sent("contact", payload)
    assert request.body() == b'{"contactKey":"eric-15","attributeSets":[]}'


def test_tv1_contact_without_any_mapping_fails_on_the_missing_contact_key() -> None:
    _, problems = prepare(SFMC.action("contact"), {}, SETTINGS)
    assert [(p.code, p.json_path) for p in problems] == [("CDP401", ("contactKey",))]


def test_contact_key_with_a_colon_is_refused_before_sending() -> None:
    _, problems = prepare(SFMC.action("contact"), {"contactKey": "auth0|u:1"}, SETTINGS)
    assert errors_of(problems) == [
        "Contact Key \"auth0|u:1\" contains ':' which SFMC does not allow"
    ]


def test_contact_key_of_the_wrong_type_is_a_payload_error() -> None:
    _, problems = prepare(SFMC.action("contact"), {"contactKey": {"id": 1}}, SETTINGS)
    assert [p.code for p in problems] == ["CDP402"]


# --- §2.5 apiEvent (TV-2) ---------------------------------------------------------------------


def test_tv2_api_event_all_fields_golden() -> None:
    payload = {
        "contactKey": "ericForman15",
        "eventDefinitionKey": "123",
        "data": {"Email": "eric.forman@test.com", "First_Name": "Eric", "Last_Name": "Forman"},
    }
    (request,) = sent("apiEvent", payload)
    assert (request.method, request.url) == ("POST", f"{REST}/interaction/v1/events")
    assert request.body() == (
        b'{"contactKey":"ericForman15","eventDefinitionKey":"123","data":{"Email":'
        b'"eric.forman@test.com","First_Name":"Eric","Last_Name":"Forman"}}'
    )


def test_tv2_api_event_mapped_from_properties() -> None:
    event = {
        "type": "track",
        "userId": "eric-15",
        "properties": {
            "contactKey": "ericForman15",
            "eventDefinitionKey": "123",
            "eventData": {"Email": "eric.forman@test.com"},
        },
    }
    mapping = {
        "contactKey": {"@path": "$.properties.contactKey"},
        "eventDefinitionKey": {"@path": "$.properties.eventDefinitionKey"},
        "data": {"@path": "$.properties.eventData"},
    }
    payload, _ = render("apiEvent", event, mapping)
    (request,) = sent("apiEvent", payload)
    assert body_json(request) == {
        "contactKey": "ericForman15",
        "eventDefinitionKey": "123",
        "data": {"Email": "eric.forman@test.com"},
    }


def test_tv2_api_event_defaults_plus_definition_key_required_fields_only() -> None:
    payload, _ = render(
        "apiEvent", {"type": "track", "userId": "eric-15"}, {"eventDefinitionKey": "123"}
    )
    (request,) = sent("apiEvent", payload)
    assert request.body() == b'{"eventDefinitionKey":"123","contactKey":"eric-15"}'


def test_tv2_api_event_with_nothing_mapped_names_both_required_fields() -> None:
    _, problems = prepare(SFMC.action("apiEvent"), {}, SETTINGS)
    assert [p.json_path for p in problems] == [("eventDefinitionKey",), ("contactKey",)]


# --- §2.2 / §2.3 data extensions by key or id (TV-3, TV-4) ----------------------------------


def test_tv3_data_extension_by_id() -> None:
    event = {
        "type": "track",
        "userId": "harry-1",
        "properties": {
            "id": "1234567890",
            "keys": {"id": "HS1"},
            "values": {"name": "Harry Styles"},
        },
    }
    mapping = {
        "id": {"@path": "$.properties.id"},
        "keys": {"@path": "$.properties.keys"},
        "values": {"@path": "$.properties.values"},
    }
    payload, _ = render("dataExtension", event, mapping)
    (request,) = sent("dataExtension", payload)
    assert (request.method, request.url) == (
        "POST",
        f"{REST}/hub/v1/dataevents/1234567890/rowset",
    )
    assert request.body() == b'[{"keys":{"id":"HS1"},"values":{"name":"Harry Styles"}}]'


def test_tv3_data_extension_without_key_or_id_is_refused_with_segments_message() -> None:
    payload = {"keys": {"id": "HS1"}, "values": {"name": "Harry Styles"}}
    _, problems = prepare(SFMC.action("dataExtension"), payload, SETTINGS)
    assert errors_of(problems) == [
        "In order to send an event to a data extension either Data Extension ID or Data "
        "Extension Key must be defined."
    ]


def test_data_extension_all_fields_key_wins_over_id_and_is_percent_encoded() -> None:
    payload = {
        "key": "orders de/2024",
        "id": "1234567890",
        "keys": {"Sku": "A-1"},
        "values": {"Price": 9.5, "Contact Key": "u1"},
        "enable_batching": True,
        "batch_size": 5,
    }
    _, problems = prepare(SFMC.action("dataExtension"), payload, SETTINGS)
    assert [p.severity.value for p in problems] == ["warning"]
    (request,) = sent("dataExtension", payload)
    assert request.url == f"{REST}/hub/v1/dataevents/key:orders%20de%2F2024/rowset"
    assert request.body() == b'[{"keys":{"Sku":"A-1"},"values":{"Price":9.5,"Contact Key":"u1"}}]'


def test_data_extension_reference_example_by_key_required_fields_only() -> None:
    payload = {
        "key": "orders_de",
        "keys": {"Sku": "A-1"},
        "values": {"Price": 9.5, "Contact Key": "u1"},
    }
    (request,) = sent("dataExtension", payload)
    assert request.url == f"{REST}/hub/v1/dataevents/key:orders_de/rowset"
    assert request.body() == b'[{"keys":{"Sku":"A-1"},"values":{"Price":9.5,"Contact Key":"u1"}}]'


def test_data_extension_keys_must_be_an_object() -> None:
    payload = {"key": "k", "keys": "HS1", "values": {}}
    _, problems = prepare(SFMC.action("dataExtension"), payload, SETTINGS)
    assert [(p.code, p.json_path) for p in problems] == [("CDP402", ("keys",))]


def test_tv4_contact_data_extension_by_key_all_fields() -> None:
    event = {
        "type": "identify",
        "userId": "harry-1",
        "traits": {
            "key": "dataExtension12",
            "keys": {"contactKey": "harryStyles1", "id": "HS1"},
            "values": {"First_Name": "Harry", "Last_Name": "Styles"},
        },
    }
    mapping = {
        "key": {"@path": "$.traits.key"},
        "keys": {"@path": "$.traits.keys"},
        "values": {"@path": "$.traits.values"},
    }
    payload, _ = render("contactDataExtension", event, mapping)
    (request,) = sent("contactDataExtension", payload)
    assert request.url == f"{REST}/hub/v1/dataevents/key:dataExtension12/rowset"
    assert request.body() == (
        b'[{"keys":{"contactKey":"harryStyles1","id":"HS1"},'
        b'"values":{"First_Name":"Harry","Last_Name":"Styles"}}]'
    )


def test_tv4_contact_data_extension_default_keys_required_fields_only() -> None:
    event = {
        "type": "identify",
        "userId": "harry-1",
        "traits": {
            "key": "dataExtension12",
            "values": {"First_Name": "Harry", "Last_Name": "Styles"},
        },
    }
    mapping = {"key": {"@path": "$.traits.key"}, "values": {"@path": "$.traits.values"}}
    payload, _ = render("contactDataExtension", event, mapping)
    (request,) = sent("contactDataExtension", payload)
    assert request.body() == (
        b'[{"keys":{"contactKey":"harry-1"},"values":{"First_Name":"Harry","Last_Name":"Styles"}}]'
    )


def test_contact_data_extension_keys_must_hold_contact_key() -> None:
    payload = {"key": "k", "keys": {"id": "HS1"}, "values": {"a": 1}}
    _, problems = prepare(SFMC.action("contactDataExtension"), payload, SETTINGS)
    assert [(p.code, p.json_path) for p in problems] == [("CDP401", ("keys", "contactKey"))]


# --- §2.4 V2 actions (TV-5) ---------------------------------------------------------------------

HOOK = {"onMappingSave": {"inputs": {}, "outputs": {"id": "1234567890"}}}


def test_tv5_data_extension_v2_all_fields_golden() -> None:
    payload = {
        "keys": {"id": "version"},
        "values": {"name": "MARK42"},
        "enable_batching": False,
        **HOOK,
    }
    (request,) = sent("dataExtensionV2", payload)
    assert (request.method, request.url) == ("POST", f"{REST}/hub/v1/dataevents/1234567890/rowset")
    assert request.body() == b'[{"keys":{"id":"version"},"values":{"name":"MARK42"}}]'


def test_tv5_contact_data_extension_v2_default_keys_required_fields_only() -> None:
    event = {
        "type": "identify",
        "userId": "harryStyles1",
        "traits": {"firstName": "Harry", "lastName": "Styles"},
    }
    payload, _ = render("contactDataExtensionV2", event, {"values": {"@path": "$.traits"}, **HOOK})
    (request,) = sent("contactDataExtensionV2", payload)
    assert request.body() == (
        b'[{"keys":{"contactKey":"harryStyles1"},"values":{"firstName":"Harry","lastName":"Styles"}}]'
    )


@pytest.mark.parametrize(
    "action", ["dataExtensionV2", "contactDataExtensionV2", "asyncDataExtension"]
)
def test_tv5_v2_without_hook_output_is_not_connected(action: str) -> None:
    payload = {"keys": {"contactKey": "a"}, "values": {"b": 1}}
    _, problems = prepare(SFMC.action(action), payload, SETTINGS)
    assert errors_of(problems) == ["No Data Extension Connected"]


def test_v2_falls_back_to_the_reverse_etl_hook_output() -> None:
    payload = {
        "keys": {"id": "v"},
        "values": {"n": 1},
        "retlOnMappingSave": {"outputs": {"id": "retl-1"}},
    }
    (request,) = sent("dataExtensionV2", payload)
    assert request.url == f"{REST}/hub/v1/dataevents/retl-1/rowset"


def test_tv5_batch_of_three_maps_each_response_row_to_its_item() -> None:
    payloads = [
        {"keys": {"id": f"v{i}"}, "values": {"name": "MARK42"}, "enable_batching": True, **HOOK}
        for i in range(3)
    ]
    reply = Reply(
        200, [{"message": "Success 1"}, {"message": "Success 2"}, {"message": "Success 3"}]
    )
    requests, results = scripted(batch_for("dataExtensionV2", payloads, ctx()), [TOKEN, reply])
    assert len(requests) == 2
    assert body_json(requests[1]) == [
        {"keys": {"id": f"v{i}"}, "values": {"name": "MARK42"}} for i in range(3)
    ]
    assert [r.status for r in results] == [200, 200, 200]
    assert results[0] == ItemResult(True, 200, "Success 1")


# --- §2.9 multistatus (TV-6) ------------------------------------------------------------------

HS1 = {
    "id": "1234567890",
    "keys": {"id": "HS1"},
    "values": {"name": "Harry Styles"},
    "enable_batching": True,
}
HP1 = {
    "id": "1234567890",
    "keys": {"id": "HP1"},
    "values": {"name": "Harry Potter"},
    "enable_batching": True,
}


def _tv6(reply: Reply) -> tuple[list[Request], list[ItemResult]]:
    return scripted(batch_for("dataExtension", [HS1, HP1], ctx()), [TOKEN, reply])


def test_tv6_one_rowset_request_for_two_rows_of_the_same_data_extension() -> None:
    requests, results = _tv6(
        Reply(200, [{"message": "Success for event 1"}, {"message": "Success for event 2"}])
    )
    assert [(r.method, r.url) for r in requests[1:]] == [
        ("POST", f"{REST}/hub/v1/dataevents/1234567890/rowset")
    ]
    assert requests[1].body() == (
        b'[{"keys":{"id":"HS1"},"values":{"name":"Harry Styles"}},'
        b'{"keys":{"id":"HP1"},"values":{"name":"Harry Potter"}}]'
    )
    assert results == [
        ItemResult(True, 200, "Success for event 1"),
        ItemResult(True, 200, "Success for event 2"),
    ]


def test_tv6_rows_of_different_data_extensions_are_grouped_not_sent_to_the_first() -> None:
    """cdpctl decision (§2.2): Segment sends the second event to the first one's DE."""
    other = {**HP1, "id": "123456789"}
    requests, results = scripted(
        batch_for("dataExtension", [HS1, other], ctx()), [TOKEN, Reply(200, [{}]), Reply(200, [{}])]
    )
    assert [r.url for r in requests[1:]] == [
        f"{REST}/hub/v1/dataevents/1234567890/rowset",
        f"{REST}/hub/v1/dataevents/123456789/rowset",
    ]
    assert [r.ok for r in results] == [True, True]


def test_tv6_400_with_additional_errors_fails_every_item_with_the_first_detail() -> None:
    body = {
        "message": "Invalid keys for ID: HS1",
        "additionalErrors": [{"message": "No record found for ID: HS2"}],
    }
    _, results = _tv6(Reply(400, body))
    assert results == [ItemResult(False, 400, "No record found for ID: HS2", False)] * 2


def test_tv6_bare_10006_unable_to_save_rows_becomes_a_retryable_500() -> None:
    _, results = _tv6(
        Reply(400, {"message": "Unable to save rows for data extension ID", "errorcode": 10006})
    )
    assert (
        results == [ItemResult(False, 500, "Unable to save rows for data extension ID", True)] * 2
    )


def test_tv6_10006_inside_additional_errors_stays_a_400() -> None:
    body = {
        "message": "Invalid keys for ID: HS1",
        "additionalErrors": [
            {"errorcode": 10006, "message": "Unable to save rows for data extension ID"}
        ],
    }
    _, results = _tv6(Reply(400, body))
    assert {(r.status, r.retryable) for r in results} == {(400, False)}


def test_tv6_429_maps_to_retryable_items_with_the_detail_message() -> None:
    body = {"message": "Invalid keys", "additionalErrors": [{"message": "No record found"}]}
    assert (
        api.rowset_results(Reply(429, body), 2)
        == [ItemResult(False, 429, "No record found", True)] * 2
    )


def test_rowset_batch_requests_leave_throttling_and_5xx_to_the_transports_retries() -> None:
    requests, _ = _tv6(Reply(200, []))
    assert 429 not in requests[1].handles and 503 not in requests[1].handles
    assert {400, 401, 404} <= requests[1].handles


def test_tv6_batch_items_without_key_or_id_fail_alone_with_400() -> None:
    lost = {k: v for k, v in HP1.items() if k != "id"}
    requests, results = scripted(
        batch_for("dataExtension", [HS1, lost], ctx()), [TOKEN, Reply(200, [{}])]
    )
    assert body_json(requests[1]) == [{"keys": {"id": "HS1"}, "values": {"name": "Harry Styles"}}]
    assert results[1] == ItemResult(
        False,
        400,
        "In order to send an event to a data extension either Data Extension ID or Data "
        "Extension Key must be defined.",
    )


def test_batch_honours_enable_batching_false_and_batch_size() -> None:
    alone = {**HS1, "enable_batching": False}
    rows = [{**HP1, "keys": {"id": f"r{i}"}, "batch_size": 2} for i in range(3)]
    requests, results = scripted(
        batch_for("dataExtension", [alone, *rows], ctx()), [TOKEN] + [Reply(200, [])] * 3
    )
    assert [len(body_json(r)) for r in requests[1:]] == [1, 2, 1]
    assert all(r.ok for r in results)


# --- §2.6 asyncDataExtension (TV-7, TV-8) -----------------------------------------------------

ASYNC = {
    "keys": {"id": "version"},
    "values": {"name": "MARK42"},
    "onMappingSave": {"outputs": {"id": "1234567890"}},
}


def test_tv7_async_all_fields_golden_flattens_keys_and_values() -> None:
    payload = {
        **ASYNC,
        "enable_batching": True,
        "batch_bytes": 5000000,
        "batch_size": 28000,
        "subscription_type": "async",
    }
    request, status = sent("asyncDataExtension", payload)
    assert (request.method, request.url) == (
        "PUT",
        f"{REST}/data/v1/async/dataextensions/1234567890/rows",
    )
    assert request.body() == b'{"items":[{"id":"version","name":"MARK42"}]}'
    assert (status.method, status.url.rsplit("/", 1)[1]) == ("GET", "status")


def test_tv7_async_required_fields_only_and_a_value_overrides_a_same_named_key() -> None:
    payload = {"keys": {"id": "k"}, "values": {"id": "v", "x": 1}, **HOOK}
    request, _status = sent("asyncDataExtension", payload)
    assert request.body() == b'{"items":[{"id":"v","x":1}]}'


def test_tv7_async_submit_success_and_standard_pipeline_failures() -> None:
    accepted = Reply(
        200, {"requestId": "b241e73b-9b35-46ff-9c2d-e779ac5836a9", "resultMessages": []}
    )
    scripted(plan_for("asyncDataExtension", ASYNC, ctx()), [TOKEN, accepted, SETTLED])
    with pytest.raises(ActionFailed) as failure:
        scripted(
            plan_for("asyncDataExtension", ASYNC, ctx()),
            [TOKEN, Reply(400, {"message": "Bad Request"})],
        )
    assert failure.value.reason.endswith("Bad Request") and failure.value.status == 400
    with pytest.raises(ActionFailed) as failure:
        scripted(plan_for("asyncDataExtension", ASYNC, ctx()), [TOKEN, Reply(501, None)])
    assert failure.value.reason.endswith("Not Implemented")


def test_single_async_event_fails_when_its_row_is_rejected_after_acceptance() -> None:
    accepted = Reply(202, {"requestId": "job-1", "resultMessages": []})
    errors = Reply(200, {"status": {"requestStatus": "Complete", "resultStatus": "Has Errors"}})
    rejected = Reply(200, {"items": [{"status": "Error", "message": "Column missing."}]})
    with pytest.raises(ActionFailed) as failure:
        scripted(plan_for("asyncDataExtension", ASYNC, ctx()), [TOKEN, accepted, errors, rejected])
    assert "Column missing." in failure.value.reason


def test_tv7_async_batch_submit_rules() -> None:
    not_found = {
        "requestId": "test-job-id",
        "resultMessages": [
            {
                "resultType": "Validation",
                "resultClass": "Error",
                "resultCode": "CustomObjectNotFound",
                "message": "Failed to resolve the Custom Object …",
            }
        ],
    }
    cases = [
        (
            Reply(202, {"requestId": "job-1", "resultMessages": []}),
            ItemResult(True, 200, "accepted as async request job-1"),
        ),
        (Reply(400, not_found), ItemResult(False, 400, "Failed to resolve the Custom Object …")),
        (
            Reply(400, {"resultMessages": []}),
            ItemResult(False, 400, 'SFMC API responded with {"resultMessages":[]}.'),
        ),
        (
            Reply(401, {"message": "Not Authorized", "errorcode": 1, "documentation": ""}),
            ItemResult(False, 401, "Not Authorized"),
        ),
    ]
    for reply, expected in cases:
        assert api.async_submit_results(reply, 2) == [expected] * 2


def test_async_batch_splits_by_rows_and_bytes_and_refuses_a_row_too_large() -> None:
    small = [
        {**ASYNC, "keys": {"id": f"r{i}"}, "batch_size": 1000, "batch_bytes": 120} for i in range(3)
    ]
    huge = {**small[0], "values": {"name": "x" * 200}}
    accepted = Reply(202, {"requestId": "job", "resultMessages": []})
    requests, results = scripted(
        batch_for("asyncDataExtension", [*small, huge], ctx()),
        [TOKEN, accepted, SETTLED, accepted, SETTLED],
    )
    bodies = [r.body() for r in requests if r.method == "PUT"]
    assert all(len(b) <= 120 for b in bodies)
    assert sum(len(json.loads(b)["items"]) for b in bodies) == 3
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].status == 400 and "bytes" in results[3].reason


@pytest.mark.parametrize(("size", "code"), [(500, "CDP405"), (30001, "CDP405")])
def test_async_batch_size_outside_1000_to_30000_is_refused(size: int, code: str) -> None:
    _, problems = prepare(
        SFMC.action("asyncDataExtension"), {**ASYNC, "batch_size": size}, SETTINGS
    )
    assert [p.code for p in problems] == [code]


def test_async_subscription_type_outside_its_choices_is_refused() -> None:
    _, problems = prepare(
        SFMC.action("asyncDataExtension"), {**ASYNC, "subscription_type": "later"}, SETTINGS
    )
    assert [(p.code, p.json_path) for p in problems] == [("CDP405", ("subscription_type",))]


def _poll(*replies: Reply):
    return scripted(plan_poll("test-job-id", 5, ctx()), [TOKEN, *replies])


@pytest.mark.parametrize("state", ["Pending", "Executing"])
def test_tv8_poll_pending_or_executing_is_in_progress(state: str) -> None:
    requests, outcome = _poll(Reply(200, {"status": {"requestStatus": state}}))
    assert requests[1].url == f"{REST}/data/v1/async/test-job-id/status"
    assert outcome.job_status == "IN_PROGRESS"


@pytest.mark.parametrize("status", [429, 500])
def test_tv8_poll_429_or_500_is_a_retryable_error(status: int) -> None:
    assert _poll(Reply(status, {}))[1].job_status == "RETRYABLE_ERROR"


def test_tv8_poll_other_http_errors_fail_the_job() -> None:
    assert _poll(Reply(404, {"message": "Request ID not found."}))[1].job_status == "FAILED"


def test_tv8_poll_complete_ok_succeeds_without_asking_for_results() -> None:
    requests, outcome = _poll(
        Reply(200, {"status": {"requestStatus": "Complete", "resultStatus": "OK"}})
    )
    assert len(requests) == 2
    assert outcome.job_status == "SUCCEEDED" and len(outcome.items) == 5
    assert all(item.ok for item in outcome.items)


def test_tv8_poll_error_fails_and_missing_status_is_retryable() -> None:
    assert _poll(Reply(200, {"status": {"requestStatus": "Error"}}))[1].job_status == "FAILED"
    assert _poll(Reply(200, {"requestId": "test-job-id"}))[1].job_status == "RETRYABLE_ERROR"


def test_tv8_poll_has_errors_reads_results_in_submission_order() -> None:
    items = [
        {"status": "Error", "message": "bad row"},
        {"status": "OK", "message": ""},
        {"status": "OK", "message": ""},
        {"status": "Error", "message": "bad row"},
    ]
    requests, outcome = _poll(
        Reply(200, {"status": {"requestStatus": "Complete", "resultStatus": "Has Errors"}}),
        Reply(200, {"items": items}),
    )
    assert requests[2].url == f"{REST}/data/v1/async/test-job-id/results"
    assert outcome.job_status == "SUCCEEDED"
    assert [(i.ok, i.status) for i in outcome.items] == [
        (False, 400),
        (True, 200),
        (True, 200),
        (False, 400),
    ]


def test_tv8_poll_deadlocks_are_retryable_429s_and_no_success_fails_the_job() -> None:
    items = [
        {
            "status": "Error",
            "message": "Transaction (Process ID 6840) was deadlocked on lock resources with "
            "another process and has been chosen as the deadlock victim. Rerun the transaction.",
        },
        {
            "status": "Error",
            "message": "Cannot locate the existing record. Required keys are missing.",
        },
    ]
    _, outcome = _poll(
        Reply(200, {"status": {"requestStatus": "Complete", "resultStatus": "Has Errors"}}),
        Reply(200, {"items": items}),
    )
    assert outcome.job_status == "FAILED"
    assert [(i.status, i.retryable) for i in outcome.items] == [(429, True), (400, False)]


# --- §2.8 single-event judging ----------------------------------------------------------------


def test_single_event_errors_show_additional_errors_first_then_message() -> None:
    body = {
        "message": "Bad",
        "errorcode": 10000,
        "additionalErrors": [{"message": "Column X unknown"}],
    }
    with pytest.raises(ActionFailed) as failure:
        scripted(
            plan_for("dataExtension", {"key": "k", "keys": {"a": 1}, "values": {"b": 2}}, ctx()),
            [TOKEN, Reply(400, body)],
        )
    assert failure.value.reason == "SFMC answered 400: Column X unknown"
    assert failure.value.retryable is False


def test_single_event_requests_leave_retryable_statuses_to_the_transport() -> None:
    (request,) = sent("contact", {"contactKey": "a"})
    assert not ({408, 423, 429, 500, 502, 503} & request.handles)
    assert {400, 403, 404, 501} <= request.handles


def test_rate_limit_is_twenty_requests_per_second_in_module_and_sandbox() -> None:
    assert SFMC.rate_limit.requests_per_second == 20
    assert EMULATOR.requests_per_second == 20
    assert SFMC.rate_limit.doc_url.startswith("https://segment.com/docs/")


# --- §5.3 Title Case --------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), json.loads((DATA / "titlecase.json").read_text()))
def test_title_case_reproduces_the_reference_table(key: str, expected: str) -> None:
    assert title_case(key) == expected


# --- §5.6 worked examples ---------------------------------------------------------------------

EXAMPLE_A = {
    "type": "identify",
    "userId": "u_123",
    "messageId": "m-1",
    "traits": {
        "firstName": "Amanda",
        "last_name": "Smith",
        "email": "amanda@example.com",
        "createdAt": "2020-05-30T13:30:00+00:00",
        "plan": "Pro",
        "address": {"city": "Paris"},
        "tags": ["vip", "beta"],
        "userID": "legacy-9",
        "address2": "Apt 4",
    },
    "context": {
        "ip": "203.0.113.7",
        "locale": "en-GB",
        "userAgent": "Mozilla/5.0",
        "app": {"name": "Shop", "version": "2.1.0", "build": "42"},
        "campaign": {"name": "spring", "source": "newsletter", "medium": "email"},
        "device": {"manufacturer": "Apple", "model": "iPhone14,2", "adTrackingEnabled": False},
        "screen": {"width": 390, "height": 844, "density": 3},
    },
}
EXAMPLE_E = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u_123",
    "messageId": "m-2",
    "properties": {
        "orderId": "o-9",
        "revenue": 42.5,
        "currency": "EUR",
        "products": [{"sku": "A"}],
        "coupon": None,
    },
}


def classic(action: str, event: dict[str, Any], settings: dict[str, Any] = CLASSIC):
    """(requests after the token request, problems) of a classic action for a whole event."""
    payload, problems = render(action, event, settings=settings)
    assert errors_of(problems) == []
    return sent(action, payload, settings), problems


def test_example_a_identify_with_user_id_nested_object_array_and_context() -> None:
    (contact, row), problems = classic("identifyDataExtension", EXAMPLE_A)
    assert (contact.method, contact.url) == ("POST", f"{REST}/contacts/v1/contacts")
    assert contact.body() == b'{"contactKey":"u_123","attributeSets":[]}'
    assert (row.method, row.url) == (
        "PUT",
        f"{REST}/hub/v1/dataevents/key:segment_identify/rows/Contact%20Key:u_123",
    )
    assert row.body() == (
        b'{"values":{"Contact Key":"u_123","App Name":"Shop","App Version":"2.1.0",'
        b'"App Build":"42","UTM Campaign":"spring","UTM Source":"newsletter","UTM Medium":"email",'
        b'"Locale":"en-GB","User Agent":"Mozilla/5.0","IP Address":"203.0.113.7",'
        b'"Ad Tracking Enabled":false,"Device Manufacturer":"Apple","Device-model":"iPhone14,2",'
        b'"Screen Density":3,"Screen Height":844,"Screen Width":390,"First Name":"Amanda",'
        b'"Last Name":"Smith","Email":"amanda@example.com",'
        b'"Created At":"2020-05-30T13:30:00+00:00","Plan":"Pro","User ID":"legacy-9",'
        b'"Address 2":"Apt 4"}}'
    )
    left_out = {p.json_path for p in problems}
    assert left_out == {("traits", "address"), ("traits", "tags")}


def test_example_b_identify_without_user_id_keys_by_email() -> None:
    event = {
        "type": "identify",
        "anonymousId": "a-1",
        "traits": {"email": "amanda@example.com", "first_name": "Amanda"},
    }
    (_, row), _ = classic("identifyDataExtension", event)
    assert (
        row.url
        == f"{REST}/hub/v1/dataevents/key:segment_identify/rows/Contact%20Key:amanda%40example.com"
    )
    assert row.body() == (
        b'{"values":{"Contact Key":"amanda@example.com","Email":"amanda@example.com",'
        b'"First Name":"Amanda"}}'
    )


def test_example_c_identify_with_neither_user_id_nor_email_is_skipped() -> None:
    payload, problems = render(
        "identifyDataExtension",
        {"type": "identify", "anonymousId": "a-1", "traits": {"plan": "Pro"}},
        settings=CLASSIC,
    )
    assert problems == []
    with pytest.raises(Skip) as skip:
        dry_run(plan_for("identifyDataExtension", payload, ActionContext(settings=CLASSIC)))
    assert skip.value.reason == "identify needs userId or traits.email"


def test_example_d_colon_in_user_id_is_a_validation_error_and_nothing_is_sent() -> None:
    _, problems = render(
        "identifyDataExtension", {"type": "identify", "userId": "auth0|u:123"}, settings=CLASSIC
    )
    assert errors_of(problems) == [
        "Contact Key \"auth0|u:123\" contains ':' which SFMC does not allow"
    ]


def test_example_e_track_with_a_composite_key() -> None:
    (row,), problems = classic("trackDataExtension", EXAMPLE_E)
    assert (row.method, row.url) == (
        "PUT",
        f"{REST}/hub/v1/dataevents/key:orders_de/rows/Contact%20Key:u_123,Order%20Id:o-9",
    )
    assert row.body() == (
        b'{"values":{"Contact Key":"u_123","Order Id":"o-9","Revenue":42.5,"Currency":"EUR"}}'
    )
    assert {p.json_path for p in problems} == {
        ("properties", "products"),
        ("properties", "coupon"),
    }


def test_example_f_uuid_primary_key_is_the_message_id() -> None:
    settings = {
        **CLASSIC,
        "events": [
            {
                "event": "Order Completed",
                "externalKey": "orders_de",
                "primaryKey": "Contact Key, Order Id",
                "uuidPrimaryKey": True,
            }
        ],
    }
    (row,), _ = classic("trackDataExtension", EXAMPLE_E, settings)
    assert row.url == f"{REST}/hub/v1/dataevents/key:orders_de/rows/Uuid:m-2"
    assert row.body() == (
        b'{"values":{"Uuid":"m-2","Contact Key":"u_123","Order Id":"o-9","Revenue":42.5,'
        b'"Currency":"EUR"}}'
    )


def test_example_g_unconfigured_event_is_skipped_with_a_reason() -> None:
    payload, _ = render(
        "trackDataExtension", {**EXAMPLE_E, "event": "Button Pressed"}, settings=CLASSIC
    )
    with pytest.raises(Skip) as skip:
        dry_run(plan_for("trackDataExtension", payload, ActionContext(settings=CLASSIC)))
    assert "Button Pressed" in skip.value.reason and "settings.events" in skip.value.reason


def test_example_h_engage_audience_sets_a_title_case_boolean_column() -> None:
    event = {
        "type": "identify",
        "userId": "u_123",
        "traits": {"email": "amanda@example.com", "active_users": True},
    }
    (_, row), _ = classic("identifyDataExtension", event)
    assert row.body() == (
        b'{"values":{"Contact Key":"u_123","Email":"amanda@example.com","Active Users":true}}'
    )
    left = {**event, "traits": {"email": "amanda@example.com", "active_users": False}}
    (_, row), _ = classic("identifyDataExtension", left)
    assert body_json(row)["values"]["Active Users"] is False


# --- classic rules beyond the examples ---------------------------------------------------------


def test_do_not_create_or_update_contacts_only_upserts_the_row() -> None:
    (row,), _ = classic(
        "identifyDataExtension", EXAMPLE_A, {**CLASSIC, "doNotCreateOrUpdateContacts": True}
    )
    assert row.method == "PUT"


def test_identify_needs_the_identify_data_extension_key() -> None:
    settings = {k: v for k, v in CLASSIC.items() if k != "identifyExtensionExternalKey"}
    _, problems = render("identifyDataExtension", EXAMPLE_A, settings=settings)
    assert [p.code for p in problems if p.severity.value == "error"] == ["CDP311"]


def test_colliding_trait_keys_warn_and_the_later_one_wins() -> None:
    event = {
        "type": "identify",
        "userId": "u",
        "traits": {"firstName": "A", "first_name": "B", "contactKey": "x", "locale": "fr-FR"},
        "context": {"locale": "en-GB"},
    }
    (_, row), problems = classic("identifyDataExtension", event)
    assert body_json(row)["values"] == {"Contact Key": "u", "Locale": "fr-FR", "First Name": "B"}
    warnings = [p.message for p in problems if p.severity.value == "warning"]
    assert len(warnings) == 2
    assert "first_name" in warnings[0] and "Contact Key" in warnings[1]


def test_columns_matching_without_regard_to_case_collide_like_sfmc() -> None:
    event = {
        "type": "identify",
        "userId": "u",
        "traits": {"ipAddress": "10.0.0.1"},
        "context": {"ip": "203.0.113.7"},
    }
    (_, row), _ = classic("identifyDataExtension", event)
    assert body_json(row)["values"] == {"Contact Key": "u", "IP Address": "10.0.0.1"}


def test_track_contact_key_primary_key_falls_back_to_context_email() -> None:
    event = {**EXAMPLE_E, "userId": None, "context": {"traits": {"email": "a@example.com"}}}
    (row,), _ = classic("trackDataExtension", event)
    assert row.url.endswith("/rows/Contact%20Key:a%40example.com,Order%20Id:o-9")


def test_track_missing_primary_key_value_is_refused_before_sending() -> None:
    event = {**EXAMPLE_E, "properties": {"revenue": 1}}
    _, problems = render("trackDataExtension", event, settings=CLASSIC)
    (error,) = errors_of(problems)
    assert error.startswith('primary key "Order Id" of "Order Completed" has no value')


def test_track_default_primary_key_is_contact_key_and_contact_key_colon_is_refused() -> None:
    settings = {**CLASSIC, "events": [{"event": "Signed Up", "externalKey": "signups"}]}
    (row,), _ = classic(
        "trackDataExtension",
        {
            "type": "track",
            "event": "Signed Up",
            "userId": "u1",
            "properties": {"plan": "Free Trial"},
        },
        settings,
    )
    assert row.url == f"{REST}/hub/v1/dataevents/key:signups/rows/Contact%20Key:u1"
    assert body_json(row) == {"values": {"Contact Key": "u1", "Plan": "Free Trial"}}
    _, problems = render(
        "trackDataExtension",
        {"type": "track", "event": "Signed Up", "userId": "a:b"},
        settings=settings,
    )
    assert errors_of(problems) == ["Contact Key \"a:b\" contains ':' which SFMC does not allow"]


def test_event_names_match_exactly_with_a_warning_for_a_case_only_match() -> None:
    payload, problems = render(
        "trackDataExtension", {**EXAMPLE_E, "event": "order completed"}, settings=CLASSIC
    )
    assert [p.severity.value for p in problems] == ["warning"]
    with pytest.raises(Skip):
        dry_run(plan_for("trackDataExtension", payload, ActionContext(settings=CLASSIC)))


def test_classic_api_event_sends_title_case_single_values() -> None:
    settings = {**CLASSIC, "apiEvents": {"Order Completed": "APIEvent-1"}}
    (request,), _ = classic("trackApiEvent", EXAMPLE_E, settings)
    assert (request.method, request.url) == ("POST", f"{REST}/interaction/v1/events")
    assert request.body() == (
        b'{"contactKey":"u_123","eventDefinitionKey":"APIEvent-1",'
        b'"data":{"Order Id":"o-9","Revenue":42.5,"Currency":"EUR"}}'
    )


@pytest.mark.parametrize(
    ("settings", "event", "reason"),
    [
        ({**CLASSIC, "apiEvents": {}}, EXAMPLE_E, "not configured in settings.apiEvents"),
        (
            {**CLASSIC, "apiEvents": {"Order Completed": "k"}, "batching": True},
            EXAMPLE_E,
            "batching is on",
        ),
        (
            {**CLASSIC, "apiEvents": {"Order Completed": "k"}},
            {**EXAMPLE_E, "userId": None},
            "needs userId",
        ),
    ],
)
def test_classic_api_event_skips(settings: dict, event: dict, reason: str) -> None:
    payload, _ = render("trackApiEvent", event, settings=settings)
    with pytest.raises(Skip) as skip:
        dry_run(plan_for("trackApiEvent", payload, ActionContext(settings=settings)))
    assert reason in skip.value.reason


def test_batching_mode_sends_rows_to_the_async_api_without_contacts() -> None:
    settings = {**CLASSIC, "batching": True}
    (identify,), _ = classic(
        "identifyDataExtension",
        {"type": "identify", "userId": "u1", "traits": {"plan": "Pro"}},
        settings,
    )
    assert (identify.method, identify.url) == (
        "PUT",
        f"{REST}/data/v1/async/dataextensions/key:segment_identify/rows",
    )
    assert identify.body() == b'{"items":[{"Contact Key":"u1","Plan":"Pro"}]}'
    (track,), _ = classic("trackDataExtension", EXAMPLE_E, settings)
    assert track.url == f"{REST}/data/v1/async/dataextensions/key:orders_de/rows"
    assert body_json(track) == {
        "items": [{"Contact Key": "u_123", "Order Id": "o-9", "Revenue": 42.5, "Currency": "EUR"}]
    }


def test_classic_batch_creates_contacts_then_one_rowset_per_data_extension() -> None:
    payloads = [
        render(
            "identifyDataExtension",
            {"type": "identify", "userId": f"u{i}", "traits": {"plan": "Pro"}},
            settings=CLASSIC,
        )[0]
        for i in range(2)
    ]
    skipped = render("identifyDataExtension", {"type": "identify", "traits": {}}, settings=CLASSIC)[
        0
    ]
    requests, results = scripted(
        batch_for("identifyDataExtension", [payloads[0], skipped, payloads[1]], ctx(CLASSIC)),
        [
            TOKEN,
            Reply(200, {}),
            Reply(400, {"operationStatus": "Fail", "resultMessages": [{"message": "nope"}]}),
            Reply(200, [{}]),
        ],
    )
    assert [r.url for r in requests[1:]] == [
        f"{REST}/contacts/v1/contacts",
        f"{REST}/contacts/v1/contacts",
        f"{REST}/hub/v1/dataevents/key:segment_identify/rowset",
    ]
    assert body_json(requests[3]) == [
        {"keys": {"Contact Key": "u0"}, "values": {"Contact Key": "u0", "Plan": "Pro"}}
    ]
    assert results[0] == ItemResult(True, 200, "")
    assert results[1].ok and results[1].reason == "skipped: identify needs userId or traits.email"
    assert results[2] == ItemResult(False, 400, "nope", False)


def test_classic_batch_in_batching_mode_uses_one_async_request() -> None:
    settings = {**CLASSIC, "batching": True}
    payloads = [
        render(
            "trackDataExtension",
            {**EXAMPLE_E, "properties": {"orderId": f"o-{i}"}},
            settings=settings,
        )[0]
        for i in range(3)
    ]
    requests, results = scripted(
        batch_for("trackDataExtension", payloads, ctx(settings)),
        [TOKEN, Reply(202, {"requestId": "r1", "resultMessages": []}), SETTLED],
    )
    assert [r.url for r in requests[1:]] == [
        f"{REST}/data/v1/async/dataextensions/key:orders_de/rows",
        f"{REST}/data/v1/async/r1/status",
    ]
    assert len(body_json(requests[1])["items"]) == 3
    assert all(r.ok for r in results)


def test_classic_settings_problems_are_reported() -> None:
    settings = {
        **SETTINGS,
        "identifyExtensionExternalKey": "",
        "events": [
            {"event": "A", "externalKey": "a", "primaryKey": "Contact Key, , Order:Id"},
            {"event": "D", "externalKey": "b"},
            {"event": "D", "externalKey": "b2"},
            {"event": "B", "externalKey": "c", "uuidPrimaryKey": "yes", "primaryKeys": "x"},
            "C",
        ],
        "apiEvents": {"Order Completed": ""},
    }
    messages = [(p.severity.value, p.message) for p in SFMC.check_settings(settings)]
    assert (
        "error",
        'settings.events[0].primaryKey "Contact Key, , Order:Id" has an empty column name',
    ) in messages
    assert any("contains ':'" in m for _, m in messages)
    assert ("error", 'settings.events[2]: "D" is configured twice') in messages
    assert ("warning", 'settings.events[3] has the unknown key "primaryKeys"') in messages
    assert ("error", "settings.events[3].uuidPrimaryKey must be true or false") in messages
    assert ("error", "settings.events[4] must be a mapping with event and externalKey") in messages
    assert any("apiEvents" in m for _, m in messages)
    assert any("identifyExtensionExternalKey" in m for _, m in messages)


# --- the example file ---------------------------------------------------------------------------


def test_example_file_validates_cleanly() -> None:
    result = run_cli(["validate", str(ROOT / "examples" / "sfmc.yaml")])
    assert result.exit_code == 0, result.output


def test_example_file_covers_every_action() -> None:
    text = (ROOT / "examples" / "sfmc.yaml").read_text()
    for action in SFMC.actions:
        assert f"action: {action.name}\n" in text, action.name


@pytest.mark.parametrize("sample", ["identify", "track"])
def test_example_file_renders_real_requests_for_the_samples(sample: str) -> None:
    result = run_cli(
        ["test-event", "--format", "json", str(ROOT / "examples" / "sfmc.yaml"), sample]
    )
    assert result.exit_code == 0, result.output
    matched = [r for r in json.loads(result.stdout)["results"] if r["matched"]]
    assert matched and all(r["requests"] for r in matched)
    urls = [q["url"] for r in matched for q in r["requests"]]
    assert sum(u.endswith("/v2/token") for u in urls) == 1


# --- the sandbox --------------------------------------------------------------------------------


def test_sandbox_token_with_wrong_secret_answers_sfmcs_401(sandbox) -> None:
    reply = httpx.post(
        f"{sandbox.url}/v2/token",
        data={"client_id": CLIENT_ID, "client_secret": "wrong", "grant_type": "client_credentials"},
    )
    assert reply.status_code == 401 and reply.json() == INVALID_CLIENT
    with pytest.raises(PlanFailed) as failure:
        live(
            plan_for("contact", {"contactKey": "a"}, ctx({**SANDBOX, "account_id": "999"})),
            sandbox.url,
        )
    assert failure.value.status == 401 and "invalid_client" in failure.value.reason


def test_sandbox_token_accepts_the_documented_json_body(sandbox) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "account_id": ACCOUNT_ID,
    }
    reply = httpx.post(f"{sandbox.url}/v2/token", json=body)
    assert reply.status_code == 200
    assert reply.json()["token_type"] == "Bearer" and reply.json()["expires_in"] == 1079


def test_sandbox_unknown_bearer_token_gets_not_authorized(sandbox) -> None:
    reply = httpx.post(
        f"{sandbox.url}/contacts/v1/contacts",
        json={"contactKey": "a"},
        headers={"Authorization": "Bearer nope"},
    )
    assert reply.status_code == 401 and reply.json() == NOT_AUTHORIZED


def test_sandbox_expired_cached_token_is_refreshed_once_and_the_request_retried(sandbox) -> None:
    from cdpctl.providers.sfmc.auth import CachedToken, cache_key

    stale = issue_token(0)
    context = ctx(SANDBOX, cache={cache_key(SANDBOX): CachedToken(stale, float("inf"))})
    exchanges, _ = live(plan_for("contact", {"contactKey": "u1"}, context), sandbox.url)
    assert [e.reply.status for e in exchanges] == [401, 200, 200]
    assert sandbox.state.providers["sfmc"]["tokens_issued"] == 1
    assert len(context.secrets_found) == 1


def test_sandbox_classic_identify_creates_contact_and_upserts_the_row(sandbox) -> None:
    settings = {**SANDBOX, "identifyExtensionExternalKey": "segment_identify"}
    context = ctx(settings)
    for traits in ({"firstName": "Amanda", "plan": "Free"}, {"plan": "Pro", "active_users": True}):
        payload, _ = render(
            "identifyDataExtension",
            {"type": "identify", "userId": "u_123", "traits": traits},
            settings=settings,
        )
        live(plan_for("identifyDataExtension", payload, context), sandbox.url)
    state = sandbox.state.providers["sfmc"]
    assert list(state["contacts"]) == ["u_123"]
    (table,) = [t for t in state["data_extensions"].values() if t["key"] == "segment_identify"]
    assert list(table["rows"].values()) == [
        {"Contact Key": "u_123", "First Name": "Amanda", "Plan": "Pro", "Active Users": True}
    ]
    assert state["tokens_issued"] == 1


def test_sandbox_classic_track_rows_are_keyed_by_the_composite_primary_key(sandbox) -> None:
    settings = {**SANDBOX, "events": CLASSIC["events"]}
    context = ctx(settings)
    for order, revenue in (("o-1", 1), ("o-2", 2), ("o-1", 3)):
        event = {**EXAMPLE_E, "properties": {"orderId": order, "revenue": revenue}}
        payload, _ = render("trackDataExtension", event, settings=settings)
        live(plan_for("trackDataExtension", payload, context), sandbox.url)
    (table,) = [
        t
        for t in sandbox.state.providers["sfmc"]["data_extensions"].values()
        if t["key"] == "orders_de"
    ]
    revenues = sorted((row["Order Id"], row["Revenue"]) for row in table["rows"].values())
    assert revenues == [("o-1", 3), ("o-2", 2)]


def test_sandbox_rejects_colon_contact_keys_like_sfmc(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live(plan_for("contact", {"contactKey": "auth0|u:1"}, ctx(SANDBOX)), sandbox.url)
    assert failure.value.status == 400 and 'contains ":"' in failure.value.reason
    row = {"key": "people", "keys": {"Contact Key": "a:b"}, "values": {"x": 1}}
    with pytest.raises(PlanFailed) as failure:
        live(plan_for("dataExtension", row, ctx(SANDBOX)), sandbox.url)
    assert failure.value.status == 400


def test_sandbox_rejects_an_ambiguous_row_address(sandbox) -> None:
    token = issue_token(9e9)
    reply = httpx.put(
        f"{sandbox.url}/hub/v1/dataevents/key:people/rows/Contact%20Key:a:b",
        json={"values": {"x": 1}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 400 and reply.json()["errorcode"] == 10000


def test_sandbox_rowset_keeps_rows_before_the_first_bad_one(sandbox) -> None:
    good = {"key": "people", "keys": {"id": "1"}, "values": {"n": 1}, "enable_batching": True}
    bad = {**good, "keys": {"other": "2"}}
    late = {**good, "keys": {"id": "3"}}
    _, results = live(batch_for("dataExtension", [good, bad, late], ctx(SANDBOX)), sandbox.url)
    assert {(r.ok, r.status) for r in results} == {(False, 400)}
    assert results[0].reason.startswith("Row 1:")
    (table,) = [
        t
        for t in sandbox.state.providers["sfmc"]["data_extensions"].values()
        if t["key"] == "people"
    ]
    assert list(table["rows"].values()) == [{"id": "1", "n": 1}]


def test_sandbox_async_batch_is_polled_until_each_row_is_settled(sandbox) -> None:
    """An accepted async submit is not yet a delivery: the batch polls the request and each
    event gets its row's real result (Segment would count both as delivered)."""
    hook = {"onMappingSave": {"outputs": {"id": "9a1c3e55-1d2b-4c6a-8f00-000000000003"}}}
    payloads = [
        {"keys": {"Order Id": "o-1"}, "values": {"Revenue": 1}, **hook},
        {"keys": {}, "values": {"Revenue": 2}, **hook},
    ]
    exchanges, results = live(batch_for("asyncDataExtension", payloads, ctx(SANDBOX)), sandbox.url)
    assert [r.ok for r in results] == [True, False]
    assert results[1].reason == "Cannot locate the existing record. Required keys are missing."
    assert [e.request.url.rsplit("/", 1)[1] for e in exchanges[-2:]] == ["status", "results"]


def test_async_request_still_running_after_every_check_is_undetermined() -> None:
    running = Reply(200, {"status": {"requestStatus": "Executing"}})
    accepted = Reply(202, {"requestId": "slow", "resultMessages": []})
    polls = [running] * len(ASYNC_POLL_WAITS)
    requests, results = scripted(
        batch_for("asyncDataExtension", [ASYNC], ctx()), [TOKEN, accepted, *polls]
    )
    assert [r.wait for r in requests if r.url.endswith("/status")] == list(ASYNC_POLL_WAITS)
    assert not results[0].ok and "still running" in results[0].reason


def test_sandbox_async_to_an_unknown_data_extension_is_custom_object_not_found(sandbox) -> None:
    payload = {**ASYNC, "onMappingSave": {"outputs": {"id": "missing"}}}
    with pytest.raises(PlanFailed) as failure:
        live(plan_for("asyncDataExtension", payload, ctx(SANDBOX)), sandbox.url)
    assert failure.value.status == 400
    assert "Failed to resolve the Custom Object missing." in failure.value.reason


def test_sandbox_api_events_are_recorded(sandbox) -> None:
    body = {
        "contactKey": "u1",
        "eventDefinitionKey": "APIEvent-1",
        "data": {"Email": "a@example.com"},
    }
    exchanges, _ = live(plan_for("apiEvent", body, ctx(SANDBOX)), sandbox.url)
    assert exchanges[-1].reply.status == 201
    (event,) = sandbox.state.providers["sfmc"]["events"]
    assert {k: event[k] for k in ("contactKey", "eventDefinitionKey", "data")} == body


def test_sandbox_routes_do_not_collide_with_other_providers() -> None:
    from cdpctl.sandbox.server import EMULATOR_MODULES, load_emulators

    others = [e for e in load_emulators(EMULATOR_MODULES) if e.name != "sfmc"]
    paths = [
        "/v2/token",
        "/contacts/v1/contacts",
        "/hub/v1/dataevents/key:x/rowset",
        "/hub/v1/dataevents/key:x/rows/Contact%20Key:u",
        "/data/v1/async/dataextensions/abc/rows",
        "/data/v1/async/abc/status",
        "/data/v1/async/abc/results",
        "/interaction/v1/events",
        "/data/v1/customobjects/abc/fields",
    ]
    for emulator in others:
        for route in emulator.routes:
            assert not any(route.endpoint.regex().match(path) for path in paths), (
                emulator.name,
                route.endpoint.path,
            )


def test_every_context_field_goes_to_its_fixed_column_in_table_order() -> None:
    context = {
        "app": {"name": "Shop", "version": "2.1.0", "build": "42"},
        "campaign": {"name": "n", "source": "s", "medium": "m", "term": "t", "content": "c"},
        "locale": "en-GB",
        "userAgent": "UA",
        "ip": "203.0.113.7",
        "device": {
            "adTrackingEnabled": True,
            "manufacturer": "Apple",
            "model": "iPhone14,2",
            "name": "Phone",
            "type": "ios",
        },
        "network": {"bluetooth": False, "carrier": "EE", "cellular": True, "wifi": False},
        "screen": {"density": 3, "height": 844, "width": 390},
        "timezone": "Europe/London",
    }
    event = {"type": "identify", "userId": "u", "context": context}
    (_, row), _ = classic("identifyDataExtension", event)
    assert list(body_json(row)["values"].items()) == [
        ("Contact Key", "u"),
        ("App Name", "Shop"),
        ("App Version", "2.1.0"),
        ("App Build", "42"),
        ("UTM Campaign", "n"),
        ("UTM Source", "s"),
        ("UTM Medium", "m"),
        ("UTM Term", "t"),
        ("UTM Content", "c"),
        ("Locale", "en-GB"),
        ("User Agent", "UA"),
        ("IP Address", "203.0.113.7"),
        ("Ad Tracking Enabled", True),
        ("Device Manufacturer", "Apple"),
        ("Device-model", "iPhone14,2"),
        ("Device Name", "Phone"),
        ("Device Type", "ios"),
        ("Bluetooth Enabled", False),
        ("Network Carrier", "EE"),
        ("Cellular Enabled", True),
        ("Wifi Enabled", False),
        ("Screen Density", 3),
        ("Screen Height", 844),
        ("Screen Width", 390),
    ]


def test_track_rows_carry_context_columns_after_the_keys() -> None:
    event = {**EXAMPLE_E, "context": {"ip": "203.0.113.7", "app": {"name": "Shop"}}}
    (row,), _ = classic("trackDataExtension", event)
    assert list(body_json(row)["values"]) == [
        "Contact Key",
        "Order Id",
        "App Name",
        "IP Address",
        "Revenue",
        "Currency",
    ]
