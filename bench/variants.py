"""Write COUNT valid variants of the benchmark mapping, for timing `cdpctl validate` on many files.

Each variant renames the destination and subscriptions, retargets the track triggers at other
event names, drops a few optional fields and rewrites a template, chosen from a seed, so no two
files are alike but all of them pass `cdpctl validate`.

    python bench/variants.py MAPPING.yaml COUNT OUTDIR [--seed 7]
"""

from __future__ import annotations

import argparse
import copy
import random
from pathlib import Path
from typing import Any

import yaml

EVENTS = (
    "Order Completed",
    "Order Refunded",
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Coupon Applied",
    "Product Removed",
    "Payment Info Entered",
)
OPTIONAL = ("campaign_parameters", "user_agent", "ip_address", "locale", "device", "page")
HEADER = "# yaml-language-server: $schema=../../../schemas/mapping.schema.json\n"


def variant(base: dict[str, Any], rng: random.Random, index: int) -> dict[str, Any]:
    data = copy.deepcopy(base)
    data["destination"]["name"] = f"Workspace {index:03d}"
    for sub in data["subscriptions"]:
        sub["name"] = f"{sub['name']} ({index:03d})"
        if sub["action"] == "sendTrack":
            first, second = rng.sample(EVENTS, 2)
            sub["trigger"] = (
                f'type = "track" and (event = "{first}" or event = "{second}")'
                if rng.random() < 0.5
                else f'type = "track" and event = "{first}"'
            )
        mapping = sub["mapping"]
        for field in OPTIONAL:
            if field in mapping and rng.random() < 0.3:
                del mapping[field]
        if "event_name" in mapping and rng.random() < 0.5:
            mapping["event_name"] = {"@template": rng.choice(("{{event}}", "{{ event }}"))}
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mapping", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    base = yaml.safe_load(args.mapping.read_text(encoding="utf-8"))
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("mapping-*.yaml"):
        old.unlink()
    for index in range(args.count):
        text = yaml.safe_dump(variant(base, rng, index), sort_keys=False, allow_unicode=True)
        (args.out / f"mapping-{index:03d}.yaml").write_text(HEADER + text, encoding="utf-8")


if __name__ == "__main__":
    main()
