"""SendGrid: golden requests and every vector of shared/reference/providers/sendgrid.md §6.

The vectors' mappings are literal (Segment's own test style) and go straight through the
framework step and the plan; where a vector's mock answers matter (custom-field lookups,
contact search), the plan is driven with those answers, like Segment's `nock` tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from helpers import body_json, header, live_run, plan_requests, run_cli

from cdpctl import codes
from cdpctl.delivery.limits import RetryPolicy
from cdpctl.delivery.transport import PlanFailed, Transport, drive
from cdpctl.mapping import strip_undefined, transform
from cdpctl.mappingfile import effective_mapping
from cdpctl.pipeline import dry_run
from cdpctl.providers import get_provider
from cdpctl.providers.base import ActionContext, ActionFailed, ItemResult, Reply, Request
from cdpctl.providers.payload import E164_HINT, prepare
from cdpctl.providers.sendgrid import contacts, mail
from cdpctl.sandbox.providers.sendgrid import (
    API_KEY,
    MARKETING_ONLY_KEY,
    NEWSLETTER_LIST,
    parse_query,
)

SETTINGS = {"sendGridApiKey": "test"}
EU = {"sendGridApiKey": "test", "endpoint": "https://api.eu.sendgrid.com"}
SENDGRID = get_provider("sendgrid")
UPSERT = SENDGRID.action("updateUserProfile")
SEND = SENDGRID.action("sendEmail")
# The field-definitions mock of §6, used by V1–V3.
DEFINITIONS = {
    "custom_fields": [
        {"id": "e1_N", "name": "Age", "field_type": "Number"},
        {"id": "e2_N", "name": "Source", "field_type": "String"},
    ]
}
CONTACTS_URL = "https://api.sendgrid.com/v3/marketing/contacts"


Answer = Callable[[Request], Reply]


def answers(search: Any = None, put: Reply | None = None) -> Answer:
    """Segment's nock mocks: definitions as in §6, 202 for the upsert, 202 for deletes."""

    def answer(request: Request) -> Reply:
        if request.url.endswith("/field_definitions"):
            return Reply(200, DEFINITIONS)
        if request.url.endswith("/contacts/search"):
            return Reply(200, search if search is not None else {"result": []})
        if request.method == "PUT":
            return put or Reply(202, {})
        return Reply(202, {"job_id": "job-1"})

    return answer


def run(plan: Any, answer: Answer) -> tuple[list[Request], Any]:
    """Drive a plan with scripted replies; returns the requests and the plan's return value."""
    requests: list[Request] = []
    try:
        request = next(plan)
        while True:
            requests.append(request)
            request = plan.send(answer(request))
    except StopIteration as stop:
        return requests, stop.value


def live_ctx(settings: dict[str, Any] = SETTINGS, **kwargs: Any) -> ActionContext:
    return ActionContext(settings=settings, dry_run=False, **kwargs)


def upsert(payload: dict[str, Any], answer: Answer | None = None, ctx: ActionContext | None = None):
    cleaned, errors = prepare(UPSERT, payload, SETTINGS)
    assert not [e for e in errors if e.severity.value == "error"], errors
    return run(UPSERT.plan(cleaned, ctx or live_ctx()), answer or answers())


def upsert_batch(payloads: list[dict[str, Any]], answer: Answer | None = None, ctx=None):
    return run(UPSERT.plan_batch(payloads, ctx or live_ctx()), answer or answers())


def errors_of(action: Any, payload: dict[str, Any], settings: dict[str, Any] = SETTINGS):
    return [e for e in prepare(action, payload, settings)[1] if e.severity.value == "error"]


def keys_in_order(data: bytes) -> list[str]:
    return list(json.loads(data))


# --- settings and headers --------------------------------------------------------------------


def test_every_request_carries_bearer_auth_and_accept_json() -> None:
    requests, _ = upsert({"primary_email": "a@example.com"})
    for request in requests:
        assert header(request, "Authorization") == "Bearer test"
        assert header(request, "Accept") == "application/json"
    get, put = requests
    assert header(get, "Content-Type") is None
    assert header(put, "Content-Type") == "application/json"


def test_global_host_is_the_default_and_the_eu_endpoint_setting_moves_every_request() -> None:
    (_, put) = plan_requests("sendgrid", "updateUserProfile", {"anonymous_id": "a"}, SETTINGS)
    assert put.url == CONTACTS_URL
    get, put = plan_requests("sendgrid", "updateUserProfile", {"anonymous_id": "a"}, EU)
    assert get.url == "https://api.eu.sendgrid.com/v3/marketing/field_definitions"
    assert put.url == "https://api.eu.sendgrid.com/v3/marketing/contacts"


def test_api_key_is_a_secret_setting_and_the_endpoint_an_enum_of_the_two_regions() -> None:
    key = SENDGRID.setting("sendGridApiKey")
    assert key is not None and key.secret and key.required
    endpoint = SENDGRID.setting("endpoint")
    assert endpoint is not None and not endpoint.required
    assert endpoint.enum == ("https://api.sendgrid.com", "https://api.eu.sendgrid.com")
    assert endpoint.default == "https://api.sendgrid.com"


def test_an_endpoint_outside_the_two_regions_is_a_settings_error() -> None:
    assert SENDGRID.check_settings is not None
    assert SENDGRID.check_settings(EU) == []
    (error,) = SENDGRID.check_settings({"endpoint": "https://api.example.com"})
    assert error.json_path == ("endpoint",)
    assert "https://api.eu.sendgrid.com" in (error.hint or "")


def test_test_authentication_gets_the_user_account() -> None:
    assert SENDGRID.test_authentication is not None
    (request,) = dry_run(SENDGRID.test_authentication(ActionContext(settings=EU)))
    assert (request.method, request.url) == ("GET", "https://api.eu.sendgrid.com/v3/user/account")


# --- updateUserProfile: vectors V1–V3 --------------------------------------------------------


def test_v1_custom_field_names_resolve_to_ids_case_insensitively_byte_exact() -> None:
    payload = {
        "primary_email": "homer@simpsons.com",
        "customFields": {"aGE": 42, "e2_N": "facebook"},
    }
    requests, _ = upsert(payload)
    assert len(requests) == 2
    get, put = requests
    assert (get.method, get.url) == (
        "GET",
        "https://api.sendgrid.com/v3/marketing/field_definitions",
    )
    assert (put.method, put.url) == ("PUT", CONTACTS_URL)
    assert put.body() == (
        b'{"contacts":[{"email":"homer@simpsons.com","custom_fields":{"e1_N":42,"e2_N":"facebook"}}]}'
    )


def test_v1_through_the_mapping_engine_leaves_unmapped_last_name_out() -> None:
    event = {
        "type": "identify",
        "event": "Segment Test Event Name",
        "traits": {
            "email": "homer@simpsons.com",
            "last_name": "simpson",
            "age": 42,
            "source": "facebook",
        },
    }
    mapping = {
        "primary_email": {"@path": "$.traits.email"},
        "customFields": {"aGE": {"@path": "$.traits.age"}, "e2_N": {"@path": "$.traits.source"}},
    }
    effective, _ = effective_mapping(UPSERT, mapping, use_defaults=False)
    requests, _ = upsert(strip_undefined(transform(effective, event)))
    assert requests[1].body() == (
        b'{"contacts":[{"email":"homer@simpsons.com","custom_fields":{"e1_N":42,"e2_N":"facebook"}}]}'
    )


def test_v2_single_upsert_sends_reserved_fields_then_email_then_empty_custom_fields() -> None:
    payload = {"primary_email": "silkpants@richer.com", "last_name": "silkpants"}
    requests, result = upsert(payload)
    assert [r.method for r in requests] == ["GET", "PUT"]
    assert requests[1].body() == (
        b'{"contacts":[{"last_name":"silkpants","email":"silkpants@richer.com","custom_fields":{}}]}'
    )
    assert result is None


def test_v3_batch_of_two_sends_one_lookup_and_one_upsert() -> None:
    payloads = [
        {"primary_email": "silkpants1@richer.com", "last_name": "SilkPants 1"},
        {"primary_email": "silkpants2@richer.com", "last_name": "SilkPants 2"},
    ]
    requests, results = upsert_batch(payloads)
    assert [r.method for r in requests] == ["GET", "PUT"]
    assert requests[1].body() == (
        b'{"contacts":[{"last_name":"SilkPants 1","email":"silkpants1@richer.com",'
        b'"custom_fields":{}},{"last_name":"SilkPants 2","email":"silkpants2@richer.com",'
        b'"custom_fields":{}}]}'
    )
    assert results == [ItemResult(True, 202, "queued"), ItemResult(True, 202, "queued")]


def test_upsert_declares_batching_with_sendgrids_30k_and_6mb_limits() -> None:
    assert UPSERT.batch is not None and UPSERT.plan_batch is not None
    assert UPSERT.batch.max_events == 30_000
    assert UPSERT.batch.max_bytes == 6_000_000
    assert "add-or-update-a-contact" in UPSERT.batch.doc_url


# --- updateUserProfile: goldens ---------------------------------------------------------------

ANN_EVENT = {
    "type": "identify",
    "anonymousId": "anon-1",
    "traits": {
        "email": "ann@example.com",
        "first_name": "Ann",
        "phone": "+447000000001",
        "external_id": "ext-1",
        "address": {
            "city": "London",
            "country": "UK",
            "postal_code": "N1 9GU",
            "state": "Greater London",
            "line1": "1 High St",
        },
    },
}
ANN_BODY = (
    b'{"contacts":[{"first_name":"Ann","country":"UK","postal_code":"N1 9GU","city":"London",'
    b'"address_line_1":"1 High St","phone_number":"+447000000001",'
    b'"phone_number_id":"+447000000001",'
    b'"external_id":"ext-1","anonymous_id":"anon-1","state_province_region":"Greater London",'
    b'"email":"ann@example.com","custom_fields":{"e2_N":"true"}}]}'
)


def test_default_mappings_on_the_eu_endpoint_reproduce_the_recorded_example_byte_exact() -> None:
    effective, _ = effective_mapping(UPSERT, {"customFields": {"Source": True}}, use_defaults=True)
    payload = strip_undefined(transform(effective, ANN_EVENT))
    cleaned, errors = prepare(UPSERT, payload, EU)
    assert errors == []
    requests, _ = run(UPSERT.plan(cleaned, live_ctx(EU)), answers())
    assert [r.url for r in requests] == [
        "https://api.eu.sendgrid.com/v3/marketing/field_definitions",
        "https://api.eu.sendgrid.com/v3/marketing/contacts",
    ]
    assert requests[1].body() == ANN_BODY


def test_default_mappings_fall_back_from_traits_to_properties() -> None:
    event = {"type": "track", "properties": {"email": "p@example.com", "first_name": "P"}}
    effective, _ = effective_mapping(UPSERT, {}, use_defaults=True)
    payload = strip_undefined(transform(effective, event))
    assert payload["primary_email"] == "p@example.com"
    assert payload["first_name"] == "P"
    assert payload["enable_batching"] is True


def test_all_fields_golden_keeps_mapping_order_then_state_email_custom_fields() -> None:
    payload = {
        "enable_batching": True,
        "first_name": "Ann",
        "last_name": "Lee",
        "country": "UK",
        "postal_code": "N1 9GU",
        "city": "London",
        "state": "Greater London",
        "address_line_1": "1 High St",
        "address_line_2": "Flat 2",
        "phone_number": "+447000000001",
        "whatsapp": "+447000000002",
        "line": "ann-line",
        "facebook": "ann.fb",
        "unique_name": "ann",
        "primary_email": "ann@example.com",
        "phone_number_id": "+447000000001",
        "external_id": "ext-1",
        "anonymous_id": "anon-1",
        "customFields": {"Age": 42, "source": ["web", "app"]},
        "list_ids": [NEWSLETTER_LIST],
    }
    requests, _ = upsert(payload)
    put = requests[1]
    assert keys_in_order(put.body()) == ["list_ids", "contacts"]
    (contact,) = body_json(put)["contacts"]
    assert list(contact) == [
        "first_name",
        "last_name",
        "country",
        "postal_code",
        "city",
        "address_line_1",
        "address_line_2",
        "phone_number",
        "whatsapp",
        "line",
        "facebook",
        "unique_name",
        "phone_number_id",
        "external_id",
        "anonymous_id",
        "state_province_region",
        "email",
        "custom_fields",
    ]
    assert contact["state_province_region"] == "Greater London"
    assert contact["custom_fields"] == {"e1_N": 42, "e2_N": '["web","app"]'}
    assert body_json(put)["list_ids"] == [NEWSLETTER_LIST]


def test_required_fields_only_golden_is_one_identifier_and_empty_custom_fields() -> None:
    requests, _ = upsert({"anonymous_id": "hip-hop-anonymous"})
    assert (
        requests[1].body()
        == b'{"contacts":[{"anonymous_id":"hip-hop-anonymous","custom_fields":{}}]}'
    )


def test_enable_batching_and_unknown_keys_are_never_sent() -> None:
    requests, _ = upsert({"enable_batching": False, "external_id": "x", "favourite": "tea"})
    assert requests[1].body() == b'{"contacts":[{"external_id":"x","custom_fields":{}}]}'


def test_null_reserved_field_is_sent_as_null_but_null_custom_field_as_the_string_null() -> None:
    requests, _ = upsert({"external_id": "x", "first_name": None, "customFields": {"Age": None}})
    assert requests[1].body() == (
        b'{"contacts":[{"external_id":"x","first_name":null,"custom_fields":{"e1_N":"null"}}]}'
    )


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (True, "true"),
        ([1, 2, 3], "[1,2,3]"),
        ({"a": 1}, '{"a":1}'),
        (
            [[1, 2, 3], {"a": 1, "b": 2, "c": {"d": 3, "e": ["f", "g"]}}],
            '[[1,2,3],{"a":1,"b":2,"c":{"d":3,"e":["f","g"]}}]',
        ),
        (123, 123),
        ("2022-11-01T00:00:00Z", "2022-11-01T00:00:00Z"),
        (None, "null"),
        (1.5, 1.5),
    ],
)
def test_v6_custom_field_value_conversion(value: Any, sent: Any) -> None:
    assert contacts.custom_field_value(value) == sent


def test_v6_identifier_check_fails_empty_payload_and_passes_anonymous_id() -> None:
    (error,) = contacts.check({}, SETTINGS)
    assert error.code == codes.PAYLOAD_MISSING_FIELD
    assert error.message == (
        "Contact must have at least one identifying field included "
        "(email, phone_number_id, external_id, anonymous_id)."
    )
    assert contacts.check({"anonymous_id": "hip-hop-anonymous"}, SETTINGS) == []


def test_payload_without_an_identifier_is_a_payload_error_and_sends_nothing() -> None:
    (error,) = errors_of(UPSERT, {"first_name": "Ann", "primary_email": None})
    assert "at least one identifying field" in error.message


def test_unknown_custom_field_fails_with_400_after_the_lookup_and_before_the_upsert() -> None:
    cleaned, _ = prepare(
        UPSERT, {"primary_email": "a@example.com", "customFields": {"Shoe": 9}}, SETTINGS
    )
    plan = UPSERT.plan(cleaned, live_ctx())
    assert next(plan).method == "GET"
    with pytest.raises(ActionFailed) as failure:
        plan.send(Reply(200, DEFINITIONS))
    assert failure.value.status == 400
    assert failure.value.reason == (
        "Unknown custom field 'Shoe'. To see your defined custom fields, visit "
        "https://mc.sendgrid.com/custom-fields"
    )


def test_missing_custom_fields_key_in_the_lookup_counts_as_no_fields() -> None:
    definitions = contacts.FieldDefinitions.from_reply({"reserved_fields": []})
    assert definitions.resolve("Age") is None


def test_dry_run_shows_the_lookup_and_marks_unresolved_field_ids_as_placeholders() -> None:
    get, put = plan_requests(
        "sendgrid", "updateUserProfile", {"external_id": "x", "customFields": {"Age": 3}}, SETTINGS
    )
    assert get.dry_run_reply is not None and get.dry_run_reply.json == {"custom_fields": []}
    assert body_json(put)["contacts"][0]["custom_fields"] == {"<id of custom field Age>": 3}
    assert put.dry_run_reply is not None and put.dry_run_reply.status == 202


def test_field_definitions_are_looked_up_once_per_run_and_again_after_they_expire() -> None:
    now = [1000.0]
    ctx = live_ctx(clock=lambda: now[0])
    first, _ = upsert({"external_id": "a", "customFields": {"Age": 1}}, ctx=ctx)
    second, _ = upsert({"external_id": "b", "customFields": {"Age": 2}}, ctx=ctx)
    assert [r.method for r in first] == ["GET", "PUT"]
    assert [r.method for r in second] == ["PUT"]
    assert body_json(second[0])["contacts"][0]["custom_fields"] == {"e1_N": 2}
    now[0] += contacts.DEFINITIONS_TTL + 1
    third, _ = upsert({"external_id": "c"}, ctx=ctx)
    assert [r.method for r in third] == ["GET", "PUT"]


def test_a_field_missing_from_the_cached_lookup_is_looked_up_again_once() -> None:
    ctx = live_ctx()
    upsert({"external_id": "a"}, ctx=ctx)
    created = {"custom_fields": [*DEFINITIONS["custom_fields"], {"id": "e3_T", "name": "Shoe"}]}

    def answer(request: Request) -> Reply:
        return Reply(200, created) if request.method == "GET" else Reply(202, {})

    requests, _ = upsert({"external_id": "b", "customFields": {"shoe": "9"}}, answer, ctx)
    assert [r.method for r in requests] == ["GET", "PUT"]
    assert body_json(requests[1])["contacts"][0]["custom_fields"] == {"e3_T": "9"}


def test_upsert_sends_any_primary_email_as_segment_does() -> None:
    """Segment's updateUserProfile declares no email format on primary_email (action-
    destinations 3.497.0): `jöe@example.com` and even "not-an-email" are sent, and SendGrid
    judges them (a refused contact fails alone; see the batch tests)."""
    for email in ("jöe@example.com", "not-an-email"):
        assert errors_of(UPSERT, {"primary_email": email}) == []
        requests, _ = upsert({"primary_email": email})
        assert body_json(requests[-1])["contacts"][0]["email"] == email


def test_upsert_payload_validation_non_e164_phone_and_too_long_name() -> None:
    (phone,) = errors_of(UPSERT, {"phone_number_id": "07700900123"})
    assert phone.code == codes.PAYLOAD_BAD_FORMAT
    assert phone.hint == E164_HINT
    (name,) = errors_of(UPSERT, {"external_id": "x", "first_name": "A" * 51})
    assert name.code == codes.PAYLOAD_TOO_LONG and name.json_path == ("first_name",)
    (kind,) = errors_of(UPSERT, {"external_id": "x", "customFields": "Age=3"})
    assert kind.code == codes.PAYLOAD_WRONG_TYPE


def test_phone_number_attribute_is_not_checked_like_the_phone_number_id() -> None:
    assert errors_of(UPSERT, {"external_id": "x", "phone_number": "call me"}) == []


# --- updateUserProfile: batching -------------------------------------------------------------


def test_batch_rejects_only_the_invalid_records_and_sends_the_rest() -> None:
    payloads = [
        {"primary_email": "ok1@example.com"},
        {"first_name": "no identifier"},
        {"primary_email": "bad@example.com", "customFields": {"Shoe": 1}},
        {"primary_email": "ok2@example.com"},
    ]
    requests, results = upsert_batch(payloads)
    assert [r.method for r in requests] == ["GET", "PUT"]
    sent = [c["email"] for c in body_json(requests[1])["contacts"]]
    assert sent == ["ok1@example.com", "ok2@example.com"]
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].status == 400 and "identifying field" in results[1].reason
    assert results[2].status == 400 and "Unknown custom field 'Shoe'" in results[2].reason


def test_batch_without_a_single_valid_record_sends_nothing() -> None:
    requests, results = upsert_batch([{"first_name": "x"}])
    assert requests == []
    assert results == [ItemResult(False, 400, contacts.IDENTIFIER_ERROR)]


def test_batch_groups_contacts_by_their_lists_into_separate_upserts() -> None:
    payloads = [
        {"external_id": "a", "list_ids": ["L1"]},
        {"external_id": "b"},
        {"external_id": "c", "list_ids": ["L1"]},
    ]
    requests, results = upsert_batch(payloads)
    bodies = [body_json(r) for r in requests if r.method == "PUT"]
    assert bodies == [
        {
            "list_ids": ["L1"],
            "contacts": [
                {"external_id": "a", "custom_fields": {}},
                {"external_id": "c", "custom_fields": {}},
            ],
        },
        {"contacts": [{"external_id": "b", "custom_fields": {}}]},
    ]
    assert all(r.ok for r in results)


def test_batch_over_30000_contacts_is_split_into_two_upserts() -> None:
    payloads = [{"external_id": f"id-{n}"} for n in range(30_001)]
    requests, results = upsert_batch(payloads)
    puts = [r for r in requests if r.method == "PUT"]
    assert [len(body_json(r)["contacts"]) for r in puts] == [30_000, 1]
    assert len(results) == 30_001 and all(r.ok for r in results)


def test_pack_contacts_respects_both_the_count_and_the_byte_limit() -> None:
    envelope = len(b'{"contacts":[]}')
    assert contacts.pack_contacts([10, 10, 10], envelope, max_bytes=1000, max_count=2) == [
        [0, 1],
        [2],
    ]
    # 15 + 10 + 1 + 10 = 36 > 35: the second contact starts a new upsert.
    assert contacts.pack_contacts([10, 10, 10], envelope, max_bytes=35, max_count=100) == [
        [0],
        [1],
        [2],
    ]
    assert contacts.pack_contacts([10, 10], envelope, max_bytes=36, max_count=100) == [[0, 1]]


def test_upserts_stay_within_6mb_by_serialised_size() -> None:
    big = "x" * 1_000_000
    payloads = [{"external_id": f"id-{n}", "customFields": {"Source": big}} for n in range(7)]
    requests, results = upsert_batch(payloads)
    puts = [r for r in requests if r.method == "PUT"]
    assert len(puts) == 2
    assert all(len(r.body()) <= 6_000_000 for r in puts)
    assert all(r.ok for r in results)


def test_a_contact_larger_than_6mb_fails_alone() -> None:
    payloads = [
        {"external_id": "huge", "customFields": {"Source": "x" * 6_000_000}},
        {"external_id": "ok"},
    ]
    requests, results = upsert_batch(payloads)
    assert [body_json(r)["contacts"] for r in requests if r.method == "PUT"] == [
        [{"external_id": "ok", "custom_fields": {}}]
    ]
    assert results[0].status == 413 and not results[0].ok
    assert results[1].ok


def test_a_400_naming_invalid_emails_fails_those_contacts_and_resends_the_others() -> None:
    puts: list[list[str]] = []

    def answer(request: Request) -> Reply:
        if request.method == "GET":
            return Reply(200, DEFINITIONS)
        emails = [c["email"] for c in body_json(request)["contacts"]]
        puts.append(emails)
        if "bad@example" in emails:
            return Reply(
                400,
                {"errors": [{"field": "contacts", "message": "email 'bad@example' is not valid"}]},
            )
        return Reply(202, {"job_id": "j2"})

    payloads = [{"primary_email": e} for e in ("a@example.com", "b@example.com")]
    payloads.insert(1, {"primary_email": "bad@example"})
    _, results = upsert_batch(payloads, answer)
    assert puts == [
        ["a@example.com", "bad@example", "b@example.com"],
        ["a@example.com", "b@example.com"],
    ]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].status == 400 and "email 'bad@example' is not valid" in results[1].reason
    assert results[0].reason == "queued as job j2"


def test_a_400_naming_no_contact_is_bisected_until_the_culprit_is_alone() -> None:
    def answer(request: Request) -> Reply:
        if request.method == "GET":
            return Reply(200, DEFINITIONS)
        ids = [c["external_id"] for c in body_json(request)["contacts"]]
        return Reply(400, {"errors": [{"message": "invalid"}]}) if "x3" in ids else Reply(202, {})

    requests, results = upsert_batch([{"external_id": f"x{n}"} for n in range(4)], answer)
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].reason == "SendGrid refused the contact: invalid"
    assert len([r for r in requests if r.method == "PUT"]) == 5


def test_a_single_event_refused_with_400_fails_the_plan_with_sendgrids_message() -> None:
    answer = answers(
        put=Reply(
            400, {"errors": [{"field": "contacts[0].email", "message": "email 'x@y' is not valid"}]}
        )
    )
    with pytest.raises(ActionFailed) as failure:
        upsert({"primary_email": "x@y.com"}, answer)
    assert failure.value.status == 400
    assert "contacts[0].email: email 'x@y' is not valid" in failure.value.reason


# --- updateUserProfile: lists (V7) ------------------------------------------------------------

V7_IDENTIFIERS = {
    "primary_email": "testemail@gmail.com",
    "external_id": "some_external_id",
    "phone_number_id": "+353123456789",
    "anonymous_id": "some_anonymous_id",
}
V7_CONTACT = {
    "email": "testemail@gmail.com",
    "external_id": "some_external_id",
    "phone_number_id": "+353123456789",
    "anonymous_id": "some_anonymous_id",
}
V7_QUERY = (
    b"{\"query\":\"email IN ('testemail@gmail.com') OR phone_number_id IN ('+353123456789') "
    b"OR external_id IN ('some_external_id') OR anonymous_id IN ('some_anonymous_id')\"}"
)


def test_v7_add_to_list_puts_list_ids_before_the_contacts() -> None:
    requests, _ = upsert({**V7_IDENTIFIERS, "list_ids": ["sg_audience_id_12345"]})
    put = requests[1]
    assert (put.method, put.url) == ("PUT", CONTACTS_URL)
    assert keys_in_order(put.body()) == ["list_ids", "contacts"]
    body = body_json(put)
    assert body["list_ids"] == ["sg_audience_id_12345"]
    (contact,) = body["contacts"]
    # RA's contact shape has no custom_fields; this action keeps R's (always present).
    assert contact == {**V7_CONTACT, "custom_fields": {}}


def test_v7_remove_from_list_upserts_with_empty_lists_searches_then_deletes() -> None:
    search = {"result": [{"id": "contact_1_id"}]}
    requests, _ = upsert(
        {**V7_IDENTIFIERS, "remove_from_list_ids": ["sg_audience_id_12345"]}, answers(search)
    )
    _, put, post, delete = requests
    assert body_json(put) == {"list_ids": [], "contacts": [{**V7_CONTACT, "custom_fields": {}}]}
    assert (post.method, post.url) == (
        "POST",
        "https://api.sendgrid.com/v3/marketing/contacts/search",
    )
    assert post.body() == V7_QUERY
    assert (delete.method, delete.url) == (
        "DELETE",
        "https://api.sendgrid.com/v3/marketing/lists/sg_audience_id_12345/contacts?contact_ids=contact_1_id",
    )
    assert delete.body() == b""


def test_v7_through_the_mapping_engine_with_audience_triggers() -> None:
    event = {
        "type": "identify",
        "anonymousId": "some_anonymous_id",
        "context": {
            "personas": {
                "external_audience_id": "sg_audience_id_12345",
                "computation_class": "audience",
                "computation_key": "seg_audience_name_1",
            }
        },
        "traits": {
            "seg_audience_name_1": False,
            "email": "testemail@gmail.com",
            "external_id": "some_external_id",
            "phone": "+353123456789",
        },
    }
    mapping = {
        "primary_email": {"@path": "$.traits.email"},
        "external_id": {"@path": "$.traits.external_id"},
        "phone_number_id": {"@path": "$.traits.phone"},
        "anonymous_id": {"@path": "$.anonymousId"},
        "remove_from_list_ids": [{"@path": "$.context.personas.external_audience_id"}],
    }
    payload = strip_undefined(transform(mapping, event))
    requests, _ = upsert(payload, answers({"result": [{"id": "contact_1_id"}]}))
    assert requests[2].body() == V7_QUERY
    assert requests[3].url.endswith("/lists/sg_audience_id_12345/contacts?contact_ids=contact_1_id")


def test_remove_dry_run_shows_the_whole_sequence_with_placeholders() -> None:
    payload = {"external_id": "x", "remove_from_list_ids": ["L1"]}
    requests = plan_requests("sendgrid", "updateUserProfile", payload, SETTINGS)
    assert [(r.method, r.url) for r in requests] == [
        ("GET", "https://api.sendgrid.com/v3/marketing/field_definitions"),
        ("PUT", CONTACTS_URL),
        ("POST", "https://api.sendgrid.com/v3/marketing/contacts/search"),
        (
            "DELETE",
            "https://api.sendgrid.com/v3/marketing/lists/L1/contacts?contact_ids=%3CcontactId%3E",
        ),
    ]
    assert body_json(requests[1])["list_ids"] == []


def test_removing_a_contact_the_search_does_not_find_sends_no_delete() -> None:
    requests, results = upsert_batch([{"external_id": "new", "remove_from_list_ids": ["L1"]}])
    assert [r.method for r in requests] == ["GET", "PUT", "POST"]
    assert results[0].ok


def test_removal_from_a_list_that_does_not_exist_fails_the_event() -> None:
    def answer(request: Request) -> Reply:
        if request.method == "DELETE":
            return Reply(404, {"errors": [{"field": None, "message": "list not found"}]})
        return answers({"result": [{"id": "c1"}]})(request)

    with pytest.raises(ActionFailed) as failure:
        upsert({"external_id": "x", "remove_from_list_ids": ["nope"]}, answer)
    assert failure.value.status == 404
    assert '"nope" does not exist' in failure.value.reason


def test_search_emails_are_lower_cased_and_quotes_are_escaped() -> None:
    query = contacts.search_query([{"email": "Ann@Example.com", "external_id": "o'brien\\1"}])
    assert query == "email IN ('ann@example.com') OR external_id IN ('o\\'brien\\\\1')"
    assert parse_query(query) == [("email", ["ann@example.com"]), ("external_id", ["o'brien\\1"])]


def test_search_holds_at_most_50_identifiers_and_delete_at_most_100_ids() -> None:
    payloads = [
        {"external_id": f"e{n}", "anonymous_id": f"a{n}", "remove_from_list_ids": ["L1"]}
        for n in range(120)
    ]
    searched: list[int] = []

    def answer(request: Request) -> Reply:
        if request.method == "POST":
            query = body_json(request)["query"]
            clauses = parse_query(query)
            assert clauses is not None
            values = [v for _, found in clauses for v in found]
            searched.append(len(values))
            ids = [{"id": v.replace("e", "id-")} for v in values if v.startswith("e")]
            return Reply(200, {"result": ids})
        return answers()(request)

    requests, results = upsert_batch(payloads, answer)
    assert searched == [50, 50, 50, 50, 40]
    deletes = [r for r in requests if r.method == "DELETE"]
    assert [len(r.url.split("contact_ids=")[1].split(",")) for r in deletes] == [100, 20]
    assert all(r.ok for r in results)


def test_a_list_both_added_and_removed_is_a_payload_error() -> None:
    (error,) = errors_of(
        UPSERT, {"external_id": "x", "list_ids": ["L1"], "remove_from_list_ids": ["L1"]}
    )
    assert error.code == codes.PAYLOAD_RULE
    assert '"L1"' in error.message


# --- sendEmail: V4–V6 ------------------------------------------------------------------------

V4_PROPERTIES = {
    "from": {"email": "billyjoe@yellowstone.com", "name": "Billy Joe"},
    "to": {"email": "maryjane@yellowstone.com", "name": "Mary Jane"},
    "cc": [{"email": "cc1@gmail.com", "name": "CC 1"}, {"email": "cc2@gmail.com", "name": "CC 2"}],
    "bcc": [
        {"email": "bcc1@gmail.com", "name": "BCC 1"},
        {"email": "bcc2@gmail.com", "name": "BCC 2"},
    ],
    "headers": {"testHeader1": "testHeaderValue1"},
    "dynamic_template_data": {
        "stringVal": "stringVal",
        "numVal": 123456,
        "boolVal": True,
        "objVal": {"key1": "value1", "key2": "value2"},
        "arrayVal": ["value1", "value2"],
    },
    "template_id": "d-1234567890",
    "custom_args": {"custom_arg1": "custom_arg_value1", "custom_arg2": "custom_arg_value2"},
    "reply_to": {"reply_to_equals_from": True},
    "categories": ["category1", "category2"],
    "ip_pool_name": "ip_pool_name1",
    "group_id": "123 - blah",
}
V4_BODY = {
    "personalizations": [
        {
            "to": [{"email": "maryjane@yellowstone.com", "name": "Mary Jane"}],
            "cc": [
                {"email": "cc1@gmail.com", "name": "CC 1"},
                {"email": "cc2@gmail.com", "name": "CC 2"},
            ],
            "bcc": [
                {"email": "bcc1@gmail.com", "name": "BCC 1"},
                {"email": "bcc2@gmail.com", "name": "BCC 2"},
            ],
            "headers": {"testHeader1": "testHeaderValue1"},
            "dynamic_template_data": {
                "stringVal": "stringVal",
                "numVal": 123456,
                "boolVal": True,
                "objVal": {"key1": "value1", "key2": "value2"},
                "arrayVal": ["value1", "value2"],
            },
            "custom_args": {"custom_arg1": "custom_arg_value1", "custom_arg2": "custom_arg_value2"},
        }
    ],
    "from": {"email": "billyjoe@yellowstone.com", "name": "Billy Joe"},
    "reply_to": {"email": "billyjoe@yellowstone.com", "name": "Billy Joe"},
    "template_id": "d-1234567890",
    "categories": ["category1", "category2"],
    "asm": {"group_id": 123},
    "ip_pool_name": "ip_pool_name1",
}
V4_MAPPING = {name: {"@path": f"$.properties.{name}"} for name in [*V4_PROPERTIES, "send_at"]}
V4_EVENT = {"type": "track", "event": "Send Email From Template", "properties": V4_PROPERTIES}


def send_requests(payload: dict[str, Any], settings: dict[str, Any] = SETTINGS) -> list[Request]:
    return plan_requests("sendgrid", "sendEmail", payload, settings)


@pytest.mark.parametrize(
    ("settings", "url"),
    [
        (SETTINGS, "https://api.sendgrid.com/v3/mail/send"),
        (EU, "https://api.eu.sendgrid.com/v3/mail/send"),
    ],
)
def test_v4_send_email_with_every_option_all_fields_golden(
    settings: dict[str, Any], url: str
) -> None:
    effective, _ = effective_mapping(SEND, V4_MAPPING, use_defaults=True)
    payload = strip_undefined(transform(effective, V4_EVENT))
    (request,) = send_requests(payload, settings)
    assert (request.method, request.url) == ("POST", url)
    assert header(request, "Content-Type") == "application/json"
    assert header(request, "Authorization") == "Bearer test"
    assert body_json(request) == V4_BODY
    assert keys_in_order(request.body()) == list(V4_BODY)
    assert list(body_json(request)["personalizations"][0]) == list(V4_BODY["personalizations"][0])


def test_send_email_required_fields_only_golden() -> None:
    payload = {
        "from": {"email": "a@example.com"},
        "to": {"email": "b@example.com"},
        "template_id": "d-1",
    }
    (request,) = send_requests(payload)
    assert request.body() == (
        b'{"personalizations":[{"to":[{"email":"b@example.com"}],"headers":{}}],'
        b'"from":{"email":"a@example.com"},"reply_to":{"email":"a@example.com"},"template_id":"d-1"}'
    )
    assert request.dry_run_reply is not None and request.dry_run_reply.status == 202


def test_to_defaults_to_the_event_email_and_name() -> None:
    effective, _ = effective_mapping(
        SEND, {"from": {"email": "a@example.com"}, "template_id": "d-1"}, True
    )
    event = {"type": "track", "properties": {"email": "jane@example.com", "name": "Jane"}}
    payload = strip_undefined(transform(effective, event))
    assert payload["to"] == {"email": "jane@example.com", "name": "Jane"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "headers": {
                    "testHeader1": "testHeaderValue1",
                    "dkim-signature": "baaaad illegal header",
                }
            },
            "Headers cannot contain any of the following reserved headers: x-sg-id, x-sg-eid, "
            "received, dkim-signature, Content-Type, Content-Transfer-Encoding, To, From, Subject, "
            "Reply-To, CC, BCC",
        ),
        (
            {"template_id": "1234567890"},
            'Template must refer to a Dynamic Template. Dynamic Template IDs start with "d-"',
        ),
        ({"send_at": 73 * 3600}, "send_at should be less than 72 hours from now"),
        ({"send_at": -100 * 3600}, "send_at should be less than 72 hours from now"),
    ],
)
def test_v5_validation_failures_are_payload_errors_and_send_nothing(
    change: dict[str, Any], message: str
) -> None:
    properties = {**V4_PROPERTIES, **change}
    if "send_at" in change:
        moment = time.time() + change["send_at"]
        properties["send_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(moment))
    effective, _ = effective_mapping(SEND, V4_MAPPING, use_defaults=True)
    payload = strip_undefined(transform(effective, {**V4_EVENT, "properties": properties}))
    (error,) = errors_of(SEND, payload)
    assert error.message == message
    assert error.code == codes.PAYLOAD_RULE


def test_send_at_within_72_hours_is_sent_as_unix_seconds() -> None:
    moment = int(time.time()) + 3600
    text = time.strftime("%Y-%m-%dT%H:%M:%S.250Z", time.gmtime(moment))
    (request,) = send_requests({**V4_PROPERTIES, "send_at": text})
    personalization = body_json(request)["personalizations"][0]
    assert list(personalization)[-1] == "send_at"
    assert personalization["send_at"] == moment


def test_v6_send_at_conversion_truncates_to_whole_seconds() -> None:
    assert mail.send_at_timestamp("2024-01-08T13:52:50.212Z") == 1704721970
    assert mail.send_at_timestamp("2024-01-08T13:52:50") == 1704721970  # no offset: UTC


@pytest.mark.parametrize(
    ("label", "parsed"),
    [
        ("DynamicTemplate1 - Version 2 [d-b8d15722e5144a809c5b0e]", "d-b8d15722e5144a809c5b0e"),
        ("d-b8d15722e5144a809c5b0e Some Other Text", "d-b8d15722e5144a809c5b0e"),
        ("Welcome - v1 [d-abc123]", "d-abc123"),
        ("d-1234567890", "d-1234567890"),
        ("1234567890", None),
        ("Legacy [abc]", None),
    ],
)
def test_v6_template_id_parsing(label: str, parsed: str | None) -> None:
    assert mail.template_id(label) == parsed


@pytest.mark.parametrize(
    ("label", "parsed"),
    [
        ("blah blah [123456787654]", 123456787654),
        ("123456787654.234567", 123456787654),
        ("123 - blah", 123),
        ("Newsletter [42]", 42),
        ("", None),
        ("none", None),
    ],
)
def test_v6_group_id_parsing(label: str, parsed: int | None) -> None:
    assert mail.group_id(label) == parsed


def test_template_label_is_sent_as_the_bare_dynamic_template_id() -> None:
    (request,) = send_requests(
        {**V4_PROPERTIES, "template_id": "Welcome - v1 [d-abc123]", "group_id": "Newsletter [42]"}
    )
    assert body_json(request)["template_id"] == "d-abc123"
    assert body_json(request)["asm"] == {"group_id": 42}


def test_reply_to_name_falls_back_to_from_name_even_for_another_address() -> None:
    (request,) = send_requests({**V4_PROPERTIES, "reply_to": {"email": "help@yellowstone.com"}})
    assert body_json(request)["reply_to"] == {"email": "help@yellowstone.com", "name": "Billy Joe"}


def test_unnamed_addresses_leave_name_out_rather_than_sending_null() -> None:
    payload = {
        "from": {"email": "a@example.com", "extra": "stripped"},
        "to": {"email": "b@example.com"},
        "template_id": "d-1",
        "reply_to": {"name": "Help desk"},
    }
    body = body_json(send_requests(payload)[0])
    assert body["from"] == {"email": "a@example.com"}
    assert body["reply_to"] == {"email": "a@example.com", "name": "Help desk"}


def test_cc_items_without_email_are_dropped_and_an_empty_list_is_left_out() -> None:
    payload = {
        **V4_PROPERTIES,
        "cc": [{"name": "no email"}, {"email": " ", "name": "blank"}, {"email": "c@example.com"}],
        "bcc": [],
    }
    personalization = body_json(send_requests(payload)[0])["personalizations"][0]
    assert personalization["cc"] == [{"email": "c@example.com"}]
    assert "bcc" not in personalization


def test_headers_and_custom_args_values_become_text_and_empty_custom_args_are_left_out() -> None:
    payload = {
        **V4_PROPERTIES,
        "headers": {"X-Count": 3, "X-Flag": True, "X-List": [1, 2]},
        "custom_args": {"n": 1.5},
    }
    personalization = body_json(send_requests(payload)[0])["personalizations"][0]
    assert personalization["headers"] == {"X-Count": "3", "X-Flag": "true", "X-List": "1,2"}
    assert personalization["custom_args"] == {"n": "1.5"}
    personalization = body_json(send_requests({**V4_PROPERTIES, "custom_args": {}})[0])[
        "personalizations"
    ][0]
    assert "custom_args" not in personalization


def test_a_single_category_string_is_sent_as_a_one_element_array() -> None:
    (request,) = send_requests({**V4_PROPERTIES, "categories": "welcome"})
    assert body_json(request)["categories"] == ["welcome"]


def test_domain_is_checked_against_from_and_never_sent() -> None:
    (request,) = send_requests({**V4_PROPERTIES, "domain": "yellowstone.com"})
    assert "domain" not in body_json(request)
    (error,) = errors_of(SEND, {**V4_PROPERTIES, "domain": "example.com"})
    assert error.message == "From email must be from the selected domain"


def test_send_email_payload_validation() -> None:
    (missing,) = errors_of(SEND, {k: v for k, v in V4_PROPERTIES.items() if k != "template_id"})
    assert missing.code == codes.PAYLOAD_MISSING_FIELD and missing.json_path == ("template_id",)
    (no_from,) = errors_of(SEND, {k: v for k, v in V4_PROPERTIES.items() if k != "from"})
    assert no_from.json_path == ("from",)
    (bad_to,) = errors_of(SEND, {**V4_PROPERTIES, "to": {"email": "mary"}})
    assert bad_to.code == codes.PAYLOAD_BAD_FORMAT and bad_to.json_path == ("to", "email")
    (no_email,) = errors_of(SEND, {**V4_PROPERTIES, "from": {"name": "Billy"}})
    assert no_email.code == codes.PAYLOAD_MISSING_FIELD and no_email.json_path == ("from", "email")
    (bad_cc,) = errors_of(SEND, {**V4_PROPERTIES, "cc": [{"email": "cc1"}]})
    assert bad_cc.code == codes.PAYLOAD_BAD_FORMAT and bad_cc.json_path == ("cc", 0, "email")
    (long_category,) = errors_of(SEND, {**V4_PROPERTIES, "categories": ["c" * 256]})
    assert long_category.code == codes.PAYLOAD_TOO_LONG
    (long_pool,) = errors_of(SEND, {**V4_PROPERTIES, "ip_pool_name": "p" * 64})
    assert long_pool.code == codes.PAYLOAD_TOO_LONG
    (short_pool,) = errors_of(SEND, {**V4_PROPERTIES, "ip_pool_name": "ab"})
    assert short_pool.code == codes.PAYLOAD_NOT_ALLOWED
    (group,) = errors_of(SEND, {**V4_PROPERTIES, "group_id": "Newsletter"})
    assert group.message == "Group ID value must be a numberic (integer) string"
    (categories,) = errors_of(SEND, {**V4_PROPERTIES, "categories": [1, 2]})
    assert categories.code == codes.PAYLOAD_WRONG_TYPE


def test_an_address_twice_among_to_cc_and_bcc_is_refused_before_sending() -> None:
    (error,) = errors_of(SEND, {**V4_PROPERTIES, "bcc": [{"email": "MaryJane@yellowstone.com"}]})
    assert error.json_path == ("bcc", 0, "email")
    assert "already a recipient in to" in error.message


def test_more_than_1000_recipients_is_refused_before_sending() -> None:
    cc = [{"email": f"cc{n}@example.com"} for n in range(1000)]
    (error,) = errors_of(SEND, {**V4_PROPERTIES, "cc": cc, "bcc": []})
    assert "at most 1000 recipients" in error.message


# --- sandbox: real requests through the transport ---------------------------------------------


def live_plan(plan: Any, endpoint: str) -> tuple[list[Any], Any]:
    """Drive any plan (a batch, the credential check) against the sandbox, without retries."""

    async def go() -> tuple[list[Any], Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            transport = Transport(
                client, SENDGRID.is_retryable, policy=RetryPolicy(max_attempts=1), endpoint=endpoint
            )
            return await drive(plan, transport.send)

    return asyncio.run(go())


def sandbox_settings(key: str = API_KEY) -> dict[str, Any]:
    return {"sendGridApiKey": key}


def sendgrid_state(sandbox: Any) -> dict[str, Any]:
    return sandbox.state.providers["sendgrid"]


def test_sandbox_upsert_stores_the_contact_by_email_with_custom_fields_by_id(sandbox) -> None:
    payload = {
        "primary_email": "Ann@Example.com",
        "first_name": "Ann",
        "state": "Greater London",
        "customFields": {"age": 42, "Source": True},
        "list_ids": [NEWSLETTER_LIST],
    }
    exchanges, _ = live_run(
        "sendgrid", "updateUserProfile", payload, sandbox_settings(), sandbox.url
    )
    assert [(e.request.method, e.reply.status) for e in exchanges] == [("GET", 200), ("PUT", 202)]
    job_id = exchanges[1].reply.json["job_id"]
    state = sendgrid_state(sandbox)
    contact = state["contacts"]["ann@example.com"]
    assert contact["first_name"] == "Ann"
    assert contact["state_province_region"] == "Greater London"
    assert contact["custom_fields"] == {"e1_N": 42, "e2_T": "true"}
    assert contact["list_ids"] == [NEWSLETTER_LIST]
    assert state["jobs"][job_id]["results"]["created_count"] == 1


def test_sandbox_import_status_reports_the_upsert_job(sandbox) -> None:
    exchanges, _ = live_run(
        "sendgrid", "updateUserProfile", {"external_id": "x"}, sandbox_settings(), sandbox.url
    )
    job_id = exchanges[-1].reply.json["job_id"]
    reply = httpx.get(
        f"{sandbox.url}/v3/marketing/contacts/imports/{job_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert reply.status_code == 200
    assert reply.json()["results"]["requested_count"] == 1


def test_sandbox_wrong_api_key_is_401_authorization_required(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "sendgrid",
            "updateUserProfile",
            {"external_id": "x"},
            sandbox_settings("SG.wrong"),
            sandbox.url,
        )
    assert failure.value.status == 401
    reply = failure.value.exchanges[-1].reply
    assert reply.json == {"errors": [{"field": None, "message": "authorization required"}]}
    assert sendgrid_state(sandbox)["contacts"] == {}


def test_sandbox_unknown_custom_field_fails_before_any_upsert(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "sendgrid",
            "updateUserProfile",
            {"external_id": "x", "customFields": {"Shoe": 9}},
            sandbox_settings(),
            sandbox.url,
        )
    assert failure.value.status == 400
    assert "Unknown custom field 'Shoe'" in failure.value.reason
    assert [e.request.method for e in failure.value.exchanges] == ["GET"]


def test_sandbox_field_created_through_the_api_is_resolved_by_name(sandbox) -> None:
    created = httpx.post(
        f"{sandbox.url}/v3/marketing/field_definitions",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"name": "Shoe Size", "field_type": "Number"},
    ).json()
    live_run(
        "sendgrid",
        "updateUserProfile",
        {"external_id": "x", "customFields": {"shoe size": 9}},
        sandbox_settings(),
        sandbox.url,
    )
    assert sendgrid_state(sandbox)["contacts"]["external_id:x"]["custom_fields"] == {
        created["id"]: 9
    }


def test_sandbox_remove_from_list_searches_and_deletes_the_membership(sandbox) -> None:
    identifiers = {"primary_email": "bob@example.com", "external_id": "bob-1"}
    live_run(
        "sendgrid",
        "updateUserProfile",
        {**identifiers, "list_ids": [NEWSLETTER_LIST]},
        sandbox_settings(),
        sandbox.url,
    )
    assert sendgrid_state(sandbox)["contacts"]["bob@example.com"]["list_ids"] == [NEWSLETTER_LIST]
    exchanges, _ = live_run(
        "sendgrid",
        "updateUserProfile",
        {**identifiers, "remove_from_list_ids": [NEWSLETTER_LIST]},
        sandbox_settings(),
        sandbox.url,
    )
    assert [(e.request.method, e.reply.status) for e in exchanges] == [
        ("GET", 200),
        ("PUT", 202),
        ("POST", 200),
        ("DELETE", 202),
    ]
    assert sendgrid_state(sandbox)["contacts"]["bob@example.com"]["list_ids"] == []


def test_sandbox_unknown_list_id_is_refused_with_400(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "sendgrid",
            "updateUserProfile",
            {"external_id": "x", "list_ids": ["no-such-list"]},
            sandbox_settings(),
            sandbox.url,
        )
    assert failure.value.status == 400
    assert "list ID 'no-such-list' does not exist" in failure.value.reason


def test_sandbox_update_without_all_existing_identifiers_is_reported_in_the_job(sandbox) -> None:
    live_run(
        "sendgrid",
        "updateUserProfile",
        {"primary_email": "c@example.com", "external_id": "c-1"},
        sandbox_settings(),
        sandbox.url,
    )
    exchanges, _ = live_run(
        "sendgrid",
        "updateUserProfile",
        {"primary_email": "c@example.com", "first_name": "C"},
        sandbox_settings(),
        sandbox.url,
    )
    assert exchanges[-1].reply.status == 202  # accepted, then failed asynchronously
    job = sendgrid_state(sandbox)["jobs"][exchanges[-1].reply.json["job_id"]]
    assert job["results"]["errored_count"] == 1
    assert "first_name" not in sendgrid_state(sandbox)["contacts"]["c@example.com"]


def test_sandbox_batch_with_an_address_sendgrid_refuses_delivers_the_others(sandbox) -> None:
    payloads = [
        {"primary_email": "good1@example.com"},
        {"primary_email": "bad@nowhere"},
        {"primary_email": "good2@example.com"},
    ]
    ctx = ActionContext(settings=sandbox_settings(), dry_run=False)
    exchanges, results = live_plan(UPSERT.plan_batch(payloads, ctx), sandbox.url)
    assert [e.reply.status for e in exchanges] == [200, 400, 202]
    assert [r.ok for r in results] == [True, False, True]
    assert "email 'bad@nowhere' is not valid" in results[1].reason
    assert set(sendgrid_state(sandbox)["contacts"]) == {"good1@example.com", "good2@example.com"}


def test_sandbox_send_email_is_accepted_with_202_and_recorded(sandbox) -> None:
    exchanges, _ = live_run("sendgrid", "sendEmail", V4_PROPERTIES, sandbox_settings(), sandbox.url)
    (exchange,) = exchanges
    assert exchange.reply.status == 202 and exchange.reply.text == ""
    (sent,) = sendgrid_state(sandbox)["mail"]
    assert sent["body"] == V4_BODY
    assert exchange.reply.headers["x-message-id"] == sent["message_id"]


def test_sandbox_marketing_only_key_may_not_send_mail(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "sendgrid",
            "sendEmail",
            V4_PROPERTIES,
            sandbox_settings(MARKETING_ONLY_KEY),
            sandbox.url,
        )
    assert failure.value.status == 403
    assert failure.value.exchanges[-1].reply.json == {
        "errors": [{"field": None, "message": "access forbidden"}]
    }


def test_sandbox_mail_send_validates_like_sendgrid(sandbox) -> None:
    reply = httpx.post(
        f"{sandbox.url}/v3/mail/send",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"template_id": "d-1"},
    )
    assert reply.status_code == 400
    errors = reply.json()["errors"]
    assert [e["field"] for e in errors] == ["from.email", "personalizations"]
    assert errors[1]["message"] == (
        "The personalizations field is required and must have at least one personalization."
    )
    assert set(errors[0]) == {"message", "field", "help"}
    reply = httpx.post(
        f"{sandbox.url}/v3/mail/send",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={
            "personalizations": [{"to": [{"email": "nope"}]}],
            "from": {"email": "a@example.com"},
            "template_id": "d-1",
        },
    )
    assert reply.json()["errors"][0]["field"] == "personalizations.0.to.0.email"
    assert reply.json()["errors"][0]["message"] == "Does not contain a valid address."


def test_sandbox_test_authentication_accepts_the_sandbox_key(sandbox) -> None:
    ctx = ActionContext(settings=sandbox_settings(), dry_run=False)
    exchanges, _ = live_plan(SENDGRID.test_authentication(ctx), sandbox.url)
    assert exchanges[0].reply.status == 200


def test_sandbox_declares_its_credentials_and_sendgrids_rate_limit() -> None:
    from cdpctl.sandbox.providers.sendgrid import EMULATOR

    assert EMULATOR.credentials == {"sendGridApiKey": API_KEY}
    assert EMULATOR.requests_per_second == SENDGRID.rate_limit.requests_per_second == 10


# --- the example mapping file -----------------------------------------------------------------


def test_example_mapping_file_validates_cleanly() -> None:
    result = run_cli(["validate", "examples/sendgrid.yaml"])
    assert result.exit_code == 0, result.output


def test_example_covers_every_action() -> None:
    import yaml

    with open("examples/sendgrid.yaml", encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    used = {sub["action"] for sub in document["subscriptions"]}
    assert used == {action.name for action in SENDGRID.actions}


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "identify",
            [
                "GET https://api.sendgrid.com/v3/marketing/field_definitions",
                "PUT https://api.sendgrid.com/v3/marketing/contacts",
            ],
        ),
        ("track", ["POST https://api.sendgrid.com/v3/mail/send"]),
    ],
)
def test_example_prints_real_requests_for_the_bundled_samples(
    sample: str, expected: list[str]
) -> None:
    result = run_cli(["test-event", "examples/sendgrid.yaml", sample, "--format", "json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    lines = [
        f"{request['method']} {request['url']}"
        for sub in output["results"]
        for request in sub.get("requests", [])
    ]
    for line in expected:
        assert line in lines
    assert "SG." not in result.stdout


def test_dynamic_template_data_whose_keys_are_all_missing_is_sent_empty() -> None:
    """Segment sends `payload.dynamic_template_data` as the mapping made it: `{}` stays."""
    mapping = {**V4_MAPPING, "dynamic_template_data": {"total": {"@path": "$.properties.nope"}}}
    effective, _ = effective_mapping(SEND, mapping, use_defaults=True)
    payload = strip_undefined(transform(effective, V4_EVENT))
    (request,) = send_requests(payload)
    assert body_json(request)["personalizations"][0]["dynamic_template_data"] == {}
