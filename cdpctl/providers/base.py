"""The shape every provider module fills in: settings, actions, fields and request builders.

A provider module never sends anything. An action's `plan` is a generator that *yields*
`Request` values and receives a `Reply` for each (from the transport in live mode, or the
request's own `dry_run_reply` in dry-run), so lookups that precede the main call are visible
in dry-run exactly as live mode would send them.
"""

from __future__ import annotations

import enum
import functools
import re
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from cdpctl import __version__, jsonwire
from cdpctl.diagnostics import Diagnostic
from cdpctl.providers.layouts import Entry
from cdpctl.providers.urls import wire_url

NO_DEFAULT: Any = type("NoDefault", (), {"__repr__": lambda self: "NO_DEFAULT"})()


class FieldType(str, enum.Enum):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    OBJECT = "object"
    DATETIME = "datetime"  # Segment's "datetime": an ISO-8601 string or an epoch number
    ANY = "any"


class Format(str, enum.Enum):
    EMAIL = "email"
    E164 = "e164"
    URI = "uri"
    DATE_TIME = "date-time"
    HOSTNAME = "hostname"


@dataclass(frozen=True, slots=True)
class Field:
    """One input field of an action, as Segment's action definitions declare them."""

    name: str
    type: FieldType
    title: str
    description: str = ""
    required: bool = False
    default: Any = NO_DEFAULT  # a mapping-kit value (directive or literal) used when unmapped
    multiple: bool = False  # an array of `type`
    enum: tuple[Any, ...] | None = None
    format: Format | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    allow_null: bool = False
    properties: tuple[Field, ...] = ()  # declared keys of an object field
    # Whether an object field with declared `properties` keeps other keys too. Segment's
    # runtime (ajv, removeAdditional) strips undeclared keys unless the field says so.
    additional_properties: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True, slots=True)
class Setting:
    """One destination setting (API key, region, ...)."""

    name: str
    title: str
    description: str = ""
    type: str = "string"  # string | number | boolean
    required: bool = False
    secret: bool = False
    # Identifies the account when authenticating (a client id, an API user name): not secret
    # alone, but a value given as ${ENV} is redacted like a secret.
    credential: bool = False
    default: Any = NO_DEFAULT
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


ENDPOINT_SHAPE = re.compile(r"^https?://[^/\s?#]+/?$")


def endpoint_problem(endpoint: str) -> str | None:
    """Why `endpoint` cannot stand in for a provider's host (`--endpoint`, `endpoint:`), or None.

    An endpoint replaces scheme, host and port only; every request keeps its own path, so a
    path in the endpoint would be ambiguous and is refused."""
    if ENDPOINT_SHAPE.match(endpoint):
        return None
    parts = urlsplit(endpoint if "://" in endpoint else "//" + endpoint)
    if "://" not in endpoint:
        return f"needs a scheme: use http://{endpoint} or https://{endpoint}"
    if parts.scheme not in ("http", "https"):
        return f"scheme must be http or https (got {parts.scheme!r})"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return (
            f"takes scheme://host[:port] only; requests keep their own paths, so drop "
            f"{endpoint[len(parts.scheme) + 3 + len(parts.netloc) :]!r}"
        )
    return "must be scheme://host[:port], e.g. http://127.0.0.1:8765"


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of a provider's HTTP API, declared once: the request builders fill it in
    (`url`) and the sandbox routes on it (`regex`). `path` is relative to the provider's host
    and holds `{name}` placeholders, one path segment each."""

    method: str
    path: str  # e.g. "/contacts/v3/{channel}/{value}"
    doc_url: str

    @property
    def params(self) -> tuple[str, ...]:
        return _endpoint_params(self.path)

    def url(self, host: str, **values: object) -> str:
        """`host` + the path with every placeholder replaced by its value as text, exactly as
        given: each provider encodes values (or not) as its Segment destination does, and
        `Request` then applies `wire_url` like every other URL."""
        if set(values) != set(self.params):
            raise TypeError(f"{self.method} {self.path} takes {self.params}, got {tuple(values)}")
        if not values:
            return host + self.path
        return host + _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), self.path)

    def regex(self) -> re.Pattern[str]:
        """Matches the path of a request to this endpoint (placeholders as named groups)."""
        return _endpoint_regex(self.path)


@functools.cache
def _endpoint_params(path: str) -> tuple[str, ...]:
    return tuple(_PLACEHOLDER.findall(path))


@functools.cache
def _endpoint_regex(path: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(path)  # literal, name, literal, name, ..., literal
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


#: Headers every request carries unless its provider sets them. Segment sends `Accept: */*`
#: too; the User-Agent is cdpctl's own so provider logs tell its traffic apart
#: (docs/fidelity.md).
RUNTIME_HEADERS = (("User-Agent", f"cdpctl/{__version__}"), ("Accept", "*/*"))


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, as data. `json`, `form` and `content` are mutually exclusive bodies."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: tuple[tuple[str, str], ...] | None = None
    content: bytes | None = None
    purpose: str = ""
    dry_run_reply: Reply | None = None
    handles: frozenset[int] = frozenset()  # non-2xx statuses the plan inspects itself
    # The plan also receives the final failure after retries (status 0 = no answer at all),
    # e.g. one chunk of a batch, so events of chunks already delivered are not failed with it.
    sees_failure: bool = False
    wait: float = 0.0  # seconds the transport waits before sending (polling a job); no-op dry
    #: what sending this request twice does, where it differs from its action's `repeat`: a
    #: token request or a search is IDEMPOTENT, a keyed write without its key NOT_IDEMPOTENT
    repeat: Repeat | None = None
    _wire: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """The URL as Segment's runtime sends it (one URL builder for every provider)."""
        wire = wire_url(self.url)
        if wire != self.url:
            object.__setattr__(self, "url", wire)

    def wire_headers(self) -> dict[str, str]:
        """The exact headers on the wire (the HTTP client adds only Host, Content-Length,
        Accept-Encoding and Connection)."""
        headers = dict(self.headers)
        named = {name.lower() for name in headers}
        if self.form is not None and "content-type" not in named:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for name, value in RUNTIME_HEADERS:
            if name.lower() not in named:
                headers[name] = value
        return headers

    def body(self) -> bytes:
        """The exact bytes on the wire."""
        if self.content is not None:
            return self.content
        if self.form is not None:
            return urlencode(self.form).encode()
        if self.json is None and self.method in ("GET", "DELETE", "HEAD"):
            return b""
        wire = self._wire
        if wire is None:  # requests are immutable values: serialise once
            wire = jsonwire.dumps(self.json)
            object.__setattr__(self, "_wire", wire)
        return wire

    def with_wire(self, wire: bytes) -> Request:
        """This request, its body already serialised: `wire` must be `jsonwire.dumps(json)`
        (a batch joined from its items' own serialisations, which saves serialising twice)."""
        object.__setattr__(self, "_wire", wire)
        return self

    def with_base(self, endpoint: str) -> Request:
        """Same request sent to `endpoint` (scheme://host[:port], see ENDPOINT_SHAPE): scheme
        and host replaced, path and query kept."""
        base = urlsplit(endpoint)
        own = urlsplit(self.url)
        url = urlunsplit((base.scheme, base.netloc, own.path, own.query, own.fragment))
        moved = replace(self, url=url)
        object.__setattr__(moved, "_wire", self._wire)  # the same body: serialised once
        return moved


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP response as the plan sees it."""

    status: int
    json: Any = None
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: status 0 only: the request was sent and never answered whole, and must not be repeated
    in_doubt: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ActionFailed(Exception):
    """Raised by a plan when the provider's answer means this event cannot be delivered."""

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable


class Skip(Exception):
    """Raised by a plan when, by the provider's rules, there is nothing to send for this event."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ItemResult:
    """Outcome of one event inside a batch request (multistatus)."""

    ok: bool
    status: int | None = None
    reason: str = ""
    retryable: bool = False  # the transport resends just this item (with backoff)
    in_doubt: bool = False  # its request may have been processed (see `unanswered`)


#: What an id a provider hands back may hold before cdpctl puts it in a URL or a body.
LEARNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")


def learnt_id(value: Any, what: str, ctx: ActionContext) -> Any:
    """An id learnt from a provider's answer (a contact id, an async request id), checked
    before a later request carries it: a whole number, or up to 200 letters, digits and
    `._:-`. Anything else (a path, a query, a line break) fails the event, naming what and
    never echoing the value. Dry runs hold the plan's own placeholders and pass as they are."""
    if ctx.dry_run:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and LEARNT_ID.fullmatch(value):
        return value
    raise ActionFailed(
        f"{what}: the provider's answer holds an id cdpctl will not put in a request "
        f"({type(value).__name__} of {len(str(value)):,} characters; ids are whole numbers or "
        "letters, digits and ._:-)",
        retryable=False,
    )


def unanswered(reply: Reply, provider: str) -> ItemResult:
    """The result for each event of a request that got no answer at all (status 0): failed,
    or in doubt when the request was sent and may have been processed."""
    return ItemResult(
        False, None, f"no answer from {provider}: {reply.text}", in_doubt=reply.in_doubt
    )


@dataclass(slots=True)
class ActionContext:
    """Per-destination, per-run state a plan may use (e.g. a cached OAuth token)."""

    settings: Mapping[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    dry_run: bool = True
    secrets_found: list[str] = field(default_factory=list)

    def add_secret(self, value: str) -> None:
        """Register a secret learned at run time (e.g. an access token) for redaction."""
        if value:
            self.secrets_found.append(value)


#: An action's request plan: it yields each request, is sent each reply, and returns when the
#: event is done (a tracking plan is something else: cdpctl.plans).
RequestPlan = Generator[Request, Reply, Any]


@dataclass(frozen=True, slots=True)
class BatchSpec:
    max_events: int
    max_bytes: int | None = None
    doc_url: str = ""


class Repeat(enum.Enum):
    """What the provider does when it receives the same write twice — which decides whether an
    attempt that may have been processed (sent, never answered whole) can be sent again
    (docs/guarantees.md)."""

    #: an upsert or a removal keyed by the contact or row: a repeat changes nothing
    IDEMPOTENT = "idempotent"
    #: the request carries a key the provider deduplicates by (Segment's messageId)
    KEYED = "keyed"
    #: an email, an SMS, a journey entry, an event without a key: a repeat is a second one
    NOT_IDEMPOTENT = "not idempotent"


#: Methods whose requests change nothing at the provider: always safe to send again.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Upsert(enum.Enum):
    """How an action writes where the provider keeps only the last write (no event time to
    order by), which the timestamp lint (CDP605) needs to know."""

    NONE = "none"
    CONTACT = "contact"  # a contact upsert, whatever the trigger
    ROW = "row"  # a row upsert: a contact's state only when the trigger matches identify only


@dataclass(frozen=True, slots=True, eq=False)  # identity equality: usable as a cache key
class Action:
    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    plan: Callable[[dict[str, Any], ActionContext], RequestPlan]
    #: what a repeat of the action's write does (see Repeat); declared by every action
    repeat: Repeat
    default_trigger: str = ""
    check: Callable[[dict[str, Any], Mapping[str, Any]], list[Diagnostic]] | None = None
    batch: BatchSpec | None = None
    plan_batch: Callable[[list[dict[str, Any]], ActionContext], RequestPlan] | None = None
    #: `plan_batch` given also, per payload, the requests its own plan made in the dry run
    #: (`Ready.requests`), whose bodies the batch reuses instead of building them again: the
    #: same bytes, serialised once (a live replay judges every event as a dry run does)
    plan_batch_planned: (
        Callable[[list[dict[str, Any]], list[tuple[Request, ...]], ActionContext], RequestPlan]
        | None
    ) = None
    upsert: Upsert = Upsert.NONE
    #: The layout of the JSON body of the one request `plan` sends for a payload `check`
    #: accepts, where the action declares it (its plan builds the body from this very layout,
    #: cdpctl.providers.layouts); a dry run counts such events by their body's size without
    #: building the request.
    layout: tuple[Entry, ...] | None = None

    def field(self, name: str) -> Field | None:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests_per_second: float
    doc_url: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    title: str
    description: str
    settings: tuple[Setting, ...]
    actions: tuple[Action, ...]
    rate_limit: RateLimit
    docs_url: str = ""
    #: every API operation the provider's requests use (the sandbox emulates each of them)
    endpoints: tuple[Endpoint, ...] = ()
    #: the `slug`s of Segment's destinations this provider stands for (`import segment`)
    segment_slugs: tuple[str, ...] = ()
    derived_secrets: Callable[[Mapping[str, Any]], list[str]] = field(default=lambda settings: [])
    check_settings: Callable[[Mapping[str, Any]], list[Diagnostic]] | None = None
    test_authentication: Callable[[ActionContext], RequestPlan] | None = None

    def action(self, name: str) -> Action | None:
        for candidate in self.actions:
            if candidate.name == name:
                return candidate
        return None

    def setting(self, name: str) -> Setting | None:
        for candidate in self.settings:
            if candidate.name == name:
                return candidate
        return None

    def is_retryable(self, status: int) -> bool:
        return is_retryable(status)


RETRYABLE_CLIENT_STATUSES = frozenset({408, 423, 429})


def is_retryable(status: int) -> bool:
    """Segment's rule for every provider: 5xx except 501, plus 408, 423 and 429, are worth
    another attempt."""
    return status in RETRYABLE_CLIENT_STATUSES or (500 <= status < 600 and status != 501)
