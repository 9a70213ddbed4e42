"""One URL builder: every request's URL as node-fetch 2 (Segment's runtime) puts it on the wire."""

from __future__ import annotations

import pytest

from cdpctl.providers.base import Request
from cdpctl.providers.urls import wire_url


@pytest.mark.parametrize(
    ("built", "sent"),
    [
        (
            "https://r1-api.dotdigital.com/contacts/v3/email/o'brien@example.com",
            "https://r1-api.dotdigital.com/contacts/v3/email/o%27brien@example.com",
        ),
        ("https://x.example/a b/c?x=1 2&y='q'", "https://x.example/a%20b/c?x=1%202&y=%27q%27"),
        ("https://x.example/a/../b/./c", "https://x.example/b/c"),
        ("https://x.example/a|b^c`d", "https://x.example/a%7Cb%5Ec%60d"),
        ("https://x.example/jöe", "https://x.example/j%C3%B6e"),
        ("https://x.example/a#fragment", "https://x.example/a"),
        ("https://X.Example/a%2Fb", "https://x.example/a%2Fb"),
        ("https://x.example/plain/path?q=1&r=a,b", "https://x.example/plain/path?q=1&r=a,b"),
    ],
)
def test_wire_url(built: str, sent: str) -> None:
    assert wire_url(built) == sent
    assert wire_url(sent) == sent  # idempotent: an endpoint override re-applies it


def test_every_request_carries_its_wire_url() -> None:
    request = Request("GET", "https://x.example/contacts/o'brien@example.com")
    assert request.url == "https://x.example/contacts/o%27brien@example.com"
    assert request.with_base("http://127.0.0.1:8765").url.endswith("/o%27brien@example.com")
