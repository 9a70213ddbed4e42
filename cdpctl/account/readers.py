"""One read plan per provider: the requests that read the parts of an account a mapping file
depends on, over the endpoints its provider module declares, and the snapshot they make.

A read plan has the shape of an action's plan (it yields `Request`s and receives `Reply`s), so
the same driver sends it to the provider or to the sandbox. Every answer is hostile input: its
shape is checked, its text is cut to one short line before it reaches a message, and paging
stops after `MAX_PAGES`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cdpctl.account.references import Uses, data_extension_references
from cdpctl.account.snapshot import Column, DataExtension, Item, Snapshot
from cdpctl.providers.base import ActionContext, Reply, Request

Read = Generator[Request, Reply, Snapshot]
MAX_PAGES = 500  # per paged kind: 100,000 address books at 200 a page
MAX_TEXT = 500  # characters kept of a name or a type


class ReadError(Exception):
    """The provider's answer cannot be used; the message is one line, without secrets."""


def one_line(text: Any, most: int = 200) -> str:
    """Provider text made safe for a one-line message: control characters out, cut short."""
    cleaned = "".join(c if c.isprintable() else " " for c in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= most else cleaned[: most - 1] + "…"


def _refused(provider: str, request: Request, reply: Reply) -> ReadError:
    body = reply.json
    detail = ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errors", "description"):
            if body.get(key):
                detail = str(body[key])
                break
    detail = one_line(detail or reply.text or "no details")
    path = urlsplit(request.url).path
    hint = (
        " — check the credentials in the mapping file's settings"
        if reply.status
        in (
            401,
            403,
        )
        else ""
    )
    return ReadError(
        f"{provider} answered {reply.status} to {request.method} {path}: {detail}{hint}"
    )


def _ok(provider: str, request: Request, reply: Reply) -> Any:
    if not reply.ok:
        raise _refused(provider, request, reply)
    return reply.json


def _text(value: Any, what: str, provider: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ReadError(f"{provider} answered an unexpected {what}: {one_line(repr(value), 80)}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return one_line(value, MAX_TEXT)


def _entries(body: Any, what: str, provider: str, key: str | None = None) -> list[dict[str, Any]]:
    found = body.get(key) if key is not None and isinstance(body, dict) else body
    if key is not None and isinstance(body, dict) and key not in body:
        found = []  # SendGrid: a missing list counts as an empty one
    if not isinstance(found, list):
        raise ReadError(f"{provider} answered something other than a list of {what}")
    for index, entry in enumerate(found):
        if not isinstance(entry, dict):
            raise ReadError(f"{provider} answered {what} item {index} that is not an object")
    return found


def _items(
    entries: list[dict[str, Any]],
    provider: str,
    what: str,
    id_key: str,
    name_key: str,
    type_key: str | None = None,
    status_key: str | None = None,
) -> list[Item]:
    out = []
    for entry in entries:
        out.append(
            Item(
                _text(entry.get(id_key), f"{what} {id_key}", provider),
                _text(entry.get(name_key, ""), f"{what} {name_key}", provider),
                one_line(entry.get(type_key) or "", MAX_TEXT) if type_key else "",
                one_line(entry.get(status_key) or "", MAX_TEXT) if status_key else "",
            )
        )
    return out


def _get(url: str, headers: tuple[tuple[str, str], ...], purpose: str) -> Request:
    return Request("GET", url, headers, purpose=purpose)


# --- Loops -------------------------------------------------------------------------------------


def _loops(settings: Mapping[str, Any], uses: Uses, ctx: ActionContext, now: datetime) -> Read:
    from cdpctl.providers import loops

    headers = (("Authorization", f"Bearer {settings.get('apiKey', '')}"),)
    request = _get(
        loops.CONTACT_PROPERTIES.url(loops.HOST) + loops.CONTACT_PROPERTIES_QUERY,
        headers,
        "read the contact properties",
    )
    reply = yield request
    entries = _entries(_ok("Loops", request, reply), "contact properties", "Loops")
    fields = _items(entries, "Loops", "contact property", "key", "label", "type")
    request = _get(loops.MAILING_LISTS.url(loops.HOST), headers, "read the mailing lists")
    reply = yield request
    entries = _entries(_ok("Loops", request, reply), "mailing lists", "Loops")
    lists = _items(entries, "Loops", "mailing list", "id", "name")
    return Snapshot(
        "loops", now, ("fields", "lists"), items={"fields": tuple(fields), "lists": tuple(lists)}
    )


# --- Dotdigital --------------------------------------------------------------------------------


def _dotdigital(settings: Mapping[str, Any], uses: Uses, ctx: ActionContext, now: datetime) -> Read:
    from cdpctl.providers.dotdigital import api

    host = api.api_host(settings)
    headers = api.headers(settings)
    request = _get(api.DATA_FIELDS.url(host), headers, "read the data fields")
    reply = yield request
    entries = _entries(_ok("Dotdigital", request, reply), "data fields", "Dotdigital")
    fields = _items(entries, "Dotdigital", "data field", "name", "name", "type")
    lists = yield from _dotdigital_pages(api.ADDRESS_BOOKS.url(host), headers, "address books")
    request = _get(api.PROGRAMS.url(host), headers, "read the programs")
    reply = yield request
    entries = _entries(_ok("Dotdigital", request, reply), "programs", "Dotdigital")
    programs = _items(entries, "Dotdigital", "program", "id", "name", status_key="status")
    campaigns = yield from _dotdigital_pages(api.CAMPAIGNS.url(host), headers, "campaigns")
    return Snapshot(
        "dotdigital",
        now,
        ("fields", "lists", "programs", "campaigns"),
        items={
            "fields": tuple(fields),
            "lists": tuple(lists),
            "programs": tuple(programs),
            "campaigns": tuple(campaigns),
        },
    )


def _dotdigital_pages(
    url: str, headers: tuple[tuple[str, str], ...], what: str
) -> Generator[Request, Reply, list[Item]]:
    from cdpctl.providers.dotdigital.api import PAGE_SIZE

    found: list[Item] = []
    for page in range(MAX_PAGES):
        query = urlencode({"select": PAGE_SIZE, "skip": page * PAGE_SIZE})
        request = _get(f"{url}?{query}", headers, f"read the {what} (page {page + 1})")
        reply = yield request
        entries = _entries(_ok("Dotdigital", request, reply), what, "Dotdigital")
        found += _items(entries, "Dotdigital", what, "id", "name", status_key="status")
        if len(entries) < PAGE_SIZE:
            return found
    raise ReadError(f"Dotdigital kept answering pages of {what} after {MAX_PAGES} pages")


# --- SendGrid ----------------------------------------------------------------------------------


def _sendgrid(settings: Mapping[str, Any], uses: Uses, ctx: ActionContext, now: datetime) -> Read:
    from cdpctl.providers.sendgrid import api

    host = api.base_url(settings)
    headers = api.headers(settings, json=False)
    request = _get(api.FIELD_DEFINITIONS.url(host), headers, "read the custom field definitions")
    reply = yield request
    body = _ok("SendGrid", request, reply)
    entries = _entries(body, "custom fields", "SendGrid", "custom_fields")
    fields = _items(entries, "SendGrid", "custom field", "id", "name", "field_type")
    lists = yield from _sendgrid_pages(
        api.LISTS.url(host), {"page_size": api.LISTS_PAGE_SIZE}, headers, "lists"
    )
    templates = yield from _sendgrid_pages(
        api.TEMPLATES.url(host),
        {"generations": api.TEMPLATE_GENERATIONS, "page_size": api.TEMPLATES_PAGE_SIZE},
        headers,
        "templates",
        type_key="generation",
    )
    return Snapshot(
        "sendgrid",
        now,
        ("fields", "lists", "templates"),
        items={"fields": tuple(fields), "lists": tuple(lists), "templates": tuple(templates)},
    )


def _sendgrid_pages(
    url: str,
    query: dict[str, Any],
    headers: tuple[tuple[str, str], ...],
    what: str,
    type_key: str | None = None,
) -> Generator[Request, Reply, list[Item]]:
    found: list[Item] = []
    token: str | None = None
    for page in range(MAX_PAGES):
        params = {**query, **({"page_token": token} if token else {})}
        request = _get(f"{url}?{urlencode(params)}", headers, f"read the {what} (page {page + 1})")
        reply = yield request
        body = _ok("SendGrid", request, reply)
        entries = _entries(body, what, "SendGrid", "result")
        found += _items(entries, "SendGrid", what, "id", "name", type_key)
        token = _next_token(body)
        if token is None:
            return found
    raise ReadError(f"SendGrid kept answering pages of {what} after {MAX_PAGES} pages")


def _next_token(body: Any) -> str | None:
    """The `page_token` of `_metadata.next` (its host and path are never followed)."""
    metadata = body.get("_metadata") if isinstance(body, dict) else None
    following = metadata.get("next") if isinstance(metadata, dict) else None
    if not isinstance(following, str) or not following:
        return None
    tokens = parse_qs(urlsplit(following).query).get("page_token")
    if not tokens or not tokens[0]:
        raise ReadError("SendGrid answered a next page without a page_token")
    return tokens[0]


# --- SFMC --------------------------------------------------------------------------------------


def _sfmc(settings: Mapping[str, Any], uses: Uses, ctx: ActionContext, now: datetime) -> Read:
    from cdpctl.providers.sfmc import api
    from cdpctl.providers.sfmc.auth import authorized, checked_subdomain

    host = api.rest_host(checked_subdomain(settings))
    tables = []
    for reference in data_extension_references(uses):
        kind, _, value = reference.partition(":")
        de = api.de_by_key(value) if kind == "key" else api.de_by_id(value)
        url = api.DE_FIELDS.url(host, de=de)

        def build(token: str, url: str = url) -> Request:
            return Request(
                "GET",
                url,
                (("Authorization", f"Bearer {token}"),),
                purpose="read the data extension's columns",
                handles=api.ALL_ERRORS,
            )

        reply = yield from authorized(ctx, build)
        if reply.status == 404:
            tables.append(DataExtension(reference, False))
            continue
        body = _ok("SFMC", build("<token>"), reply)
        entries = _entries(body, "columns", "SFMC", "fields")
        tables.append(DataExtension(reference, True, tuple(_column(e) for e in entries)))
    return Snapshot("sfmc", now, ("data_extensions",), tuple(tables))


def _column(entry: dict[str, Any]) -> Column:
    length = entry.get("length", entry.get("maxLength"))
    nullable = entry.get("isNullable")
    return Column(
        _text(entry.get("name"), "column name", "SFMC"),
        one_line(entry.get("type") or "Text", MAX_TEXT),
        length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None,
        entry.get("isPrimaryKey") is True,
        nullable if isinstance(nullable, bool) else None,
    )


Reader = Callable[[Mapping[str, Any], Uses, ActionContext, datetime], Read]

#: Providers whose account cdpctl reads. Customer.io and Segment expose no schema to read
#: (docs/account.md).
READERS: dict[str, Reader] = {
    "dotdigital": _dotdigital,
    "loops": _loops,
    "sendgrid": _sendgrid,
    "sfmc": _sfmc,
}
