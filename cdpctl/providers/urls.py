"""URLs exactly as Segment's runtime puts them on the wire.

Segment's destination code builds URLs by interpolating values into strings (some encode them
with `encodeURIComponent` first; each provider module does what its Segment destination does).
actions-core then sends them with node-fetch 2, which serialises the string as a WHATWG URL
(`new URL(s).toString()`) and parses the result again with Node's legacy `url.parse`, whose
auto-escaping encodes a few more characters. `wire_url` applies both steps, for every request
of every provider: `o'brien@example.com` in a path goes out as `o%27brien@example.com`.

Only what applies to http(s) URLs with an ASCII host is emulated: tabs and newlines removed,
`\\` read as `/`, `.`/`..` path segments resolved, the WHATWG path, query and fragment
percent-encode sets, the fragment dropped (it never reaches the server), legacy auto-escapes.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# WHATWG URL Standard, "percent-encode sets" (C0 controls, DEL and non-ASCII always included).
_PATH_SET = frozenset(' "#<>?`{}')
_QUERY_SET = frozenset(" \"#<>'")  # the special-query percent-encode set (http, https)
# Node's legacy url.parse `autoEscapeChars`, applied after the WHATWG serialisation.
_LEGACY = frozenset("{}|\\^`'\"<> \r\n\t")
# Everything here passes both steps untouched: the fast path for ordinary URLs.
_PLAIN = re.compile(r"[A-Za-z0-9\-._~:/@!$&()*+,;=%]*\Z")


def _encode(text: str, escaped: frozenset[str]) -> str:
    out = []
    for char in text:
        if char in escaped or ord(char) < 0x21 or ord(char) > 0x7E:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def _path(path: str) -> str:
    segments: list[str] = []
    parts = path.replace("\\", "/").split("/")[1:]
    for index, segment in enumerate(parts):
        last = index == len(parts) - 1
        lowered = segment.lower()
        if lowered in (".", "%2e"):
            if last:
                segments.append("")
            continue
        if lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if segments:
                segments.pop()
            if last:
                segments.append("")
            continue
        segments.append(_encode(segment, _PATH_SET | _LEGACY))
    return "/" + "/".join(segments)


def wire_url(url: str) -> str:
    """`url` as node-fetch 2 sends it (see the module docstring)."""
    if url.isascii() and _PLAIN.match(url) and "/." not in url and "%2" not in url.lower():
        return url
    text = url.strip(
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11"
        "\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
    )
    text = text.replace("\t", "").replace("\n", "").replace("\r", "")
    parts = urlsplit(text)
    path = _path(parts.path or "/")
    query = _encode(parts.query, _QUERY_SET | _LEGACY) if parts.query else ""
    if not query and "?" in text.split("#", 1)[0]:
        return urlunsplit((parts.scheme, parts.netloc.lower(), path, "", "")) + "?"
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, query, ""))
