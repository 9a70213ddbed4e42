"""Object fields keep the keys they declare, as Segment's runtime does (ajv removeAdditional);
a field declared open (`additional_properties`) keeps the rest."""

from __future__ import annotations

from helpers import body_json, plan_requests


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
