"""Write N realistic Segment events as NDJSON, deterministically from a seed.

A mix of track (60%), page (25%) and identify (15%) calls from a pool of about N/8 users
(so each user has several events, a few have many), a quarter of them anonymous only, with the
context analytics.js or a mobile SDK sends (library, page, ip, userAgent, campaign, device, …),
traits and properties, ISO-8601 timestamps over 30 days and unique messageIds. Events weigh
0.5-2 KB. The same seed and N always give the same bytes.

    python bench/generate.py N OUT.ndjson [--seed 42]
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

START = datetime(2024, 5, 1, tzinfo=timezone.utc)
SPAN_SECONDS = 30 * 24 * 3600

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Perlman")
COMPANIES = (
    "Initech",
    "Globex",
    "Umbrella",
    "Hooli",
    "Vandelay Industries",
    "Stark Industries",
    "Wayne Enterprises",
    "Acme Corp",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
)
INDUSTRIES = ("Retail", "Software", "Finance", "Healthcare", "Media", "Logistics")
PLANS = ("free", "starter", "pro", "enterprise")
IP_OCTETS = ((11, 223), (0, 256), (0, 256), (1, 255))
CITIES = (
    ("Berlin", "DE", "10115"),
    ("Paris", "FR", "75001"),
    ("London", "GB", "EC1A 1BB"),
    ("New York", "US", "10001"),
    ("San Francisco", "US", "94103"),
    ("Tokyo", "JP", "100-0001"),
    ("São Paulo", "BR", "01000-000"),
    ("Toronto", "CA", "M5H 2N2"),
)
LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR")
TIMEZONES = ("America/New_York", "Europe/Berlin", "Europe/London", "Asia/Tokyo", "Europe/Paris")
PAGES = (
    ("/", "Home", "Home"),
    ("/pricing", "Pricing", "Marketing"),
    ("/blog/segment-mappings", "Mapping events", "Blog"),
    ("/docs/getting-started", "Getting started", "Docs"),
    ("/products/widget-pro", "Widget Pro", "Product"),
    ("/cart", "Cart", "Checkout"),
    ("/checkout/payment", "Payment", "Checkout"),
    ("/account/settings", "Settings", "Account"),
)
REFERRERS = (
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "",
    "https://t.co/x1",
    "https://www.linkedin.com/feed/",
)
CAMPAIGNS = (
    ("spring_sale", "google", "cpc", "widgets", "ad-1"),
    ("newsletter_may", "newsletter", "email", "", "hero"),
    ("retargeting", "facebook", "paid_social", "", "carousel"),
)
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
ANDROID_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
DEVICES = (
    ("Apple", "iPhone15,2", "ios"),
    ("Google", "Pixel 8", "android"),
    ("Samsung", "SM-S911B", "android"),
)
PRODUCTS = tuple(
    (f"prod_{index:04d}", f"SKU-{index * 7919 % 100000:05d}", name, category, price)
    for index, (name, category, price) in enumerate(
        (
            ("Widget Pro", "Widgets", 49.99),
            ("Widget Mini", "Widgets", 19.5),
            ("Gizmo", "Gadgets", 129.0),
            ("Sprocket Set", "Hardware", 8.25),
            ("Flux Capacitor", "Gadgets", 1885.0),
            ("Thingamajig", "Misc", 3.0),
            ("Doohickey XL", "Misc", 12.75),
            ("Cable 2m", "Hardware", 6.99),
        )
    )
)
TRACK_EVENTS = (
    ("Product Viewed", 30),
    ("Product Added", 15),
    ("Order Completed", 12),
    ("Checkout Started", 10),
    ("Signed Up", 5),
    ("Email Opened", 18),
    ("Feature Used", 10),
)


@dataclass(frozen=True, slots=True)
class User:
    user_id: str | None
    anonymous_id: str
    first: str
    last: str
    company: int
    plan: str
    city: int
    locale: str
    timezone: str
    user_agent: str
    device: int | None
    ip: str
    created_at: str


def hex_id(rng: random.Random, bits: int = 64) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def uuid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_user(rng: random.Random) -> User:
    device = rng.randrange(len(DEVICES)) if rng.random() < 0.3 else None
    if device is None:
        agent = rng.choice(USER_AGENTS)
    else:
        agent = USER_AGENTS[2] if DEVICES[device][2] == "ios" else ANDROID_AGENT
    return User(
        user_id=None if rng.random() < 0.25 else f"user_{hex_id(rng, 48)}",
        anonymous_id=uuid(rng),
        first=rng.choice(FIRST_NAMES),
        last=rng.choice(LAST_NAMES),
        company=rng.randrange(len(COMPANIES)),
        plan=rng.choice(PLANS),
        city=rng.randrange(len(CITIES)),
        locale=rng.choice(LOCALES),
        timezone=rng.choice(TIMEZONES),
        user_agent=agent,
        device=device,
        ip=".".join(str(rng.randrange(low, high)) for low, high in IP_OCTETS),
        created_at=iso(START - timedelta(days=rng.randrange(1, 900))),
    )


def context(rng: random.Random, user: User, page: tuple[str, str, str]) -> dict[str, Any]:
    path, title, _ = page
    search = ""
    result: dict[str, Any] = {
        "library": {"name": "analytics.js", "version": "next-1.66.0"},
        "ip": user.ip,
        "locale": user.locale,
        "timezone": user.timezone,
        "userAgent": user.user_agent,
        "page": {},
    }
    if rng.random() < 0.3:
        name, source, medium, term, content = rng.choice(CAMPAIGNS)
        result["campaign"] = {"name": name, "source": source, "medium": medium}
        if term:
            result["campaign"]["term"] = term
        if content:
            result["campaign"]["content"] = content
        search = f"?utm_source={source}&utm_medium={medium}&utm_campaign={name}"
    result["page"] = {
        "path": path,
        "referrer": rng.choice(REFERRERS),
        "search": search,
        "title": f"{title} | Example Shop",
        "url": f"https://shop.example.com{path}{search}",
    }
    if user.device is not None:
        manufacturer, model, kind = DEVICES[user.device]
        ios = kind == "ios"
        result["library"] = {
            "name": "analytics-ios" if ios else "analytics-android",
            "version": "4.1.8" if ios else "4.11.3",
        }
        result["device"] = {
            "id": user.anonymous_id,
            "manufacturer": manufacturer,
            "model": model,
            "type": kind,
            "adTrackingEnabled": False,
        }
        result["os"] = {"name": "iOS" if ios else "Android", "version": "17.4.1" if ios else "14"}
        result["screen"] = {"width": 390, "height": 844, "density": 3}
        result["network"] = {"wifi": rng.random() < 0.7, "carrier": "T-Mobile"}
    if user.user_id is not None and rng.random() < 0.2:
        result["groupId"] = f"grp_{user.company:03d}"
    return result


def traits(user: User) -> dict[str, Any]:
    city, country, postal = CITIES[user.city]
    return {
        "email": f"{user.first}.{user.last}@{COMPANIES[user.company].split()[0]}.test".lower(),
        "firstName": user.first,
        "lastName": user.last,
        "plan": user.plan,
        "createdAt": user.created_at,
        "company": {
            "id": f"grp_{user.company:03d}",
            "name": COMPANIES[user.company],
            "industry": INDUSTRIES[user.company % len(INDUSTRIES)],
            "employee_count": 10 + user.company * 37,
        },
        "address": {
            "street": f"{user.company + 1} Main Street",
            "city": city,
            "country": country,
            "postalCode": postal,
        },
        "logins": 1 + user.company * 3 % 17,
    }


def products(rng: random.Random, count: int) -> list[dict[str, Any]]:
    return [
        {
            "product_id": product_id,
            "sku": sku,
            "name": name,
            "category": category,
            "price": price,
            "quantity": rng.randrange(1, 4),
        }
        for product_id, sku, name, category, price in rng.sample(PRODUCTS, count)
    ]


def track_properties(rng: random.Random, name: str) -> dict[str, Any]:
    if name == "Order Completed":
        items = products(rng, rng.randrange(1, 5))
        total = round(sum(p["price"] * p["quantity"] for p in items), 2)
        order: dict[str, Any] = {
            "order_id": f"ord_{hex_id(rng, 40)}",
            "checkout_id": hex_id(rng, 32),
            "total": total,
            "revenue": round(total * 0.92, 2),
            "shipping": 4.99,
            "tax": round(total * 0.08, 2),
            "currency": rng.choice(("USD", "EUR", "GBP")),
            "products": items,
        }
        if rng.random() < 0.2:
            order["coupon"] = "SPRING10"
            order["discount"] = round(total * 0.1, 2)
        return order
    if name in ("Product Viewed", "Product Added"):
        item = products(rng, 1)[0]
        item["url"] = f"https://shop.example.com/products/{item['product_id']}"
        item["currency"] = "USD"
        item["position"] = rng.randrange(1, 25)
        return item
    if name == "Checkout Started":
        items = products(rng, rng.randrange(1, 4))
        return {
            "value": round(sum(p["price"] for p in items), 2),
            "currency": "USD",
            "products": items,
        }
    if name == "Signed Up":
        return {"method": rng.choice(("email", "google", "github")), "plan": rng.choice(PLANS)}
    if name == "Email Opened":
        return {
            "email_id": hex_id(rng, 32),
            "email_subject": "Your May digest",
            "campaign_name": "newsletter_may",
        }
    return {
        "feature": rng.choice(("export", "search", "share", "dark-mode")),
        "duration_ms": rng.randrange(50, 5000),
    }


def event(rng: random.Random, user: User, moment: datetime) -> dict[str, Any]:
    page = rng.choice(PAGES)
    roll = rng.random()
    sent = moment + timedelta(milliseconds=rng.randrange(5, 900))
    message: dict[str, Any] = {
        "messageId": f"ajs-next-{hex_id(rng, 128)}",
        "anonymousId": user.anonymous_id,
    }
    if user.user_id is not None:
        message["userId"] = user.user_id
    if roll < 0.15:
        message["type"] = "identify"
        message["traits"] = traits(user)
    elif roll < 0.40:
        message["type"] = "page"
        message["name"] = page[1]
        message["category"] = page[2]
        message["properties"] = {
            "path": page[0],
            "title": page[1],
            "url": f"https://shop.example.com{page[0]}",
        }
    else:
        name = rng.choices([n for n, _ in TRACK_EVENTS], [w for _, w in TRACK_EVENTS])[0]
        message["type"] = "track"
        message["event"] = name
        message["properties"] = track_properties(rng, name)
    message["context"] = context(rng, user, page)
    if message["type"] == "track" and user.user_id is not None:
        message["context"]["traits"] = {"email": traits(user)["email"], "plan": user.plan}
    message["integrations"] = {}
    message["originalTimestamp"] = iso(moment)
    message["timestamp"] = iso(moment)
    message["sentAt"] = iso(sent)
    message["receivedAt"] = iso(sent + timedelta(milliseconds=rng.randrange(20, 300)))
    message["version"] = 2
    return message


def js_numbers(value: Any) -> Any:
    """Integral floats as integers, as `JSON.stringify` in analytics.js writes them (129)."""
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is dict:
        return {key: js_numbers(item) for key, item in value.items()}
    if type(value) is list:
        return [js_numbers(item) for item in value]
    return value


def generate(count: int, out: Path, seed: int) -> None:
    rng = random.Random(seed)
    users = [make_user(rng) for _ in range(max(1, count // 8))]
    # Zipf-like activity: a few users are very active, most have a handful of events.
    weights = [1.0 / (rank + 1) ** 0.6 for rank in range(len(users))]
    chosen = rng.choices(users, weights, k=count)
    step = SPAN_SECONDS / count
    with out.open("wb") as handle:
        for index, user in enumerate(chosen):
            moment = START + timedelta(seconds=index * step + rng.random() * step)
            handle.write(orjson.dumps(js_numbers(event(rng, user, moment))) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    generate(args.count, args.out, args.seed)


if __name__ == "__main__":
    main()
