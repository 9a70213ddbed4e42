"""Tracking-plan checks per event: which JSON Schema validator, and what `violations` costs.

The events are bench/generate.py's (seeded, 0.5-2 KB, track/page/identify with full context);
the plan is the realistic one they were designed from: 16 rules (7 track events, 8 named
pages, identify) plus a COMMON context rule, with required keys, enums, nested product arrays
and the formats that cost most (email, date-time, uri). 2% of the events are broken (a
required property dropped, a number sent as text), as a live archive would have.

Step 1 times the three candidate libraries on exactly the sections `PlanChecker` validates
(each event's properties/traits/context against its plan event's schemas: the fast yes/no
question). Step 2 times `PlanChecker.violations` itself over every event, details included.

    python bench/plans.py [N]        # default 100000

Measured on the project machine (AMD EPYC, 2 cores; Python 3.11.7; N = 100,000; best of 3):

    validator (yes/no per event)        µs/event   events/s
    jsonschema-rs 0.61.2                    2.5     ~400,000
    fastjsonschema 2.22.3                  14.0      ~71,000
    jsonschema 4.26.0 (pure Python)       240         ~4,000

    PlanChecker.violations: ~3.2 µs/event (~310,000 events/s, 2% with details), which is
    ~8% of dry-run replay at 27,000 events/s per core (37 µs/event): within the 15% budget.

jsonschema-rs is the only candidate inside the budget, so cdpctl depends on it. Run the script
again for figures on another machine; it prints the same table.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generate  # bench/generate.py, the events every benchmark uses

from cdpctl.plans import load_plan

REPLAY_EVENTS_PER_SECOND = 27_000  # dry-run replay, one core (bench/RESULTS.md)
BUDGET = 0.15
BROKEN_SHARE = 0.02
REPEAT = 3

STRING: dict[str, Any] = {"type": "string"}
NUMBER: dict[str, Any] = {"type": "number"}
INTEGER: dict[str, Any] = {"type": "integer"}
PRODUCT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "product_id": STRING,
        "sku": {"type": "string", "pattern": "^SKU-[0-9]{5}$"},
        "name": STRING,
        "category": STRING,
        "price": {"type": "number", "minimum": 0},
        "quantity": {"type": "integer", "minimum": 1},
        "url": {"type": "string", "format": "uri"},
        "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
        "position": INTEGER,
    },
    "required": ["product_id", "sku", "price"],
}
PRODUCTS: dict[str, Any] = {"type": "array", "items": PRODUCT}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


TRACK: dict[str, dict[str, Any]] = {
    "Order Completed": _object(
        {
            "order_id": STRING,
            "checkout_id": STRING,
            "total": NUMBER,
            "revenue": NUMBER,
            "shipping": NUMBER,
            "tax": NUMBER,
            "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
            "coupon": STRING,
            "discount": NUMBER,
            "products": PRODUCTS,
        },
        ["order_id", "total", "currency", "products"],
    ),
    "Product Viewed": PRODUCT,
    "Product Added": PRODUCT,
    "Checkout Started": _object(
        {"value": NUMBER, "currency": STRING, "products": PRODUCTS}, ["value", "products"]
    ),
    "Signed Up": _object(
        {"method": {"enum": ["email", "google", "github"]}, "plan": STRING}, ["method", "plan"]
    ),
    "Email Opened": _object(
        {"email_id": STRING, "email_subject": STRING, "campaign_name": STRING}, ["email_id"]
    ),
    "Feature Used": _object({"feature": STRING, "duration_ms": INTEGER}, ["feature"]),
}
PAGE = _object(
    {"path": STRING, "title": STRING, "url": {"type": "string", "format": "uri"}},
    ["path", "url"],
)
TRAITS = _object(
    {
        "email": {"type": "string", "format": "email"},
        "firstName": STRING,
        "lastName": STRING,
        "plan": {"type": "string", "enum": ["free", "starter", "pro", "enterprise"]},
        "createdAt": {"type": "string", "format": "date-time"},
        "company": _object(
            {"id": STRING, "name": STRING, "industry": STRING, "employee_count": INTEGER},
            ["id", "name"],
        ),
        "address": _object(
            {"street": STRING, "city": STRING, "country": STRING, "postalCode": STRING},
            ["country"],
        ),
        "logins": INTEGER,
    },
    ["email"],
)
CONTEXT = _object(
    {
        "library": _object({"name": STRING, "version": STRING}, ["name", "version"]),
        "ip": {"type": "string", "format": "ipv4"},
        "locale": STRING,
        "timezone": STRING,
        "userAgent": STRING,
        "page": _object({"url": {"type": "string", "format": "uri"}}, []),
    },
    ["library"],
)


def plan_rules() -> dict[str, Any]:
    """The plan as Segment's Public API lists tracking-plan rules."""

    def rule(kind: str, key: str | None, sections: dict[str, Any]) -> dict[str, Any]:
        schema = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": sections,
        }
        return {"key": key, "type": kind, "version": 1, "jsonSchema": schema}

    rules = [rule("TRACK", name, {"properties": s}) for name, s in TRACK.items()]
    rules += [rule("PAGE", title, {"properties": PAGE}) for _, title, _ in generate.PAGES]
    rules.append(rule("IDENTIFY", None, {"traits": TRAITS}))
    rules.append(rule("COMMON", None, {"context": CONTEXT}))
    return {"data": {"rules": rules}}


def events(count: int, folder: Path) -> list[dict[str, Any]]:
    path = folder / "events.ndjson"
    generate.generate(count, path, 42)
    out = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    rng = random.Random(7)
    for event in rng.sample(out, int(count * BROKEN_SHARE)):
        section = event.get("properties") or event.get("traits")
        if not section:
            continue
        key = rng.choice(sorted(section))
        if rng.random() < 0.5:
            del section[key]
        else:
            section[key] = "not-" + json.dumps(section[key])[:10]
    return out


def best_of(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def work(plan: Any, sample: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], Any]]:
    """(schemas, section value) pairs: what the checker validates for each event."""
    pairs = []
    for event in sample:
        name = event.get("event") if event["type"] == "track" else event.get("name")
        found = plan.event(event["type"], name)
        if found is None:
            continue
        for section, schema in found.schemas.items():
            pairs.append((schema, event.get(section) or {}))
    return pairs


def time_library(
    name: str,
    compile_: Callable[[dict[str, Any]], Callable[[Any], bool]],
    pairs: list[tuple[Any, Any]],
    events_in_sample: int,
) -> tuple[str, float]:
    compiled: dict[int, Callable[[Any], bool]] = {}
    for schema, _ in pairs:
        if id(schema) not in compiled:
            compiled[id(schema)] = compile_(copy.deepcopy(dict(schema)))
    calls = [(compiled[id(schema)], value) for schema, value in pairs]

    def run() -> None:
        for check, value in calls:
            check(value)

    return name, best_of(run) / events_in_sample


def fastjsonschema_checker(schema: dict[str, Any]) -> Callable[[Any], bool]:
    import fastjsonschema

    validate = fastjsonschema.compile(schema)

    def check(value: Any) -> bool:
        try:
            validate(value)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return check


def jsonschema_checker(schema: dict[str, Any]) -> Callable[[Any], bool]:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid


def jsonschema_rs_checker(schema: dict[str, Any]) -> Callable[[Any], bool]:
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema, validate_formats=True, offline=True).is_valid


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        (folder / "plan.json").write_text(json.dumps(plan_rules()))
        plan = load_plan(folder / "plan.json")
        sample = events(count, folder)
        replay_cost = end_to_end(folder, sample)
    print(f"{len(plan.events)} plan events, {count:,} events ({BROKEN_SHARE:.0%} broken)\n")
    print(f"{'validator (yes/no per event)':34} {'µs/event':>9} {'events/s':>11}")
    candidates = [
        ("jsonschema-rs", jsonschema_rs_checker, sample),
        ("fastjsonschema", fastjsonschema_checker, sample),
        ("jsonschema (pure Python)", jsonschema_checker, sample[: max(1, count // 20)]),
    ]
    for label, compile_, subset in candidates:
        try:
            name, seconds = time_library(label, compile_, work(plan, subset), len(subset))
        except ImportError:
            print(f"{label:34} {'not installed':>21}")
            continue
        print(f"{name:34} {seconds * 1e6:9.2f} {1 / seconds:11,.0f}")
    checker = plan.checker()
    found = 0

    def run() -> None:
        nonlocal found
        found = sum(1 for event in sample if checker.violations(event))

    seconds = best_of(run) / count
    replay = 1 / REPLAY_EVENTS_PER_SECOND
    share = seconds / replay
    print(
        f"\nPlanChecker.violations: {seconds * 1e6:.2f} µs/event ({1 / seconds:,.0f} events/s), "
        f"{found:,} events with violations\n"
        f"= {share:.1%} of dry-run replay at {REPLAY_EVENTS_PER_SECOND:,} events/s per core "
        f"(budget {BUDGET:.0%}: {'within' if share <= BUDGET else 'OVER'})"
    )
    print(replay_cost)


def end_to_end(folder: Path, sample: list[dict[str, Any]]) -> str:
    """`cdpctl replay` (dry run, one worker) of the sample with and without `--plan`: the cost
    as a user sees it, process start-up included (best of 3 each)."""
    import subprocess

    archive = folder / "broken.ndjson"
    archive.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in sample))
    mapping = Path(__file__).parent / "mapping.yaml"
    command = [sys.executable, "-m", "cdpctl", "replay", str(archive), "-m", str(mapping)]
    command += ["--workers", "1", "--no-progress", "--format", "json"]

    def timed(extra: list[str]) -> float:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([*command, *extra], capture_output=True, check=False)
            runs.append(time.perf_counter() - started)
        return min(runs)

    without = timed([])
    with_plan = timed(["--plan", str(folder / "plan.json")])
    return (
        f"cdpctl replay, {len(sample):,} events, one worker: {len(sample) / without:,.0f} "
        f"events/s without --plan, {len(sample) / with_plan:,.0f} with it: "
        f"{with_plan / without - 1:.1%} slower (budget {BUDGET:.0%})"
    )


if __name__ == "__main__":
    main()
