"""Each command's one-line purpose (the `cdpctl --help` list) and examples (its `--help`)."""

from __future__ import annotations

from typing import Any

COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "validate": (
        "Check mapping files for errors and likely bugs.",
        (
            "cdpctl validate examples/loops.yaml",
            "cdpctl validate mappings/ --format github --strict",
            "cdpctl validate --format sarif > cdpctl.sarif",
        ),
    ),
    "test-event": (
        "Show how one event is matched, mapped and sent.",
        (
            "cdpctl test-event examples/loops.yaml identify",
            "cdpctl test-event mappings/sfmc.yaml event.json --format json",
        ),
    ),
    "send": (
        "Send one event: dry run, or --live.",
        (
            "cdpctl send examples/loops.yaml identify",
            "LOOPS_API_KEY=sandbox-loops-key cdpctl send examples/loops.yaml identify \\",
            "    --live --endpoint http://127.0.0.1:8765",
            "cdpctl send mappings/loops.yaml event.json --expect golden.json",
        ),
    ),
    "replay": (
        "Replay an archive of events: dry run, or --live.",
        (
            "cdpctl replay events.ndjson.gz -m mappings/loops.yaml",
            "cdpctl replay events.ndjson -m mappings/loops.yaml --where 'type = \"track\"'",
            "cdpctl replay events.ndjson -m mappings/loops.yaml --live --resume",
        ),
    ),
    "sandbox": (
        "Run a local emulator of every provider API.",
        (
            "cdpctl sandbox --port 8765",
            "cdpctl sandbox --error-rate 0.1 --throttle-rate 0.05 --seed 7",
            "cdpctl sandbox --late-rate 1 --late-ms 12000 --only-path /v1/batch --limit 1",
        ),
    ),
    "sandbox show": (
        "Show what a running sandbox received.",
        (
            "cdpctl sandbox show",
            "cdpctl sandbox show --url http://127.0.0.1:8765 --json",
        ),
    ),
    "diff": (
        "Compare the requests of two mapping files.",
        (
            "cdpctl diff main.yaml branch.yaml events.ndjson",
            "cdpctl diff old.yaml new.yaml events.ndjson --fail-on-change --show 50",
        ),
    ),
    "providers": ("List the providers.", ("cdpctl providers",)),
    "actions": ("List a provider's actions.", ("cdpctl actions loops",)),
    "fields": ("List an action's fields.", ("cdpctl fields loops sendEvent",)),
    "schema": (
        "Print or write the JSON Schemas.",
        ("cdpctl schema --write schemas/", "cdpctl schema --action loops.sendEvent"),
    ),
    "import segment": (
        "Convert a Segment destination's subscriptions.",
        (
            "cdpctl import segment export.json -o mappings/customerio.yaml",
            "cdpctl import segment - --provider loops < subscriptions.json",
        ),
    ),
    "workspace pull": (
        "A Segment destination's subscriptions as a mapping file.",
        (
            "cdpctl workspace pull --destination dst123 -o mappings/loops.yaml",
            "cdpctl workspace pull mappings/loops.yaml",
        ),
    ),
    "workspace status": (
        "How a mapping file and its Segment destination differ.",
        (
            "cdpctl workspace status mappings/loops.yaml",
            "cdpctl workspace status mappings/*.yaml --format json",
            "cdpctl workspace status mappings/loops.yaml --events events.ndjson",
        ),
    ),
    "workspace push": (
        "Apply a mapping file to its Segment destination.",
        (
            "cdpctl workspace push mappings/loops.yaml",
            "cdpctl workspace push mappings/loops.yaml --yes --prune",
        ),
    ),
    "plan show": (
        "Show a tracking plan as cdpctl reads it.",
        (
            "cdpctl plan show tracking-plan.json",
            "cdpctl plan show rudder-project/ --format json",
        ),
    ),
    "account pull": (
        "Snapshot the provider account a mapping uses.",
        (
            "cdpctl account pull mappings/loops.yaml",
            "cdpctl account pull mappings/*.yaml --endpoint http://127.0.0.1:8765",
        ),
    ),
    "source sendgrid": (
        "SendGrid Event Webhook payloads as Segment events.",
        ("cdpctl source sendgrid webhooks.ndjson -o email-events.ndjson",),
    ),
    "init": (
        "Start a mapping file for a provider.",
        (
            "cdpctl init loops -o mappings/loops.yaml",
            "cdpctl init customerio createUpdatePerson trackEvent",
        ),
    ),
}


def command_help(name: str) -> dict[str, Any]:
    """Keyword arguments for `app.command(name, **…)`."""
    short, examples = COMMANDS[name]
    # "\b" keeps click from re-wrapping the example lines.
    epilog = "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples)
    return {"short_help": short, "epilog": epilog}
