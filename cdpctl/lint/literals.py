"""CDP606: an email address or phone number written into a mapping as a literal.

A contact field hard-coded to `jane@acme.com` sends every matching event to, or updates, that
one person: usually a value left over from testing. Not reported:
- sender-side fields, where a fixed address is the point: any field path with a key named
  from…, sender…, reply_to…/replyTo…, cc… or bcc… (`from.email`, `fromAddress`, `reply_to`);
- subscriptions whose name says they are tests: the word test, tests, testing, smoke or qa
  (`Smoke test: order email to QA inbox`);
- settings (`destination.settings`), placeholders inside templates, and text around them.
"""

from __future__ import annotations

import re
from typing import Final

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.lint.context import Subscription
from cdpctl.lint.walk import Literal, literals
from cdpctl.loading import Document
from cdpctl.providers.base import Provider

EMAIL: Final = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
#: International numbers as people write them: +, then 8 to 15 digits, spaces/dashes/dots/().
PHONE: Final = re.compile(r"\+[0-9][0-9 ().-]{6,20}[0-9]")
SENDER_KEY: Final = re.compile(
    r"^(?:from|sender|replyto)|^b?cc(?:$|address|email|list)", re.IGNORECASE
)
TEST_NAME: Final = re.compile(r"\b(test|tests|testing|smoke|qa)\b", re.IGNORECASE)


def kind_of(value: str) -> str | None:
    """What a literal string is: "email address", "phone number", or None."""
    text = value.strip()
    if EMAIL.fullmatch(text) or _named_address(text):
        return "email address"
    if PHONE.fullmatch(text) and 8 <= sum(c.isdigit() for c in text) <= 15:
        return "phone number"
    return None


def _named_address(text: str) -> bool:
    """`Example Shop <news@example.com>`."""
    match = re.fullmatch(r"[^<>]*<([^<>]+)>", text)
    return bool(match and EMAIL.fullmatch(match.group(1).strip()))


def _is_sender(literal: Literal) -> bool:
    return any(
        isinstance(key, str) and SENDER_KEY.match(key.replace("_", "").replace("-", ""))
        for key in literal.field
    )


def check(document: Document, provider: Provider, subs: list[Subscription]) -> list[Diagnostic]:
    del provider
    found = []
    for sub in subs:
        if TEST_NAME.search(sub.name):
            continue
        for literal in literals(sub.mapping):
            kind = kind_of(literal.value)
            if kind is None or _is_sender(literal):
                continue
            field = ".".join(str(part) for part in literal.field)
            trait = "email" if kind == "email address" else "phone"
            where_traits = "traits" if sub.types <= {"identify", "group"} else "context.traits"
            source = f"$.{where_traits}.{trait}"
            found.append(
                document.diagnostic(
                    codes.HARD_CODED_CONTACT,
                    f'{field} is the hard-coded {kind} "{literal.value}": every matching '
                    "event goes to that one contact",
                    (*sub.base, "mapping", *literal.where),
                    severity=Severity.WARNING,
                    hint=f'map it from the event, e.g. {{"@path": "{source}"}}; if it is a '
                    'test, say so in the subscription name ("… test …")',
                )
            )
    return found
