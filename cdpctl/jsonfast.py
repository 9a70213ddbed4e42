"""Archive events decoded fast, exactly as `jsonwire.loads` decodes them.

msgspec parses an event about twice as fast as orjson plus `jsonwire`'s scan for numbers like
`25.0`, because its float hook sees every float literal: the values come out the same without
scanning the text. Anything out of the ordinary — an integral float (which `jsonwire` turns into
an integer, or not, by a rule over the whole text), an integer too long for 64 bits, a number
out of range, a syntax error — is decoded by `jsonwire.loads` itself, so results and errors are
`jsonwire`'s by construction.

`decode` also tells whether the event is *plain*: it holds no float that orjson writes
differently from JavaScript (non-integral floats below 1e-5 are written with exponents by one
and not the other), so orjson's text of its values is already `JSON.stringify`'s and
serialisers may skip `jsonwire.dumps`' output scans.
"""

from __future__ import annotations

from typing import Any

import msgspec

from cdpctl import jsonwire

# A run of 19 digits may be an integer orjson (so jsonwire) turns into a float: beyond 64 bits.
_DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19
_SMALLEST_PLAIN = 1e-5


class _Floats:
    """The float hook, and what it saw in the event being decoded."""

    __slots__ = ("integral", "risky")

    def __init__(self) -> None:
        self.integral = False
        self.risky = False

    def __call__(self, text: str) -> float:
        value = float(text)
        if value.is_integer() or value != value or value in (_INF, -_INF):
            self.integral = True  # jsonwire's own rule decides; so does its error for ±inf
        elif -_SMALLEST_PLAIN < value < _SMALLEST_PLAIN:
            self.risky = True
        return value


_INF = float("inf")


class EventDecoder:
    """One decoder per process: not safe to share between threads (the hook keeps state)."""

    def __init__(self) -> None:
        self._floats = _Floats()
        self._decoder = msgspec.json.Decoder(float_hook=self._floats)

    def decode(self, data: bytes) -> tuple[Any, bool]:
        """(value, plain) — the value `jsonwire.loads(data)` gives (or its exception)."""
        if _LONG_NUMBER in data.translate(_DIGITS):
            return jsonwire.loads(data), False
        floats = self._floats
        floats.integral = floats.risky = False
        try:
            value = self._decoder.decode(data)
        except (msgspec.DecodeError, RecursionError, ValueError):
            return jsonwire.loads(data), False
        if floats.integral:
            return jsonwire.loads(data), False
        return value, not floats.risky


DECODER = EventDecoder()
decode = DECODER.decode
