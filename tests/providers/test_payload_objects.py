"""Object fields keep the keys they declare, as Segment's runtime does (ajv removeAdditional);
a field declared open (`additional_properties`) keeps the rest. Every field's compiled quick
check agrees with the full check."""

from __future__ import annotations

from typing import Any

from helpers import body_json, plan_requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Field
from cdpctl.providers.payload import _fast_validator, check_value


def test_undeclared_keys_of_segment_context_objects_are_stripped() -> None:
    settings = {"source_write_key": "write-key-123456"}
    (request,) = plan_requests(
        "segment",
        "sendTrack",
        {
            "event_name": "Order Completed",
            "user_id": "u-1",
            "application": {"name": "Shop", "extra": "dropped"},
            "page": {"path": "/", "hash": "#top"},
            "not_a_field": 1,
        },
        settings,
    )
    context = body_json(request)["context"]
    assert context["app"] == {"name": "Shop"}
    assert context["page"] == {"path": "/"}
    assert "not_a_field" not in body_json(request)


def test_declared_object_keys_of_sendgrid_recipients_are_kept_and_others_stripped() -> None:
    settings = {"sendGridApiKey": "SG.key-1234567890", "endpoint": "https://api.sendgrid.com"}
    (request,) = plan_requests(
        "sendgrid",
        "sendEmail",
        {
            "from": {"email": "shop@example.com", "name": "Shop", "nickname": "x"},
            "to": {"email": "jane@example.com", "name": "Jane", "tier": "gold"},
            "template_id": "d-0123456789abcdef0123456789abcdef",
            "dynamic_template_data": {"anything": {"goes": True}},
        },
        settings,
    )
    body = body_json(request)
    assert body["from"] == {"email": "shop@example.com", "name": "Shop"}
    assert body["personalizations"][0]["to"] == [{"email": "jane@example.com", "name": "Jane"}]
    assert body["personalizations"][0]["dynamic_template_data"] == {"anything": {"goes": True}}


def test_an_open_object_field_keeps_every_key() -> None:
    from cdpctl.providers import get_provider
    from cdpctl.providers.payload import prepare

    action = get_provider("sfmc").action("contactDataExtension")
    cleaned, _ = prepare(
        action, {"keys": {"contactKey": "c-1", "orderId": "o-1"}, "values": {"a": 1}}, {}
    )
    assert cleaned["keys"] == {"contactKey": "c-1", "orderId": "o-1"}


# --- the compiled field rules ------------------------------------------------------------------

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "2024-05-17T09:30:00Z", "a@b.co", "+447911123456", "USD", "EUR"])
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["street", "city", "name", "source", "id", "value", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=8,
)
_FIELDS = [
    spec
    for provider in map(get_provider, provider_names())
    if provider is not None
    for action in provider.actions
    for spec in action.fields
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_FIELDS), _JSON)
def test_a_fields_quick_yes_is_never_wrong(spec: Field, value: Any) -> None:
    """The compiled quick check of every field of every action says yes only where the full
    check finds nothing (`prepare` skips the full check on a yes)."""
    valid = _fast_validator(spec)
    if valid is not None and valid(value):
        assert check_value(spec, value, (spec.name,)) == [], (spec.name, value)
