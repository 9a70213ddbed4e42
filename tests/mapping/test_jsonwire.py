"""JSON exactly as JavaScript's JSON.stringify writes it."""

from __future__ import annotations

import pytest

from cdpctl import jsonwire
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


def test_fast_check_agrees_with_the_exact_walk_on_random_values() -> None:
    import random

    import orjson

    from cdpctl.jsonwire import _rewrite

    rng = random.Random(7)
    pieces = ["1.0", "x.0,", '\\"', "2e-5", "é", "\\\\", "a", "0", "-", "]", "}"]

    def value(depth: int):
        kind = rng.randrange(7 if depth < 3 else 4)
        if kind == 0:
            return rng.choice([2.0, -3.0, 0.5, 12.05, 1e21, 1e-7, 1e16, 100.0, 7, -0.0])
        if kind == 1:
            return "".join(rng.choice(pieces) for _ in range(rng.randrange(6)))
        if kind == 2:
            return rng.choice([True, None, 42])
        if kind == 3:
            return rng.randrange(-(10**6), 10**6) / rng.choice([1, 10, 1000])
        if kind == 4:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}.0": value(depth + 1) for i in range(rng.randrange(4))}

    for _ in range(3000):
        sample = value(0)
        assert dumps(sample) == orjson.dumps(_rewrite(sample)), sample


def test_loads_reads_integral_floats_as_javascript_does() -> None:
    from cdpctl.jsonwire import loads

    value = loads(b'{"price": 25.0, "tax": 2.50, "n": 1e21, "s": "2.0", "xs": [3.00, 0.5]}')
    assert value == {"price": 25, "tax": 2.5, "n": 1e21, "s": "2.0", "xs": [3, 0.5]}
    assert type(value["price"]) is int and type(value["xs"][0]) is int
    assert dumps(value) == b'{"price":25,"tax":2.5,"n":1e+21,"s":"2.0","xs":[3,0.5]}'


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        (b'{"n":9007199254740993}', b'{"n":9007199254740992}'),  # JSON.parse rounds to a double
        (b'{"n":-9007199254740993}', b'{"n":-9007199254740992}'),
        (b'{"n":9007199254740991}', b'{"n":9007199254740991}'),  # the largest safe integer
        (b'{"n":18446744073709551617}', b'{"n":18446744073709552000}'),
        (b'{"id":"12345678901234567890","n":1}', b'{"id":"12345678901234567890","n":1}'),
    ],
)
def test_numbers_are_parsed_as_javascript_parses_them(text: bytes, sent: bytes) -> None:
    assert jsonwire.dumps(jsonwire.loads(text)) == sent
