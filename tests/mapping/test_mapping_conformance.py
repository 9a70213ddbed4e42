"""Every mapping-kit conformance vector, run through cdpctl's engine.

The vectors (tests/conformance/mapping_kit.json and mapping_validate.json) hold what Segment's
published ``@segment/actions-core`` returned for each case; see tests/conformance/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdpctl.mapping import UNDEFINED, MappingError, transform, validate

CONFORMANCE = Path(__file__).parents[1] / "conformance"


def _decode(value: Any, *, drop_undefined_keys: bool) -> Any:
    """Turn ``{"$undefined": true}`` into ``UNDEFINED`` (or drop such object keys)."""
    if isinstance(value, dict):
        if value == {"$undefined": True}:
            return UNDEFINED
        decoded = {
            key: _decode(item, drop_undefined_keys=drop_undefined_keys)
            for key, item in value.items()
        }
        if drop_undefined_keys:
            decoded = {key: item for key, item in decoded.items() if item is not UNDEFINED}
        return decoded
    if isinstance(value, list):
        return [_decode(item, drop_undefined_keys=drop_undefined_keys) for item in value]
    return value


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((CONFORMANCE / name).read_text(encoding="utf-8"))


TRANSFORM_CASES = _load("mapping_kit.json")
VALIDATE_CASES = _load("mapping_validate.json")


@pytest.mark.parametrize("case", TRANSFORM_CASES, ids=[case["name"] for case in TRANSFORM_CASES])
def test_transform_matches_mapping_kit(case: dict[str, Any]) -> None:
    # A mapping's undefined values are kept, to exercise the engine; the payload's are dropped,
    # which the vectors' README says is equivalent for a payload.
    mapping = _decode(case["mapping"], drop_undefined_keys=False)
    payload = _decode(case["input"], drop_undefined_keys=True)
    if case.get("error"):
        with pytest.raises(MappingError):
            transform(mapping, payload)
        return
    expected = _decode(case["expected"], drop_undefined_keys=False)
    assert transform(mapping, payload) == expected


@pytest.mark.parametrize("case", VALIDATE_CASES, ids=[case["name"] for case in VALIDATE_CASES])
def test_validate_matches_mapping_kit(case: dict[str, Any]) -> None:
    problems = validate(_decode(case["mapping"], drop_undefined_keys=False))
    messages = [problem.message for problem in problems]
    if case["valid"]:
        assert messages == []
    else:
        assert messages == case["error_messages"]


@pytest.mark.parametrize(
    "case",
    [
        case
        for case in TRANSFORM_CASES
        if case.get("error") and case["error_message"].startswith("/")
    ],
    ids=lambda case: case["name"],
)
def test_validation_errors_use_mapping_kit_wording(case: dict[str, Any]) -> None:
    with pytest.raises(MappingError) as raised:
        transform(
            _decode(case["mapping"], drop_undefined_keys=False),
            _decode(case["input"], drop_undefined_keys=True),
        )
    assert str(raised.value) == case["error_message"]
    assert raised.value.problems
