"""What Segment events carry, per call type: the tables the lint rules check paths against.

From Segment's Spec: common fields (https://segment.com/docs/connections/spec/common/) and one
page per call (identify, track, page, screen, group, alias).
"""

from __future__ import annotations

from typing import Final

CALL_TYPES: Final = ("identify", "track", "page", "screen", "group", "alias")

#: Top-level fields every call carries (``channel`` and ``originalTimestamp`` are added by
#: Segment on the way in; ``version`` is the API version).
COMMON_FIELDS: Final = frozenset(
    {
        "anonymousId",
        "channel",
        "context",
        "integrations",
        "messageId",
        "originalTimestamp",
        "receivedAt",
        "sentAt",
        "timestamp",
        "type",
        "userId",
        "version",
    }
)

#: Top-level fields only some calls carry.
CALL_FIELDS: Final[dict[str, frozenset[str]]] = {
    "identify": frozenset({"traits"}),
    "track": frozenset({"event", "properties"}),
    "page": frozenset({"name", "category", "properties"}),
    "screen": frozenset({"name", "category", "properties"}),
    "group": frozenset({"groupId", "traits"}),
    "alias": frozenset({"previousId"}),
}

TOP_LEVEL_FIELDS: Final = COMMON_FIELDS.union(*CALL_FIELDS.values())

#: Keys of ``context`` in the spec, plus a few Segment itself adds (personas, protocols,
#: consent, externalIds, instanceId, integration). Other keys are allowed: sources may add their
#: own, so only near misses of these are reported.
CONTEXT_FIELDS: Final = frozenset(
    {
        "active",
        "app",
        "campaign",
        "consent",
        "device",
        "externalIds",
        "groupId",
        "instanceId",
        "integration",
        "ip",
        "library",
        "locale",
        "location",
        "network",
        "os",
        "page",
        "personas",
        "protocols",
        "referrer",
        "screen",
        "timezone",
        "traits",
        "userAgent",
        "userAgentData",
    }
)

#: Where a field lives on the calls that do not carry it at the top level.
MOVED: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "traits": {
        "track": ("context", "traits"),
        "page": ("context", "traits"),
        "screen": ("context", "traits"),
        "alias": ("context", "traits"),
    },
    "properties": {"identify": ("traits",), "group": ("traits",)},
    "event": {"page": ("name",), "screen": ("name",)},
    "name": {"track": ("event",), "identify": ("traits", "name"), "group": ("traits", "name")},
    "groupId": {
        "identify": ("context", "groupId"),
        "track": ("context", "groupId"),
        "page": ("context", "groupId"),
        "screen": ("context", "groupId"),
    },
}

#: The first segment of an FQL field → the calls that carry it (absent: every call).
FQL_CARRIERS: Final[dict[str, frozenset[str]]] = {
    "event": frozenset({"track"}),
    "name": frozenset({"page", "screen"}),
    "properties": frozenset({"track", "page", "screen"}),
    "traits": frozenset({"identify", "group"}),
}


def carriers(top_level_field: str) -> frozenset[str]:
    """The call types that carry `top_level_field` at the top level of the event."""
    if top_level_field in COMMON_FIELDS:
        return frozenset(CALL_TYPES)
    return frozenset(t for t, fields in CALL_FIELDS.items() if top_level_field in fields)


#: Misspellings further than the edit distance allows.
MISSPELLINGS: Final = {"property": "properties", "props": "properties"}


def near_miss(key: str, known: frozenset[str]) -> str | None:
    """The known key `key` is probably a misspelling of, or None.

    Same letters in another case or with underscores (``user_id``), one edit away for keys of
    four letters or more (``trait``, ``propertes``), two for eight or more (``receivedOn``),
    or a listed misspelling (``property``).
    """
    if key in known:
        return None
    if MISSPELLINGS.get(key) in known:
        return MISSPELLINGS[key]
    folded = _fold(key)
    for candidate in sorted(known):
        if _fold(candidate) == folded:
            return candidate
    allowed = 2 if len(key) >= 8 else 1 if len(key) >= 4 else 0
    best: tuple[int, str] | None = None
    for candidate in sorted(known):
        if len(candidate) < 4:
            continue
        distance = _edit_distance(key, candidate, allowed)
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def _fold(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _edit_distance(a: str, b: str, cap: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one edit), capped at cap+1."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > cap:
            return cap + 1
        previous2, previous = previous, current
    return previous[-1]
