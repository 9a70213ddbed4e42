"""Event archives the tests of several folders share: seeded events, NDJSON files, and the
replay command lines that read them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from helpers import replay_command, run_cli

from cdpctl.sandbox.providers.loops import API_KEY

ROOT = Path(__file__).parent.parent
LOOPS = str(ROOT / "examples" / "loops.yaml")
ENV = {"LOOPS_API_KEY": API_KEY}


def make_events(count: int, *, start: int = 0) -> list[dict]:
    events = []
    for i in range(start, start + count):
        user = f"user-{i % 37}"
        if i % 3 == 0:
            events.append(
                {
                    "type": "identify",
                    "userId": user,
                    "messageId": f"m-{i}",
                    "timestamp": f"2024-05-{1 + i % 28:02d}T10:00:00Z",
                    "traits": {"email": f"{user}@example.com", "firstName": "Ann"},
                }
            )
        else:
            events.append(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": user,
                    "messageId": f"m-{i}",
                    "timestamp": f"2024-05-{1 + i % 28:02d}T10:00:00Z",
                    "properties": {"order_id": f"o-{i}", "total": 10.5, "products": [1]},
                    "context": {"traits": {"email": f"{user}@example.com"}},
                }
            )
    return events


def write_ndjson(path: Path, events: list[dict], extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(e) for e in events] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def summary(result) -> dict:
    assert result.stdout.strip(), result.output
    return json.loads(result.stdout)


def live(events: Path, sandbox, *extra: str, env: dict | None = None):
    return run_cli(
        replay_command(events, LOOPS, sandbox.url, "--rate", "1000", *extra),
        env=env or ENV,
    )


def mixed_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Seeded Segment events of every call type, with the gaps real archives have: missing
    emails and ids, odd names, events an SFMC classic mapping configures and ones it does not."""
    rng = random.Random(seed)
    names = ["Order Completed", "Product Viewed", "Signed Up", "Cart Viewed", "Email Opened"]
    events = []
    for i in range(count):
        kind = rng.choice(("identify", "track", "track", "track", "page", "screen", "group"))
        user = f"user-{rng.randrange(300)}"
        event: dict[str, Any] = {
            "type": kind,
            "messageId": f"m-{seed}-{i:06d}",
            "timestamp": f"2024-05-{1 + i % 28:02d}T09:{i % 60:02d}:00.000Z",
            "context": {"ip": "203.0.113.7", "library": {"name": "analytics.js"}},
        }
        if rng.random() < 0.9:
            event["userId"] = user
        else:
            event["anonymousId"] = f"anon-{i}"
        traits = {"firstName": rng.choice(["Ada", "Jöe", ""]), "plan": "pro"}
        if rng.random() < 0.8:
            traits["email"] = f"{user}@example.com"
        if rng.random() < 0.3:
            traits["phone"] = "+447700900123"
        if kind == "identify":
            event["traits"] = traits
        elif kind == "track":
            event["event"] = rng.choice(names)
            event["properties"] = {
                "order_id": f"o-{i}",
                "total": round(rng.uniform(1, 500), 2),
                "email": traits.get("email"),
            }
            event["context"]["traits"] = traits
        elif kind in ("page", "screen"):
            event["name"] = rng.choice(["Pricing", "Home"])
            event["properties"] = {"path": "/pricing"}
        else:
            event["groupId"] = f"g-{rng.randrange(20)}"
            event["traits"] = {"name": "Acme"}
        events.append(event)
    return events
