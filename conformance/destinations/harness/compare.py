"""Comparing what Segment's code did with what cdpctl did, and labelling each difference.

A *difference* is one place where the two runs of a case disagree: the outcome (one side
rejected the event), a batch item, the number of requests, or one request's method, URL, a
header, or a body value (found by a JSON diff that keeps key order and number literals as
written, so `9007199254740992` vs `9007199254740993` and a reordered object are both caught).
Each difference is then matched against decisions.yaml: covered by a deliberate, documented
cdpctl decision, or UNDOCUMENTED.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .model import ERROR, Case, Run, Wire

DECISIONS = Path(__file__).resolve().parents[1] / "decisions.yaml"

ABSENT = "<absent>"


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str  # outcome, item, count, method, url, header, body
    where: str  # "request 2", "event 3", "" for the whole case
    path: str  # JSON path in the body, header name, or ""
    segment: str
    cdpctl: str

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "where": self.where,
            "path": self.path,
            "segment": self.segment,
            "cdpctl": self.cdpctl,
        }

    def describe(self) -> str:
        at = " ".join(p for p in (self.where, self.path) if p)
        return f"{self.kind} {at}: Segment {self.segment} | cdpctl {self.cdpctl}"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    path: str = ""  # regex, searched in the difference's path
    segment: str = ""  # regex, searched in Segment's side
    cdpctl: str = ""  # regex, searched in cdpctl's side
    mapping: str = ""  # the case's mapping label (glob), e.g. "defaults"
    mode: str = ""  # the case's mode, "single" or "batch"

    def matches(self, difference: Difference, case: Case) -> bool:
        if self.kind != difference.kind:
            return False
        if self.mode and self.mode != case.mode:
            return False
        if self.mapping and not any(
            fnmatch.fnmatch(tag, f"mapping:{self.mapping}") for tag in case.tags
        ):
            return False
        return all(
            re.search(pattern, value, re.S) is not None
            for pattern, value in (
                (self.path, difference.path),
                (self.segment, difference.segment),
                (self.cdpctl, difference.cdpctl),
            )
            if pattern
        )


@dataclass(frozen=True, slots=True)
class Decision:
    id: str
    decision: str
    actions: tuple[str, ...]  # globs over "provider.action"
    rules: tuple[Rule, ...]

    def covers(self, difference: Difference, case: Case) -> bool:
        if not any(fnmatch.fnmatch(case.qualified_action, a) for a in self.actions):
            return False
        return any(rule.matches(difference, case) for rule in self.rules)


@dataclass(frozen=True, slots=True)
class Decisions:
    not_compared: frozenset[str]  # header names
    decisions: tuple[Decision, ...]

    def label(self, difference: Difference, case: Case) -> str | None:
        """The id of the decision that covers `difference`, or None (UNDOCUMENTED)."""
        for decision in self.decisions:
            if decision.covers(difference, case):
                return decision.id
        return None


def load_decisions(path: Path = DECISIONS) -> Decisions:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Decisions(
        frozenset(h["name"].lower() for h in data["headers_not_compared"]),
        tuple(
            Decision(
                d["id"],
                d["decision"],
                tuple(d["actions"]),
                tuple(Rule(**rule) for rule in d["match"]),
            )
            for d in data["decisions"]
        ),
    )


# --- JSON bodies, compared as written ------------------------------------------------------


class Obj(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs, in order."""


@dataclass(frozen=True, slots=True)
class Num:
    """A JSON number as written."""

    text: str


def parse(text: str) -> Any:
    return json.loads(
        text, object_pairs_hook=Obj, parse_int=Num, parse_float=Num, parse_constant=Num
    )


def render(value: Any) -> str:
    if value is _MISSING:
        return ABSENT
    if isinstance(value, Num):
        return value.text
    if isinstance(value, Obj):
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{render(v)}" for k, v in value)
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


_MISSING = object()


def _diff(segment: Any, cdpctl: Any, path: str, out: list[tuple[str, str, str]]) -> None:
    if isinstance(segment, Obj) and isinstance(cdpctl, Obj):
        ours = dict(cdpctl)
        theirs = dict(segment)
        for key, value in segment:
            _diff(value, ours.get(key, _MISSING), f"{path}.{key}", out)
        for key, value in cdpctl:
            if key not in theirs:
                _diff(_MISSING, value, f"{path}.{key}", out)
        shared_segment = [k for k, _ in segment if k in ours]
        shared_cdpctl = [k for k, _ in cdpctl if k in theirs]
        if shared_segment != shared_cdpctl:
            out.append((f"{path}{{order}}", ",".join(shared_segment), ",".join(shared_cdpctl)))
        return
    if (
        isinstance(segment, list)
        and isinstance(cdpctl, list)
        and not isinstance(segment, Obj)
        and not isinstance(cdpctl, Obj)
        and len(segment) == len(cdpctl)
    ):
        for index, (a, b) in enumerate(zip(segment, cdpctl, strict=True)):
            _diff(a, b, f"{path}[{index}]", out)
        return
    if type(segment) is not type(cdpctl) or render(segment) != render(cdpctl):
        out.append((path or "$", render(segment), render(cdpctl)))


def body_differences(segment: str, cdpctl: str) -> list[tuple[str, str, str]]:
    """(path, Segment's value, cdpctl's value) for each place the bodies differ."""
    if segment == cdpctl:
        return []
    try:
        a, b = parse(segment), parse(cdpctl)
    except ValueError:
        return [("", segment or ABSENT, cdpctl or ABSENT)]
    out: list[tuple[str, str, str]] = []
    _diff(a, b, "$", out)
    if not out:  # same values, same order: the bytes differ in spacing or escaping
        out.append(("$", segment, cdpctl))
    return out


# --- runs ----------------------------------------------------------------------------------


def _outcome(run: Run) -> str:
    return f"rejected: {run.error}" if run.outcome == ERROR else "accepted"


def _headers(wire: Wire, skip: frozenset[str]) -> dict[str, str]:
    return {k: v for k, v in wire.headers.items() if k not in skip}


def _segment_messages(wire: Wire) -> list[Any]:
    body = parse(wire.body) if wire.body else Obj()
    if wire.synthetic or wire.url.endswith("/batch"):
        return list(dict(body).get("batch", []))
    return [body]


def _compare_requests(
    segment: tuple[Wire, ...],
    cdpctl: tuple[Wire, ...],
    skip: frozenset[str],
    prefix: str,
) -> list[Difference]:
    out: list[Difference] = []
    if len(segment) != len(cdpctl):
        out.append(
            Difference(
                "count",
                prefix.strip(),
                "",
                f"{len(segment)}: " + " ".join(f"{w.method} {w.url}" for w in segment),
                f"{len(cdpctl)}: " + " ".join(f"{w.method} {w.url}" for w in cdpctl),
            )
        )
        return out
    for number, (a, b) in enumerate(zip(segment, cdpctl, strict=True), start=1):
        where = f"{prefix}request {number}"
        if a.synthetic:
            out.extend(_compare_segment_api(a, b, where))
            continue
        if a.method != b.method:
            out.append(Difference("method", where, "", a.method, b.method))
        if a.url != b.url:
            out.append(Difference("url", where, "", a.url, b.url))
        ha, hb = _headers(a, skip), _headers(b, skip)
        for name in dict.fromkeys([*ha, *hb]):
            if ha.get(name) != hb.get(name):
                out.append(
                    Difference("header", where, name, ha.get(name, ABSENT), hb.get(name, ABSENT))
                )
        for path, x, y in body_differences(a.body, b.body):
            out.append(Difference("body", where, path, x, y))
    return out


def _compare_segment_api(segment: Wire, cdpctl: Wire, where: str) -> list[Difference]:
    """The Segment destination makes no HTTP call of its own: it returns messages that
    Segment's pipeline sends to the Tracking API of its region. Compared: the region, the
    write key, and each message byte for byte (cdpctl sends one event to /<type>, several to
    /batch — both Tracking API calls for the same messages)."""
    out: list[Difference] = []
    base_a = segment.url.rsplit("/", 1)[0]
    base_b = cdpctl.url.rsplit("/", 1)[0]
    if base_a != base_b:
        out.append(Difference("url", where, "", segment.url, cdpctl.url))
    auth_a = segment.headers.get("authorization", ABSENT)
    auth_b = cdpctl.headers.get("authorization", ABSENT)
    if auth_a != auth_b:
        out.append(Difference("header", where, "authorization", auth_a, auth_b))
    ma, mb = _segment_messages(segment), _segment_messages(cdpctl)
    if len(ma) != len(mb):
        out.append(Difference("count", where, "messages", str(len(ma)), str(len(mb))))
        return out
    for index, (a, b) in enumerate(zip(ma, mb, strict=True)):
        for path, x, y in body_differences(render(a), render(b)):
            out.append(Difference("body", where, f"batch[{index}]{path[1:]}", x, y))
    return out


def differences(case: Case, segment: Run, cdpctl: Run, skip: frozenset[str]) -> list[Difference]:
    """Every place the two runs of `case` disagree (empty: they agree)."""
    out: list[Difference] = []
    if case.mode == "single":
        if segment.outcome == ERROR and cdpctl.outcome == ERROR:
            return []  # both reject the event: agreement
        if segment.outcome != cdpctl.outcome:
            return [Difference("outcome", "", "", _outcome(segment), _outcome(cdpctl))]
    else:
        if not any(segment.items or ()) and not any(cdpctl.items or ()):
            return []  # both reject every event of the batch: agreement
        for index, (a, b) in enumerate(zip(segment.items or (), cdpctl.items or (), strict=True)):
            if a != b:
                out.append(
                    Difference(
                        "item",
                        f"event {index + 1}",
                        "",
                        "accepted" if a else f"rejected: {segment.error}",
                        "accepted" if b else f"rejected: {cdpctl.error}",
                    )
                )
        if out:  # different events in the batch: its requests differ as a consequence
            return out
    if cdpctl.requests or cdpctl.token_requests:
        # The runner asks Segment's code for a token before every case; its Authorization
        # header carries the previous token (none here), so it is not compared.
        token_skip = skip | {"authorization"}
        out.extend(
            _compare_requests(segment.token_requests, cdpctl.token_requests, token_skip, "token ")
        )
    out.extend(_compare_requests(segment.requests, cdpctl.requests, skip, ""))
    return out
