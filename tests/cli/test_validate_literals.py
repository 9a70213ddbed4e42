"""`validate` checks literals against their action fields with the runtime's own rules.

A literal the runtime refuses for every event (`channelIdentifier: mobile`, `listId: "abc"`)
is an error at its line and column; one the runtime accepts after coercion (`listId: "123"`)
passes. The property test holds validate and `prepare` to the same verdict for every field of
every action of every provider. Provider rules over the whole payload (`Action.check`: one of
two identifiers, a length Customer.io counts in bytes…) need the event's other fields and stay
with test-event."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from cdpctl.lint import check_document
from cdpctl.loading import load_yaml
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Action, FieldType, Provider
from cdpctl.providers.payload import prepare

ROOT = Path(__file__).parents[2]
PAYLOAD_CODES = {"CDP401", "CDP402", "CDP403", "CDP404", "CDP405"}


def test_dotdigital_literals_the_runtime_refuses_fail_validate_where_written(
    tmp_path: Path,
) -> None:
    text = (ROOT / "examples" / "dotdigital.yaml").read_text()
    text = text.replace("channelIdentifier: email\n", 'channelIdentifier: "mobile"\n', 1)
    text = text.replace("listId: 123456\n", 'listId: "abc"\n', 1)
    mapping = tmp_path / "dotdigital.yaml"
    mapping.write_text(text)
    result = run_cli(["validate", str(mapping)])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"{mapping}:27:26: error CDP405 'channelIdentifier' must be one of \"email\", "
        '"mobileNumber"',
        f"{mapping}:37:15: error CDP402 'listId' must be a number, got a string",
        "1 file checked: 2 error(s), 0 warning(s)",
    ]


def test_a_literal_the_runtime_coerces_passes(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "dotdigital.yaml").read_text()
    mapping = tmp_path / "dotdigital.yaml"
    mapping.write_text(text.replace("listId: 123456\n", 'listId: "123456"\n', 1))
    result = run_cli(["validate", str(mapping)])
    assert result.exit_code == 0, result.output


SEGMENT = """\
version: 1
destination:
  provider: segment
  settings:
    source_write_key: ${{SEGMENT_WRITE_KEY}}
subscriptions:
  - name: identify
    trigger: type = "identify"
    action: sendIdentify
    mapping:
{mapping}
"""


def test_literal_parts_of_objects_beside_directives_are_checked(tmp_path: Path) -> None:
    mapping = tmp_path / "segment.yaml"
    mapping.write_text(
        SEGMENT.format(
            mapping="      location:\n"
            '        city: {"@path": "$.traits.address.city"}\n'
            "        latitude: north\n"
            '        longitude: {"@literal": "12.5"}\n'
            "      network:\n"
            '        wifi: {"@literal": "yes"}\n'
            '        carrier: {"@path": "$.context.network.carrier"}\n'
        )
    )
    result = run_cli(["validate", str(mapping)])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"{mapping}:13:19: error CDP402 'latitude' must be a number, got a string",
        f"{mapping}:16:28: error CDP402 'wifi' must be true or false, got a string",
        "1 file checked: 2 error(s), 0 warning(s)",
    ]


# -- property: validate's verdict on a literal is the runtime's ---------------------------------

CANDIDATES: tuple[Any, ...] = (
    "zz-not-a-choice",
    "abc",
    "123",
    "12.5",
    "true",
    7,
    12.5,
    -3,
    0,
    True,
    False,
    {"k": "v"},
    [1, 2],
    ["a"],
    [],
    "2024-05-17T09:30:00Z",
    "2024-05-17",
    "jane@example.com",
    "jöe@example.com",
    "+447911123456",
    "07911 123456",
    "https://example.com/x",
    "x" * 3000,
    None,
    "",
)


def _checked_fields(action: Action) -> list[str]:
    return [
        f.name
        for f in action.fields
        if f.enum or f.type is not FieldType.ANY or f.multiple or f.properties
    ]


def _candidates(action: Action, name: str) -> list[Any]:
    spec = next(f for f in action.fields if f.name == name)
    extra: list[Any] = []
    for choice in spec.enum or ():
        extra.append(choice)
        if isinstance(choice, str):
            extra.append(choice.upper() if choice != choice.upper() else choice.lower())
    for child in spec.properties:
        for value in ("abc", 7, True, None, ""):
            extra.append({child.name: value})
    return [*CANDIDATES, *extra]


def _runtime_codes(action: Action, name: str, value: Any) -> set[tuple[str, tuple]]:
    """The runtime's field step (`prepare` without the provider's whole-payload rules, which
    need the event's other fields and are left to test-event)."""
    _, errors = prepare(replace(action, check=None), {name: value}, {})
    return {
        (d.code, d.json_path[:1])
        for d in errors
        if d.is_error and d.code in PAYLOAD_CODES and d.json_path[:1] == (name,)
    }


def _document(tmp_path: Path, provider: Provider, action: Action, values: dict[str, Any]) -> Any:
    body = {
        "version": 1,
        "destination": {"provider": provider.name, "settings": {}},
        "subscriptions": [
            {"name": "s", "trigger": 'type = "track"', "action": action.name, "mapping": values}
        ],
    }
    path = tmp_path / f"{provider.name}.{action.name}.yaml"
    path.write_text(json.dumps(body, ensure_ascii=False))
    return load_yaml(str(path))


@pytest.mark.parametrize("provider_name", provider_names())
def test_validate_refuses_a_literal_exactly_when_the_runtime_does(
    tmp_path: Path, provider_name: str
) -> None:
    provider = get_provider(provider_name)
    assert provider is not None
    compared = refused = 0
    for action in provider.actions:
        names = _checked_fields(action)
        rounds = max(len(_candidates(action, name)) for name in names) if names else 0
        for index in range(rounds):
            values = {}
            for name in names:
                candidates = _candidates(action, name)
                if index < len(candidates):
                    values[name] = candidates[index]
            findings = check_document(_document(tmp_path, provider, action, values))
            for name, value in values.items():
                runtime = _runtime_codes(action, name, value)
                at = ("subscriptions", 0, "mapping", name)
                static = {
                    (d.code, (name,))
                    for d in findings
                    if d.code in PAYLOAD_CODES and d.json_path[:4] == at
                }
                assert static == runtime, (action.name, name, value, static, runtime)
                compared += 1
                refused += bool(runtime)
    assert compared and refused and refused < compared  # both verdicts were exercised
