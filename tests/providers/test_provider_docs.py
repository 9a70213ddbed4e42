"""The field reference of every docs/providers/<provider>.md is generated from the provider's
declarations and stays in step with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdpctl.output.provider_docs import BEGIN, END, pages, reference, rewrite
from cdpctl.providers import provider_names

FOLDER = Path(__file__).parents[2] / "docs" / "providers"


@pytest.mark.parametrize(("page", "provider"), pages(FOLDER), ids=lambda v: getattr(v, "name", ""))
def test_the_generated_field_reference_is_current(page: Path, provider) -> None:
    text = page.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{page.name} has no generated field reference"
    assert rewrite(text, provider) == text, (
        f"{page.name} is stale: run `python -m cdpctl.output.provider_docs docs/providers`"
    )


def test_every_provider_has_a_page() -> None:
    assert [page.stem for page, _ in pages(FOLDER)] == list(provider_names())
    assert all(page.exists() for page, _ in pages(FOLDER))


def test_every_setting_endpoint_action_and_field_is_in_the_reference() -> None:
    for _, provider in pages(FOLDER):
        text = reference(provider)
        for setting in provider.settings:
            assert f"| `{setting.name}` |" in text
        for endpoint in provider.endpoints:
            assert f"| `{endpoint.method}` | `{endpoint.path}` | [" in text
            assert f"]({endpoint.doc_url}) |" in text
        for action in provider.actions:
            assert f"### `{action.name}` — {action.title}" in text
            for field in action.fields:
                assert f"| `{field.name}` |" in text


def test_a_page_without_a_reference_gets_one_appended() -> None:
    _, provider = pages(FOLDER)[0]
    appended = rewrite("# Title\n\nProse.\n", provider)
    assert appended.startswith("# Title\n\nProse.\n\n" + BEGIN)
    assert rewrite(appended, provider) == appended
