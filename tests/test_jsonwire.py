"""JSON exactly as JavaScript's JSON.stringify writes it."""

from __future__ import annotations

import pytest

from cdpctl.jsonwire import dumps, js_number_text

JS_NUMBERS = [  # (value, String(value) in JavaScript)
    (0.0, "0"),
    (-0.0, "0"),
    (2.0, "2"),
    (-3.5, "-3.5"),
    (0.1, "0.1"),
    (123.456, "123.456"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (1.5e300, "1.5e+300"),
    (1e16, "10000000000000000"),
    (1e-6, "0.000001"),
    (1e-7, "1e-7"),
    (1.234e-6, "0.000001234"),
    (5e-324, "5e-324"),
    (123456789012345680000.0, "123456789012345680000"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
]


@pytest.mark.parametrize(("value", "text"), JS_NUMBERS)
def test_numbers_print_like_javascript(value: float, text: str) -> None:
    assert js_number_text(value) == text
    assert dumps([value]) == f"[{text}]".encode()


def test_compact_utf8_key_order_kept_and_nan_is_null() -> None:
    value = {"b": 1, "a": [1.0, "é", None, True], "n": float("nan"), "s": "1.0,2e5"}
    assert dumps(value) == '{"b":1,"a":[1,"é",null,true],"n":null,"s":"1.0,2e5"}'.encode()


def test_strings_that_look_like_floats_are_left_alone() -> None:
    assert dumps({"v": "version 2.0]", "e": "1e9"}) == b'{"v":"version 2.0]","e":"1e9"}'
