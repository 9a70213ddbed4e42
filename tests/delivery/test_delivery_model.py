"""The delivery model as declared: what a repeat does per action (docs/guarantees.md's table
is the code's), and the requests that say otherwise for themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import plan_requests
from hypothesis import given, settings
from hypothesis import strategies as st

from cdpctl.delivery.ledger import Key
from cdpctl.delivery.live import SeenFilter
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import SAFE_METHODS, Repeat

GUARANTEES = Path(__file__).parents[2] / "docs" / "guarantees.md"


def test_the_guarantees_table_is_every_actions_declared_repeat() -> None:
    documented = {
        (provider, action): kind
        for provider, action, kind in re.findall(
            r"^\| (\w+) \| `(\w+)` \| ([a-z ]+) \|$", GUARANTEES.read_text(), re.M
        )
    }
    declared = {
        (name, action.name): action.repeat.value
        for name in provider_names()
        for action in get_provider(name).actions  # type: ignore[union-attr]
    }
    assert documented == declared


def test_messages_and_sends_without_a_key_are_not_idempotent() -> None:
    settings = {"source_write_key": "sandbox-write-key-1234"}
    keyed = plan_requests(
        "segment", "sendTrack", {"user_id": "u", "event_name": "E", "message_id": "m-1"}, settings
    )
    unkeyed = plan_requests("segment", "sendTrack", {"user_id": "u", "event_name": "E"}, settings)
    assert [r.repeat for r in keyed] == [None]  # the action's: keyed
    assert [r.repeat for r in unkeyed] == [Repeat.NOT_IDEMPOTENT]


def test_token_requests_and_lookups_are_safe_to_repeat_in_every_plan() -> None:
    from cdpctl.providers.sfmc.auth import token_request

    token = token_request({"subdomain": "abc", "client_id": "id", "client_secret": "s"})
    assert token.repeat is Repeat.IDEMPOTENT
    assert "GET" in SAFE_METHODS and "POST" not in SAFE_METHODS


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=300), st.lists(st.text(max_size=12), max_size=50))
def test_the_seen_filter_never_forgets_a_key_it_was_given(
    added: list[str], others: list[str]
) -> None:
    """A run on an empty ledger skips look-ups only for keys the filter says it never wrote."""
    seen = SeenFilter()
    keys = [Key("d", "s", text) for text in added]
    for key in keys:
        seen.add(key)
    assert all(seen.may_hold(key) for key in keys)
    fresh = [Key("d", "s", "other:" + text) for text in others]
    assert sum(seen.may_hold(key) for key in fresh) <= max(1, len(fresh) // 5)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5), min_size=1, max_size=6)
)
def test_a_segment_batch_body_joined_from_its_messages_is_the_batch_serialised(
    messages: list[dict],
) -> None:
    """The /batch body is built from each message's own bytes; it must be exactly what
    serialising the whole batch gives (JavaScript number forms included)."""
    from cdpctl import jsonwire

    joined = b'{"batch":[' + b",".join(jsonwire.dumps(m) for m in messages) + b"]}"
    assert joined == jsonwire.dumps({"batch": messages})


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.text(max_size=40), st.none(), st.booleans(), st.floats()))
def test_an_id_learnt_from_a_provider_is_carried_only_when_it_is_plain(value: object) -> None:
    """Contact and request ids come back from providers and go into later URLs: a path, a
    query, a line break or a type that is no id fails the event, and the message never
    echoes the value."""
    import re

    from cdpctl.providers.base import ActionContext, ActionFailed, learnt_id

    live = ActionContext(settings={}, dry_run=False)
    plain = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}", value)
    )
    try:
        assert learnt_id(value, "the contact", live) == value and plain
    except ActionFailed as refused:
        assert not plain
        assert "the contact" in refused.reason
        if isinstance(value, str) and any(c in value for c in "/?#\n"):
            assert value not in refused.reason
    dry = ActionContext(settings={})
    assert learnt_id("<contactId>", "the contact", dry) == "<contactId>"


SEGMENT_FORWARD = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${SEGMENT_WRITE_KEY}
subscriptions:
  - {name: identify, trigger: type = "identify", action: sendIdentify}
  - {name: track, trigger: type = "track", action: sendTrack}
  - {name: page, trigger: type = "page", action: sendPage}
"""


CUSTOMERIO_BATCHED = """\
version: 1
destination:
  provider: customerio
  settings:
    siteId: ${CIO_SITE_ID}
    apiKey: ${CIO_API_KEY}
subscriptions:
  - {name: events, trigger: type = "track", action: trackEvent}
  - {name: people, trigger: type = "identify", action: createUpdatePerson}
"""


@pytest.mark.parametrize("mapping", [SEGMENT_FORWARD, CUSTOMERIO_BATCHED], ids=["segment", "cio"])
def test_a_batch_reusing_the_dry_runs_bodies_sends_the_same_bytes(
    mapping: str, tmp_path: Path
) -> None:
    """A live replay hands a batch plan each event's single-call request from the dry run, so
    each message is built and serialised once: the batches must be byte for byte the ones
    built from the payloads alone, and each item exactly the single call's body."""
    from cdpctl import jsonwire
    from cdpctl.pipeline import Ready, dry_run, evaluate, load_destination

    (tmp_path / "mapping.yaml").write_text(mapping)
    destination = load_destination(
        str(tmp_path / "mapping.yaml"),
        {
            "SEGMENT_WRITE_KEY": "write-key-123456",
            "CIO_SITE_ID": "site-id-123456",
            "CIO_API_KEY": "api-key-123456",
        },
    )
    ctx = destination.context(dry_run=True)
    numbers = [1e21, -0.0, 0.1 + 0.2, 5e-7, 12, 2**53 + 1, "€ and \u2028"]
    events = []
    for i in range(120):
        kind = ("identify", "track", "page")[i % 3]
        events.append(
            {
                "type": kind,
                "messageId": f"m-{i}",
                "userId": f"user-{i % 7}",
                "timestamp": "2024-05-01T09:00:00.000Z",
                "event": "Order Completed",
                "name": "Home",
                "traits": {"email": f"u{i}@example.com", "score": numbers[i % len(numbers)]},
                "properties": {"total": numbers[(i + 3) % len(numbers)], "big": "x" * (i * 40)},
                "context": {"page": {"path": "/", "url": "https://example.com/"}},
            }
        )
    compared = 0
    read = sum(
        1
        for sub in destination.subscriptions
        for e in events
        if sub.trigger == f'type = "{e["type"]}"'
    )
    for sub in destination.subscriptions:
        ready = [v for v in (evaluate(sub, e, ctx) for e in events) if isinstance(v, Ready)]
        assert ready, sub.name
        assert sub.action.plan_batch is not None and sub.action.plan_batch_planned is not None
        payloads = [v.payload for v in ready]
        built = dry_run(sub.action.plan_batch(payloads, ctx))
        reused = dry_run(sub.action.plan_batch_planned(payloads, [v.requests for v in ready], ctx))
        assert [r.body() for r in reused] == [r.body() for r in built]
        assert reused[0].json["batch"][0] is ready[0].requests[0].json  # reused, not rebuilt
        singles = [v.requests[0].body() for v in ready]
        assert b"".join(r.body() for r in built) == b"".join(
            b'{"batch":[' + b",".join(singles[i : i + n]) + b"]}"
            for i, n in _chunk_starts([len(jsonwire.loads(r.body())["batch"]) for r in built])
        )
        compared += len(payloads)
    assert compared == read


def _chunk_starts(sizes: list[int]) -> list[tuple[int, int]]:
    starts, at = [], 0
    for size in sizes:
        starts.append((at, size))
        at += size
    return starts
