"""Mapped values are coerced to their field's type exactly as Segment's runtime does (ajv
`coerceTypes: "array"`), and empty values are removed as its `removeEmptyValues` removes them:
"" anywhere at the top level, and below it null and "" where the field is not a string.
The rules: tests/cases/coercion/ajv-coerce-types.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import body_json, plan_requests

from cdpctl.providers.base import Field, FieldType
from cdpctl.providers.payload import coerce

CASES = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "coercion" / "ajv-coerce-types.yaml").read_text()
)
LOOPS = {"apiKey": "loops-key-1234567890"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['type']}<-{c['value']!r}")
def test_a_value_is_coerced_as_ajv_coerces_it(case: dict[str, Any]) -> None:
    field = Field("x", FieldType(case["type"]), "X")
    result = coerce(field, case["value"])
    expected = case["value"] if case.get("kept") else case["sent"]
    assert result == expected
    assert type(result) is type(expected)


def test_a_list_field_wraps_a_scalar_and_drops_empty_items() -> None:
    field = Field("tags", FieldType.STRING, "Tags", multiple=True)
    assert coerce(field, "vip") == ["vip"]
    assert coerce(field, ["a", None, 3, True]) == ["a", "3", "true"]
    numbers = Field("n", FieldType.NUMBER, "N", multiple=True)
    assert coerce(numbers, ["1", "", None, 2]) == [1, 2]


def test_a_boolean_mapped_to_a_string_field_is_sent_as_text() -> None:
    (request,) = plan_requests(
        "loops",
        "createOrUpdateContact",
        {"email": "ada@example.com", "userId": "u-1", "firstName": True},
        LOOPS,
    )
    assert body_json(request)["firstName"] == "true"


def test_an_empty_string_mapped_to_an_object_field_is_left_out() -> None:
    (request,) = plan_requests(
        "loops",
        "createOrUpdateContact",
        {"email": "ada@example.com", "userId": "u-1", "customAttributes": ""},
        LOOPS,
    )
    assert "customAttributes" not in body_json(request)


def test_below_the_top_level_null_and_empty_non_strings_are_removed_and_values_coerced() -> None:
    (request,) = plan_requests(
        "segment",
        "sendTrack",
        {
            "event_name": "Order Completed",
            "user_id": "u-1",
            "application": {"name": "Shop", "version": 2, "build": None},
            "device": {"id": "d-1", "adTracking_Enabled": "", "manufacturer": True},
        },
        {"source_write_key": "write-key-123456"},
    )
    context = body_json(request)["context"]
    assert context["app"] == {"name": "Shop", "version": "2"}
    assert context["device"] == {"id": "d-1", "manufacturer": "true"}
