"""OAuth client-credentials tokens: fetched once per run, cached until shortly before they
expire, and refreshed once when SFMC answers 401 (reference §1.2).

Token API: https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/access-token-s2s.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cdpctl.providers.base import ActionContext, ActionFailed, Repeat, Reply, Request
from cdpctl.providers.sfmc.api import CLIENT_ERRORS, TOKEN, auth_host

# The subdomain becomes part of a host name, so `/ @ : . ? #` or spaces could redirect the
# token request (and the client secret) elsewhere.
SUBDOMAIN_PATTERN = r"^[a-zA-Z0-9-]+$"
TOKEN_LIFETIME = 1200.0  # seconds, when a reply omits expires_in: "20 minutes" per Salesforce
REFRESH_MARGIN = 60.0  # get a new token this long before the old one expires
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=UTF-8"
PLACEHOLDER_TOKEN = "<access_token>"

Auth = Generator[Request, Reply, Any]


def subdomain_problem(value: Any) -> str | None:
    """None for a usable tenant subdomain, else why it is refused."""
    if isinstance(value, str) and re.fullmatch(SUBDOMAIN_PATTERN, value):
        return None
    shown = "missing" if value is None else f'"{value}"'
    return (
        f"Invalid Salesforce Marketing Cloud subdomain {shown}: use only letters, digits and "
        "hyphens, e.g. mc563885gzs27c5t9-63k636ttgm (without .rest.marketingcloudapis.com)"
    )


def checked_subdomain(settings: Mapping[str, Any]) -> str:
    """The subdomain, or a non-retryable failure before anything is sent to a host built from it."""
    subdomain = settings.get("subdomain")
    problem = subdomain_problem(subdomain)
    if problem is not None:
        raise ActionFailed(problem, status=400, retryable=False)
    return str(subdomain)


def token_form(settings: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The form Segment posts, in its field order; account_id is left out when not set."""
    fields = [
        ("account_id", settings.get("account_id")),
        ("client_id", settings.get("client_id")),
        ("client_secret", settings.get("client_secret")),
        ("grant_type", "client_credentials"),
    ]
    return tuple((name, str(value)) for name, value in fields if value not in (None, ""))


def token_request(settings: Mapping[str, Any]) -> Request:
    return Request(
        "POST",
        TOKEN.url(auth_host(checked_subdomain(settings))),
        (("Content-Type", FORM_CONTENT_TYPE),),
        form=token_form(settings),
        purpose="get an OAuth access token (client credentials)",
        repeat=Repeat.IDEMPOTENT,  # issuing a token changes nothing a repeat could double
        dry_run_reply=Reply(
            200, {"access_token": PLACEHOLDER_TOKEN, "token_type": "Bearer", "expires_in": 1079}
        ),
        handles=CLIENT_ERRORS,
    )


@dataclass(frozen=True, slots=True)
class CachedToken:
    value: str
    expires_at: float  # ctx.clock() time after which the token is not used again


#: RFC 6750's b64token: what a Bearer token may hold (https://www.rfc-editor.org/rfc/rfc6750#section-2.1)
BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_CHARS = 16_384  # SFMC's tokens are a few hundred characters


def cache_key(settings: Mapping[str, Any]) -> str:
    parts = (settings.get("subdomain"), settings.get("client_id"), settings.get("account_id"))
    return "sfmc.token:" + "\x1f".join("" if part is None else str(part) for part in parts)


def _token_failure(reply: Reply) -> ActionFailed:
    body = reply.json if isinstance(reply.json, dict) else {}
    detail = ": ".join(
        str(body[key]) for key in ("error", "error_description") if body.get(key)
    ) or (reply.text.strip() or "no details")
    return ActionFailed(
        f"SFMC refused the token request ({reply.status}, {detail}); check subdomain, "
        "client_id, client_secret and account_id (Installed Packages → API Integration)",
        status=reply.status,
        retryable=False,
    )


def access_token(ctx: ActionContext, *, refresh: bool = False) -> Auth:
    """The cached token, or a new one from /v2/token (yielded as a request) when it is missing,
    about to expire, or `refresh` is asked for after a 401."""
    key = cache_key(ctx.settings)
    cached = ctx.cache.get(key)
    now = ctx.clock()
    if not refresh and isinstance(cached, CachedToken) and now < cached.expires_at:
        return cached.value
    reply = yield token_request(ctx.settings)
    body = reply.json if isinstance(reply.json, dict) else {}
    token = body.get("access_token")
    if not reply.ok or not isinstance(token, str) or not token:
        raise _token_failure(reply)
    if not ctx.dry_run:
        ctx.add_secret(token)
    if not ctx.dry_run and (len(token) > MAX_TOKEN_CHARS or not BEARER_TOKEN.fullmatch(token)):
        raise ActionFailed(
            f"SFMC answered the token request with an access_token of {len(token):,} "
            "character(s) that cannot be sent in an Authorization header (RFC 6750 allows "
            "letters, digits and -._~+/ only); nothing was sent with it",
            status=reply.status,
            retryable=False,
        )
    lifetime = body.get("expires_in")
    if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = TOKEN_LIFETIME
    ctx.cache[key] = CachedToken(token, now + max(lifetime - REFRESH_MARGIN, 0.0))
    return token


def bearer_headers(token: str) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))


def authorized(ctx: ActionContext, build: Callable[[str], Request]) -> Auth:
    """Send `build(token)`; on a 401 get a new token and send it once more. Returns the reply
    (a second 401 reaches the caller only if `build` lists 401 in `handles`)."""
    token = yield from access_token(ctx)
    first = build(token)
    reply = yield replace(first, handles=first.handles | {401})
    if reply.status == 401:
        token = yield from access_token(ctx, refresh=True)
        reply = yield build(token)
    return reply
