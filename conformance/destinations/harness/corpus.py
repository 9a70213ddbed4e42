"""The corpus: seeded, deterministic cases for every action of the six providers.

Each action starts from its golden cases in tests/cases/providers/<provider>/<action>/ (a
settings block, a mapping and an event that the action accepts). From those the generator
derives, per action:

* mappings — the action's defaults (`defaults.yaml`), the same effective mapping written out in
  reverse key order with `defaults: false`, the all-fields mapping, and the required fields;
* events — the golden event, then one event per (path the mapping reads, odd value): missing,
  null, empty, unicode, non-ASCII and URL-hostile emails, 2^53+1, 1e21, 1e-7, -0, 1.0, arrays,
  objects with undeclared keys — and a few seeded mixes of several at once;
* regions — each provider's regions in turn (Dotdigital r1–r3, Customer.io US/EU, SendGrid
  global/EU, the Segment API's two regions);
* batches — actions Segment runs through `performBatch` also get the same events in batches.

Events are JSON *text* so that numbers such as `9007199254740993`, `-0` and `1.0` reach each
side as written.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from . import adapter
from .model import Case, ReplyRule

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "cases" / "providers"

# Stand-ins for the `${ENV}` secrets of the golden settings, the same on both sides.
SECRETS = {
    "LOOPS_API_KEY": "loops-test-key",
    "SENDGRID_API_KEY": "SG.test-key",
    "DOTDIGITAL_USERNAME": "apiuser-test@apiconnector.com",
    "DOTDIGITAL_PASSWORD": "dd-test-password",
    "SFMC_CLIENT_ID": "sfmc-client-id",
    "SFMC_CLIENT_SECRET": "sfmc-client-secret",
    "SEGMENT_WRITE_KEY": "segment-write-key",
    "CUSTOMERIO_SITE_ID": "cio-site-id",
    "CUSTOMERIO_API_KEY": "cio-api-key",
}

SFMC_TOKEN = "sfmc-access-token"

# cdpctl action -> (Segment destination directory, Segment action); None: no counterpart.
SEGMENT_ACTIONS: dict[str, dict[str, tuple[str, str] | None]] = {
    "loops": {a: ("loops", a) for a in ("createOrUpdateContact", "sendEvent")},
    "sendgrid": {a: ("sendgrid", a) for a in ("updateUserProfile", "sendEmail")},
    "dotdigital": {
        a: ("dotdigital", a)
        for a in (
            "addContactToList",
            "enrolContact",
            "removeContactFromList",
            "sendEmailCampaign",
            "sendSms",
            "sendTransactionalSms",
            "sendTransactionalEmail",
        )
    },
    "sfmc": {
        **{
            a: ("salesforce-marketing-cloud", a)
            for a in (
                "contact",
                "dataExtension",
                "contactDataExtension",
                "dataExtensionV2",
                "contactDataExtensionV2",
                "apiEvent",
                "asyncDataExtension",
            )
        },
        # cdpctl's own ports of the classic (pre-Actions) SFMC destination: Segment publishes
        # no code for them in action-destinations.
        "identifyDataExtension": None,
        "trackDataExtension": None,
        "trackApiEvent": None,
    },
    "segment": {
        a: ("segment", a)
        for a in ("sendIdentify", "sendTrack", "sendPage", "sendScreen", "sendGroup")
    },
    "customerio": {
        a: ("customerio", a)
        for a in (
            "createUpdatePerson",
            "trackEvent",
            "trackPageView",
            "trackScreenView",
            "deletePerson",
            "createUpdateDevice",
            "deleteDevice",
            "createUpdateObject",
            "deleteObject",
            "deleteRelationship",
            "mergePeople",
            "suppressPerson",
            "unsuppressPerson",
            "reportContentEvent",
            "reportDeliveryEvent",
        )
    },
}

# Actions Segment runs through `performBatch` (the Segment destination has none: its
# messages are batched by Segment's pipeline, and cdpctl batches them to /batch).
BATCHED = {
    ("sendgrid", "updateUserProfile"),
    *(("sfmc", a) for a in ("dataExtension", "contactDataExtension", "dataExtensionV2")),
    *(("sfmc", a) for a in ("contactDataExtensionV2", "asyncDataExtension")),
    *(("segment", a) for a in ("sendIdentify", "sendTrack", "sendPage", "sendScreen")),
    ("segment", "sendGroup"),
    *(("customerio", a) for a in SEGMENT_ACTIONS["customerio"] if a != "reportDeliveryEvent"),
}

# Settings that select a region, and their values.
REGIONS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "dotdigital": (
        "api_host",
        (
            "https://r1-api.dotdigital.com",
            "https://r2-api.dotdigital.com",
            "https://r3-api.dotdigital.com",
        ),
    ),
    "customerio": ("accountRegion", ("US 🇺🇸", "EU 🇪🇺")),
    "sendgrid": ("endpoint", ("https://api.sendgrid.com", "https://api.eu.sendgrid.com")),
    "segment": ("endpoint", ("north_america", "europe")),
}
# The Segment destination's region is the AWS region of the runtime executing it.
SEGMENT_RUNTIME = {"north_america": "us-west-2", "europe": "eu-west-1"}

DATA_FIELDS = json.dumps(
    [
        {"name": "FIRSTNAME", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "LASTNAME", "type": "String", "visibility": "Private", "defaultValue": None},
        {"name": "BIRTHDAY", "type": "Date", "visibility": "Private", "defaultValue": None},
        {"name": "PLAN", "type": "String", "visibility": "Private", "defaultValue": None},
    ]
)

REPLIES: dict[str, tuple[ReplyRule, ...]] = {
    "dotdigital": (
        ReplyRule("GET", r"/v2/data-fields", 200, DATA_FIELDS),
        ReplyRule("GET", r"/contacts/v3/", 200, '{"contactId":4242,"status":"subscribed"}'),
        ReplyRule("PATCH", r"/contacts/v3/", 200, '{"contactId":4242}'),
        ReplyRule("POST", r"/v2/programs/enrolments", 201, '{"id":"enrol-1"}'),
    ),
    "sendgrid": (
        ReplyRule(
            "GET",
            r"/v3/marketing/field_definitions",
            200,
            '{"custom_fields":[{"id":"e1_T","name":"plan","field_type":"Text"},'
            '{"id":"e2_N","name":"visits","field_type":"Number"}],"reserved_fields":[]}',
        ),
        ReplyRule("PUT", r"/v3/marketing/contacts", 202, '{"job_id":"job-1"}'),
        ReplyRule("POST", r"/v3/marketing/contacts/search", 200, '{"result":[],"contact_count":0}'),
        ReplyRule("POST", r"/v3/mail/send", 202, ""),
    ),
    "sfmc": (
        ReplyRule(
            "POST",
            r"auth\.marketingcloudapis\.com/v2/token",
            200,
            json.dumps({"access_token": SFMC_TOKEN, "token_type": "Bearer", "expires_in": 1079}),
        ),
        ReplyRule("POST", r"/interaction/v1/events", 201, '{"eventInstanceId":"evt-1"}'),
        ReplyRule("PUT", r"/data/v1/async/", 202, '{"requestId":"req-1","resultMessages":[]}'),
        ReplyRule("POST", r"/data/v1/async/", 202, '{"requestId":"req-1","resultMessages":[]}'),
    ),
    "segment": (ReplyRule("POST", r"/v1/", 200, '{"success":true}'),),
    "customerio": (),
    "loops": (ReplyRule("PUT", r"/contacts/update", 200, '{"success":true,"id":"c1"}'),),
}


class Raw:
    """A JSON number written exactly as given (`-0`, `1.0`, `9007199254740993`)."""

    def __init__(self, text: str) -> None:
        self.text = text


MISSING = object()

# Odd values, each with the tag it is recorded under.
VALUES: tuple[tuple[str, Any], ...] = (
    ("missing", MISSING),
    ("null", None),
    ("empty-string", ""),
    ("unicode", "Zoë Ünïcødé ✓ 日本 😀"),
    ("big-int", Raw("9007199254740993")),
    ("big-float", Raw("1e21")),
    ("small-float", Raw("1e-7")),
    ("negative-zero", Raw("-0")),
    ("float-one", Raw("1.0")),
    ("int", 42),
    ("bool", True),
    ("array", ["a", 1, None]),
    ("object", {"extra": "x", "nested": {"k": 1}}),
    ("url-chars", "a b#c?d%e/f'g"),
    ("date", "2024-02-30T10:00:00"),
)
EMAILS: tuple[tuple[str, Any], ...] = (
    ("email:apostrophe", "o'brien@example.com"),
    ("email:non-ascii", "jöe@example.com"),
    ("email:space", "jane doe@example.com"),
    ("email:hash", "jane#doe@example.com"),
    ("email:question", "jane?doe@example.com"),
    ("email:percent", "jane%20doe@example.com"),
    ("email:slash", "jane/doe@example.com"),
    ("email:plus", "Jane.Doe+tag@Example.COM"),
)
PHONES: tuple[tuple[str, Any], ...] = (
    ("phone:e164", "+447911123456"),
    ("phone:spaces", "+44 7911 123456"),
    ("phone:bad", "07911123456"),
)
UNDECLARED = {"undeclaredKey": "x", "another_extra": [1, 2]}


def text(value: Any) -> str:
    """JSON text of `value`, with Raw numbers written as given."""
    raws: list[str] = []

    def encode(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(node.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(node, dict):
            return {k: encode(v) for k, v in node.items()}
        if isinstance(node, list):
            return [encode(v) for v in node]
        return node

    out = json.dumps(encode(value), ensure_ascii=False, separators=(",", ":"))
    return re.sub(r'"\\u0000raw(\d+)\\u0000"', lambda m: raws[int(m.group(1))], out)


def _resolve(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: SECRETS[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _reverse(value: Any) -> Any:
    """The same mapping with every object's keys in reverse order."""
    if isinstance(value, dict):
        if any(k.startswith("@") for k in value):
            return value
        return {k: _reverse(value[k]) for k in reversed(list(value))}
    return value


def paths_read(mapping: Any) -> list[str]:
    """Every `@path` (and `@template` variable) a mapping reads, as dotted event paths."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@path" and isinstance(value, str) and value.startswith("$."):
                    found.append(value[2:])
                elif key == "@template" and isinstance(value, str):
                    found.extend(re.findall(r"\{\{\s*([\w.]+)\s*\}\}", value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(mapping)
    return list(dict.fromkeys(p for p in found if p))


def _get(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def _set(event: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = event
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is MISSING:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = copy.deepcopy(value)


def _values_for(path: str, current: Any) -> tuple[tuple[str, Any], ...]:
    leaf = path.rsplit(".", 1)[-1].lower()
    values = VALUES
    if "email" in leaf or leaf in ("userid", "user_id", "id", "identifier"):
        values = values + EMAILS
    if "phone" in leaf or "mobile" in leaf:
        values = values + PHONES
    if isinstance(current, dict):
        values = (*values, ("undeclared-keys", {**current, **UNDECLARED}))
    return values


def events_for(
    base: dict[str, Any], paths: list[str], rng: random.Random
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(tag, event): the base event, one odd value per path read, then seeded mixes."""
    yield "base", base
    for path in paths:
        for tag, value in _values_for(path, _get(base, path)):
            event = copy.deepcopy(base)
            _set(event, path, value)
            yield f"{path}={tag}", event
    for n in range(max(4, len(paths))):
        event = copy.deepcopy(base)
        chosen = rng.sample(paths, k=min(len(paths), 3)) if paths else []
        tags = []
        for path in chosen:
            tag, value = rng.choice(_values_for(path, _get(base, path)))
            _set(event, path, value)
            tags.append(f"{path}={tag}")
        yield "mix:" + ",".join(tags) if tags else f"mix:{n}", event


def _golden(provider: str, action: str, name: str) -> dict[str, Any] | None:
    path = GOLDEN / provider / action / f"{name}.yaml"
    if not path.exists():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _case_settings(provider: str, settings: dict[str, Any], region: int) -> dict[str, Any]:
    settings = dict(settings)
    if provider in REGIONS:
        name, values = REGIONS[provider]
        settings[name] = values[region % len(values)]
    return settings


def unmapped() -> list[str]:
    """cdpctl actions with no counterpart in Segment's published code."""
    return [
        f"{provider}.{action}"
        for provider, actions in SEGMENT_ACTIONS.items()
        for action, target in actions.items()
        if target is None
    ]


def generate(seed: int = 11, batch_size: int = 5) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    for provider, actions in SEGMENT_ACTIONS.items():
        for action, target in actions.items():
            if target is None:
                continue
            cases.extend(_action_cases(provider, action, target, rng, batch_size))
    return cases


def _action_cases(
    provider: str, action: str, target: tuple[str, str], rng: random.Random, batch_size: int
) -> list[Case]:
    defaults = _golden(provider, action, "defaults")
    if defaults is None:
        raise SystemExit(f"corpus: no golden defaults case for {provider}.{action}")
    settings = _resolve(defaults["destination"]["settings"])
    base_event = defaults["event"]
    given = defaults["subscription"].get("mapping") or {}
    effective = adapter.effective_mapping(provider, action, given, True)
    mappings: list[tuple[str, bool, dict[str, Any]]] = [
        ("defaults", True, given),
        ("custom-reversed", False, _reverse(effective)),
    ]
    for name in ("all-fields", "required-fields"):
        golden = _golden(provider, action, name)
        if golden is not None:
            sub = golden["subscription"]
            mappings.append((name, bool(sub.get("defaults", True)), sub.get("mapping") or {}))
    cases: list[Case] = []
    region = 0
    for label, use_defaults, mapping in mappings:
        read = paths_read(
            adapter.effective_mapping(provider, action, mapping, True) if use_defaults else mapping
        )
        events = list(events_for(base_event, read, rng))
        singles = []
        for number, (tag, event) in enumerate(events):
            region += 1
            case = _case(
                provider,
                action,
                target,
                f"{label}/{number:03d}",
                settings,
                region,
                use_defaults,
                mapping,
                [text(event)],
                "single",
                (f"mapping:{label}", tag),
            )
            singles.append(case)
        cases.extend(singles)
        if (provider, action) in BATCHED:
            for start in range(0, len(events), batch_size):
                chunk = events[start : start + batch_size]
                region += 1
                cases.append(
                    _case(
                        provider,
                        action,
                        target,
                        f"{label}/batch{start // batch_size:03d}",
                        settings,
                        region,
                        use_defaults,
                        mapping,
                        [text(e) for _, e in chunk],
                        "batch",
                        (f"mapping:{label}", *(tag for tag, _ in chunk)),
                    )
                )
    return cases


def _case(
    provider: str,
    action: str,
    target: tuple[str, str],
    name: str,
    settings: dict[str, Any],
    region: int,
    use_defaults: bool,
    mapping: dict[str, Any],
    events: list[str],
    mode: str,
    tags: tuple[str, ...],
) -> Case:
    case_settings = _case_settings(provider, settings, region)
    extra: dict[str, Any] = {}
    if provider == "segment":
        extra["region"] = SEGMENT_RUNTIME[case_settings["endpoint"]]
    if provider == "sfmc":
        extra["token_url"] = r"auth\.marketingcloudapis\.com/v2/token"
        extra["auth"] = {"accessToken": SFMC_TOKEN, "refreshToken": ""}
    return Case(
        id=f"{provider}.{action}/{name}",
        provider=provider,
        action=action,
        segment_destination=target[0],
        segment_action=target[1],
        mode=mode,
        settings=case_settings,
        segment_settings=case_settings,
        defaults=use_defaults,
        mapping=mapping,
        events=tuple(events),
        replies=REPLIES.get(provider, ()),
        tags=tags,
        **extra,
    )
