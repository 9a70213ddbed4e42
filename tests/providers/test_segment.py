"""Segment (HTTP Tracking API): golden requests, every vector of
shared/reference/providers/segment.md §6 (TV-1..TV-8), validation, batching, and the sandbox.

The vectors are event + literal mapping (Segment's test style), so they run through the mapping
engine, the framework's clean/coerce/validate step and the plan, exactly as a dry run does.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from helpers import body_json, header, live_run, plan_requests

from cdpctl import codes, jsonwire
from cdpctl.delivery.limits import RetryPolicy
from cdpctl.delivery.transport import PlanFailed, Transport, drive, to_reply
from cdpctl.diagnostics import Severity
from cdpctl.mapping import strip_undefined, transform
from cdpctl.mappingfile import effective_mapping
from cdpctl.pipeline import dry_run
from cdpctl.providers import get_provider
from cdpctl.providers.base import ActionContext, ActionFailed, ItemResult, Reply, Request
from cdpctl.providers.payload import prepare
from cdpctl.providers.segment import (
    ENDPOINT_ERROR,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MISSING_ID_ERROR,
    pack,
)
from cdpctl.sandbox.providers.segment import WRITE_KEY
from cdpctl.sandbox.server import SandboxServer
from cdpctl.secrets import resolve_settings

SEGMENT = get_provider("segment")
assert SEGMENT is not None
SETTINGS = {"source_write_key": "test-source-write-key"}
AUTH = "Basic dGVzdC1zb3VyY2Utd3JpdGUta2V5Og=="
US = "https://api.segment.io/v1"
EU = "https://events.eu1.segmentapis.com/v1"
IDS = {"user_id": "test-user-ufi5bgkko5", "anonymous_id": "arky4h2sh7k"}
ID_MAPPING = {"user_id": {"@path": "$.userId"}, "anonymous_id": {"@path": "$.anonymousId"}}
SANDBOX_SETTINGS = {"source_write_key": WRITE_KEY}


def action(name: str):
    spec = SEGMENT.action(name)
    assert spec is not None, name
    return spec


def render(
    name: str,
    mapping: dict[str, Any],
    event: dict[str, Any],
    settings: dict[str, Any] = SETTINGS,
) -> list[Request]:
    """Event + literal mapping → mapped payload → framework step → the plan's requests."""
    payload = strip_undefined(transform(mapping, event))
    cleaned, errors = prepare(action(name), payload, settings)
    assert not [e for e in errors if e.severity is Severity.ERROR], errors
    return dry_run(action(name).plan(cleaned, ActionContext(settings=settings)))


def errors_of(name: str, payload: dict[str, Any], settings: dict[str, Any] = SETTINGS):
    return prepare(action(name), payload, settings)[1]


def pre_2024(body: bytes) -> bytes:
    """The body as Segment's destination sent it before 2024: no `type`, no `context.consent`
    (both added since; cdpctl sends them — reference §4.1)."""
    message = json.loads(body)
    del message["type"]
    del message["context"]["consent"]
    return jsonwire.dumps(message)


def run_batch(
    name: str,
    payloads: list[dict[str, Any]],
    reply: Callable[[Request], Reply] = lambda request: Reply(200, {"success": True}),
    settings: dict[str, Any] = SETTINGS,
) -> tuple[list[Request], list[ItemResult]]:
    """Drive `plan_batch` with scripted replies; returns the requests and the item results."""
    spec = action(name)
    assert spec.plan_batch is not None
    cleaned = [prepare(spec, payload, settings)[0] for payload in payloads]
    plan = spec.plan_batch(cleaned, ActionContext(settings=settings))
    requests: list[Request] = []
    try:
        request = next(plan)
        while True:
            requests.append(request)
            request = plan.send(reply(request))
    except StopIteration as stop:
        return requests, stop.value


# --- authentication, regions, settings -------------------------------------------------------


def test_write_key_is_basic_auth_user_name_with_empty_password_and_colon() -> None:
    (request,) = plan_requests(
        "segment", "sendTrack", {"user_id": "u", "event_name": "e"}, SETTINGS
    )
    assert header(request, "Authorization") == AUTH
    assert base64.b64decode(AUTH.split()[1]) == b"test-source-write-key:"
    assert header(request, "Content-Type") == "application/json"


def test_reference_example_write_key_abc123_encodes_as_documented() -> None:
    settings = {"source_write_key": "abc123"}
    (request,) = plan_requests(
        "segment", "sendTrack", {"user_id": "u", "event_name": "e"}, settings
    )
    assert header(request, "Authorization") == "Basic YWJjMTIzOg=="


def test_derived_basic_credentials_are_registered_as_a_secret_for_redaction() -> None:
    resolved = resolve_settings(
        SEGMENT, {"source_write_key": "${SEGMENT_WRITE_KEY}"}, {"SEGMENT_WRITE_KEY": "abc123"}
    )
    secrets = [value for value, _ in resolved.secrets]
    assert "abc123" in secrets
    assert "YWJjMTIzOg==" in secrets


def test_endpoint_defaults_to_north_america() -> None:
    resolved = resolve_settings(SEGMENT, {"source_write_key": "k"}, {})
    assert resolved.values["endpoint"] == "north_america"
    (request,) = plan_requests(
        "segment", "sendTrack", {"user_id": "u", "event_name": "e"}, resolved.values
    )
    assert request.url == f"{US}/track"
    assert "North America" in request.purpose


def test_europe_endpoint_sends_to_events_eu1_segmentapis_com() -> None:
    settings = {**SETTINGS, "endpoint": "europe"}
    (request,) = plan_requests("segment", "sendIdentify", {"user_id": "u"}, settings)
    assert request.url == f"{EU}/identify"
    assert "Europe" in request.purpose


def test_tv2_incorrect_endpoint_fails_with_segments_message() -> None:
    settings = {**SETTINGS, "endpoint": "incorrect-endpoint"}
    cleaned, errors = prepare(action("sendIdentify"), {"user_id": "u", "message_id": "m"}, settings)
    assert errors == []
    with pytest.raises(ActionFailed) as failure:
        dry_run(action("sendIdentify").plan(cleaned, ActionContext(settings=settings)))
    assert failure.value.reason == ENDPOINT_ERROR
    assert (failure.value.status, failure.value.retryable) == (400, False)
    assert SEGMENT.check_settings is not None
    (problem,) = SEGMENT.check_settings(settings)
    assert problem.message == ENDPOINT_ERROR


def test_endpoint_setting_offers_exactly_the_two_regions() -> None:
    endpoint = SEGMENT.setting("endpoint")
    assert endpoint is not None and endpoint.enum == ("north_america", "europe")
    key = SEGMENT.setting("source_write_key")
    assert key is not None and key.secret and key.required


# --- TV-1 .. TV-6: the reference vectors ------------------------------------------------------

TV1_EVENT = {
    "type": "identify",
    "userId": "test-user-ufi5bgkko5",
    "anonymousId": "arky4h2sh7k",
    "traits": {
        "name": "Test User",
        "email": "test-user@test-company.com",
        "address": {
            "city": "City_1",
            "state": "Haryana",
            "country": "India",
            "postalCode": "183921",
        },
    },
}
TV1_MESSAGE = (
    b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","context":{"consent":{}},'
    b'"traits":{"name":"Test User","email":"test-user@test-company.com","address":{"state":'
    b'"Haryana","city":"City_1","country":"India","postalCode":"183921"}},"type":"identify"}'
)


def test_tv1_identify_with_address_mapping_exact_bytes() -> None:
    mapping = {
        **ID_MAPPING,
        "traits": {"@path": "$.traits"},
        "address": {
            "state": {"@path": "$.traits.address.state"},
            "city": {"@path": "$.traits.address.city"},
            "country": {"@path": "$.traits.address.country"},
            "postalCode": {"@path": "$.traits.address.postalCode"},
        },
    }
    (request,) = render("sendIdentify", mapping, TV1_EVENT)
    assert (request.method, request.url) == ("POST", f"{US}/identify")
    assert header(request, "Authorization") == AUTH
    assert request.body() == TV1_MESSAGE


def test_tv1_identify_through_batch_wraps_the_same_message() -> None:
    payload = {
        **IDS,
        "traits": TV1_EVENT["traits"],
        "address": {
            "state": "Haryana",
            "city": "City_1",
            "country": "India",
            "postalCode": "183921",
        },
    }
    requests, results = run_batch("sendIdentify", [payload])
    (request,) = requests
    assert (request.method, request.url) == ("POST", f"{US}/batch")
    assert request.body() == b'{"batch":[' + TV1_MESSAGE + b"]}"
    assert results == [ItemResult(True, 200)]


def test_tv2_identify_body_matches_the_pre_2024_bytes_plus_consent_and_type() -> None:
    event = {**TV1_EVENT, "traits": {"name": "Test User", "email": "test-user@test-company.com"}}
    mapping = {**ID_MAPPING, "traits": {"@path": "$.traits"}}
    (request,) = render("sendIdentify", mapping, event, {**SETTINGS, "endpoint": "north_america"})
    assert request.url == "https://api.segment.io/v1/identify"
    assert pre_2024(request.body()) == (
        b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","context":{},'
        b'"traits":{"name":"Test User","email":"test-user@test-company.com"}}'
    )
    assert request.body() == (
        b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","context":{"consent":{}},'
        b'"traits":{"name":"Test User","email":"test-user@test-company.com"},"type":"identify"}'
    )


TRACK_MAPPING = {
    **ID_MAPPING,
    "event_name": {"@path": "$.event"},
    "properties": {"@path": "$.properties"},
    "traits": {"@path": "$.traits"},
}


def test_tv3_track_exact_bytes() -> None:
    event = {
        "type": "track",
        "event": "Test Event",
        "userId": "test-user-ufi5bgkko5",
        "anonymousId": "arky4h2sh7k",
        "properties": {"plan": "Business"},
        "traits": {},
    }
    (request,) = render("sendTrack", TRACK_MAPPING, event)
    assert (request.method, request.url) == ("POST", f"{US}/track")
    assert request.body() == (
        b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","event":"Test Event",'
        b'"context":{"traits":{},"consent":{}},"properties":{"plan":"Business"},"type":"track"}'
    )


def test_tv3_pre_2024_required_fields_snapshot_bytes() -> None:
    value = "ET^Xg5cIGF]2ok"
    payload = {"user_id": value, "anonymous_id": value, "event_name": value, "group_id": value}
    (request,) = plan_requests("segment", "sendTrack", payload, SETTINGS)
    assert pre_2024(request.body()) == (
        b'{"userId":"ET^Xg5cIGF]2ok","anonymousId":"ET^Xg5cIGF]2ok","event":"ET^Xg5cIGF]2ok",'
        b'"context":{"traits":{},"groupId":"ET^Xg5cIGF]2ok"},"properties":{}}'
    )


@pytest.mark.parametrize("name", ["sendTrack", "sendGroup", "sendIdentify"])
def test_tv3_tv6_missing_user_and_anonymous_id_is_a_payload_error(name: str) -> None:
    payload = {"event_name": "Test Event", "group_id": "g", "user_id": "", "anonymous_id": None}
    (error,) = errors_of(name, payload)
    assert error.message == "Either `Anonymous ID` or `User ID` must be defined."
    assert error.severity is Severity.ERROR
    assert error.code == codes.PAYLOAD_RULE


def test_plan_refuses_a_payload_without_identifier_even_if_validation_was_skipped() -> None:
    with pytest.raises(ActionFailed) as failure:
        dry_run(action("sendPage").plan({"page_name": "Home"}, ActionContext(settings=SETTINGS)))
    assert failure.value.reason == MISSING_ID_ERROR


def test_tv4_page_exact_bytes() -> None:
    event = {
        "type": "page",
        "name": "Home",
        "properties": {"title": "Home | Example Company", "url": "http://www.example.com"},
        "userId": "test-user-ufi5bgkko5",
        "anonymousId": "arky4h2sh7k",
    }
    mapping = {
        **ID_MAPPING,
        "page_name": {"@path": "$.name"},
        "properties": {"@path": "$.properties"},
    }
    (request,) = render("sendPage", mapping, event)
    assert (request.method, request.url) == ("POST", f"{US}/page")
    body = (
        b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","name":"Home",'
        b'"context":{"consent":{}},"properties":{"name":"Home","title":"Home | Example Company",'
        b'"url":"http://www.example.com"},"type":"page"}'
    )
    assert request.body() == body
    assert pre_2024(request.body()) == body.replace(b',"type":"page"', b"").replace(
        b'"consent":{}', b""
    )


def test_tv5_screen_exact_bytes_without_screen_name() -> None:
    event = {
        "type": "screen",
        "name": "Home",
        "properties": {"Feed Type": "private"},
        "userId": "test-user-ufi5bgkko5",
        "anonymousId": "arky4h2sh7k",
    }
    mapping = {**ID_MAPPING, "properties": {"@path": "$.properties"}}
    (request,) = render("sendScreen", mapping, event)
    assert (request.method, request.url) == ("POST", f"{US}/screen")
    assert request.body() == (
        b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","context":{"consent":{}},'
        b'"properties":{"Feed Type":"private"},"type":"screen"}'
    )


def test_tv6_group_exact_bytes() -> None:
    event = {
        "type": "group",
        "groupId": "test-group-ks2i7e",
        "traits": {"name": "Example Corp", "industry": "Technology"},
        "userId": "test-user-ufi5bgkko5",
        "anonymousId": "arky4h2sh7k",
    }
    mapping = {**ID_MAPPING, "group_id": {"@path": "$.groupId"}, "traits": {"@path": "$.traits"}}
    (request,) = render("sendGroup", mapping, event)
    assert (request.method, request.url) == ("POST", f"{US}/group")
    assert request.body() == (
        b'{"userId":"test-user-ufi5bgkko5","anonymousId":"arky4h2sh7k","groupId":'
        b'"test-group-ks2i7e","context":{"consent":{}},"traits":{"name":"Example Corp",'
        b'"industry":"Technology"},"type":"group"}'
    )


# --- TV-7: every field (golden "all fields" for sendTrack) ------------------------------------

CONTEXT_PAYLOAD = {
    "application": {"name": "Shop", "version": "5.1", "build": "51", "namespace": "com.shop"},
    "campaign_parameters": {
        "name": "spring",
        "source": "newsletter",
        "medium": "email",
        "term": "shoes",
        "content": "hero",
    },
    "device": {
        "id": "dev-1",
        "advertising_id": "ad-1",
        "adTracking_Enabled": False,
        "manufacturer": "Apple",
        "model": "iPhone15,2",
        "name": "Ann's phone",
        "type": "ios",
        "token": "tok-1",
    },
    "ip_address": "203.0.113.7",
    "locale": "en-GB",
    "location": {
        "city": "London",
        "country": "GB",
        "latitude": 51.5,
        "longitude": -0.12,
        "speed": 0,
    },
    "network": {"bluetooth": False, "carrier": "EE", "cellular": False, "wifi": False},
    "operating_system": {"name": "iOS", "version": "17.4"},
    "page": {
        "path": "/p",
        "referrer": "https://r.example/",
        "search": "?q=1",
        "title": "P",
        "url": "https://example.com/p",
    },
    "screen": {"density": 3, "height": 2556, "width": 1179},
    "user_agent": "Mozilla/5.0",
    "timezone": "Europe/London",
}
CONSENT = {"categoryPreferences": {"analytics": True, "marketing": False}}
CONTEXT_JSON = (
    b'"app":{"name":"Shop","version":"5.1","build":"51","namespace":"com.shop"},'
    b'"campaign":{"name":"spring","source":"newsletter","medium":"email","term":"shoes",'
    b'"content":"hero"},'
    b'"consent":{"categoryPreferences":{"analytics":true,"marketing":false}},'
    b'"device":{"id":"dev-1","advertising_id":"ad-1","adTracking_Enabled":false,'
    b'"manufacturer":"Apple","model":"iPhone15,2","name":"Ann\'s phone","type":"ios",'
    b'"token":"tok-1"},'
    b'"ip":"203.0.113.7","locale":"en-GB",'
    b'"location":{"city":"London","country":"GB","latitude":51.5,"longitude":-0.12,"speed":0},'
    b'"network":{"bluetooth":false,"carrier":"EE","cellular":false,"wifi":false},'
    b'"os":{"name":"iOS","version":"17.4"},'
    b'"page":{"path":"/p","referrer":"https://r.example/","search":"?q=1","title":"P",'
    b'"url":"https://example.com/p"},'
    b'"screen":{"density":3,"height":2556,"width":1179},'
    b'"userAgent":"Mozilla/5.0"'
)
COMMON = {
    "user_id": "u_1",
    "anonymous_id": "a_1",
    "timestamp": "2024-01-02T03:04:05.678Z",
    "message_id": "m_1",
    "consent": CONSENT,
    **CONTEXT_PAYLOAD,
}
HEAD = b'"userId":"u_1","anonymousId":"a_1","timestamp":"2024-01-02T03:04:05.678Z"'


def test_tv7_track_all_fields_golden_with_context_in_segments_key_order() -> None:
    payload = {
        **COMMON,
        "event_name": "Order Completed",
        "group_id": "acme",
        "properties": {"revenue": 42.5, "currency": "GBP"},
        "traits": {"email": "ann@example.com"},
    }
    (request,) = plan_requests("segment", "sendTrack", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/track")
    assert request.body() == (
        b"{" + HEAD + b',"event":"Order Completed","messageId":"m_1","context":{'
        b'"traits":{"email":"ann@example.com"},' + CONTEXT_JSON + b',"timezone":"Europe/London",'
        b'"groupId":"acme"},"properties":{"revenue":42.5,"currency":"GBP"},"type":"track"}'
    )


def test_track_required_fields_only_golden() -> None:
    (request,) = plan_requests(
        "segment", "sendTrack", {"user_id": "u_1", "event_name": "Signed Up"}, SETTINGS
    )
    assert request.body() == (
        b'{"userId":"u_1","event":"Signed Up","context":{"traits":{},"consent":{}},'
        b'"properties":{},"type":"track"}'
    )


def test_track_reference_example_4_1() -> None:
    payload = {
        "user_id": "u_1",
        "event_name": "Order Completed",
        "message_id": "m_2",
        "properties": {"revenue": 42.5},
    }
    (request,) = plan_requests("segment", "sendTrack", payload, SETTINGS)
    assert request.url == "https://api.segment.io/v1/track"
    assert request.body() == (
        b'{"userId":"u_1","event":"Order Completed","messageId":"m_2","context":{"traits":{},'
        b'"consent":{}},"properties":{"revenue":42.5},"type":"track"}'
    )


# --- golden requests of the other actions -----------------------------------------------------


def test_identify_all_fields_golden() -> None:
    payload = {
        **COMMON,
        "group_id": "acme",
        "traits": {"email": "ann@example.com", "address": {"city": "Old"}, "plan": "pro"},
        "address": {
            "street": "1 High St",
            "city": "London",
            "state": "LDN",
            "country": "GB",
            "postalCode": "EC1A 1BB",
        },
    }
    (request,) = plan_requests("segment", "sendIdentify", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/identify")
    assert request.body() == (
        b"{"
        + HEAD
        + b',"messageId":"m_1","context":{'
        + CONTEXT_JSON
        + b',"timezone":"Europe/London","groupId":"acme"},"traits":{"email":"ann@example.com",'
        b'"address":{"street":"1 High St","city":"London","state":"LDN","country":"GB",'
        b'"postalCode":"EC1A 1BB"},"plan":"pro"},"type":"identify"}'
    )


def test_identify_required_fields_only_golden() -> None:
    (request,) = plan_requests("segment", "sendIdentify", {"anonymous_id": "a_1"}, SETTINGS)
    assert request.body() == (
        b'{"anonymousId":"a_1","context":{"consent":{}},"traits":{},"type":"identify"}'
    )


def test_identify_reference_example_3_1_with_suggested_default_mappings() -> None:
    event = {
        "type": "identify",
        "userId": "u_1",
        "anonymousId": "a_1",
        "messageId": "m_1",
        "timestamp": "2024-01-02T03:04:05.678Z",
        "traits": {"email": "ann@example.com", "plan": "pro"},
        "context": {"ip": "203.0.113.7", "locale": "en-GB"},
    }
    mapping, _ = effective_mapping(action("sendIdentify"), {}, use_defaults=True)
    (request,) = render("sendIdentify", mapping, event)
    assert request.body() == (
        b'{"userId":"u_1","anonymousId":"a_1","timestamp":"2024-01-02T03:04:05.678Z",'
        b'"messageId":"m_1","context":{"consent":{},"ip":"203.0.113.7","locale":"en-GB"},'
        b'"traits":{"email":"ann@example.com","plan":"pro"},"type":"identify"}'
    )


def test_page_all_fields_golden_properties_built_from_page_then_overridden() -> None:
    payload = {
        **COMMON,
        "page_name": "Pricing",
        "page_category": "Marketing",
        "group_id": "acme",
        "properties": {"title": "Overridden", "plan": "pro"},
    }
    (request,) = plan_requests("segment", "sendPage", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/page")
    assert request.body() == (
        b"{"
        + HEAD
        + b',"name":"Pricing","messageId":"m_1","context":{'
        + CONTEXT_JSON
        + b',"timezone":"Europe/London","groupId":"acme"},"properties":{"name":"Pricing",'
        b'"category":"Marketing","path":"/p","referrer":"https://r.example/","search":"?q=1",'
        b'"title":"Overridden","url":"https://example.com/p","plan":"pro"},"type":"page"}'
    )


def test_page_required_fields_only_golden() -> None:
    (request,) = plan_requests("segment", "sendPage", {"user_id": "u_1"}, SETTINGS)
    assert request.body() == (
        b'{"userId":"u_1","context":{"consent":{}},"properties":{},"type":"page"}'
    )


def test_page_mapped_name_keeps_its_first_position_like_javascript_spread() -> None:
    payload = {"user_id": "u", "page": {"url": "https://e.x/"}, "properties": {"a": 1, "name": "N"}}
    (request,) = plan_requests("segment", "sendPage", payload, SETTINGS)
    assert request.body().endswith(
        b'"properties":{"name":"N","url":"https://e.x/","a":1},"type":"page"}'
    )


def test_screen_all_fields_golden_leaves_timezone_out() -> None:
    payload = {
        **COMMON,
        "screen_name": "Order Summary",
        "group_id": "acme",
        "properties": {"order_id": "ORD-1"},
    }
    (request,) = plan_requests("segment", "sendScreen", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/screen")
    assert request.body() == (
        b"{"
        + HEAD
        + b',"name":"Order Summary","messageId":"m_1","context":{'
        + CONTEXT_JSON
        + b',"groupId":"acme"},"properties":{"name":"Order Summary","order_id":"ORD-1"},'
        b'"type":"screen"}'
    )


def test_screen_required_fields_only_golden() -> None:
    (request,) = plan_requests("segment", "sendScreen", {"anonymous_id": "a"}, SETTINGS)
    assert request.body() == (
        b'{"anonymousId":"a","context":{"consent":{}},"properties":{},"type":"screen"}'
    )


def test_group_all_fields_golden_group_id_only_at_top_level() -> None:
    payload = {**COMMON, "group_id": "acme", "traits": {"name": "Acme", "employees": 42}}
    (request,) = plan_requests("segment", "sendGroup", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/group")
    assert request.body() == (
        b'{"userId":"u_1","anonymousId":"a_1","groupId":"acme",'
        b'"timestamp":"2024-01-02T03:04:05.678Z","messageId":"m_1","context":{'
        + CONTEXT_JSON
        + b',"timezone":"Europe/London"},"traits":{"name":"Acme","employees":42},"type":"group"}'
    )


def test_group_required_fields_only_golden_matches_reference_example() -> None:
    payload = {"user_id": "u_1", "group_id": "acme", "traits": {"name": "Acme", "employees": 42}}
    (request,) = plan_requests("segment", "sendGroup", payload, SETTINGS)
    assert request.body() == (
        b'{"userId":"u_1","groupId":"acme","context":{"consent":{}},'
        b'"traits":{"name":"Acme","employees":42},"type":"group"}'
    )


@pytest.mark.parametrize(
    ("name", "sample"),
    [
        ("sendIdentify", "identify"),
        ("sendTrack", "track"),
        ("sendPage", "page"),
        ("sendScreen", "screen"),
        ("sendGroup", "group"),
    ],
)
def test_default_mappings_render_the_bundled_samples_without_errors(name: str, sample: str) -> None:
    from cdpctl.events import load_event

    event = load_event(sample)
    mapping, _ = effective_mapping(action(name), {}, use_defaults=True)
    payload = strip_undefined(transform(mapping, event))
    cleaned, problems = prepare(action(name), payload, SETTINGS)
    assert not problems, problems
    (request,) = dry_run(action(name).plan(cleaned, ActionContext(settings=SETTINGS)))
    message = body_json(request)
    assert message["type"] == sample
    assert message["messageId"] == event["messageId"]
    assert message["userId"] == event["userId"]


# --- consent -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "sent"),
    [
        (CONSENT, CONSENT),
        ({"categoryPreferences": {}}, {"categoryPreferences": {}}),
        ({"categoryPreferences": {"ads": "yes"}}, {}),
        ({"other": True}, {}),
        ("granted", {}),
        (["a"], {}),
    ],
)
def test_consent_is_copied_only_when_category_preferences_are_all_booleans(
    consent: Any, sent: dict[str, Any]
) -> None:
    payload = {"user_id": "u", "consent": consent}
    (request,) = plan_requests("segment", "sendIdentify", payload, SETTINGS)
    assert body_json(request)["context"]["consent"] == sent
    warned = [e for e in errors_of("sendIdentify", payload) if "consent" in e.message]
    assert bool(warned) == (sent != consent)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "field"), [("sendTrack", "event_name"), ("sendGroup", "group_id")]
)
def test_missing_required_field_is_reported(name: str, field: str) -> None:
    errors = errors_of(name, {"user_id": "u"})
    assert [(e.code, e.json_path) for e in errors] == [(codes.PAYLOAD_MISSING_FIELD, (field,))]


def test_wrong_types_are_reported_for_objects_and_nested_booleans() -> None:
    payload = {"user_id": "u", "properties": "not-an-object", "network": {"wifi": "maybe"}}
    errors = errors_of("sendPage", payload)
    assert {(e.code, e.json_path) for e in errors} == {
        (codes.PAYLOAD_WRONG_TYPE, ("properties",)),
        (codes.PAYLOAD_WRONG_TYPE, ("network", "wifi")),
    }


def test_numbers_mapped_to_string_fields_are_coerced_like_segment() -> None:
    (request,) = plan_requests("segment", "sendIdentify", {"user_id": 42}, SETTINGS)
    assert body_json(request)["userId"] == "42"


def test_single_call_over_32_kb_is_a_too_long_payload_error() -> None:
    payload = {"user_id": "u", "event_name": "e", "properties": {"blob": "x" * MAX_EVENT_BYTES}}
    (error,) = [e for e in errors_of("sendTrack", payload) if e.severity is Severity.ERROR]
    assert error.code == codes.PAYLOAD_TOO_LONG
    assert "32 KB" in error.message and str(MAX_EVENT_BYTES) in error.message


def test_message_of_exactly_32_kb_is_accepted() -> None:
    empty = len(
        plan_requests(
            "segment",
            "sendTrack",
            {"user_id": "u", "event_name": "e", "properties": {"b": ""}},
            SETTINGS,
        )[0].body()
    )
    payload = {
        "user_id": "u",
        "event_name": "e",
        "properties": {"b": "x" * (MAX_EVENT_BYTES - empty)},
    }
    (request,) = plan_requests("segment", "sendTrack", payload, SETTINGS)
    assert len(request.body()) == MAX_EVENT_BYTES


def test_warnings_for_missing_or_long_message_id_bad_timestamp_and_screen_timezone() -> None:
    messages = [
        e.message
        for e in errors_of(
            "sendScreen", {"user_id": "u", "timezone": "UTC", "timestamp": "yesterday"}
        )
    ]
    assert any("no message_id" in m for m in messages)
    assert any("not ISO-8601" in m for m in messages)
    assert any("timezone is not sent" in m for m in messages)
    long_id = errors_of("sendTrack", {"user_id": "u", "event_name": "e", "message_id": "m" * 100})
    assert [e.severity for e in long_id] == [Severity.WARNING]
    assert "fewer than 100" in long_id[0].message
    assert errors_of("sendTrack", {"user_id": "u", "event_name": "e", "message_id": "m" * 99}) == []


# --- responses ---------------------------------------------------------------------------------


def _single_plan(reply: Reply) -> None:
    cleaned, _ = prepare(action("sendTrack"), {"user_id": "u", "event_name": "e"}, SETTINGS)
    plan = action("sendTrack").plan(cleaned, ActionContext(settings=SETTINGS, dry_run=False))
    request = next(plan)
    assert request.handles == frozenset({400, 401, 403})
    plan.send(reply)


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_mean_a_bad_write_key_and_are_not_retried(status: int) -> None:
    with pytest.raises(ActionFailed) as failure:
        _single_plan(
            Reply(status, {"success": False, "message": "An invalid write key was provided"})
        )
    assert failure.value.status == status and not failure.value.retryable
    assert "write key" in failure.value.reason and "An invalid write key" in failure.value.reason


def test_400_explains_size_or_json_and_is_not_retried() -> None:
    with pytest.raises(ActionFailed) as failure:
        _single_plan(Reply(400, {"success": False, "message": "Exceed payload limit"}))
    assert failure.value.status == 400 and not failure.value.retryable
    assert "Exceed payload limit" in failure.value.reason and "32 KB" in failure.value.reason


def test_transient_statuses_are_retryable_by_the_framework_rule() -> None:
    assert all(SEGMENT.is_retryable(s) for s in (408, 423, 429, 500, 502, 503, 504))
    assert not any(SEGMENT.is_retryable(s) for s in (400, 401, 403, 501))


def test_rate_limit_is_segments_documented_1000_per_second_with_a_link() -> None:
    assert SEGMENT.rate_limit.requests_per_second == 1000
    assert SEGMENT.rate_limit.doc_url.startswith("https://segment.com/docs/")


# --- TV-8: credential check ------------------------------------------------------------------


def test_tv8_credential_check_request_and_success() -> None:
    assert SEGMENT.test_authentication is not None
    plan = SEGMENT.test_authentication(ActionContext(settings=SETTINGS))
    request = next(plan)
    assert (request.method, request.url) == (
        "GET",
        "https://cdn.segment.com/v1/projects/test-source-write-key/settings",
    )
    with pytest.raises(StopIteration):
        plan.send(Reply(200, {}))


def test_tv8_credential_check_401_is_reported_as_invalid_credentials() -> None:
    assert SEGMENT.test_authentication is not None
    plan = SEGMENT.test_authentication(ActionContext(settings=SETTINGS))
    next(plan)
    with pytest.raises(ActionFailed) as failure:
        plan.send(Reply(401, {}))
    assert failure.value.reason == "Credentials are invalid: 401 Unauthorized"


# --- batching ----------------------------------------------------------------------------------


def test_every_action_declares_segments_batch_limits() -> None:
    for spec in SEGMENT.actions:
        assert spec.batch is not None and spec.plan_batch is not None
        assert (spec.batch.max_events, spec.batch.max_bytes) == (2500, 500 * 1024)
        assert spec.batch.doc_url.startswith("https://segment.com/docs/")


def test_pack_respects_bytes_including_envelope_and_commas() -> None:
    # envelope {"batch":[]} is 12 bytes; 3 items of 40 need 12 + 120 + 2 commas = 134 bytes.
    assert pack([40, 40, 40], 134, 10) == [[0, 1, 2]]
    assert pack([40, 40, 40], 133, 10) == [[0, 1], [2]]
    assert pack([], 100, 10) == []


def test_pack_respects_the_event_count() -> None:
    assert pack([1] * 5, 10_000, 2) == [[0, 1], [2, 3], [4]]


def _track(index: int, blob: int = 0) -> dict[str, Any]:
    payload: dict[str, Any] = {"user_id": f"u{index}", "event_name": "E", "message_id": f"m{index}"}
    if blob:
        payload["properties"] = {"blob": "x" * blob}
    return payload


def test_batch_is_split_by_bytes_into_requests_under_500_kb() -> None:
    payloads = [_track(i, 30_000) for i in range(40)]  # ~1.2 MB in all
    requests, results = run_batch("sendTrack", payloads)
    assert len(requests) == 3
    assert all(len(r.body()) <= MAX_BATCH_BYTES for r in requests)
    assert all(r.url == f"{US}/batch" and header(r, "Authorization") == AUTH for r in requests)
    sent = [m["messageId"] for r in requests for m in body_json(r)["batch"]]
    assert sent == [f"m{i}" for i in range(40)]
    assert results == [ItemResult(True, 200)] * 40


def test_batch_is_split_at_2500_events() -> None:
    requests, results = run_batch("sendTrack", [_track(i) for i in range(MAX_BATCH_EVENTS + 1)])
    assert [len(body_json(r)["batch"]) for r in requests] == [MAX_BATCH_EVENTS, 1]
    assert all(result.ok for result in results)


def test_every_batch_item_carries_its_type() -> None:
    payloads = [{"user_id": "u", "group_id": "g1"}, {"anonymous_id": "a", "group_id": "g2"}]
    (request,), _ = run_batch("sendGroup", payloads)
    assert [m["type"] for m in body_json(request)["batch"]] == ["group", "group"]


def test_oversize_event_fails_alone_and_the_rest_is_sent() -> None:
    payloads = [_track(0), _track(1, MAX_EVENT_BYTES), _track(2)]
    (request,), results = run_batch("sendTrack", payloads)
    assert [m["messageId"] for m in body_json(request)["batch"]] == ["m0", "m2"]
    assert results[0].ok and results[2].ok
    assert not results[1].ok and not results[1].retryable
    assert "32 KB" in results[1].reason


def test_event_without_identifier_fails_alone_in_a_batch() -> None:
    payloads = [_track(0), {"event_name": "E"}]
    (request,), results = run_batch("sendTrack", payloads)
    assert len(body_json(request)["batch"]) == 1
    assert results[1] == ItemResult(False, reason=MISSING_ID_ERROR)


def test_batch_400_is_bisected_so_only_the_refused_event_fails() -> None:
    def reply(request: Request) -> Reply:
        ids = [m["messageId"] for m in body_json(request)["batch"]]
        if "m2" in ids:
            return Reply(400, {"success": False, "message": "Exceed payload limit"})
        return Reply(200, {"success": True})

    requests, results = run_batch("sendTrack", [_track(i) for i in range(4)], reply)
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[2].status == 400 and "Exceed payload limit" in results[2].reason
    batches = [[m["messageId"] for m in body_json(r)["batch"]] for r in requests]
    assert batches == [["m0", "m1", "m2", "m3"], ["m0", "m1"], ["m2", "m3"], ["m2"], ["m3"]]


def test_batch_401_fails_every_event_and_sends_no_further_batch() -> None:
    payloads = [_track(i, 30_000) for i in range(40)]
    requests, results = run_batch("sendTrack", payloads, lambda r: Reply(401, {}))
    assert len(requests) == 1
    assert all(not r.ok and r.status == 401 and "write key" in r.reason for r in results)


def test_batch_with_invalid_endpoint_fails_like_a_single_call() -> None:
    with pytest.raises(ActionFailed, match="valid endpoint"):
        run_batch("sendTrack", [_track(0)], settings={**SETTINGS, "endpoint": "mars"})


def test_europe_batches_go_to_the_eu_host() -> None:
    (request,), _ = run_batch(
        "sendPage", [{"user_id": "u"}], settings={**SETTINGS, "endpoint": "europe"}
    )
    assert request.url == f"{EU}/batch"


# --- sandbox -----------------------------------------------------------------------------------


def _state(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.state.providers["segment"]


def send_sync(client: httpx.Client, request: Request, endpoint: str) -> Reply:
    """One raw request to the sandbox (for bodies cdpctl itself would never build)."""
    target = request.with_base(endpoint)
    response = client.request(
        target.method, target.url, headers=target.wire_headers(), content=target.body() or None
    )
    return to_reply(response.status_code, response.content, response.headers)


def drive_live(plan: Any, endpoint: str) -> tuple[list[Any], Any]:
    """Run a plan against the sandbox through the real transport, without retries."""

    async def run() -> tuple[list[Any], Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            transport = Transport(
                client, SEGMENT.is_retryable, policy=RetryPolicy(max_attempts=1), endpoint=endpoint
            )
            return await drive(plan, transport.send)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("name", "payload", "kind"),
    [
        (
            "sendIdentify",
            {"user_id": "u1", "message_id": "m-id", "traits": {"plan": "pro"}},
            "identify",
        ),
        ("sendTrack", {"user_id": "u1", "message_id": "m-tr", "event_name": "Paid"}, "track"),
        ("sendPage", {"anonymous_id": "a1", "message_id": "m-pg", "page_name": "Home"}, "page"),
        ("sendScreen", {"user_id": "u1", "message_id": "m-sc", "screen_name": "Cart"}, "screen"),
        ("sendGroup", {"user_id": "u1", "message_id": "m-gr", "group_id": "acme"}, "group"),
    ],
)
def test_sandbox_accepts_each_call_and_stores_it_by_message_id(
    sandbox: SandboxServer, name: str, payload: dict[str, Any], kind: str
) -> None:
    exchanges, _ = live_run("segment", name, payload, SANDBOX_SETTINGS, sandbox.url)
    (exchange,) = exchanges
    assert exchange.reply.status == 200 and exchange.reply.json == {"success": True}
    stored = _state(sandbox)["messages"][payload["message_id"]]
    assert stored["type"] == kind
    assert stored == body_json(exchange.request)


def test_sandbox_europe_region_uses_the_same_paths(sandbox: SandboxServer) -> None:
    settings = {**SANDBOX_SETTINGS, "endpoint": "europe"}
    live_run(
        "segment",
        "sendTrack",
        {"user_id": "u", "event_name": "E", "message_id": "eu-1"},
        settings,
        sandbox.url,
    )
    assert "eu-1" in _state(sandbox)["messages"]


def test_sandbox_wrong_write_key_is_401_with_segments_body(sandbox: SandboxServer) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "segment",
            "sendTrack",
            {"user_id": "u", "event_name": "E"},
            {"source_write_key": "wrong-key"},
            sandbox.url,
        )
    assert failure.value.status == 401
    reply = failure.value.exchanges[0].reply
    assert reply.json == {"success": False, "message": "An invalid write key was provided"}
    assert _state(sandbox)["messages"] == {}


def test_sandbox_missing_write_key_is_400_but_write_key_in_body_is_accepted(
    sandbox: SandboxServer,
) -> None:
    with httpx.Client() as client:
        missing = client.post(f"{sandbox.url}/v1/track", json={"userId": "u", "event": "E"})
        in_body = client.post(
            f"{sandbox.url}/v1/track",
            json={"userId": "u", "event": "E", "messageId": "wk", "writeKey": WRITE_KEY},
        )
    assert missing.status_code == 400
    assert missing.json() == {"success": False, "message": "An invalid write key was provided"}
    assert in_body.status_code == 200
    assert "writeKey" not in _state(sandbox)["messages"]["wk"]


def test_sandbox_rejects_a_single_call_over_32_kb_with_400(sandbox: SandboxServer) -> None:
    request = Request(
        "POST",
        f"{US}/track",
        (
            ("Authorization", f"Basic {base64.b64encode(f'{WRITE_KEY}:'.encode()).decode()}"),
            ("Content-Type", "application/json"),
        ),
        json={"userId": "u", "event": "E", "properties": {"b": "x" * MAX_EVENT_BYTES}},
    )
    with httpx.Client() as client:
        reply = send_sync(client, request, sandbox.url)
    assert reply.status == 400
    assert reply.json == {"success": False, "message": "Exceed payload limit"}


def test_sandbox_rejects_batches_over_500_kb_or_with_an_event_over_32_kb(
    sandbox: SandboxServer,
) -> None:
    auth = (("Authorization", f"Basic {base64.b64encode(f'{WRITE_KEY}:'.encode()).decode()}"),)
    big = {"userId": "u", "type": "track", "event": "E", "properties": {"b": "x" * 30_000}}
    with httpx.Client() as client:
        too_big = send_sync(
            client, Request("POST", f"{US}/batch", auth, json={"batch": [big] * 20}), sandbox.url
        )
        huge = {**big, "properties": {"b": "x" * MAX_EVENT_BYTES}}
        one_huge = send_sync(
            client, Request("POST", f"{US}/batch", auth, json={"batch": [huge]}), sandbox.url
        )
        not_json = send_sync(
            client, Request("POST", f"{US}/batch", auth, content=b"{"), sandbox.url
        )
    assert (too_big.status, one_huge.status, not_json.status) == (400, 400, 400)
    assert too_big.json["message"] == "Exceed payload limit"
    assert not_json.json["message"] == "Invalid JSON"
    assert _state(sandbox)["messages"] == {}


def test_sandbox_answers_200_but_drops_calls_segment_would_drop(sandbox: SandboxServer) -> None:
    auth = (("Authorization", f"Basic {base64.b64encode(f'{WRITE_KEY}:'.encode()).decode()}"),)
    batch = {
        "batch": [
            {"type": "track", "userId": "u"},
            {"type": "identify"},
            {"type": "page", "userId": "u", "messageId": "ok"},
        ]
    }
    with httpx.Client() as client:
        reply = send_sync(client, Request("POST", f"{US}/batch", auth, json=batch), sandbox.url)
    assert reply.status == 200
    assert [d["reason"] for d in _state(sandbox)["dropped"]] == [
        "track without an event name",
        "no userId or anonymousId",
    ]
    assert list(_state(sandbox)["messages"]) == ["ok"]


def _live_batch(sandbox: SandboxServer, name: str, payloads: list[dict[str, Any]]):
    spec = action(name)
    assert spec.plan_batch is not None
    cleaned = [prepare(spec, p, SANDBOX_SETTINGS)[0] for p in payloads]
    ctx = ActionContext(settings=SANDBOX_SETTINGS, dry_run=False)
    return drive_live(spec.plan_batch(cleaned, ctx), sandbox.url)


def test_sandbox_batch_replayed_twice_is_delivered_once_and_duplicates_are_counted(
    sandbox: SandboxServer,
) -> None:
    payloads = [_track(i, 30_000) for i in range(25)]  # two /batch requests
    exchanges, results = _live_batch(sandbox, "sendTrack", payloads)
    assert len(exchanges) == 2 and all(r.ok for r in results)
    _live_batch(sandbox, "sendTrack", payloads)
    state = _state(sandbox)
    assert sorted(state["messages"]) == sorted(f"m{i}" for i in range(25))
    assert state["duplicates"] == 25
    assert sorted(state["duplicate_ids"]) == sorted(f"m{i}" for i in range(25))


def test_sandbox_single_send_repeated_is_recorded_as_a_duplicate(sandbox: SandboxServer) -> None:
    payload = {"user_id": "u", "event_name": "E", "message_id": "same"}
    live_run("segment", "sendTrack", payload, SANDBOX_SETTINGS, sandbox.url)
    live_run("segment", "sendTrack", payload, SANDBOX_SETTINGS, sandbox.url)
    assert list(_state(sandbox)["messages"]) == ["same"]
    assert _state(sandbox)["duplicates"] == 1


def test_sandbox_batch_with_an_oversize_event_delivers_the_others(sandbox: SandboxServer) -> None:
    payloads = [_track(0), _track(1, MAX_EVENT_BYTES), _track(2)]
    _, results = _live_batch(sandbox, "sendTrack", payloads)
    assert [r.ok for r in results] == [True, False, True]
    assert sorted(_state(sandbox)["messages"]) == ["m0", "m2"]


def test_sandbox_credential_check_accepts_the_sandbox_key_and_refuses_others(
    sandbox: SandboxServer,
) -> None:
    check = SEGMENT.test_authentication
    assert check is not None
    exchanges, _ = drive_live(check(ActionContext(SANDBOX_SETTINGS)), sandbox.url)
    assert exchanges[0].reply.status == 200
    with pytest.raises(PlanFailed) as failure:
        drive_live(check(ActionContext({"source_write_key": "nope"})), sandbox.url)
    assert failure.value.reason == "Credentials are invalid: 401 Unauthorized"


def test_sandbox_routes_do_not_collide_with_other_providers() -> None:
    from cdpctl.sandbox.providers.segment import EMULATOR

    patterns = {(r.endpoint.method, r.endpoint.path) for r in EMULATOR.routes}
    assert ("POST", "/v1/batch") in patterns and ("POST", "/v1/alias") in patterns
    assert all(pattern.startswith("/v1/") for _, pattern in patterns)
