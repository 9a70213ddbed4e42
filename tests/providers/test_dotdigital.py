"""Dotdigital: golden requests per action, every vector of shared/reference/providers/dotdigital.md
§6 (V1–V8), the cdpctl decisions, payload validation and the sandbox emulator.

The vectors' mappings are literal (Segment's own test style) and go straight through the
framework step and the plan; lookups are answered with the replies R's tests mock. The §3.1
example and the defaults-related decisions go through the mapping engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import body_json, header, live_run, plan_requests, run_cli

from cdpctl import codes
from cdpctl.delivery.transport import PlanFailed
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.mapping import strip_undefined, transform
from cdpctl.mappingfile import effective_mapping
from cdpctl.pipeline import dry_run
from cdpctl.providers import get_provider
from cdpctl.providers.base import ActionContext, ActionFailed, Reply, Request
from cdpctl.providers.dotdigital.rules import (
    DATA_FIELD_TYPES_PATTERN,
    DataFieldError,
    InvalidMobileNumber,
    clean_mobile_number,
    convert_data_field,
    convert_data_fields,
    is_js_numeric,
    is_valid_address,
    js_date_iso,
    parse_data_field_types,
    split_addresses,
)
from cdpctl.providers.payload import E164_HINT, prepare
from cdpctl.sandbox.providers.dotdigital import PASSWORD, USERNAME

ROOT = Path(__file__).parents[2]
FIXTURES = Path(__file__).parent / "dotdigital"
EXAMPLE = ROOT / "examples" / "dotdigital.yaml"
R1 = "https://r1-api.dotdigital.com"
# Every vector's settings (§6); the Basic value is asserted by R's tests.
SETTINGS = {"api_host": R1, "username": "api_username", "password": "api_password"}
BASIC = "Basic YXBpX3VzZXJuYW1lOmFwaV9wYXNzd29yZA=="
SANDBOX = {"username": USERNAME, "password": PASSWORD}
DOTDIGITAL = get_provider("dotdigital")
assert DOTDIGITAL is not None
DATA_FIELDS_REPLY = Reply(
    200,
    [
        {"name": "FIRSTNAME", "type": "String", "visibility": "Public", "defaultValue": None},
        {"name": "AGE", "type": "Numeric", "visibility": "Public", "defaultValue": None},
        {"name": "BIRTHDAY", "type": "Date", "visibility": "Public", "defaultValue": None},
        {"name": "VIP", "type": "Boolean", "visibility": "Public", "defaultValue": None},
    ],
)


def problems(action: str, payload: dict[str, Any], settings: dict[str, Any] = SETTINGS):
    spec = DOTDIGITAL.action(action)
    assert spec is not None
    return prepare(spec, payload, settings)[1]


def errors(action: str, payload: dict[str, Any], settings: dict[str, Any] = SETTINGS):
    return [p for p in problems(action, payload, settings) if p.severity is Severity.ERROR]


def scripted(
    action: str,
    payload: dict[str, Any],
    replies: list[Reply],
    settings: dict[str, Any] = SETTINGS,
) -> list[Request]:
    """Drive a plan with the replies R's tests mock, in order; every request it yields."""
    spec = DOTDIGITAL.action(action)
    assert spec is not None
    cleaned, found = prepare(spec, payload, settings)
    assert not [p for p in found if p.severity is Severity.ERROR], found
    plan = spec.plan(cleaned, ActionContext(settings=settings, dry_run=False))
    sent: list[Request] = []
    pending = iter(replies)
    try:
        request = next(plan)
        while True:
            sent.append(request)
            reply = next(pending)
            assert reply.ok or reply.status in request.handles
            request = plan.send(reply)
    except StopIteration:
        return sent


def mapped(
    action: str, mapping: dict[str, Any], event: dict[str, Any], *, use_defaults: bool = True
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """A mapping (with or without the action's defaults) applied to an event, then prepared."""
    spec = DOTDIGITAL.action(action)
    assert spec is not None
    effective, _ = effective_mapping(spec, mapping, use_defaults)
    return prepare(spec, strip_undefined(transform(effective, event)), SETTINGS)


def plan_of(action: str, payload: dict[str, Any]):
    spec = DOTDIGITAL.action(action)
    assert spec is not None
    return spec.plan(payload, ActionContext(settings=SETTINGS, dry_run=False))


# --- settings, auth, headers (§1) ------------------------------------------------------------


def test_settings_are_region_username_secret_password_and_the_optional_type_declarations() -> None:
    region = DOTDIGITAL.setting("api_host")
    assert region is not None
    assert region.default == R1
    assert region.enum == (R1, "https://r2-api.dotdigital.com", "https://r3-api.dotdigital.com")
    assert DOTDIGITAL.setting("username").required
    assert DOTDIGITAL.setting("password").secret
    assert not DOTDIGITAL.setting("dataFieldTypes").required


def test_every_request_carries_basic_auth_and_no_partner_integration_token() -> None:
    (request,) = plan_requests(
        "dotdigital", "sendSms", {"to": "+441234567890", "message": "m"}, SETTINGS
    )
    assert header(request, "Authorization") == BASIC
    assert header(request, "x-ddg-integration-token") is None


def test_post_and_patch_send_json_get_and_delete_have_no_body_or_content_type() -> None:
    payload = {"listId": 123456, "channelIdentifier": "email", "emailIdentifier": "t@example.com"}
    get, delete = plan_requests("dotdigital", "removeContactFromList", payload, SETTINGS)
    patch, post = plan_requests(
        "dotdigital", "enrolContact", {**payload, "programId": "1"}, SETTINGS
    )
    for request in (get, delete):
        assert request.body() == b""
        assert header(request, "Content-Type") is None
    for request in (patch, post):
        assert header(request, "Content-Type") == "application/json"


def test_the_basic_credential_is_a_derived_secret_so_every_view_redacts_it() -> None:
    assert DOTDIGITAL.derived_secrets(SETTINGS) == [BASIC.removeprefix("Basic ")]
    assert DOTDIGITAL.derived_secrets({"username": "u"}) == []


def test_region_setting_is_the_base_url_of_every_request() -> None:
    settings = {**SETTINGS, "api_host": "https://r3-api.dotdigital.com"}
    (request,) = plan_requests(
        "dotdigital", "sendSms", {"to": "+441234567890", "message": "m"}, settings
    )
    assert request.url == "https://r3-api.dotdigital.com/v2/sms-messages/send-to/441234567890"


def test_default_triggers_are_track_events_named_after_the_action_titles() -> None:
    triggers = {action.name: action.default_trigger for action in DOTDIGITAL.actions}
    assert triggers == {
        "addContactToList": 'type = "track" and event = "Add or Update Contact"',
        "enrolContact": 'type = "track" and event = "Enrol Contact to Program"',
        "removeContactFromList": 'type = "track" and event = "Remove Contact from List"',
        "sendEmailCampaign": 'type = "track" and event = "Send Email Campaign"',
        "sendSms": 'type = "track" and event = "Send SMS"',
        "sendTransactionalSms": 'type = "track" and event = "Send Transactional SMS"',
        "sendTransactionalEmail": 'type = "track" and event = "Send Transactional Email"',
    }


def test_no_action_batches() -> None:
    assert all(action.batch is None for action in DOTDIGITAL.actions)


def test_rate_limit_lives_in_the_provider_with_a_link() -> None:
    assert DOTDIGITAL.rate_limit.requests_per_second == 1.0
    assert "call-rate-limits" in DOTDIGITAL.rate_limit.doc_url


# --- V1: credential check --------------------------------------------------------------------


def test_v1_credential_check_is_get_data_fields_with_the_trailing_slash() -> None:
    (request,) = dry_run(DOTDIGITAL.test_authentication(ActionContext(settings=SETTINGS)))
    assert (request.method, request.url) == ("GET", "https://r1-api.dotdigital.com/v2/data-fields/")
    assert header(request, "Authorization") == BASIC


def _credential_check(sandbox, settings: dict[str, Any]) -> Any:
    """The V1 request, exactly as planned, sent to the sandbox."""
    import httpx

    (request,) = dry_run(DOTDIGITAL.test_authentication(ActionContext(settings=settings)))
    target = request.with_base(sandbox.url)
    return httpx.request(target.method, target.url, headers=dict(target.headers))


def test_v1_credential_check_passes_in_the_sandbox_with_its_credentials(sandbox) -> None:
    response = _credential_check(sandbox, SANDBOX)
    assert response.status_code == 200
    first = {"name": "FIRSTNAME", "type": "String", "visibility": "Private", "defaultValue": None}
    assert first in response.json()


def test_v1_wrong_credentials_fail_with_dotdigitals_401_body(sandbox) -> None:
    response = _credential_check(sandbox, {"username": USERNAME, "password": "wrong"})
    assert response.status_code == 401
    assert response.text == '{"message":"Authorization has been denied for this request."}'


# --- V2: remove contact from list ------------------------------------------------------------

V2_MAPPING = {"listId": 123456, "channelIdentifier": "email"}
V2_EVENT = {"type": "identify", "context": {"traits": {"email": "test@example.com"}}}


def test_v2_remove_by_email_looks_the_contact_up_then_deletes_it_from_the_list() -> None:
    payload, found = mapped(
        "removeContactFromList",
        {**V2_MAPPING, "emailIdentifier": {"@path": "$.context.traits.email"}},
        V2_EVENT,
        use_defaults=False,
    )
    assert not found
    lookup, delete = scripted(
        "removeContactFromList",
        payload,
        [Reply(200, {"contactId": "123", "lists": [{"id": 123456}]}), Reply(204)],
    )
    assert (lookup.method, lookup.url) == (
        "GET",
        "https://r1-api.dotdigital.com/contacts/v3/email/test@example.com",
    )
    assert (delete.method, delete.url) == (
        "DELETE",
        "https://r1-api.dotdigital.com/v2/address-books/123456/contacts/123",
    )


def test_v2_mobile_variant_needs_e164_and_then_gives_the_same_requests() -> None:
    """R's mobile vector uses 1234567890; cdpctl requires E.164 (a cdpctl decision)."""
    (problem,) = errors(
        "removeContactFromList",
        {**V2_MAPPING, "channelIdentifier": "mobileNumber", "mobileNumberIdentifier": "1234567890"},
    )
    assert problem.code == codes.PAYLOAD_BAD_FORMAT
    assert problem.json_path == ("mobileNumberIdentifier",)
    assert problem.hint == E164_HINT
    lookup, delete = scripted(
        "removeContactFromList",
        {
            **V2_MAPPING,
            "channelIdentifier": "mobileNumber",
            "mobileNumberIdentifier": "+447000000001",
        },
        [Reply(200, {"contactId": "123", "lists": [{"id": 123456}]}), Reply(204)],
    )
    assert lookup.url == "https://r1-api.dotdigital.com/contacts/v3/mobileNumber/+447000000001"
    assert delete.url == "https://r1-api.dotdigital.com/v2/address-books/123456/contacts/123"


def test_v2_unknown_contact_ends_with_nothing_to_remove_terminal_and_no_delete() -> None:
    payload = {**V2_MAPPING, "emailIdentifier": "test@example.com"}
    plan = plan_of("removeContactFromList", payload)
    lookup = next(plan)
    assert 404 in lookup.handles
    with pytest.raises(ActionFailed) as failure:
        plan.send(Reply(404, {"errorCode": "contactNotFound"}))
    assert failure.value.reason == "contact not found — nothing to remove"
    assert (failure.value.status, failure.value.retryable) == (404, False)


def test_v2_dry_run_shows_the_delete_with_a_contact_id_placeholder() -> None:
    payload = {**V2_MAPPING, "emailIdentifier": "test@example.com"}
    lookup, delete = plan_requests("dotdigital", "removeContactFromList", payload, SETTINGS)
    assert "<contactId>" in lookup.purpose
    assert (
        delete.url
        == "https://r1-api.dotdigital.com/v2/address-books/123456/contacts/%3CcontactId%3E"
    )


def test_identifier_goes_into_the_path_without_percent_encoding() -> None:
    payload = {**V2_MAPPING, "emailIdentifier": "a+b@example.com"}
    lookup, _ = plan_requests("dotdigital", "removeContactFromList", payload, SETTINGS)
    assert lookup.url == "https://r1-api.dotdigital.com/contacts/v3/email/a+b@example.com"


# --- V3: enrol contact -----------------------------------------------------------------------


def test_v3_enrol_by_email_fetches_or_creates_then_enrols_with_the_program_id_as_string() -> None:
    payload, found = mapped(
        "enrolContact",
        {
            "programId": 456,
            "channelIdentifier": "email",
            "emailIdentifier": {"@path": "$.context.traits.email"},
        },
        V2_EVENT,
        use_defaults=False,
    )
    assert not found
    patch, enrol = scripted("enrolContact", payload, [Reply(200, {"contactId": "123"}), Reply(201)])
    assert (patch.method, patch.url) == (
        "PATCH",
        "https://r1-api.dotdigital.com/contacts/v3/email/test@example.com",
    )
    assert patch.body() == b'{"identifiers":{"email":"test@example.com"}}'
    assert (enrol.method, enrol.url) == (
        "POST",
        "https://r1-api.dotdigital.com/v2/programs/enrolments",
    )
    assert enrol.body() == b'{"contacts":["123"],"programId":"456"}'


def test_enrol_echoes_a_numeric_contact_id_as_a_number() -> None:
    payload = {"programId": "456", "channelIdentifier": "email", "emailIdentifier": "t@example.com"}
    _, enrol = scripted("enrolContact", payload, [Reply(200, {"contactId": 1001}), Reply(201)])
    assert enrol.body() == b'{"contacts":[1001],"programId":"456"}'


def test_enrol_patch_has_no_merge_option_and_sends_both_identifiers() -> None:
    payload = {
        "programId": "456",
        "channelIdentifier": "mobileNumber",
        "emailIdentifier": "t@example.com",
        "mobileNumberIdentifier": "+447000000001",
    }
    patch, _ = plan_requests("dotdigital", "enrolContact", payload, SETTINGS)
    assert patch.url == "https://r1-api.dotdigital.com/contacts/v3/mobileNumber/+447000000001"
    assert patch.body() == (
        b'{"identifiers":{"email":"t@example.com","mobileNumber":"+447000000001"}}'
    )


def test_enrol_fails_when_the_contact_answer_has_no_contact_id() -> None:
    plan = plan_of(
        "enrolContact",
        {"programId": "456", "channelIdentifier": "email", "emailIdentifier": "t@example.com"},
    )
    next(plan)
    with pytest.raises(ActionFailed, match="no contactId"):
        plan.send(Reply(200, {}))


# --- V4: add or update contact ---------------------------------------------------------------

V4_MAPPING = {"listId": 123456, "channelIdentifier": "email", "emailIdentifier": "test@example.com"}


def test_v4a_email_contact_without_emailresubscribe_sends_no_email_status() -> None:
    (request,) = plan_requests("dotdigital", "addContactToList", V4_MAPPING, SETTINGS)
    assert (request.method, request.url) == (
        "PATCH",
        "https://r1-api.dotdigital.com/contacts/v3/email/test@example.com?merge-option=overwrite",
    )
    assert request.body() == (
        b'{"identifiers":{"email":"test@example.com"},"channelProperties":{"email":'
        b'{"emailType":"html","optInType":"single"}},"lists":[123456]}'
    )


def test_v4b_resubscribe_with_challenge_sends_locale_and_redirect() -> None:
    payload = {
        "channelIdentifier": "email",
        "emailIdentifier": "test@example.com",
        "emailResubscribe": True,
        "resubscribeWithoutChallengeEmail": False,
        "preferredLocale": "en-EN",
        "redirectUrlAfterChallenge": "https://example.com/welcome",
    }
    (request,) = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert request.body() == (
        b'{"identifiers":{"email":"test@example.com"},"channelProperties":{"email":'
        b'{"emailType":"html","optInType":"single","status":"subscribed","resubscribeOptions":'
        b'{"resubscribeWithNoChallenge":false,"preferredLocale":"en-EN",'
        b'"redirectUrlAfterChallenge":"https://example.com/welcome"}}}}'
    )


def test_v4c_unsubscribed_status_is_sent_without_resubscribe_options() -> None:
    payload = {**V4_MAPPING, "emailSubscriptionStatus": "unsubscribed"}
    (request,) = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert body_json(request)["channelProperties"]["email"] == {
        "emailType": "html",
        "optInType": "single",
        "status": "unsubscribed",
    }


def test_v4d_mobile_contact_sends_the_plus_form_in_path_and_identifiers() -> None:
    payload, found = mapped(
        "addContactToList",
        {
            "listId": 123456,
            "channelIdentifier": "mobileNumber",
            "mobileNumberIdentifier": {"@path": "$.context.traits.phone"},
        },
        {"type": "identify", "context": {"traits": {"phone": "+447000000001"}}},
        use_defaults=False,
    )
    assert not found
    (request,) = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert request.url == (
        "https://r1-api.dotdigital.com/contacts/v3/mobileNumber/+447000000001?merge-option=overwrite"
    )
    assert request.body() == (
        b'{"identifiers":{"mobileNumber":"+447000000001"},"channelProperties":{"sms":'
        b'{"status":"subscribed"}},"lists":[123456]}'
    )


def test_v4d_without_sms_subscription_update_sends_empty_channel_properties() -> None:
    payload = {
        "channelIdentifier": "mobileNumber",
        "mobileNumberIdentifier": "+447000000001",
        "updateSmsSubscription": False,
    }
    (request,) = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert (
        request.body() == b'{"identifiers":{"mobileNumber":"+447000000001"},"channelProperties":{}}'
    )


def test_v4d_rs_own_number_1234567890_is_rejected_as_not_e164() -> None:
    (problem,) = errors(
        "addContactToList",
        {"channelIdentifier": "mobileNumber", "mobileNumberIdentifier": "1234567890"},
    )
    assert problem.json_path == ("mobileNumberIdentifier",)
    assert problem.hint == E164_HINT


def test_reference_3_1_identify_example_with_ui_defaults_and_data_fields() -> None:
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {
            "email": "jane@example.com",
            "phone": "+447000000001",
            "firstName": " Jane ",
            "age": "42",
            "birthday": "1990-05-17",
            "vip": "false",
        },
    }
    mapping = {
        "listId": 123456,
        "dataFields": {
            "FIRSTNAME": {"@path": "$.traits.firstName"},
            "AGE": {"@path": "$.traits.age"},
            "BIRTHDAY": {"@path": "$.traits.birthday"},
            "VIP": {"@path": "$.traits.vip"},
        },
    }
    payload, found = mapped("addContactToList", mapping, event)
    assert [p.severity for p in found] == [Severity.INFO]  # types not declared: see below
    lookup, patch = scripted("addContactToList", payload, [DATA_FIELDS_REPLY, Reply(200)])
    assert (lookup.method, lookup.url) == ("GET", "https://r1-api.dotdigital.com/v2/data-fields/")
    assert patch.url == (
        "https://r1-api.dotdigital.com/contacts/v3/email/jane@example.com?merge-option=overwrite"
    )
    assert patch.body() == (
        b'{"identifiers":{"email":"jane@example.com","mobileNumber":"+447000000001"},'
        b'"channelProperties":{"email":{"emailType":"html","optInType":"single",'
        b'"status":"subscribed","resubscribeOptions":{"resubscribeWithNoChallenge":false}},'
        b'"sms":{"status":"subscribed"}},"lists":[123456],'
        b'"dataFields":{"FIRSTNAME":"Jane","AGE":"42","BIRTHDAY":"1990-05-17T00:00:00.000Z",'
        b'"VIP":false}}'
    )


def test_decision_emailresubscribe_defaults_to_true_when_the_mapping_omits_it() -> None:
    """§5.2 (cdpctl decision): the UI default applies and is visible in the payload."""
    mapping = {"channelIdentifier": "email", "emailIdentifier": {"@path": "$.context.traits.email"}}
    with_defaults, _ = mapped("addContactToList", mapping, V2_EVENT)
    assert with_defaults["emailResubscribe"] is True
    (request,) = plan_requests("dotdigital", "addContactToList", with_defaults, SETTINGS)
    assert body_json(request)["channelProperties"]["email"] == {
        "emailType": "html",
        "optInType": "single",
        "status": "subscribed",
        "resubscribeOptions": {"resubscribeWithNoChallenge": False},
    }
    without_defaults, _ = mapped("addContactToList", mapping, V2_EVENT, use_defaults=False)
    (request,) = plan_requests("dotdigital", "addContactToList", without_defaults, SETTINGS)
    assert "status" not in body_json(request)["channelProperties"]["email"]


def test_add_contact_all_fields_golden() -> None:
    payload = {
        "channelIdentifier": "email",
        "emailIdentifier": "jane@example.com",
        "mobileNumberIdentifier": "+447000000001",
        "emailType": "plainText",
        "optInType": "double",
        "updateEmailSubscription": True,
        "emailSubscriptionStatus": "subscribed",
        "emailResubscribe": True,
        "resubscribeWithoutChallengeEmail": True,
        "preferredLocale": "de-DE",
        "redirectUrlAfterChallenge": "https://example.com/back",
        "updateSmsSubscription": True,
        "smsSubscriptionStatus": "unsubscribed",
        "listId": 42,
        "dataFields": {"FIRSTNAME": "Jane"},
    }
    assert [p.json_path for p in problems("addContactToList", payload)] == [
        ("preferredLocale",),
        ("redirectUrlAfterChallenge",),
        ("dataFields",),
    ]
    lookup, patch = scripted("addContactToList", payload, [DATA_FIELDS_REPLY, Reply(200)])
    assert lookup.url == "https://r1-api.dotdigital.com/v2/data-fields/"
    assert patch.body() == (
        b'{"identifiers":{"email":"jane@example.com","mobileNumber":"+447000000001"},'
        b'"channelProperties":{"email":{"emailType":"plainText","optInType":"double",'
        b'"status":"subscribed","resubscribeOptions":{"resubscribeWithNoChallenge":true}},'
        b'"sms":{"status":"unsubscribed"}},"lists":[42],"dataFields":{"FIRSTNAME":"Jane"}}'
    )


def test_add_contact_required_fields_only_golden() -> None:
    payload = {"channelIdentifier": "email", "emailIdentifier": "jane@example.com"}
    (request,) = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert request.body() == (
        b'{"identifiers":{"email":"jane@example.com"},"channelProperties":{"email":'
        b'{"emailType":"html","optInType":"single"}}}'
    )


def test_unused_challenge_options_are_warned_about_not_silently_dropped() -> None:
    payload = {**V4_MAPPING, "preferredLocale": "en-EN"}
    (warning,) = problems("addContactToList", payload)
    assert warning.severity is Severity.WARNING
    assert warning.json_path == ("preferredLocale",)


def test_update_email_subscription_false_sends_no_status() -> None:
    payload = {
        **V4_MAPPING,
        "updateEmailSubscription": False,
        "emailSubscriptionStatus": "suppressed",
    }
    (request,) = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert body_json(request)["channelProperties"]["email"] == {
        "emailType": "html",
        "optInType": "single",
    }


def test_list_id_zero_sends_no_lists_key() -> None:
    (request,) = plan_requests(
        "dotdigital", "addContactToList", {**V4_MAPPING, "listId": 0}, SETTINGS
    )
    assert "lists" not in body_json(request)


# --- data fields (§2.3) ----------------------------------------------------------------------


def test_empty_data_fields_still_look_up_the_types_and_send_an_empty_object() -> None:
    lookup, patch = scripted(
        "addContactToList", {**V4_MAPPING, "dataFields": {}}, [DATA_FIELDS_REPLY, Reply(200)]
    )
    assert lookup.url.endswith("/v2/data-fields/")
    assert list(body_json(patch)) == ["identifiers", "channelProperties", "lists", "dataFields"]
    assert body_json(patch)["dataFields"] == {}


def test_unknown_data_field_fails_with_400_and_no_patch_is_sent() -> None:
    plan = plan_of("addContactToList", {**V4_MAPPING, "dataFields": {"NOPE": "x"}})
    next(plan)
    with pytest.raises(ActionFailed) as failure:
        plan.send(DATA_FIELDS_REPLY)
    assert failure.value.reason == "Data field NOPE not found in Dotdigital"
    assert (failure.value.status, failure.value.retryable) == (400, False)


def test_dry_run_without_declared_types_shows_values_unconverted_and_says_so() -> None:
    payload = {**V4_MAPPING, "dataFields": {"BIRTHDAY": "1990-05-17"}}
    (info,) = problems("addContactToList", payload)
    assert info.severity is Severity.INFO
    assert "dataFieldTypes" in (info.hint or "")
    lookup, patch = plan_requests("dotdigital", "addContactToList", payload, SETTINGS)
    assert "BIRTHDAY left unconverted" in lookup.purpose
    assert body_json(patch)["dataFields"] == {"BIRTHDAY": "1990-05-17"}


def test_dry_run_with_declared_types_shows_the_converted_values() -> None:
    settings = {
        **SETTINGS,
        "dataFieldTypes": "FIRSTNAME=String, BIRTHDAY=Date, AGE=Numeric, VIP=Boolean",
    }
    payload = {
        **V4_MAPPING,
        "dataFields": {"FIRSTNAME": " Jane ", "BIRTHDAY": "1990-05-17", "AGE": "42", "VIP": "TRUE"},
    }
    assert problems("addContactToList", payload, settings) == []
    lookup, patch = plan_requests("dotdigital", "addContactToList", payload, settings)
    assert (
        "dry run assumes FIRSTNAME=String, BIRTHDAY=Date, AGE=Numeric, VIP=Boolean"
        in lookup.purpose
    )
    assert body_json(patch)["dataFields"] == {
        "FIRSTNAME": "Jane",
        "BIRTHDAY": "1990-05-17T00:00:00.000Z",
        "AGE": "42",
        "VIP": True,
    }


def test_decision_invalid_date_is_a_validation_error_before_sending() -> None:
    settings = {**SETTINGS, "dataFieldTypes": "BIRTHDAY=Date"}
    (problem,) = errors(
        "addContactToList", {**V4_MAPPING, "dataFields": {"BIRTHDAY": "soon"}}, settings
    )
    assert problem.code == codes.PAYLOAD_BAD_FORMAT
    assert problem.json_path == ("dataFields", "BIRTHDAY")
    assert problem.message == "Data field BIRTHDAY value soon is not a valid date"
    assert "ISO-8601" in (problem.hint or "")


def test_declared_string_field_with_a_number_is_a_wrong_type_error() -> None:
    settings = {**SETTINGS, "dataFieldTypes": "FIRSTNAME=String"}
    (problem,) = errors(
        "addContactToList", {**V4_MAPPING, "dataFields": {"FIRSTNAME": 7}}, settings
    )
    assert problem.code == codes.PAYLOAD_WRONG_TYPE
    assert problem.message == "Data field FIRSTNAME value 7 is not a valid string"


def test_undeclared_key_is_a_warning_once_types_are_declared() -> None:
    settings = {**SETTINGS, "dataFieldTypes": "FIRSTNAME=String"}
    (warning,) = problems(
        "addContactToList", {**V4_MAPPING, "dataFields": {"PLAN": "Pro"}}, settings
    )
    assert warning.severity is Severity.WARNING
    assert "PLAN" in warning.message


def test_a_null_string_data_field_is_refused_as_segment_refuses_it() -> None:
    settings = {**SETTINGS, "dataFieldTypes": "FIRSTNAME=String"}
    payload = {**V4_MAPPING, "dataFields": {"FIRSTNAME": None}}
    (problem,) = errors("addContactToList", payload, settings)
    assert problem.message == "Data field FIRSTNAME value null is not a valid string"
    assert problem.json_path == ("dataFields", "FIRSTNAME")
    plan = plan_of("addContactToList", payload)
    next(plan)
    with pytest.raises(ActionFailed) as failure:
        plan.send(DATA_FIELDS_REPLY)
    assert failure.value.reason == "Data field FIRSTNAME value null is not a valid string"


def test_a_null_boolean_data_field_is_sent_as_false() -> None:
    payload = {**V4_MAPPING, "dataFields": {"VIP": None}}
    _, patch = scripted("addContactToList", payload, [DATA_FIELDS_REPLY, Reply(200)])
    assert body_json(patch)["dataFields"] == {"VIP": False}


@pytest.mark.parametrize(
    ("kind", "value", "sent"),
    [
        ("String", " Jane ", "Jane"),
        ("String", "\u00a0tab\t", "tab"),
        ("Numeric", "42", "42"),
        ("Numeric", 42, 42),
        ("Numeric", 4.5, 4.5),
        ("Numeric", " 0x1A ", " 0x1A "),
        ("Numeric", "1e3", "1e3"),
        ("Numeric", "", ""),
        ("Date", "1990-05-17", "1990-05-17T00:00:00.000Z"),
        ("Date", "1990-05-17T10:20:30Z", "1990-05-17T10:20:30.000Z"),
        ("Date", "1990-05-17T10:20:30.1239+02:00", "1990-05-17T08:20:30.123Z"),
        ("Date", "1990-05", "1990-05-01T00:00:00.000Z"),
        ("Date", "Thu, 17 May 1990 00:00:00 GMT", "1990-05-17T00:00:00.000Z"),
        ("Date", "May 17, 1990", "1990-05-17T00:00:00.000Z"),
        ("Date", "1990/05/17", "1990-05-17T00:00:00.000Z"),
        ("Boolean", "true", True),
        ("Boolean", " FALSE ", False),
        ("Boolean", "yes", True),
        ("Boolean", "", False),
        ("Boolean", 0, False),
        ("Boolean", 1, True),
        ("Boolean", [], True),
        ("Unknown", {"a": 1}, {"a": 1}),
    ],
)
def test_data_field_conversion_by_dotdigital_type(kind: str, value: Any, sent: Any) -> None:
    assert convert_data_field("F", value, kind) == sent


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("String", 5, "Data field F value 5 is not a valid string"),
        ("String", {"a": 1}, "Data field F value [object Object] is not a valid string"),
        ("Numeric", "abc", "Data field F value abc is not a valid number"),
        ("Numeric", True, "Data field F value true is not a valid number"),
        ("Numeric", [1], "Data field F value 1 is not a valid number"),
        ("Date", 19900517, "Data field F value 19900517 is not a valid date"),
        ("Date", "1990-13-01", "Data field F value 1990-13-01 is not a valid date"),
        ("Date", "not a date", "Data field F value not a date is not a valid date"),
    ],
)
def test_data_field_values_the_type_rejects(kind: str, value: Any, message: str) -> None:
    with pytest.raises(DataFieldError) as error:
        convert_data_field("F", value, kind)
    assert error.value.message == message


def test_first_definition_of_a_data_field_name_wins_and_key_order_is_kept() -> None:
    from cdpctl.providers.dotdigital.rules import data_field_types

    types = data_field_types(
        [
            {"name": "A", "type": "Numeric"},
            {"name": "A", "type": "String"},
            {"name": "B", "type": "String"},
        ]
    )
    assert types == {"A": "Numeric", "B": "String"}
    assert list(convert_data_fields({"B": "x", "A": 1}, types)) == ["B", "A"]


def test_js_helpers_match_javascript() -> None:
    assert is_js_numeric("  -1.5e3 ") and is_js_numeric("Infinity") and is_js_numeric("0b101")
    assert not is_js_numeric("1_000") and not is_js_numeric("12px")
    assert js_date_iso("1990-02-30") is None
    assert js_date_iso(" 2024-05-17 09:30 ") == "2024-05-17T09:30:00.000Z"


def test_data_field_types_setting_parses_and_its_pattern_rejects_unknown_types() -> None:
    import re

    assert parse_data_field_types(" FIRSTNAME=String,BIRTHDAY = Date ") == {
        "FIRSTNAME": "String",
        "BIRTHDAY": "Date",
    }
    assert re.fullmatch(DATA_FIELD_TYPES_PATTERN, "FIRSTNAME=String, VIP=Boolean")
    assert not re.fullmatch(DATA_FIELD_TYPES_PATTERN, "FIRSTNAME=Text")
    assert parse_data_field_types(None) == {}


# --- V5: send email campaign -----------------------------------------------------------------

V5_EVENT = {"type": "track", "context": {"traits": {"email": "test@example.com"}}}


@pytest.mark.parametrize(
    ("optimised", "path"),
    [(True, "/v2/campaigns/send-time-optimised"), (False, "/v2/campaigns/send")],
)
def test_v5_campaign_looks_the_contact_up_then_sends(optimised: bool, path: str) -> None:
    payload, found = mapped(
        "sendEmailCampaign",
        {
            "campaignId": 123456,
            "sendTimeOptimised": optimised,
            "email": {"@path": "$.context.traits.email"},
        },
        V5_EVENT,
        use_defaults=False,
    )
    assert not found
    lookup, send = scripted(
        "sendEmailCampaign", payload, [Reply(200, {"contactId": "123"}), Reply(200)]
    )
    assert (lookup.method, lookup.url) == (
        "GET",
        "https://r1-api.dotdigital.com/contacts/v3/email/test@example.com",
    )
    assert (send.method, send.url) == ("POST", R1 + path)
    assert send.body() == b'{"campaignID":123456,"contactIDs":["123"]}'


def test_campaign_all_fields_golden_3_4_example_with_send_date() -> None:
    payload = {
        "email": "test@example.com",
        "campaignId": 123456,
        "sendDate": "2026-09-01T09:00:00Z",
        "sendTimeOptimised": False,
    }
    _, send = scripted("sendEmailCampaign", payload, [Reply(200, {"contactId": 123}), Reply(200)])
    assert send.url == "https://r1-api.dotdigital.com/v2/campaigns/send"
    assert (
        send.body() == b'{"campaignID":123456,"contactIDs":[123],"sendDate":"2026-09-01T09:00:00Z"}'
    )


def test_campaign_required_fields_only_golden() -> None:
    _, send = plan_requests(
        "dotdigital", "sendEmailCampaign", {"email": "t@example.com", "campaignId": "77"}, SETTINGS
    )
    assert send.url == "https://r1-api.dotdigital.com/v2/campaigns/send"
    assert send.body() == b'{"campaignID":77,"contactIDs":["<contactId>"]}'


def test_send_date_is_dropped_and_warned_when_send_time_optimised() -> None:
    payload = {
        "email": "t@example.com",
        "campaignId": 1,
        "sendDate": "2026-09-01",
        "sendTimeOptimised": True,
    }
    (warning,) = problems("sendEmailCampaign", payload)
    assert (warning.severity, warning.json_path) == (Severity.WARNING, ("sendDate",))
    _, send = plan_requests("dotdigital", "sendEmailCampaign", payload, SETTINGS)
    assert "sendDate" not in body_json(send)


def test_decision_send_date_epoch_numbers_are_rejected() -> None:
    (problem,) = errors(
        "sendEmailCampaign", {"email": "t@example.com", "campaignId": 1, "sendDate": 1788253200}
    )
    assert problem.json_path == ("sendDate",)
    assert "ISO-8601" in problem.message


def test_campaign_email_that_would_change_the_lookup_url_is_rejected() -> None:
    (problem,) = errors("sendEmailCampaign", {"email": "a/b?c@example.com", "campaignId": 1})
    assert problem.json_path == ("email",)


def test_campaign_to_unknown_contact_fails_terminally() -> None:
    plan = plan_of("sendEmailCampaign", {"email": "t@example.com", "campaignId": 1})
    next(plan)
    with pytest.raises(ActionFailed) as failure:
        plan.send(Reply(404))
    assert (failure.value.status, failure.value.retryable) == (404, False)


# --- V6 and V8: SMS numbers ------------------------------------------------------------------


def test_v6_send_sms_posts_the_message_to_the_digits_only_number() -> None:
    payload, found = mapped(
        "sendSms",
        {"message": "Test message", "to": {"@path": "$.context.traits.phone"}},
        {"type": "track", "context": {"traits": {"phone": "+441234567890"}}},
        use_defaults=False,
    )
    assert not found
    (request,) = plan_requests("dotdigital", "sendSms", payload, SETTINGS)
    assert (request.method, request.url) == (
        "POST",
        "https://r1-api.dotdigital.com/v2/sms-messages/send-to/441234567890",
    )
    assert request.body() == b'{"message":"Test message"}'


@pytest.mark.parametrize("number", ["+44 123-456-7890", "+44 123-4567890"])
def test_v6_formatted_numbers_are_rejected_with_the_e164_form_to_use(number: str) -> None:
    """R cleans these to 441234567890; cdpctl requires E.164 (decision) and names the form."""
    (problem,) = errors("sendSms", {"message": "m", "to": number})
    assert problem.code == codes.PAYLOAD_BAD_FORMAT
    assert problem.hint == "write it as +441234567890"


@pytest.mark.parametrize("number", ["123", "", "++--  ()"])
def test_v6_numbers_rejected_before_any_request(number: str) -> None:
    assert errors("sendSms", {"message": "m", "to": number})


@pytest.mark.parametrize("number", ["07000000001", "447000000001"])
def test_decision_numbers_without_the_dialling_code_get_the_hint(number: str) -> None:
    for action, key in (("sendSms", "to"), ("sendTransactionalSms", "to")):
        (problem,) = errors(action, {"message": "m", key: number})
        assert problem.hint == E164_HINT
        assert "prefix with the international dialling code" in problem.hint


@pytest.mark.parametrize(
    ("given", "cleaned"),
    [
        ("+1-234-567-8900", "12345678900"),
        ("(123) 456-7890", "1234567890"),
        ("+44 20 7946 0958", "442079460958"),
        ("+33 1 42 86 83 26", "33142868326"),
        ("01142079460958", "01142079460958"),
        ("123-456-7890 ext. 123", "1234567890123"),
        ("1234567", "1234567"),
        ("+44 123-456-7890", "441234567890"),
        ("44123abc7890", "441237890"),
    ],
)
def test_v8_mobile_number_cleaning_accepts(given: str, cleaned: str) -> None:
    assert clean_mobile_number(given) == cleaned


@pytest.mark.parametrize("given", ["", "abc", "123", "++--", "1-800-GET-HELP", "++--##"])
def test_v8_mobile_number_cleaning_rejects(given: str) -> None:
    with pytest.raises(InvalidMobileNumber, match=r"^Invalid mobile number value$"):
        clean_mobile_number(given)


def test_send_sms_required_and_all_fields_golden() -> None:
    (request,) = plan_requests(
        "dotdigital", "sendSms", {"to": "+447000000001", "message": "Hi"}, SETTINGS
    )
    assert request.url == "https://r1-api.dotdigital.com/v2/sms-messages/send-to/447000000001"
    assert request.body() == b'{"message":"Hi"}'


def test_send_sms_missing_message_is_reported() -> None:
    (problem,) = errors("sendSms", {"to": "+447000000001", "message": ""})
    assert problem.code == codes.PAYLOAD_MISSING_FIELD
    assert problem.message == "missing the required field 'message'"


# --- V7: transactional SMS and email ---------------------------------------------------------


def test_v7_transactional_sms_with_from() -> None:
    payload, found = mapped(
        "sendTransactionalSms",
        {"to": {"@path": "$.context.traits.phone"}, "from": "Segment", "message": "hello world!"},
        {"type": "track", "context": {"traits": {"phone": "+441234567890"}}},
        use_defaults=False,
    )
    assert not found
    (request,) = plan_requests("dotdigital", "sendTransactionalSms", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", "https://r1-api.dotdigital.com/cpaas/messages")
    assert request.body() == (
        b'{"to":{"phoneNumber":"441234567890"},"body":"hello world!","rules":["sms"],'
        b'"channelOptions":{"sms":{"from":"Segment"}}}'
    )


def test_v7_transactional_sms_required_fields_only_has_no_channel_options() -> None:
    payload = {"to": "+441234567890", "message": "hello world!"}
    (request,) = plan_requests("dotdigital", "sendTransactionalSms", payload, SETTINGS)
    assert (
        request.body()
        == b'{"to":{"phoneNumber":"441234567890"},"body":"hello world!","rules":["sms"]}'
    )


def test_transactional_sms_all_fields_golden() -> None:
    payload = {
        "to": "+441234567890",
        "from": "Segment",
        "message": "hello world!",
        "link_shortening": True,
        "allow_unicode": True,
    }
    (request,) = plan_requests("dotdigital", "sendTransactionalSms", payload, SETTINGS)
    assert request.body() == (
        b'{"to":{"phoneNumber":"441234567890"},"body":"hello world!","rules":["sms"],'
        b'"channelOptions":{"sms":{"from":"Segment","allowUnicode":true}},"shortenLinks":"on"}'
    )


def test_transactional_sms_unicode_alone_makes_channel_options() -> None:
    payload = {
        "to": "+441234567890",
        "message": "x",
        "allow_unicode": True,
        "link_shortening": False,
    }
    (request,) = plan_requests("dotdigital", "sendTransactionalSms", payload, SETTINGS)
    assert body_json(request)["channelOptions"] == {"sms": {"allowUnicode": True}}
    assert "shortenLinks" not in body_json(request)


def test_transactional_sms_longer_than_160_characters_is_warned() -> None:
    (warning,) = problems("sendTransactionalSms", {"to": "+441234567890", "message": "x" * 161})
    assert (warning.severity, warning.json_path) == (Severity.WARNING, ("message",))


def test_v7_transactional_email_required_and_plain_text() -> None:
    payload, found = mapped(
        "sendTransactionalEmail",
        {
            "fromAddress": "fromaddress@example.com",
            "subject": "The email subject line.",
            "toAddresses": {"@path": "$.context.traits.email"},
            "htmlContent": "<h1>HTML content email</h1>",
            "plainTextContent": "Plain text content email",
        },
        {"type": "track", "context": {"traits": {"email": "toaddress@example.com"}}},
        use_defaults=False,
    )
    assert not found
    (request,) = plan_requests("dotdigital", "sendTransactionalEmail", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", "https://r1-api.dotdigital.com/v2/email")
    assert request.body() == (
        b'{"ToAddresses":["toaddress@example.com"],"CCAddresses":[],"BCCAddresses":[],'
        b'"Subject":"The email subject line.","FromAddress":"fromaddress@example.com",'
        b'"HtmlContent":"<h1>HTML content email</h1>",'
        b'"PlainTextContent":"Plain text content email"}'
    )


def test_transactional_email_all_fields_golden_3_6_example() -> None:
    payload = {
        "fromAddress": " My Company <news@example.com> ",
        "toAddresses": "a@example.com, b@example.com",
        "ccAddresses": "c@example.com,,d@example.com",
        "bccAddresses": "e@example.com",
        "subject": "Hi",
        "htmlContent": "<p>Hi</p>",
    }
    (request,) = plan_requests("dotdigital", "sendTransactionalEmail", payload, SETTINGS)
    assert request.body() == (
        b'{"ToAddresses":["a@example.com","b@example.com"],'
        b'"CCAddresses":["c@example.com","d@example.com"],"BCCAddresses":["e@example.com"],'
        b'"Subject":"Hi","FromAddress":"My Company <news@example.com>","HtmlContent":"<p>Hi</p>"}'
    )


def test_transactional_email_required_fields_only_golden() -> None:
    payload = {
        "fromAddress": "f@example.com",
        "toAddresses": "t@example.com",
        "subject": "S",
        "htmlContent": "H",
    }
    (request,) = plan_requests("dotdigital", "sendTransactionalEmail", payload, SETTINGS)
    assert request.body() == (
        b'{"ToAddresses":["t@example.com"],"CCAddresses":[],"BCCAddresses":[],"Subject":"S",'
        b'"FromAddress":"f@example.com","HtmlContent":"H"}'
    )


@pytest.mark.parametrize(
    ("key", "value", "bad"),
    [
        ("fromAddress", "not an address", "not an address"),
        ("fromAddress", "Café <news@example.com>", "Café <news@example.com>"),
        ("toAddresses", "a@example.com, b@example", "b@example"),
        ("toAddresses", "a@example.com, ", ""),
        ("ccAddresses", "c@example.com,x@y.toolongtld", "x@y.toolongtld"),
        ("bccAddresses", "@example.com", "@example.com"),
    ],
)
def test_decision_bad_transactional_addresses_are_validation_errors(
    key: str, value: str, bad: str
) -> None:
    payload = {
        "fromAddress": "f@example.com",
        "toAddresses": "t@example.com",
        "subject": "S",
        "htmlContent": "H",
    }
    (problem,) = errors("sendTransactionalEmail", {**payload, key: value})
    assert problem.code == codes.PAYLOAD_BAD_FORMAT
    assert problem.json_path == (key,)
    assert problem.message == f"'{key}': Invalid email format: {bad}"


def test_more_than_100_cc_addresses_is_warned() -> None:
    payload = {
        "fromAddress": "f@example.com",
        "toAddresses": "t@example.com",
        "subject": "S",
        "htmlContent": "H",
        "ccAddresses": ",".join(f"c{i}@example.com" for i in range(101)),
    }
    (warning,) = problems("sendTransactionalEmail", payload)
    assert (warning.severity, warning.json_path) == (Severity.WARNING, ("ccAddresses",))


def test_segments_address_pattern_quirks_are_kept() -> None:
    assert is_valid_address("a/b@example.com")  # `+-=` is a character range in R's pattern
    assert is_valid_address("My_Shop 2 <news@example.com>")
    assert not is_valid_address("a@example.c")
    assert split_addresses("a@x.com,, b@x.com ,") == ["a@x.com", "b@x.com"]


# --- payload validation ----------------------------------------------------------------------


def test_channel_email_without_email_identifier_is_a_missing_field() -> None:
    (problem,) = errors("enrolContact", {"channelIdentifier": "email", "programId": "1"})
    assert problem.code == codes.PAYLOAD_MISSING_FIELD
    assert problem.message == "missing the required field 'emailIdentifier'"


def test_channel_mobile_without_mobile_identifier_is_a_missing_field() -> None:
    (problem,) = errors(
        "removeContactFromList",
        {"channelIdentifier": "mobileNumber", "emailIdentifier": "t@example.com", "listId": 1},
    )
    assert problem.message == "missing the required field 'mobileNumberIdentifier'"


def test_bad_email_identifier_is_reported_whichever_channel_is_chosen() -> None:
    (problem,) = errors(
        "addContactToList",
        {
            "channelIdentifier": "mobileNumber",
            "mobileNumberIdentifier": "+447000000001",
            "emailIdentifier": "nope",
        },
    )
    assert (problem.code, problem.json_path) == (codes.PAYLOAD_BAD_FORMAT, ("emailIdentifier",))


def test_bad_channel_enum_is_reported() -> None:
    (problem,) = errors(
        "addContactToList",
        {"channelIdentifier": "mobile-number", "emailIdentifier": "t@example.com"},
    )
    assert problem.code == codes.PAYLOAD_NOT_ALLOWED


def test_missing_list_and_program_are_reported() -> None:
    identity = {"channelIdentifier": "email", "emailIdentifier": "t@example.com"}
    assert [p.json_path for p in errors("removeContactFromList", identity)] == [("listId",)]
    assert [p.json_path for p in errors("enrolContact", identity)] == [("programId",)]


def test_numbers_are_coerced_like_segment_for_program_and_list_ids() -> None:
    identity = {"channelIdentifier": "email", "emailIdentifier": "t@example.com"}
    _, enrol = plan_requests("dotdigital", "enrolContact", {**identity, "programId": 456}, SETTINGS)
    assert body_json(enrol)["programId"] == "456"
    _, delete = plan_requests(
        "dotdigital", "removeContactFromList", {**identity, "listId": "123456"}, SETTINGS
    )
    assert delete.url.endswith("/v2/address-books/123456/contacts/%3CcontactId%3E")


def test_enrol_and_remove_required_fields_only_goldens() -> None:
    identity = {"channelIdentifier": "email", "emailIdentifier": "t@example.com"}
    patch, enrol = plan_requests(
        "dotdigital", "enrolContact", {**identity, "programId": "9"}, SETTINGS
    )
    assert patch.body() == b'{"identifiers":{"email":"t@example.com"}}'
    assert enrol.body() == b'{"contacts":["<contactId>"],"programId":"9"}'
    lookup, delete = plan_requests(
        "dotdigital", "removeContactFromList", {**identity, "listId": 5}, SETTINGS
    )
    assert (lookup.method, delete.method) == ("GET", "DELETE")


def test_remove_all_fields_golden_looks_up_by_the_chosen_channel() -> None:
    payload = {
        "channelIdentifier": "mobileNumber",
        "emailIdentifier": "t@example.com",
        "mobileNumberIdentifier": "+447000000001",
        "listId": 5,
    }
    lookup, delete = scripted(
        "removeContactFromList", payload, [Reply(200, {"contactId": 77}), Reply(204)]
    )
    assert lookup.url == "https://r1-api.dotdigital.com/contacts/v3/mobileNumber/+447000000001"
    assert delete.url == "https://r1-api.dotdigital.com/v2/address-books/5/contacts/77"


# --- the sandbox -----------------------------------------------------------------------------


def _state(sandbox) -> dict[str, Any]:
    return sandbox.state.providers["dotdigital"]


def _contact(sandbox, email: str) -> dict[str, Any]:
    (contact,) = [
        c for c in _state(sandbox)["contacts"].values() if c["identifiers"].get("email") == email
    ]
    return contact


def test_sandbox_add_contact_creates_it_with_converted_data_fields_and_list(sandbox) -> None:
    payload = {
        "channelIdentifier": "email",
        "emailIdentifier": "a+b@example.com",
        "mobileNumberIdentifier": "+447000000001",
        "listId": 123456,
        "emailResubscribe": True,
        "dataFields": {
            "FIRSTNAME": " Jane ",
            "AGE": "42",
            "BIRTHDAY": "1990-05-17",
            "VIP": "false",
        },
    }
    exchanges, _ = live_run("dotdigital", "addContactToList", payload, SANDBOX, sandbox.url)
    assert [e.reply.status for e in exchanges] == [200, 200]
    contact = _contact(sandbox, "a+b@example.com")
    assert contact["identifiers"] == {"email": "a+b@example.com", "mobileNumber": "+447000000001"}
    assert contact["lists"] == [123456]
    assert contact["dataFields"] == {
        "FIRSTNAME": "Jane",
        "AGE": "42",
        "BIRTHDAY": "1990-05-17T00:00:00.000Z",
        "VIP": False,
    }
    assert contact["channelProperties"]["sms"] == {"status": "subscribed"}


def test_sandbox_upsert_is_keyed_by_identifier(sandbox) -> None:
    base = {"channelIdentifier": "email", "emailIdentifier": "k@example.com"}
    live_run("dotdigital", "addContactToList", {**base, "listId": 123456}, SANDBOX, sandbox.url)
    live_run("dotdigital", "addContactToList", {**base, "listId": 234567}, SANDBOX, sandbox.url)
    assert len(_state(sandbox)["contacts"]) == 1
    assert _contact(sandbox, "k@example.com")["lists"] == [123456, 234567]


def test_sandbox_rejects_an_unknown_list_in_the_patch(sandbox) -> None:
    payload = {"channelIdentifier": "email", "emailIdentifier": "k@example.com", "listId": 999}
    with pytest.raises(PlanFailed) as failure:
        live_run("dotdigital", "addContactToList", payload, SANDBOX, sandbox.url)
    assert failure.value.status == 400
    assert "invalidAddressBookIds" in failure.value.reason


def test_sandbox_unknown_data_field_stops_before_the_patch(sandbox) -> None:
    payload = {
        "channelIdentifier": "email",
        "emailIdentifier": "k@example.com",
        "dataFields": {"NOPE": 1},
    }
    with pytest.raises(PlanFailed) as failure:
        live_run("dotdigital", "addContactToList", payload, SANDBOX, sandbox.url)
    assert (failure.value.status, failure.value.reason) == (
        400,
        "Data field NOPE not found in Dotdigital",
    )
    assert [e.request.method for e in failure.value.exchanges] == ["GET"]
    assert _state(sandbox)["contacts"] == {}


def test_sandbox_unparseable_date_is_invalid_input_not_a_transport_error(sandbox) -> None:
    payload = {
        "channelIdentifier": "email",
        "emailIdentifier": "k@example.com",
        "dataFields": {"BIRTHDAY": "soon"},
    }
    with pytest.raises(PlanFailed) as failure:
        live_run("dotdigital", "addContactToList", payload, SANDBOX, sandbox.url)
    assert (failure.value.status, failure.value.retryable) == (400, False)
    assert failure.value.reason == "Data field BIRTHDAY value soon is not a valid date"


def test_sandbox_resubscribe_with_challenge_sends_a_challenge_email(sandbox) -> None:
    base = {"channelIdentifier": "email", "emailIdentifier": "u@example.com"}
    live_run(
        "dotdigital",
        "addContactToList",
        {**base, "emailSubscriptionStatus": "unsubscribed"},
        SANDBOX,
        sandbox.url,
    )
    assert (
        _contact(sandbox, "u@example.com")["channelProperties"]["email"]["status"] == "unsubscribed"
    )
    payload = {**base, "emailResubscribe": True, "preferredLocale": "en-EN"}
    live_run("dotdigital", "addContactToList", payload, SANDBOX, sandbox.url)
    assert (
        _contact(sandbox, "u@example.com")["channelProperties"]["email"]["status"] == "pendingOptIn"
    )
    (challenge,) = _state(sandbox)["challenge_emails"]
    assert (challenge["email"], challenge["preferredLocale"]) == ("u@example.com", "en-EN")


def test_sandbox_enrol_by_mobile_creates_the_contact_and_records_the_enrolment(sandbox) -> None:
    payload = {
        "channelIdentifier": "mobileNumber",
        "mobileNumberIdentifier": "+447000000001",
        "programId": 456,
    }
    exchanges, _ = live_run("dotdigital", "enrolContact", payload, SANDBOX, sandbox.url)
    assert [e.reply.status for e in exchanges] == [200, 201]
    contact_id = exchanges[0].reply.json["contactId"]
    assert exchanges[1].request.body() == b'{"contacts":[%d],"programId":"456"}' % contact_id
    (enrolment,) = _state(sandbox)["enrolments"]
    assert (enrolment["programId"], enrolment["contacts"]) == (456, [contact_id])


def test_sandbox_enrol_in_a_deactivated_program_is_rejected(sandbox) -> None:
    payload = {"channelIdentifier": "email", "emailIdentifier": "e@example.com", "programId": "457"}
    with pytest.raises(PlanFailed) as failure:
        live_run("dotdigital", "enrolContact", payload, SANDBOX, sandbox.url)
    assert failure.value.status == 400
    assert "ERROR_PROGRAM_NOT_ACTIVE" in failure.value.reason


def test_sandbox_remove_takes_the_contact_out_of_the_list(sandbox) -> None:
    base = {"channelIdentifier": "email", "emailIdentifier": "r@example.com"}
    live_run("dotdigital", "addContactToList", {**base, "listId": 123456}, SANDBOX, sandbox.url)
    exchanges, _ = live_run(
        "dotdigital", "removeContactFromList", {**base, "listId": 123456}, SANDBOX, sandbox.url
    )
    assert [e.reply.status for e in exchanges] == [200, 204]
    assert _contact(sandbox, "r@example.com")["lists"] == []


def test_sandbox_remove_of_an_unknown_contact_is_nothing_to_remove(sandbox) -> None:
    payload = {
        "channelIdentifier": "email",
        "emailIdentifier": "ghost@example.com",
        "listId": 123456,
    }
    with pytest.raises(PlanFailed) as failure:
        live_run("dotdigital", "removeContactFromList", payload, SANDBOX, sandbox.url)
    assert failure.value.reason == "contact not found — nothing to remove"
    assert (failure.value.status, failure.value.retryable) == (404, False)
    assert [e.request.method for e in failure.value.exchanges] == ["GET"]


def test_sandbox_remove_from_an_unknown_list_is_404(sandbox) -> None:
    base = {"channelIdentifier": "email", "emailIdentifier": "r@example.com"}
    live_run("dotdigital", "addContactToList", base, SANDBOX, sandbox.url)
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "dotdigital", "removeContactFromList", {**base, "listId": 999}, SANDBOX, sandbox.url
        )
    assert failure.value.status == 404
    assert "ERROR_ADDRESSBOOK_NOT_FOUND" in failure.value.reason


def test_sandbox_campaign_send_is_recorded_for_the_contact(sandbox) -> None:
    contact = {"channelIdentifier": "email", "emailIdentifier": "c@example.com"}
    live_run("dotdigital", "addContactToList", contact, SANDBOX, sandbox.url)
    payload = {"email": "c@example.com", "campaignId": 123456, "sendDate": "2026-09-01T09:00:00Z"}
    live_run("dotdigital", "sendEmailCampaign", payload, SANDBOX, sandbox.url)
    (send,) = _state(sandbox)["campaign_sends"]
    contact_id = _contact(sandbox, "c@example.com")["contactId"]
    assert (send["campaignId"], send["contactIds"], send["sendDate"]) == (
        123456,
        [contact_id],
        "2026-09-01T09:00:00Z",
    )


def test_sandbox_campaign_to_an_unknown_contact_fails_before_sending(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "dotdigital",
            "sendEmailCampaign",
            {"email": "no@example.com", "campaignId": 123456},
            SANDBOX,
            sandbox.url,
        )
    assert failure.value.status == 404
    assert _state(sandbox)["campaign_sends"] == []


def test_sandbox_sms_and_transactional_sms_are_recorded_with_digits(sandbox) -> None:
    live_run(
        "dotdigital", "sendSms", {"to": "+441234567890", "message": "Hi"}, SANDBOX, sandbox.url
    )
    payload = {"to": "+441234567890", "message": "Café ✓", "from": "Shop", "link_shortening": True}
    exchanges, _ = live_run("dotdigital", "sendTransactionalSms", payload, SANDBOX, sandbox.url)
    assert exchanges[0].reply.status == 201
    assert _state(sandbox)["sms_messages"] == [{"to": "441234567890", "message": "Hi"}]
    (message,) = _state(sandbox)["cpaas_messages"]
    assert (message["to"], message["from"], message["shortenLinks"]) == (
        "441234567890",
        "Shop",
        True,
    )
    assert message["status"] == "notSent: contains Unicode"  # allow_unicode was false


def test_sandbox_transactional_email_unknown_from_address_is_replaced_by_the_default(
    sandbox,
) -> None:
    payload = {
        "fromAddress": "Someone <other@example.org>",
        "toAddresses": "t@example.com",
        "subject": "S",
        "htmlContent": "H",
    }
    live_run("dotdigital", "sendTransactionalEmail", payload, SANDBOX, sandbox.url)
    (email,) = _state(sandbox)["transactional_emails"]
    assert email["ToAddresses"] == ["t@example.com"]
    assert email["FromAddressUsed"] == "Dotmailer123@r1.dotdigital-email.com"


def test_sandbox_wrong_credentials_get_401_on_every_route(sandbox) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "dotdigital",
            "sendSms",
            {"to": "+441234567890", "message": "m"},
            {"username": "x", "password": "y"},
            sandbox.url,
        )
    assert failure.value.status == 401
    assert failure.value.exchanges[0].reply.json == {
        "message": "Authorization has been denied for this request."
    }
    assert _state(sandbox)["sms_messages"] == []


def test_sandbox_lookups_for_lists_programs_and_campaigns(sandbox) -> None:
    import httpx

    auth = (USERNAME, PASSWORD)
    books = httpx.get(f"{sandbox.url}/v2/address-books?select=1&skip=1", auth=auth).json()
    assert [book["id"] for book in books] == [234567]
    programs = httpx.get(f"{sandbox.url}/v2/programs", auth=auth).json()
    assert {p["id"]: p["status"] for p in programs} == {456: "Active", 457: "Deactivated"}
    assert httpx.get(f"{sandbox.url}/v2/campaigns?select=200&skip=200", auth=auth).json() == []


# --- the example file and the CLI ------------------------------------------------------------


@pytest.fixture
def live_schema(monkeypatch):
    """Validate against the schema generated from the providers now, not the shipped copy of
    schemas/mapping.schema.json (regenerated for every provider at release)."""
    from jsonschema import Draft202012Validator

    import cdpctl.schema as schema

    monkeypatch.setattr(
        schema, "_validator", lambda: Draft202012Validator(schema.mapping_file_schema())
    )


def test_example_covers_every_action_and_validates_cleanly(live_schema) -> None:
    text = EXAMPLE.read_text()
    for action in DOTDIGITAL.actions:
        assert f"action: {action.name}\n" in text
    result = run_cli(["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "all valid" in result.output


@pytest.mark.parametrize("sample", ["identify", "track", "page", "screen", "group", "alias"])
def test_example_renders_every_bundled_sample_without_errors(live_schema, sample: str) -> None:
    result = run_cli(["test-event", "--format", "json", str(EXAMPLE), sample])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    for item in document["results"]:
        assert not [e for e in item["errors"] if e["severity"] == "error"], item
        assert bool(item["requests"]) == item["matched"]


def test_example_identify_sample_gives_the_upsert_with_converted_data_fields(live_schema) -> None:
    result = run_cli(
        ["test-event", "--format", "json", str(EXAMPLE), "identify"],
        env={"DOTDIGITAL_PASSWORD": "s3cret"},
    )
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.stdout
    (upsert,) = [r for r in json.loads(result.stdout)["results"] if r["matched"]]
    lookup, patch = upsert["requests"]
    assert lookup["url"] == "https://r1-api.dotdigital.com/v2/data-fields/"
    assert patch["headers"]["Authorization"] == "Basic ***"
    assert patch["json"]["dataFields"] == {
        "FIRSTNAME": "Jane",
        "LASTNAME": "Doe",
        "BIRTHDAY": "1990-05-17T00:00:00.000Z",
        "PLAN": "Pro",
    }


def test_example_track_sample_enrols_confirms_and_sends_the_campaign(live_schema) -> None:
    result = run_cli(["test-event", "--format", "json", str(EXAMPLE), "track"])
    matched = [r["action"] for r in json.loads(result.stdout)["results"] if r["matched"]]
    assert matched == ["enrolContact", "sendTransactionalEmail", "sendEmailCampaign"]


def test_example_shipping_sms_sends_digits_to_cpaas(live_schema) -> None:
    result = run_cli(
        ["test-event", "--format", "json", str(EXAMPLE), str(FIXTURES / "order-shipped.json")]
    )
    assert result.exit_code == 0, result.output
    (sms,) = [r for r in json.loads(result.stdout)["results"] if r["matched"]]
    (request,) = sms["requests"]
    assert request["url"] == "https://r1-api.dotdigital.com/cpaas/messages"
    assert request["json"]["to"] == {"phoneNumber": "447000000001"}
    assert request["json"]["shortenLinks"] == "on"


def test_example_flash_sale_with_a_spaced_phone_is_rejected_with_the_e164_hint(live_schema) -> None:
    result = run_cli(
        ["test-event", "--format", "json", str(EXAMPLE), str(FIXTURES / "flash-sale.json")]
    )
    assert result.exit_code == 1
    (sms,) = [r for r in json.loads(result.stdout)["results"] if r["matched"]]
    (error,) = sms["errors"]
    assert error["hint"] == "write it as +447000000001"
    assert sms["requests"] == []


def test_example_sms_opt_in_sets_sms_consent_and_leaves_the_email_status_alone(
    live_schema, tmp_path
) -> None:
    event = {
        "type": "track",
        "event": "SMS Opt In",
        "context": {"traits": {"email": "jane@example.com", "phone": "+447000000001"}},
    }
    path = tmp_path / "opt-in.json"
    path.write_text(json.dumps(event))
    result = run_cli(["test-event", "--format", "json", str(EXAMPLE), str(path)])
    assert result.exit_code == 0, result.output
    (opt_in,) = [r for r in json.loads(result.stdout)["results"] if r["matched"]]
    (patch,) = opt_in["requests"]
    assert patch["url"].endswith("/contacts/v3/mobileNumber/+447000000001?merge-option=overwrite")
    assert patch["json"]["channelProperties"] == {
        "email": {"emailType": "html", "optInType": "single"},
        "sms": {"status": "subscribed"},
    }


def test_validate_reports_a_data_field_type_dotdigital_does_not_have(live_schema, tmp_path) -> None:
    text = EXAMPLE.read_text().replace("PLAN=String", "PLAN=Text")
    path = tmp_path / "dotdigital.yaml"
    path.write_text(text)
    result = run_cli(["validate", str(path)])
    assert result.exit_code == 1
    assert "CDP311 dataFieldTypes" in result.output
