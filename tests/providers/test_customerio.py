"""Customer.io (Actions): every vector of shared/reference/providers/customerio.md §7 (TV-1..TV-11),
golden requests for every action, date conversion, validation, batching with multistatus, and
the sandbox emulator.

Vectors are events run through each action's default mapping (Segment's `useDefaultMappings`),
the framework's clean/coerce/validate step and the plan, exactly as a dry run does. Segment runs
each entity vector four times (single and batch, US and EU); so do these tests. Bodies are
compared byte for byte, so key order is checked too.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import body_json, header, live_run, plan_requests, run_cli

from cdpctl import codes, jsonwire, mapping
from cdpctl.delivery.limits import RetryPolicy
from cdpctl.delivery.transport import PlanFailed, Transport, drive
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.mappingfile import effective_mapping
from cdpctl.providers import get_provider
from cdpctl.providers.base import Action, ActionContext, ItemResult, Reply, Request
from cdpctl.providers.customerio.api import MAX_BATCH_BYTES, RATE_LIMIT, track_host
from cdpctl.providers.customerio.batch import final_statuses, pack, read_multistatus
from cdpctl.providers.customerio.dates import event_time, iso_date_seconds
from cdpctl.providers.customerio.entity import is_email, resolve_identifiers
from cdpctl.providers.payload import prepare
from cdpctl.sandbox.providers.customerio import API_KEY, SITE_ID
from cdpctl.sandbox.server import SandboxServer, load_emulators
from cdpctl.secrets import resolve_settings

CIO = get_provider("customerio")
assert CIO is not None
ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "customerio.yaml"

SETTINGS = {"siteId": "12345", "apiKey": "abcde", "accountRegion": "US 🇺🇸"}
EU_SETTINGS = {**SETTINGS, "accountRegion": "EU 🇪🇺"}
AUTH = "Basic MTIzNDU6YWJjZGU="
US = "https://track.customer.io"
EU = "https://track-eu.customer.io"
SANDBOX_SETTINGS = {"siteId": SITE_ID, "apiKey": API_KEY}

T = "2024-01-02T03:04:05.678Z"  # the reference's fixed "now"
T_UNIX = 1704164645
M = "0b4b4b7e-7f3c-4d2a-9a55-3f1c2e6d8a10"  # createTestEvent's random messageId
PERSON_IN = {"over18": True, "identification": "valid", "birthdate": "1990-01-01T00:00:00.000Z"}
PERSON_OUT = {"over18": True, "identification": "valid", "birthdate": 631152000}
WAYS = [("single", "US"), ("single", "EU"), ("batch", "US"), ("batch", "EU")]


def act(name: str) -> Action:
    spec = CIO.action(name)
    assert spec is not None, name
    return spec


def test_event(**fields: Any) -> dict[str, Any]:
    """Segment's `createTestEvent` defaults, with the reference's fixed time and messageId."""
    event: dict[str, Any] = {
        "anonymousId": "anonId1234",
        "userId": "user1234",
        "messageId": M,
        "timestamp": T,
        "properties": {},
        "traits": {},
    }
    event.update(fields)
    return event


test_event.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test


def mapped(
    name: str,
    event: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    *,
    use_defaults: bool = True,
    settings: dict[str, Any] = SETTINGS,
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Event → the action's mapping (defaults + overrides) → the framework's prepare step."""
    effective, _ = effective_mapping(act(name), overrides or {}, use_defaults)
    payload = mapping.strip_undefined(mapping.compile_mapping(effective)(event))
    return prepare(act(name), payload, settings)


def errors_only(problems: list[Diagnostic]) -> list[Diagnostic]:
    return [p for p in problems if p.severity is Severity.ERROR]


def run_plan(plan: Any, replies: list[Reply] | None = None) -> tuple[list[Request], Any]:
    """Drive a plan with canned replies (200 {} once they run out); return requests and result."""
    queue = list(replies or [])
    requests: list[Request] = []
    try:
        request = next(plan)
        while True:
            requests.append(request)
            reply = queue.pop(0) if queue else Reply(200, {})
            assert reply.ok or reply.status in request.handles, "plan would end as a failure"
            request = plan.send(reply)
    except StopIteration as stop:
        return requests, stop.value


def send_one_way(
    way: tuple[str, str],
    name: str,
    event: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    *,
    use_defaults: bool = True,
) -> Request:
    mode, region = way
    settings = SETTINGS if region == "US" else EU_SETTINGS
    payload, problems = mapped(name, event, overrides, use_defaults=use_defaults, settings=settings)
    assert not errors_only(problems), problems
    ctx = ActionContext(settings=settings)
    if mode == "single":
        (request,), _ = run_plan(act(name).plan(payload, ctx))
    else:
        plan_batch = act(name).plan_batch
        assert plan_batch is not None
        (request,), results = run_plan(plan_batch([payload], ctx))
        assert results == [ItemResult(True, 200)]
    return request


def assert_sends(
    way: tuple[str, str],
    name: str,
    event: dict[str, Any],
    expected: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    *,
    use_defaults: bool = True,
) -> None:
    """The request is exactly what R's test-helper expects for this way: URL, auth, bytes."""
    request = send_one_way(way, name, event, overrides, use_defaults=use_defaults)
    mode, region = way
    host = US if region == "US" else EU
    assert request.method == "POST"
    assert header(request, "Authorization") == AUTH
    assert header(request, "Content-Type") == "application/json"
    if mode == "single":
        assert request.url == f"{host}/api/v2/entity"
        assert request.body() == jsonwire.dumps(expected)
    else:
        assert request.url == f"{host}/api/v2/batch"
        assert request.body() == jsonwire.dumps({"batch": [expected]})


def entity_of(name: str, event: dict[str, Any], overrides: dict[str, Any] | None = None) -> Any:
    return body_json(send_one_way(("single", "US"), name, event, overrides))


# --- settings, hosts, authentication ------------------------------------------------------


def test_basic_auth_is_site_id_and_api_key_as_in_the_reference_example() -> None:
    (request,) = plan_requests("customerio", "deletePerson", {"person_id": "u"}, SETTINGS)
    assert header(request, "Authorization") == AUTH
    assert base64.b64decode(AUTH.split()[1]) == b"12345:abcde"


def test_derived_basic_credential_is_registered_as_a_secret() -> None:
    resolved = resolve_settings(
        CIO,
        {"siteId": "${CIO_SITE}", "apiKey": "${CIO_KEY}"},
        {"CIO_SITE": "12345", "CIO_KEY": "abcde"},
    )
    secrets = dict(resolved.secrets)
    assert secrets["12345"] == "${CIO_SITE}" and secrets["abcde"] == "${CIO_KEY}"
    assert "MTIzNDU6YWJjZGU=" in secrets
    assert resolved.values["accountRegion"] == "US 🇺🇸"


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("US 🇺🇸", US),
        ("EU 🇪🇺", EU),
        ("US", US),
        ("EU", EU),
        (None, US),
        ("eu", US),  # only the exact EU values select the EU host, as in Segment
    ],
)
def test_region_selects_the_track_host(region: str | None, host: str) -> None:
    settings = {"siteId": "s", "apiKey": "k"}
    if region is not None:
        settings["accountRegion"] = region
    assert track_host(settings) == host


def test_region_setting_offers_segments_emoji_values_and_the_plain_codes() -> None:
    setting = CIO.setting("accountRegion")
    assert setting is not None
    assert setting.default == "US 🇺🇸"
    assert setting.enum == ("US 🇺🇸", "EU 🇪🇺", "US", "EU")
    assert CIO.setting("siteId").secret and CIO.setting("apiKey").secret  # type: ignore[union-attr]


def test_credential_check_always_calls_the_us_host() -> None:
    assert CIO.test_authentication is not None
    (request,), _ = run_plan(CIO.test_authentication(ActionContext(settings=EU_SETTINGS)))
    assert (request.method, request.url) == ("GET", "https://track.customer.io/auth")
    assert header(request, "Authorization") == AUTH
    assert request.body() == b""


def test_rate_limit_is_the_documented_100_per_second_with_a_link() -> None:
    assert CIO.rate_limit.requests_per_second == 100
    assert CIO.rate_limit.doc_url.startswith("https://docs.customer.io/")
    assert RATE_LIMIT is CIO.rate_limit


def test_every_action_except_delivery_metrics_batches_with_the_documented_limits() -> None:
    for action in CIO.actions:
        if action.name == "reportDeliveryEvent":
            assert action.batch is None and action.plan_batch is None
            assert action.field("enable_batching") is None
            continue
        assert action.batch is not None and action.plan_batch is not None, action.name
        assert (action.batch.max_events, action.batch.max_bytes) == (100, 499_999)
        size = action.field("batch_size")
        assert size is not None and (size.default, size.minimum, size.maximum) == (50, 2, 100)


# --- TV-1: createUpdatePerson, userId present ----------------------------------------------

TV1_EVENT = test_event(
    type="identify",
    userId="abc123",
    anonymousId="unknown_123",
    traits={
        "full_name": "Test User",
        "email": "test@example.com",
        "created_at": T,
        "person": PERSON_IN,
    },
)


@pytest.mark.parametrize("way", WAYS)
def test_tv1_create_update_person_with_user_id(way: tuple[str, str]) -> None:
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": {
            "full_name": "Test User",
            "email": "test@example.com",
            "person": PERSON_OUT,
            "created_at": T_UNIX,
            "anonymous_id": "unknown_123",
        },
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "createUpdatePerson", TV1_EVENT, expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv1_convert_timestamp_false_keeps_dates_but_still_converts_the_event_time(
    way: tuple[str, str],
) -> None:
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": {
            "full_name": "Test User",
            "email": "test@example.com",
            "person": PERSON_IN,
            "created_at": T,
            "anonymous_id": "unknown_123",
        },
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "createUpdatePerson", TV1_EVENT, expected, {"convert_timestamp": False})


@pytest.mark.parametrize("way", WAYS)
def test_tv1_unparsable_event_time_is_sent_unchanged_as_a_string(way: tuple[str, str]) -> None:
    event = {**TV1_EVENT, "timestamp": "2018-03-04T12:08:56.235 PDT"}
    entity = json.loads(send_one_way(way, "createUpdatePerson", event).body())
    if way[0] == "batch":
        (entity,) = entity["batch"]
    assert entity["timestamp"] == "2018-03-04T12:08:56.235 PDT"
    assert entity["attributes"]["created_at"] == T_UNIX


# --- TV-2: e-mail identifiers ---------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_tv2_email_user_id_becomes_the_email_identifier(way: tuple[str, str]) -> None:
    event = test_event(
        type="identify",
        userId="foo@bar.com",
        anonymousId="unknown_123",
        traits={"full_name": "Test User", "created_at": T, "person": PERSON_IN},
    )
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": {
            "full_name": "Test User",
            "person": PERSON_OUT,
            "created_at": T_UNIX,
            "anonymous_id": "unknown_123",
        },
        "timestamp": T_UNIX,
        "identifiers": {"email": "foo@bar.com"},
    }
    assert_sends(way, "createUpdatePerson", event, expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv2_null_user_id_falls_back_to_the_email_trait(way: tuple[str, str]) -> None:
    event = test_event(
        type="identify",
        userId=None,
        anonymousId="unknown_123",
        traits={
            "full_name": "Test User",
            "email": "test@example.com",
            "created_at": T,
            "person": PERSON_IN,
        },
    )
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": {
            "full_name": "Test User",
            "email": "test@example.com",
            "person": PERSON_OUT,
            "created_at": T_UNIX,
            "anonymous_id": "unknown_123",
        },
        "timestamp": T_UNIX,
        "identifiers": {"email": "test@example.com"},
    }
    assert_sends(way, "createUpdatePerson", event, expected)


# --- TV-3: object relationships -------------------------------------------------------------

TV3_TRAITS = {
    "full_name": "Test User",
    "email": "test@example.com",
    "created_at": T,
    "objectId": "g12345",
    "person": PERSON_IN,
}
TV3_ATTRIBUTES = {
    "full_name": "Test User",
    "email": "test@example.com",
    "objectId": "g12345",
    "person": PERSON_OUT,
    "created_at": T_UNIX,
    "anonymous_id": "unknown_123",
}


def tv3_event(**extra_traits: Any) -> dict[str, Any]:
    return test_event(
        type="identify",
        userId="abc123",
        anonymousId="unknown_123",
        traits={**TV3_TRAITS, **extra_traits},
    )


@pytest.mark.parametrize("way", WAYS)
def test_tv3_object_id_trait_adds_a_relationship_and_stays_an_attribute(
    way: tuple[str, str],
) -> None:
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": TV3_ATTRIBUTES,
        "cio_relationships": [{"identifiers": {"object_type_id": "1", "object_id": "g12345"}}],
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "createUpdatePerson", tv3_event(), expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv3_object_type_id_trait_moves_into_the_relationship(way: tuple[str, str]) -> None:
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": TV3_ATTRIBUTES,
        "cio_relationships": [{"identifiers": {"object_type_id": "2", "object_id": "g12345"}}],
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "createUpdatePerson", tv3_event(object_type_id="2"), expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv3_relationship_attributes_leave_the_attributes(way: tuple[str, str]) -> None:
    event = tv3_event(relationshipAttributes={"role": "admin", "prefix": "Mr."})
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": TV3_ATTRIBUTES,
        "cio_relationships": [
            {
                "identifiers": {"object_type_id": "1", "object_id": "g12345"},
                "relationship_attributes": {"role": "admin", "prefix": "Mr."},
            }
        ],
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "createUpdatePerson", event, expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv3_empty_created_at_trait_leaves_only_the_anonymous_id(way: tuple[str, str]) -> None:
    expected = {
        "type": "person",
        "action": "identify",
        "attributes": {"anonymous_id": "anonId1234"},
        "timestamp": T_UNIX,
        "identifiers": {"id": "user1234"},
    }
    assert_sends(way, "createUpdatePerson", test_event(traits={"created_at": ""}), expected)


# --- TV-4: attribute date conversion --------------------------------------------------------

TV4_TABLE = [
    ("2019-02-01", 1548979200),
    ("2007-01-02T18:04:07", 1167761047),
    ("2006-01-02T18:04:07Z", 1136225047),
    ("2006-01-02T18:04:07+01:00", 1136221447),
    ("2006-01-02T15:04:05.007", 1136214245),
    ("2006-01-02T15:04:05.007Z", 1136214245),
    ("2006-01-02T15:04:05.007+01:00", 1136210645),
    ("2006-01-02T15:04:05-0800", 1136243045),
    ("2006-01-02T15:04:05.07-0800", 1136243045),
    ("2006-01-02T15:04:05.007-0800", 1136243045),
]
TV4_UNCHANGED = [
    "25 Mar 2015",
    "Mar 25 2015",
    "01/01/2019",
    "2018-03-04T12:08:56 PDT",
    "2018-03-04T12:08:56.235 PDT",
    "15/MAR/18",
    "11-Jan-18",
]


@pytest.mark.parametrize(("value", "seconds"), TV4_TABLE)
def test_tv4_iso_8601_attribute_is_sent_as_unix_seconds(value: str, seconds: int) -> None:
    entity = entity_of("createUpdatePerson", test_event(traits={"date": value}))
    assert entity["attributes"]["date"] == seconds


@pytest.mark.parametrize("value", TV4_UNCHANGED)
def test_tv4_other_date_strings_are_sent_unchanged(value: str) -> None:
    entity = entity_of("createUpdatePerson", test_event(traits={"date": value}))
    assert entity["attributes"]["date"] == value


@pytest.mark.parametrize("digits", range(1, 10))
def test_tv4_fractions_of_one_to_nine_digits_are_iso_dates(digits: int) -> None:
    assert iso_date_seconds(f"2006-01-02T15:04:05.{'1' * digits}Z") == 1136214245


def test_tv4_a_fraction_of_ten_digits_is_not_an_iso_date() -> None:
    assert iso_date_seconds("2006-01-02T15:04:05.1234567890Z") is None


@pytest.mark.parametrize("value", ["2023-13-25", "2023-12-32", "2023-12-25T25:30:45"])
def test_tv4_invalid_calendar_values_are_not_dates(value: str) -> None:
    assert iso_date_seconds(value) is None


def test_tv4_digit_string_event_time_is_already_unix_time() -> None:
    assert event_time("1712345678.123") == "1712345678.123"
    assert event_time(1712345678) == 1712345678


def test_dates_walk_nested_objects_but_never_arrays() -> None:
    entity = entity_of(
        "createUpdatePerson",
        test_event(traits={"a": {"b": {"c": "2019-02-01"}}, "list": ["2019-02-01"]}),
    )
    assert entity["attributes"]["a"] == {"b": {"c": 1548979200}}
    assert entity["attributes"]["list"] == ["2019-02-01"]


def test_dates_cdpctl_decisions_impossible_days_stay_strings_and_24_00_is_next_midnight() -> None:
    assert iso_date_seconds("2023-02-30") is None
    assert iso_date_seconds("2024-02-29") == 1709164800
    assert iso_date_seconds("2023-12-25T24:00:00") == iso_date_seconds("2023-12-26")
    assert iso_date_seconds("1969-12-31T23:59:59.5Z") == -1  # rounded down, as Math.floor


def test_event_time_accepts_rfc_2822_and_other_iso_forms_but_not_loose_dates() -> None:
    assert event_time("Tue, 02 Jan 2024 03:04:05 +0000") == T_UNIX
    assert event_time("2024-01-02 03:04:05") == T_UNIX
    assert event_time("25 Mar 2015") == "25 Mar 2015"  # Segment's parser would convert it


# --- TV-5: trackEvent -----------------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_tv5_track_event_for_a_user(way: tuple[str, str]) -> None:
    event = test_event(
        type="track",
        event="testEvent",
        userId="abc123",
        properties={"property1": "this is a test", "person": PERSON_IN},
    )
    expected = {
        "type": "person",
        "action": "event",
        "name": "testEvent",
        "id": M,
        "attributes": {
            "property1": "this is a test",
            "person": PERSON_OUT,
            "anonymous_id": "anonId1234",
        },
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "trackEvent", event, expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv5_anonymous_track_event(way: tuple[str, str]) -> None:
    event = test_event(
        type="track",
        event="test event",
        userId=None,
        anonymousId="anonymous123",
        properties={"property1": "this is a test"},
    )
    expected = {
        "type": "person",
        "action": "event",
        "name": "test event",
        "id": M,
        "attributes": {"property1": "this is a test"},
        "timestamp": T_UNIX,
        "identifiers": {"anonymous_id": "anonymous123"},
    }
    assert_sends(way, "trackEvent", event, expected)


def test_tv5_missing_event_name_is_the_required_field_error() -> None:
    _, problems = mapped("trackEvent", test_event(type="track"))
    (error,) = errors_only(problems)
    assert error.code == codes.PAYLOAD_MISSING_FIELD
    assert error.json_path == ("name",)
    assert "missing the required field 'name'" in error.message


# --- TV-6: trackPageView --------------------------------------------------------------------

PAGE_PROPERTIES = {
    "property1": "this is a test",
    "url": "https://example.com/page-one",
    "person": PERSON_IN,
}


@pytest.mark.parametrize("way", WAYS)
def test_tv6_page_view_for_a_user(way: tuple[str, str]) -> None:
    event = test_event(type="page", userId="abc123", properties=PAGE_PROPERTIES)
    expected = {
        "type": "person",
        "action": "page",
        "name": "https://example.com/page-one",
        "attributes": {
            "property1": "this is a test",
            "url": "https://example.com/page-one",
            "person": PERSON_OUT,
            "anonymous_id": "anonId1234",
        },
        "id": M,
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "trackPageView", event, expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv6_anonymous_page_view_without_event_id_has_no_id_key(way: tuple[str, str]) -> None:
    event = test_event(
        type="page",
        userId=None,
        anonymousId="anonymous123",
        properties={"property1": "this is a test", "url": "https://example.com/page-one"},
    )
    defaults, _ = effective_mapping(act("trackPageView"), {}, True)
    without_event_id = {k: v for k, v in defaults.items() if k != "event_id"}
    expected = {
        "type": "person",
        "action": "page",
        "name": "https://example.com/page-one",
        "attributes": {"property1": "this is a test", "url": "https://example.com/page-one"},
        "timestamp": T_UNIX,
        "identifiers": {"anonymous_id": "anonymous123"},
    }
    assert_sends(way, "trackPageView", event, expected, without_event_id, use_defaults=False)


# --- TV-7: trackScreenView ------------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_tv7_screen_view(way: tuple[str, str]) -> None:
    event = test_event(
        type="screen",
        name="Page One",
        userId="abc123",
        properties={"property1": "this is a test", "screen": "Page One", "person": PERSON_IN},
    )
    expected = {
        "type": "person",
        "action": "screen",
        "name": "Page One",
        "attributes": {
            "property1": "this is a test",
            "screen": "Page One",
            "person": PERSON_OUT,
            "anonymous_id": "anonId1234",
        },
        "id": M,
        "timestamp": T_UNIX,
        "identifiers": {"id": "abc123"},
    }
    assert_sends(way, "trackScreenView", event, expected)


# --- TV-8: deletePerson, suppressPerson, mergePeople ----------------------------------------


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    ("user_id", "identifiers"),
    [("user_123", {"id": "user_123"}), ("foo@bar.com", {"email": "foo@bar.com"})],
)
def test_tv8_delete_person(way: tuple[str, str], user_id: str, identifiers: dict) -> None:
    expected = {"type": "person", "action": "delete", "identifiers": identifiers}
    assert_sends(way, "deletePerson", test_event(type="track", userId=user_id), expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv8_suppress_person(way: tuple[str, str]) -> None:
    expected = {"type": "person", "action": "suppress", "identifiers": {"id": "user_123"}}
    assert_sends(way, "suppressPerson", test_event(type="track", userId="user_123"), expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv8_merge_people_has_primary_and_secondary_and_no_identifiers(
    way: tuple[str, str],
) -> None:
    event = test_event(type="alias", userId="abc123", previousId="def456")
    expected = {
        "type": "person",
        "action": "merge",
        "primary": {"id": "abc123"},
        "secondary": {"id": "def456"},
    }
    assert_sends(way, "mergePeople", event, expected)


def test_tv8_merge_without_either_person_reports_both_required_fields() -> None:
    _, problems = mapped("mergePeople", test_event(type="alias", userId=None))
    errors = errors_only(problems)
    assert [e.json_path for e in errors] == [("primary",), ("secondary",)]
    assert all(e.code == codes.PAYLOAD_MISSING_FIELD for e in errors)
    assert [e.message for e in errors] == [
        "missing the required field 'primary'",
        "missing the required field 'secondary'",
    ]


# --- TV-9: createUpdateObject ---------------------------------------------------------------

TV9_TRAITS = {
    "object_type_id": "1",
    "objectAttributes": {"name": "Sales", "industry": "Technology", "created_at": T},
}


@pytest.mark.parametrize("way", WAYS)
def test_tv9_object_related_to_a_user(way: tuple[str, str]) -> None:
    event = test_event(
        type="group",
        userId="abc123",
        anonymousId="unknown_123",
        groupId="grp123",
        traits=TV9_TRAITS,
    )
    expected = {
        "type": "object",
        "action": "identify",
        "attributes": {
            "name": "Sales",
            "industry": "Technology",
            "created_at": T_UNIX,
            "anonymous_id": "unknown_123",
        },
        "cio_relationships": [{"identifiers": {"id": "abc123"}}],
        "identifiers": {"object_id": "grp123", "object_type_id": "1"},
    }
    assert_sends(way, "createUpdateObject", event, expected)


@pytest.mark.parametrize("way", WAYS)
def test_tv9_object_without_user_is_identify_anonymous(way: tuple[str, str]) -> None:
    event = test_event(
        type="group", userId=None, anonymousId="unknown_123", groupId="grp123", traits=TV9_TRAITS
    )
    expected = {
        "type": "object",
        "action": "identify_anonymous",
        "attributes": {
            "name": "Sales",
            "industry": "Technology",
            "created_at": T_UNIX,
            "anonymous_id": "unknown_123",
        },
        "cio_relationships": [{"identifiers": {"anonymous_id": "unknown_123"}}],
        "identifiers": {"object_id": "grp123", "object_type_id": "1"},
    }
    assert_sends(way, "createUpdateObject", event, expected)


# --- TV-10: reportDeliveryEvent -------------------------------------------------------------


def delivery_request(properties: dict[str, Any]) -> Request:
    event = test_event(type="track", event="Report Delivery Event", properties=properties)
    payload, problems = mapped("reportDeliveryEvent", event)
    assert not errors_only(problems), problems
    (request,), _ = run_plan(act("reportDeliveryEvent").plan(payload, ActionContext(SETTINGS)))
    assert (request.method, request.url) == ("POST", "https://track.customer.io/api/v1/metrics")
    assert header(request, "Authorization") == AUTH
    return request


def test_tv10_delivered_metric() -> None:
    request = delivery_request({"deliveryId": "delivery_123", "metric": "delivered"})
    assert request.body() == jsonwire.dumps(
        {"delivery_id": "delivery_123", "metric": "delivered", "timestamp": T_UNIX}
    )


def test_tv10_in_app_click_with_action_metadata() -> None:
    request = delivery_request(
        {
            "deliveryId": "in-app-delivery",
            "metric": "clicked",
            "actionName": "score",
            "actionValue": "3",
        }
    )
    assert request.body() == jsonwire.dumps(
        {
            "delivery_id": "in-app-delivery",
            "metric": "clicked",
            "timestamp": T_UNIX,
            "metadata": {"action_name": "score", "action_value": "3"},
        }
    )


def test_tv10_bounce_with_recipient_and_reason_ignores_extra_properties() -> None:
    request = delivery_request(
        {
            "deliveryId": "delivery_123",
            "metric": "bounced",
            "recipient": "test@example.com",
            "reason": "mailbox not exists",
            "foo": "bar",
            "test": 1,
        }
    )
    assert request.body() == jsonwire.dumps(
        {
            "delivery_id": "delivery_123",
            "metric": "bounced",
            "timestamp": T_UNIX,
            "recipient": "test@example.com",
            "reason": "mailbox not exists",
        }
    )


def test_delivery_metric_without_timestamp_uses_the_current_time() -> None:
    payload = {"delivery_id": "d", "metric": "opened"}
    ctx = ActionContext(settings=EU_SETTINGS, clock=lambda: 1700000000.9)
    (request,), _ = run_plan(act("reportDeliveryEvent").plan(payload, ctx))
    assert request.url == "https://track-eu.customer.io/api/v1/metrics"
    assert body_json(request) == {"delivery_id": "d", "metric": "opened", "timestamp": 1700000000}


# --- TV-11: reportContentEvent --------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_tv11_viewed_content(way: tuple[str, str]) -> None:
    event = test_event(
        type="track",
        event="Report Content Event",
        userId=None,
        anonymousId="abc123",
        properties={
            "actionType": "viewed_content",
            "contentType": "ctype",
            "contentId": 1,
            "templateId": 1,
        },
    )
    expected = {
        "type": "person",
        "action": "viewed_content",
        "name": "viewed_content",
        "attributes": {"contentType": "ctype", "contentId": 1, "templateId": 1},
        "timestamp": T_UNIX,
        "identifiers": {"anonymous_id": "abc123"},
    }
    assert_sends(way, "reportContentEvent", event, expected)


# --- identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"object_id": "o", "person_id": "p"}, {"object_id": "o", "object_type_id": "1"}),
        ({"object_id": "o", "object_type_id": "3"}, {"object_id": "o", "object_type_id": "3"}),
        ({"person_id": "cio_abc", "email": "e@x.io"}, {"cio_id": "abc"}),
        ({"person_id": "Foo.Bar@Example.COM"}, {"email": "Foo.Bar@Example.COM"}),
        ({"person_id": "u1", "email": "e@x.io"}, {"id": "u1"}),
        ({"email": "e@x.io", "anonymous_id": "a"}, {"email": "e@x.io"}),
        ({"anonymous_id": "a"}, {"anonymous_id": "a"}),
    ],
)
def test_identifier_rules_apply_in_the_reference_order(kwargs: dict, expected: dict) -> None:
    assert resolve_identifiers(**kwargs) == expected


@pytest.mark.parametrize(
    ("value", "email"),
    [
        ("a.b+c@sub.example.co", True),
        ("a@b.c", True),
        ("a..b@example.com", False),
        ("a@-example.com", False),
        ("a@example", False),
        ("jöe@example.com", False),  # the ajv pattern is ASCII-only
        ("a@example.com\n", False),
    ],
)
def test_email_person_ids_are_recognised_by_the_ajv_full_pattern(value: str, email: bool) -> None:
    assert is_email(value) is email


# --- golden requests: every action, all fields and required fields only -----------------------

ALL_FIELDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "createUpdatePerson": (
        {
            "id": "user-1",
            "anonymous_id": "anon-1",
            "email": "jane@example.com",
            "created_at": "2024-01-01T00:00:00Z",
            "group_id": "acme",
            "custom_attributes": {"plan": "pro", "createdAt": "x", "signup": "2023-06-01"},
            "relationship_attributes": {"role": "admin", "since": "2024-01-01"},
            "timestamp": T,
            "convert_timestamp": True,
            "object_type_id": "2",
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "person",
            "action": "identify",
            "attributes": {
                "plan": "pro",
                "signup": 1685577600,
                "created_at": 1704067200,
                "email": "jane@example.com",
                "anonymous_id": "anon-1",
            },
            "cio_relationships": [
                {
                    "identifiers": {"object_type_id": "2", "object_id": "acme"},
                    "relationship_attributes": {"role": "admin", "since": "2024-01-01"},
                }
            ],
            "timestamp": T_UNIX,
            "identifiers": {"id": "user-1"},
        },
    ),
    "trackEvent": (
        {
            "id": "user-1",
            "anonymous_id": "anon-1",
            "name": "Order Completed",
            "event_id": "evt-1",
            "timestamp": T,
            "data": {"total": 9.5, "placed": "2024-01-01"},
            "convert_timestamp": True,
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "person",
            "action": "event",
            "name": "Order Completed",
            "id": "evt-1",
            "attributes": {"total": 9.5, "placed": 1704067200, "anonymous_id": "anon-1"},
            "timestamp": T_UNIX,
            "identifiers": {"id": "user-1"},
        },
    ),
    "trackPageView": (
        {
            "id": "user-1",
            "anonymous_id": "anon-1",
            "event_id": "evt-2",
            "url": "https://example.com/pricing",
            "timestamp": T,
            "data": {"title": "Pricing"},
            "convert_timestamp": True,
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "person",
            "action": "page",
            "name": "https://example.com/pricing",
            "attributes": {"title": "Pricing", "anonymous_id": "anon-1"},
            "id": "evt-2",
            "timestamp": T_UNIX,
            "identifiers": {"id": "user-1"},
        },
    ),
    "trackScreenView": (
        {
            "id": "user-1",
            "anonymous_id": "anon-1",
            "event_id": "evt-3",
            "name": "Cart",
            "timestamp": T,
            "data": {"items": 3},
            "convert_timestamp": True,
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "person",
            "action": "screen",
            "name": "Cart",
            "attributes": {"items": 3, "anonymous_id": "anon-1"},
            "id": "evt-3",
            "timestamp": T_UNIX,
            "identifiers": {"id": "user-1"},
        },
    ),
    "deletePerson": (
        {"person_id": "cio_abc123", "enable_batching": True, "batch_size": 50},
        {"type": "person", "action": "delete", "identifiers": {"cio_id": "abc123"}},
    ),
    "createUpdateDevice": (
        {
            "person_id": "user-1",
            "device_id": "tok-1",
            "app_version": "5.12.0",
            "platform": "ios",
            "last_used": T,
            "attributes": {"push_enabled": True},
            "convert_timestamp": True,
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "person",
            "action": "add_device",
            "device": {
                "token": "tok-1",
                "platform": "ios",
                "last_used": T_UNIX,
                "attributes": {"push_enabled": True, "app_version": "5.12.0"},
            },
            "identifiers": {"id": "user-1"},
        },
    ),
    "deleteDevice": (
        {"person_id": "user-1", "device_id": "tok-1", "enable_batching": True, "batch_size": 50},
        {
            "type": "person",
            "action": "delete_device",
            "device": {"token": "tok-1"},
            "identifiers": {"id": "user-1"},
        },
    ),
    "createUpdateObject": (
        {
            "id": "acme",
            "created_at": "2019-03-01T00:00:00.000Z",
            "custom_attributes": {"name": "Acme", "object_type_id": "9"},
            "relationship_attributes": {"role": "owner", "since": "2020-01-01"},
            "user_id": "jane@example.com",
            "anonymous_id": "anon-1",
            "object_type_id": "2",
            "convert_timestamp": True,
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "object",
            "action": "identify",
            "created_at": 1551398400,
            "attributes": {"name": "Acme", "anonymous_id": "anon-1"},
            "cio_relationships": [
                {
                    "identifiers": {"email": "jane@example.com"},
                    "relationship_attributes": {"role": "owner", "since": 1577836800},
                }
            ],
            "identifiers": {"object_id": "acme", "object_type_id": "2"},
        },
    ),
    "deleteObject": (
        {"object_id": "acme", "object_type_id": "2", "enable_batching": True, "batch_size": 50},
        {
            "type": "object",
            "action": "delete",
            "identifiers": {"object_id": "acme", "object_type_id": "2"},
        },
    ),
    "deleteRelationship": (
        {
            "person_id": "user-1",
            "anonymous_id": "anon-1",
            "object_id": "acme",
            "object_type_id": "2",
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "object",
            "action": "delete_relationships",
            "cio_relationships": [{"identifiers": {"id": "user-1"}}],
            "attributes": {"anonymous_id": "anon-1"},
            "identifiers": {"object_id": "acme", "object_type_id": "2"},
        },
    ),
    "mergePeople": (
        {"primary": "user-1", "secondary": "cio_abc", "enable_batching": True, "batch_size": 50},
        {
            "type": "person",
            "action": "merge",
            "primary": {"id": "user-1"},
            "secondary": {"cio_id": "abc"},
        },
    ),
    "suppressPerson": (
        {"person_id": "jane@example.com", "enable_batching": True, "batch_size": 50},
        {"type": "person", "action": "suppress", "identifiers": {"email": "jane@example.com"}},
    ),
    "unsuppressPerson": (
        {"person_id": "jane@example.com", "enable_batching": True, "batch_size": 50},
        {"type": "person", "action": "unsuppress", "identifiers": {"email": "jane@example.com"}},
    ),
    "reportContentEvent": (
        {
            "anonymous_id": "anon-1",
            "actionType": "clicked_content",
            "timestamp": T,
            "data": {"actionType": "clicked_content", "contentId": 7},
            "convert_timestamp": True,
            "enable_batching": True,
            "batch_size": 50,
        },
        {
            "type": "person",
            "action": "clicked_content",
            "name": "clicked_content",
            "attributes": {"contentId": 7},
            "timestamp": T_UNIX,
            "identifiers": {"anonymous_id": "anon-1"},
        },
    ),
}

REQUIRED_ONLY: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "createUpdatePerson": ({}, {"type": "person", "action": "identify", "attributes": {}}),
    "trackEvent": (
        {"name": "Signed Up"},
        {"type": "person", "action": "event", "name": "Signed Up"},
    ),
    "trackPageView": (
        {"url": "https://example.com/"},
        {"type": "person", "action": "page", "name": "https://example.com/"},
    ),
    "trackScreenView": ({"name": "Home"}, {"type": "person", "action": "screen", "name": "Home"}),
    "deletePerson": (
        {"person_id": "u"},
        {"type": "person", "action": "delete", "identifiers": {"id": "u"}},
    ),
    "createUpdateDevice": (
        {"person_id": "u", "device_id": "tok", "platform": "android"},
        {
            "type": "person",
            "action": "add_device",
            "device": {"token": "tok", "platform": "android", "attributes": {}},
            "identifiers": {"id": "u"},
        },
    ),
    "deleteDevice": (
        {"person_id": "u", "device_id": "tok"},
        {
            "type": "person",
            "action": "delete_device",
            "device": {"token": "tok"},
            "identifiers": {"id": "u"},
        },
    ),
    "createUpdateObject": (
        {"id": "acme"},
        {
            "type": "object",
            "action": "identify",
            "identifiers": {"object_id": "acme", "object_type_id": "1"},
        },
    ),
    "deleteObject": ({}, {"type": "object", "action": "delete"}),
    "deleteRelationship": (
        {"person_id": "u", "object_id": "acme"},
        {
            "type": "object",
            "action": "delete_relationships",
            "cio_relationships": [{"identifiers": {"id": "u"}}],
            "identifiers": {"object_id": "acme", "object_type_id": "1"},
        },
    ),
    "mergePeople": (
        {"primary": "a", "secondary": "b"},
        {"type": "person", "action": "merge", "primary": {"id": "a"}, "secondary": {"id": "b"}},
    ),
    "suppressPerson": (
        {"person_id": "u"},
        {"type": "person", "action": "suppress", "identifiers": {"id": "u"}},
    ),
    "unsuppressPerson": (
        {"person_id": "u"},
        {"type": "person", "action": "unsuppress", "identifiers": {"id": "u"}},
    ),
    "reportContentEvent": (
        {"actionType": "viewed_content"},
        {"type": "person", "action": "viewed_content", "name": "viewed_content"},
    ),
}


def test_golden_tables_cover_every_entity_action() -> None:
    entity_actions = {a.name for a in CIO.actions} - {"reportDeliveryEvent"}
    assert set(ALL_FIELDS) == entity_actions == set(REQUIRED_ONLY)
    for name, (payload, _) in ALL_FIELDS.items():
        assert set(payload) == set(act(name).field_names), name
    for name, (payload, _) in REQUIRED_ONLY.items():
        assert set(payload) == {f.name for f in act(name).fields if f.required}, name


@pytest.mark.parametrize("name", sorted(ALL_FIELDS))
def test_golden_all_fields(name: str) -> None:
    payload, expected = ALL_FIELDS[name]
    (request,) = plan_requests("customerio", name, payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/api/v2/entity")
    assert header(request, "Authorization") == AUTH
    assert header(request, "Content-Type") == "application/json"
    assert request.body() == jsonwire.dumps(expected)


@pytest.mark.parametrize("name", sorted(REQUIRED_ONLY))
def test_golden_required_fields_only(name: str) -> None:
    payload, expected = REQUIRED_ONLY[name]
    (request,) = plan_requests("customerio", name, payload, EU_SETTINGS)
    assert (request.method, request.url) == ("POST", f"{EU}/api/v2/entity")
    assert request.body() == jsonwire.dumps(expected)


def test_golden_delivery_metric_all_fields() -> None:
    payload = {
        "delivery_id": "d1",
        "metric": "clicked",
        "recipient": "jane@example.com",
        "reason": "r",
        "href": "https://example.com/a",
        "action_name": "n",
        "action_value": "v",
        "timestamp": T,
    }
    (request,) = plan_requests("customerio", "reportDeliveryEvent", payload, SETTINGS)
    assert (request.method, request.url) == ("POST", f"{US}/api/v1/metrics")
    assert request.body() == jsonwire.dumps(
        {
            "delivery_id": "d1",
            "metric": "clicked",
            "timestamp": T_UNIX,
            "recipient": "jane@example.com",
            "reason": "r",
            "href": "https://example.com/a",
            "metadata": {"action_name": "n", "action_value": "v"},
        }
    )


def test_golden_delivery_metric_required_fields_only() -> None:
    payload, problems = prepare(
        act("reportDeliveryEvent"), {"delivery_id": "d", "metric": "spammed"}, SETTINGS
    )
    assert problems == []
    ctx = ActionContext(settings=SETTINGS, clock=lambda: 1704164645.678)
    (request,), _ = run_plan(act("reportDeliveryEvent").plan(payload, ctx))
    assert request.body() == b'{"delivery_id":"d","metric":"spammed","timestamp":1704164645}'


def test_entity_action_purpose_names_the_type_and_action() -> None:
    (request,) = plan_requests("customerio", "trackEvent", {"id": "u", "name": "E"}, SETTINGS)
    assert request.purpose == "person event"


# --- payload validation and provider rules --------------------------------------------------


def test_missing_required_fields_are_reported_per_field() -> None:
    _, problems = prepare(act("createUpdateDevice"), {"person_id": "u"}, SETTINGS)
    assert [(p.code, p.json_path) for p in problems] == [
        (codes.PAYLOAD_MISSING_FIELD, ("device_id",)),
        (codes.PAYLOAD_MISSING_FIELD, ("platform",)),
    ]


def test_bad_enum_values_are_rejected() -> None:
    _, problems = prepare(
        act("reportDeliveryEvent"), {"delivery_id": "d", "metric": "read"}, SETTINGS
    )
    (problem,) = problems
    assert problem.code == codes.PAYLOAD_NOT_ALLOWED and problem.json_path == ("metric",)
    _, problems = prepare(act("reportContentEvent"), {"actionType": "liked"}, SETTINGS)
    assert [p.code for p in errors_only(problems)] == [codes.PAYLOAD_NOT_ALLOWED]


def test_batch_size_outside_2_to_100_is_rejected() -> None:
    for size in (1, 101):
        _, problems = prepare(act("deletePerson"), {"person_id": "u", "batch_size": size}, {})
        assert [p.json_path for p in problems] == [("batch_size",)]


def test_wrong_types_are_reported_and_numbers_coerced_to_strings() -> None:
    payload, problems = prepare(
        act("trackEvent"), {"id": 42, "name": "E", "data": "not an object"}, SETTINGS
    )
    assert payload["id"] == "42"
    assert [(p.code, p.json_path) for p in problems] == [(codes.PAYLOAD_WRONG_TYPE, ("data",))]


def test_delivery_timestamp_must_be_iso_8601() -> None:
    _, problems = prepare(
        act("reportDeliveryEvent"),
        {"delivery_id": "d", "metric": "opened", "timestamp": "yesterday"},
        SETTINGS,
    )
    assert [p.code for p in problems] == [codes.PAYLOAD_BAD_FORMAT]


def test_bad_email_is_a_warning_because_segment_sends_it_unchecked() -> None:
    _, problems = prepare(
        act("createUpdatePerson"), {"id": "u", "email": "jane@@example"}, SETTINGS
    )
    (warning,) = problems
    assert warning.severity is Severity.WARNING and warning.json_path == ("email",)
    assert "not a valid email address" in warning.message


def test_event_name_over_100_bytes_is_too_long() -> None:
    _, problems = prepare(act("trackEvent"), {"id": "u", "name": "é" * 51}, SETTINGS)
    (error,) = problems
    assert error.code == codes.PAYLOAD_TOO_LONG and error.json_path == ("name",)
    assert "102 bytes" in error.message
    _, problems = prepare(act("trackEvent"), {"id": "u", "name": "e" * 100}, SETTINGS)
    assert problems == []


def test_event_data_over_100_000_bytes_is_too_long() -> None:
    data = {"blob": "x" * 100_000}
    _, problems = prepare(act("trackEvent"), {"id": "u", "name": "E", "data": data}, SETTINGS)
    assert [(p.code, p.json_path) for p in problems] == [(codes.PAYLOAD_TOO_LONG, ("data",))]


def test_person_attribute_limits_are_enforced_before_sending() -> None:
    too_many = {f"a{i}": i for i in range(301)}
    _, problems = prepare(
        act("createUpdatePerson"), {"id": "u", "custom_attributes": too_many}, SETTINGS
    )
    assert [p.code for p in problems] == [codes.PAYLOAD_TOO_LONG]
    assert "at most 300" in problems[0].message
    attributes = {"n" * 151: 1, "big": "v" * 1001, "ok": "v" * 1000}
    _, problems = prepare(
        act("createUpdatePerson"), {"id": "u", "custom_attributes": attributes}, SETTINGS
    )
    assert [p.json_path for p in problems] == [
        ("custom_attributes", "n" * 151),
        ("custom_attributes", "big"),
    ]


def test_an_entity_without_identifiers_is_sent_with_a_warning_like_segment() -> None:
    _, problems = prepare(act("trackEvent"), {"name": "E"}, SETTINGS)
    (warning,) = problems
    assert warning.severity is Severity.WARNING
    assert "rejects an entity without identifiers" in warning.message
    _, problems = prepare(act("mergePeople"), {"primary": "a", "secondary": "b"}, SETTINGS)
    assert problems == []


def test_date_looking_event_name_or_id_is_converted_for_parity_and_warned_about() -> None:
    payload = {"id": "u", "name": "2024-01-01", "event_id": "2024-01-02", "convert_timestamp": True}
    _, problems = prepare(act("trackEvent"), payload, SETTINGS)
    assert [p.json_path for p in problems] == [("name",), ("event_id",)]
    assert all(p.severity is Severity.WARNING for p in problems)
    (request,) = plan_requests("customerio", "trackEvent", payload, SETTINGS)
    assert body_json(request)["name"] == 1704067200 and body_json(request)["id"] == 1704153600
    off = {**payload, "convert_timestamp": False}
    assert prepare(act("trackEvent"), off, SETTINGS)[1] == []
    (request,) = plan_requests("customerio", "trackEvent", off, SETTINGS)
    assert body_json(request)["name"] == "2024-01-01"


def test_without_convert_timestamp_key_no_attribute_dates_are_converted() -> None:
    (request,) = plan_requests(
        "customerio", "trackEvent", {"id": "u", "name": "E", "data": {"d": "2024-01-01"}}, SETTINGS
    )
    assert body_json(request)["attributes"] == {"d": "2024-01-01"}


def test_batching_fields_never_reach_the_wire() -> None:
    payload = {"person_id": "u", "enable_batching": False, "batch_size": 7}
    (request,) = plan_requests("customerio", "deletePerson", payload, SETTINGS)
    assert b"batch" not in request.body()


# --- response judging -------------------------------------------------------------------------


def single_failure(reply: Reply) -> Any:
    plan = act("deletePerson").plan({"person_id": "u"}, ActionContext(settings=SETTINGS))
    request = next(plan)
    assert reply.status in request.handles
    with pytest.raises(Exception) as raised:
        plan.send(reply)
    return raised.value


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_tell_the_user_to_check_credentials_and_region(status: int) -> None:
    failure = single_failure(Reply(status, {"meta": {"error": "Unauthorized request"}}))
    assert failure.status == status and not failure.retryable
    assert "Unauthorized request" in failure.reason and "accountRegion" in failure.reason


def test_400_reports_customer_ios_message_and_is_final() -> None:
    reply = Reply(400, {"errors": [{"reason": "required", "field": "x", "message": "x is bad"}]})
    failure = single_failure(reply)
    assert failure.status == 400 and not failure.retryable
    assert failure.reason == "Customer.io rejected the request (HTTP 400: x is bad)"
    assert (
        "name cannot be blank"
        in single_failure(Reply(400, {"meta": {"error": "name cannot be blank"}})).reason
    )


@pytest.mark.parametrize("status", [408, 423, 429, 500, 502, 503, 504])
def test_transient_statuses_are_left_to_the_transport_to_retry(status: int) -> None:
    assert CIO.is_retryable(status)
    request = next(act("deletePerson").plan({"person_id": "u"}, ActionContext(SETTINGS)))
    assert status not in request.handles
    assert status not in final_statuses()


def test_501_and_4xx_are_final() -> None:
    assert not CIO.is_retryable(501) and not CIO.is_retryable(422)
    assert {400, 401, 403, 404, 413, 422, 501} <= final_statuses()


# --- batching ---------------------------------------------------------------------------------


def run_batch(
    name: str,
    payloads: list[dict[str, Any]],
    replies: list[Reply] | None = None,
    settings: dict[str, Any] = SETTINGS,
) -> tuple[list[Request], list[ItemResult]]:
    plan_batch = act(name).plan_batch
    assert plan_batch is not None
    cleaned = []
    for payload in payloads:
        prepared, problems = prepare(act(name), payload, settings)
        assert not errors_only(problems), problems
        cleaned.append(prepared)
    return run_plan(plan_batch(cleaned, ActionContext(settings=settings)), replies)


def test_pack_counts_the_envelope_and_commas() -> None:
    # {"batch":[]} is 12 bytes; three 10-byte items with two commas make 44.
    assert pack([10, 10, 10], 100, max_bytes=44) == ([[0, 1, 2]], [])
    assert pack([10, 10, 10], 100, max_bytes=43) == ([[0, 1], [2]], [])
    assert pack([10, 40, 10], 100, max_bytes=43) == ([[0, 2]], [1])
    assert pack([1] * 5, 2) == ([[0, 1], [2, 3], [4]], [])


def test_batch_mixes_entities_of_one_action_into_one_request() -> None:
    payloads = [{"id": f"u{i}", "name": "E", "event_id": f"e{i}"} for i in range(3)]
    (request,), results = run_batch("trackEvent", payloads)
    assert (request.method, request.url) == ("POST", f"{US}/api/v2/batch")
    assert [e["identifiers"] for e in body_json(request)["batch"]] == [
        {"id": "u0"},
        {"id": "u1"},
        {"id": "u2"},
    ]
    assert results == [ItemResult(True, 200)] * 3


def test_batch_uses_the_eu_host_for_eu_accounts() -> None:
    (request,), _ = run_batch("deletePerson", [{"person_id": "u"}], settings=EU_SETTINGS)
    assert request.url == f"{EU}/api/v2/batch"


def test_batch_size_field_caps_the_events_per_request() -> None:
    payloads = [{"person_id": f"u{i}", "batch_size": 2} for i in range(5)]
    requests, results = run_batch("deletePerson", payloads)
    assert [len(body_json(r)["batch"]) for r in requests] == [2, 2, 1]
    assert all(r.ok for r in results)


def test_batch_is_split_to_stay_under_500_kb() -> None:
    blob = "x" * 90_000
    payloads = [{"id": f"u{i}", "name": "E", "data": {"blob": blob}} for i in range(12)]
    requests, results = run_batch("trackEvent", payloads)
    assert len(requests) == 3
    assert all(len(r.body()) <= MAX_BATCH_BYTES for r in requests)
    assert sum(len(body_json(r)["batch"]) for r in requests) == 12
    assert all(r.ok for r in results)


def test_an_entity_too_large_for_any_batch_fails_alone() -> None:
    huge = {
        "person_id": "u",
        "device_id": "t",
        "platform": "ios",
        "attributes": {"b": "x" * MAX_BATCH_BYTES},
    }
    requests, results = run_batch("createUpdateDevice", [huge, {**huge, "attributes": {}}])
    (request,) = requests
    assert len(body_json(request)["batch"]) == 1
    assert not results[0].ok and "500000 bytes" in results[0].reason
    assert results[1] == ItemResult(True, 200)


def test_multistatus_207_marks_only_the_listed_indexes_as_failed() -> None:
    reply = Reply(
        207,
        {
            "errors": [
                {
                    "batch_index": 1,
                    "reason": "required",
                    "field": "name",
                    "message": "name missing",
                },
                {"batch_index": 2, "reason": "invalid"},
                {"batch_index": 9, "reason": "outside the batch"},
                {"batch_index": -1, "reason": "negative"},
            ]
        },
    )
    results = read_multistatus(reply, 4)
    assert results == [
        ItemResult(True, 207),
        ItemResult(False, 400, "name missing"),
        ItemResult(False, 400, "invalid"),
        ItemResult(True, 207),
    ]
    assert not any(r.retryable for r in results)


def test_multistatus_in_a_200_answer_and_errors_without_text() -> None:
    results = read_multistatus(Reply(200, {"errors": [{"batch_index": 0}]}), 2)
    assert results == [ItemResult(False, 400, "Unknown error"), ItemResult(True, 200)]
    assert read_multistatus(Reply(200, {}), 1) == [ItemResult(True, 200)]
    assert read_multistatus(Reply(200, None), 1) == [ItemResult(True, 200)]


def test_batch_plan_returns_multistatus_results_aligned_with_payloads() -> None:
    payloads = [{"person_id": f"u{i}"} for i in range(3)]
    reply = Reply(207, {"errors": [{"batch_index": 1, "message": "identifiers is required"}]})
    _, results = run_batch("deletePerson", payloads, [reply])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].reason == "identifiers is required"


def test_a_refused_chunk_fails_only_its_events_and_later_chunks_are_sent() -> None:
    payloads = [{"person_id": f"u{i}", "batch_size": 2} for i in range(4)]
    bad = Reply(400, {"errors": [{"reason": "invalid", "message": "bad batch"}]})
    requests, results = run_batch("deletePerson", payloads, [bad, Reply(200, {})])
    assert len(requests) == 2
    assert [r.ok for r in results] == [False, False, True, True]
    assert results[0].status == 400 and "bad batch" in results[0].reason


def test_batch_401_fails_every_event_and_sends_no_further_batch() -> None:
    payloads = [{"person_id": f"u{i}", "batch_size": 2} for i in range(5)]
    refused = Reply(401, {"meta": {"error": "Unauthorized request"}})
    requests, results = run_batch("deletePerson", payloads, [refused])
    assert len(requests) == 1
    assert all(not r.ok and r.status == 401 for r in results)
    assert results[2].reason.startswith("not sent: ")


def test_object_batches_are_split_into_identify_and_identify_anonymous() -> None:
    payloads = [
        {"id": "o1", "user_id": "u1"},
        {"id": "o2", "anonymous_id": "a2"},
        {"id": "o3", "user_id": "u3"},
    ]
    reply = Reply(207, {"errors": [{"batch_index": 1, "message": "second identify failed"}]})
    requests, results = run_batch("createUpdateObject", payloads, [reply])
    assert [[e["action"] for e in body_json(r)["batch"]] for r in requests] == [
        ["identify", "identify"],
        ["identify_anonymous"],
    ]
    assert [r.ok for r in results] == [True, True, False]


def test_enable_batching_false_sends_each_event_to_the_entity_endpoint() -> None:
    payloads = [{"person_id": f"u{i}", "enable_batching": False} for i in range(2)]
    refused = Reply(400, {"errors": [{"message": "nope"}]})
    requests, results = run_batch("deletePerson", payloads, [Reply(200, {}), refused])
    assert [r.url for r in requests] == [f"{US}/api/v2/entity"] * 2
    assert results[0] == ItemResult(True, 200)
    assert not results[1].ok and "nope" in results[1].reason


def test_dry_run_batch_of_nothing_sends_nothing() -> None:
    assert run_batch("deletePerson", []) == ([], [])


# --- sandbox ----------------------------------------------------------------------------------


def state(sandbox: SandboxServer) -> dict[str, Any]:
    return sandbox.state.providers["customerio"]


def live(sandbox: SandboxServer, name: str, payload: dict[str, Any], **settings: Any) -> Any:
    exchanges, _ = live_run(
        "customerio", name, payload, {**SANDBOX_SETTINGS, **settings}, sandbox.url
    )
    return exchanges


def live_batch(sandbox: SandboxServer, name: str, payloads: list[dict[str, Any]]) -> Any:
    plan_batch = act(name).plan_batch
    assert plan_batch is not None
    cleaned = [prepare(act(name), p, SANDBOX_SETTINGS)[0] for p in payloads]
    ctx = ActionContext(settings=SANDBOX_SETTINGS, dry_run=False)

    async def run() -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            transport = Transport(
                client, CIO.is_retryable, policy=RetryPolicy(max_attempts=1), endpoint=sandbox.url
            )
            return await drive(plan_batch(cleaned, ctx), transport.send)

    return asyncio.run(run())


def raw_post(sandbox: SandboxServer, path: str, body: Any, auth: str | None = None) -> Any:
    token = auth or base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()
    with httpx.Client() as client:
        return client.post(
            f"{sandbox.url}{path}",
            content=jsonwire.dumps(body),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )


def only_person(sandbox: SandboxServer) -> dict[str, Any]:
    (person,) = state(sandbox)["people"].values()
    return person


def test_sandbox_identify_creates_a_person_and_upserts_merge_attributes(
    sandbox: SandboxServer,
) -> None:
    exchanges = live(
        sandbox,
        "createUpdatePerson",
        {"id": "u1", "email": "jane@example.com", "custom_attributes": {"plan": "free", "n": 1}},
    )
    assert exchanges[0].reply.status == 200 and exchanges[0].reply.json == {}
    live(sandbox, "createUpdatePerson", {"id": "u1", "custom_attributes": {"plan": "pro"}})
    person = only_person(sandbox)
    assert person["id"] == "u1" and person["email"] == "jane@example.com"
    assert person["attributes"] == {"plan": "pro", "n": 1, "email": "jane@example.com"}


def test_sandbox_eu_region_uses_the_same_paths(sandbox: SandboxServer) -> None:
    live(sandbox, "createUpdatePerson", {"id": "u1"}, accountRegion="EU 🇪🇺")
    assert only_person(sandbox)["id"] == "u1"


def test_sandbox_wrong_credentials_get_customer_ios_401(sandbox: SandboxServer) -> None:
    with pytest.raises(PlanFailed) as failure:
        live_run(
            "customerio",
            "deletePerson",
            {"person_id": "u"},
            {"siteId": SITE_ID, "apiKey": "wrong"},
            sandbox.url,
        )
    assert failure.value.status == 401
    assert "check siteId, apiKey and accountRegion" in failure.value.reason
    assert failure.value.exchanges[0].reply.json == {"meta": {"error": "Unauthorized request"}}
    assert state(sandbox)["deletions"] == []


def test_sandbox_rejects_an_entity_without_identifiers_with_400(sandbox: SandboxServer) -> None:
    with pytest.raises(PlanFailed) as failure:
        live(sandbox, "trackEvent", {"name": "Orphan"})
    assert failure.value.status == 400
    assert failure.value.exchanges[0].reply.json == {
        "errors": [
            {"reason": "required", "field": "identifiers", "message": "identifiers is required"}
        ]
    }
    assert state(sandbox)["events"] == []


def test_sandbox_rejects_an_unconverted_event_time(sandbox: SandboxServer) -> None:
    with pytest.raises(PlanFailed) as failure:
        live(sandbox, "trackEvent", {"id": "u", "name": "E", "timestamp": "next tuesday"})
    assert failure.value.status == 400
    assert "timestamp" in failure.value.reason


def test_sandbox_validation_of_names_attributes_devices_and_types(sandbox: SandboxServer) -> None:
    cases = [
        ({"type": "person", "action": "event", "identifiers": {"id": "u"}}, "name cannot be blank"),
        ({"type": "person", "action": "fly", "identifiers": {"id": "u"}}, "action must be"),
        ({"type": "thing", "action": "identify"}, 'type must be "person" or "object"'),
        (
            {"type": "person", "action": "identify", "identifiers": {"id": "u", "email": "e"}},
            "exactly one of",
        ),
        (
            {"type": "person", "action": "identify", "identifiers": {"anonymous_id": "a"}},
            "exactly one of",
        ),
        (
            {
                "type": "person",
                "action": "identify",
                "identifiers": {"id": "u"},
                "attributes": {"x" * 151: 1},
            },
            "attribute name cannot be longer than 150 bytes",
        ),
        (
            {
                "type": "person",
                "action": "add_device",
                "identifiers": {"id": "u"},
                "device": {"token": "t", "platform": "windows"},
            },
            'device.platform must be "ios" or "android"',
        ),
        (
            {"type": "object", "action": "identify", "identifiers": {"object_id": "o"}},
            "object_type_id",
        ),
    ]
    for entity, message in cases:
        response = raw_post(sandbox, "/api/v2/entity", entity)
        assert response.status_code == 400, entity
        (error,) = response.json()["errors"]
        assert message in error["message"], (entity, error)
    assert state(sandbox)["people"] == {}


def test_sandbox_events_page_and_screen_views_are_recorded_and_deduplicated(
    sandbox: SandboxServer,
) -> None:
    event = {"id": "u1", "anonymous_id": "a1", "name": "Paid", "event_id": "e1", "data": {"t": 1}}
    live(sandbox, "trackEvent", event)
    live(sandbox, "trackEvent", event)  # same event id: Customer.io keeps one
    live(sandbox, "trackPageView", {"id": "u1", "url": "https://x.io/", "event_id": "p1"})
    live(sandbox, "trackScreenView", {"anonymous_id": "a9", "name": "Cart", "timestamp": T})
    cio = state(sandbox)
    person = only_person(sandbox)
    (stored,) = cio["events"]
    assert stored["name"] == "Paid" and stored["attributes"] == {"t": 1}
    assert stored["person"] == person["cio_id"] and person["anonymous_ids"] == ["a1"]
    assert cio["page_views"][0]["name"] == "https://x.io/"
    (screen,) = cio["screen_views"]
    assert screen["person"] is None and screen["anonymous_id"] == "a9"
    assert screen["timestamp"] == T_UNIX


def test_sandbox_anonymous_activity_joins_the_person_who_identifies_with_it(
    sandbox: SandboxServer,
) -> None:
    live(sandbox, "trackPageView", {"anonymous_id": "a1", "url": "https://x.io/"})
    live(sandbox, "createUpdatePerson", {"id": "u1", "anonymous_id": "a1"})
    assert state(sandbox)["page_views"][0]["person"] == only_person(sandbox)["cio_id"]


def test_sandbox_delete_suppress_unsuppress_and_merge(sandbox: SandboxServer) -> None:
    live(sandbox, "createUpdatePerson", {"id": "keep", "custom_attributes": {"a": 1}})
    live(sandbox, "createUpdatePerson", {"id": "old", "custom_attributes": {"a": 2, "b": 3}})
    live(sandbox, "mergePeople", {"primary": "keep", "secondary": "old"})
    person = only_person(sandbox)
    assert person["id"] == "keep" and person["attributes"] == {"a": 1, "b": 3}
    live(sandbox, "suppressPerson", {"person_id": "keep"})
    assert state(sandbox)["people"] == {} and state(sandbox)["suppressions"] == ["id:keep"]
    live(sandbox, "createUpdatePerson", {"id": "keep"})  # ignored while suppressed
    assert state(sandbox)["people"] == {}
    live(sandbox, "unsuppressPerson", {"person_id": "keep"})
    live(sandbox, "createUpdatePerson", {"id": "keep"})
    live(sandbox, "deletePerson", {"person_id": "keep"})
    live(sandbox, "deletePerson", {"person_id": "nobody"})
    cio = state(sandbox)
    assert cio["people"] == {}
    assert [(d["identifiers"], d["found"]) for d in cio["deletions"]] == [
        ({"id": "keep"}, True),
        ({"id": "keep"}, True),
        ({"id": "nobody"}, False),
    ]
    assert cio["merges"][0]["found"] is True


def test_sandbox_devices_objects_and_relationships(sandbox: SandboxServer) -> None:
    device = {
        "person_id": "u1",
        "device_id": "tok",
        "platform": "ios",
        "last_used": T,
        "convert_timestamp": True,
    }
    live(sandbox, "createUpdateDevice", device)
    assert only_person(sandbox)["devices"]["tok"]["last_used"] == T_UNIX
    live(sandbox, "deleteDevice", {"person_id": "u1", "device_id": "tok"})
    assert only_person(sandbox)["devices"] == {}
    live(
        sandbox,
        "createUpdateObject",
        {
            "id": "acme",
            "custom_attributes": {"name": "Acme"},
            "user_id": "u1",
            "relationship_attributes": {"role": "owner"},
            "convert_timestamp": True,
        },
    )
    acme = state(sandbox)["objects"]["1:acme"]
    person_id = only_person(sandbox)["cio_id"]
    assert acme["attributes"] == {"name": "Acme"}
    assert acme["relationships"] == [
        {"with": {"person": person_id}, "attributes": {"role": "owner"}}
    ]
    live(sandbox, "deleteRelationship", {"person_id": "u1", "object_id": "acme"})
    assert state(sandbox)["objects"]["1:acme"]["relationships"] == []
    live(sandbox, "deleteObject", {"object_id": "acme"})
    assert state(sandbox)["objects"] == {}


def test_sandbox_person_identify_with_object_relationship(sandbox: SandboxServer) -> None:
    live(sandbox, "createUpdatePerson", {"id": "u1", "group_id": "g1", "object_type_id": "2"})
    assert state(sandbox)["objects"]["2:g1"]["relationships"][0]["with"] == {
        "person": only_person(sandbox)["cio_id"]
    }


def test_sandbox_content_events_and_delivery_metrics(sandbox: SandboxServer) -> None:
    live(sandbox, "reportContentEvent", {"anonymous_id": "a1", "actionType": "viewed_content"})
    assert state(sandbox)["events"][0]["type"] == "viewed_content"
    metric = {"delivery_id": "d1", "metric": "opened", "timestamp": T}
    live(sandbox, "reportDeliveryEvent", metric)
    assert state(sandbox)["metrics"] == [
        {"delivery_id": "d1", "metric": "opened", "timestamp": T_UNIX}
    ]
    response = raw_post(sandbox, "/api/v1/metrics", {"delivery_id": "d1", "metric": "read"})
    assert (
        response.status_code == 400 and "metric must be one of" in response.json()["meta"]["error"]
    )


def test_sandbox_batch_answers_207_with_the_failed_batch_indexes(sandbox: SandboxServer) -> None:
    payloads = [
        {"id": "u1", "name": "A"},
        {"name": "No identifiers"},
        {"id": "u3", "name": "C", "timestamp": "not a date"},
        {"id": "u4", "name": "D"},
    ]
    exchanges, results = live_batch(sandbox, "trackEvent", payloads)
    (exchange,) = exchanges
    assert exchange.reply.status == 207
    assert [e["batch_index"] for e in exchange.reply.json["errors"]] == [1, 2]
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1] == ItemResult(False, 400, "identifiers is required")
    assert [e["name"] for e in state(sandbox)["events"]] == ["A", "D"]


def test_sandbox_batch_of_valid_entities_answers_200(sandbox: SandboxServer) -> None:
    payloads = [{"id": "o1", "user_id": "u1"}, {"id": "o2", "anonymous_id": "a2"}]
    exchanges, results = live_batch(sandbox, "createUpdateObject", payloads)
    assert [x.reply.status for x in exchanges] == [200, 200]
    assert all(r.ok for r in results)
    assert set(state(sandbox)["objects"]) == {"1:o1", "1:o2"}


def test_sandbox_refuses_batches_over_500_kb_and_bad_envelopes(sandbox: SandboxServer) -> None:
    big = {
        "batch": [
            {"type": "person", "action": "delete", "identifiers": {"id": "x" * MAX_BATCH_BYTES}}
        ]
    }
    assert raw_post(sandbox, "/api/v2/batch", big).status_code == 400
    response = raw_post(sandbox, "/api/v2/batch", {"entities": []})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "batch is required"


def test_sandbox_credential_check(sandbox: SandboxServer) -> None:
    assert CIO.test_authentication is not None
    ctx = ActionContext(settings=SANDBOX_SETTINGS, dry_run=False)

    async def check(context: ActionContext) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            transport = Transport(
                client, CIO.is_retryable, policy=RetryPolicy(max_attempts=1), endpoint=sandbox.url
            )
            return await drive(CIO.test_authentication(context), transport.send)

    exchanges, _ = asyncio.run(check(ctx))
    assert exchanges[0].reply.status == 200
    wrong = ActionContext(settings={"siteId": "x", "apiKey": "y"}, dry_run=False)
    with pytest.raises(PlanFailed) as failure:
        asyncio.run(check(wrong))
    assert failure.value.status == 401
    assert sandbox.state.stats["acknowledged"] == 0


def test_sandbox_routes_do_not_collide_with_other_providers() -> None:
    emulators = load_emulators()
    seen: dict[tuple[str, str], str] = {}
    for emulator in emulators:
        for route in emulator.routes:
            key = (route.endpoint.method, route.endpoint.path)
            assert key not in seen, f"{key} of {emulator.name} collides with {seen[key]}"
            seen[key] = emulator.name
    (cio,) = [e for e in emulators if e.name == "customerio"]
    assert cio.credentials == {"siteId": SITE_ID, "apiKey": API_KEY}
    assert cio.requests_per_second == 100


# --- the example mapping file -----------------------------------------------------------------


def test_example_mapping_file_validates_cleanly() -> None:
    result = run_cli(["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "all valid" in result.output


def test_example_covers_every_action() -> None:
    text = EXAMPLE.read_text()
    for action in CIO.actions:
        assert f"action: {action.name}\n" in text, action.name
    assert "${CUSTOMERIO_SITE_ID}" in text and "${CUSTOMERIO_API_KEY}" in text


@pytest.mark.parametrize(
    ("sample", "path"),
    [
        ("identify", "/api/v2/entity"),
        ("track", "/api/v2/entity"),
        ("page", "/api/v2/entity"),
        ("screen", "/api/v2/entity"),
        ("group", "/api/v2/entity"),
        ("alias", "/api/v2/entity"),
    ],
)
def test_example_prints_real_requests_for_the_bundled_samples(sample: str, path: str) -> None:
    env = {"CUSTOMERIO_SITE_ID": "site-123", "CUSTOMERIO_API_KEY": "key-456"}
    result = run_cli(["test-event", str(EXAMPLE), sample, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert "key-456" not in result.stdout and "site-123" not in result.stdout
    document = json.loads(result.stdout)
    (matched,) = [s for s in document["results"] if s["matched"]]
    (request,) = matched["requests"]
    assert request["url"] == f"https://track.customer.io{path}"
    assert request["headers"]["Authorization"] == "Basic ***"
