"""`cdpctl import segment` writes every credential setting — the provider's declared secrets
and credentials (SFMC's client_id, Dotdigital's username) — as a `${NAME}` reference, never the
literal from the export, and says which variables to set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import run_cli

from cdpctl.providers import get_provider, provider_names
from cdpctl.scaffold import env_name


def _credential_settings(name: str) -> list[str]:
    provider = get_provider(name)
    assert provider is not None
    return [s.name for s in provider.settings if s.secret or s.credential]


@pytest.mark.parametrize("name", provider_names())
def test_credentials_in_an_export_become_references(tmp_path: Path, name: str) -> None:
    provider = get_provider(name)
    assert provider is not None
    keys = _credential_settings(name)
    assert keys, f"{name} declares no credential settings"
    literals = {key: f"LIT{index}-{name}-0f9e8d7c6b5a" for index, key in enumerate(keys)}
    export = {
        "destination": {"settings": literals},
        "subscriptions": [
            {
                "name": "one",
                "actionSlug": provider.actions[0].name,
                "trigger": 'type = "track"',
                "settings": {},
            }
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    out = tmp_path / "out.yaml"
    result = run_cli(["import", "segment", str(path), "-p", name, "-o", str(out)], env={})
    assert result.exit_code in (0, 1), result.stderr
    text = out.read_text(encoding="utf-8")
    for literal in literals.values():
        for part in (literal, literal[:12], literal[-12:]):
            assert part not in text and part not in result.stderr and part not in result.stdout
    settings = yaml.safe_load(text)["destination"]["settings"]
    variables = [env_name(provider, key) for key in keys]
    for key, variable in zip(keys, variables, strict=True):
        assert settings[key] == "${" + variable + "}"
    listed = [line for line in result.stderr.splitlines() if "set " in line]
    assert len(listed) == 1 and all(variable in listed[0] for variable in variables), result.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sfmc", {"client_id": "${SFMC_CLIENT_ID}", "client_secret": "${SFMC_CLIENT_SECRET}"}),
        (
            "dotdigital",
            {"username": "${DOTDIGITAL_USERNAME}", "password": "${DOTDIGITAL_PASSWORD}"},
        ),
    ],
)
def test_the_issue_cases_match_what_init_writes(
    tmp_path: Path, name: str, expected: dict[str, str]
) -> None:
    init = yaml.safe_load(run_cli(["init", name]).stdout)["destination"]["settings"]
    for key, reference in expected.items():
        assert init[key] == reference
    provider = get_provider(name)
    assert provider is not None
    export = {
        "destination": {"settings": {"client_id": "CLIENTID123", "username": "apiuser-1@x.io"}},
        "subscriptions": [{"actionSlug": provider.actions[0].name, "trigger": 'type = "track"'}],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    result = run_cli(["import", "segment", str(path), "-p", name], env={})
    settings = yaml.safe_load(result.stdout)["destination"]["settings"]
    for key, reference in expected.items():
        assert settings[key] == reference
    assert "CLIENTID123" not in result.output and "apiuser-1" not in result.output
