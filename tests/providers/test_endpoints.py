"""A provider's endpoints are declared once (`Provider.endpoints`): the request builders fill
them in, the sandbox routes on them, and every golden request uses exactly one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from test_provider_cases import CASES, case_files, judged

from cdpctl.pipeline import Ready
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import Endpoint, Provider
from cdpctl.sandbox.server import load_emulators

# Routes the sandbox serves although cdpctl never calls them (each commented in its module).
SANDBOX_ONLY: dict[str, set[tuple[str, str]]] = {
    "customerio": set(),
    "dotdigital": {("GET", "/v2/data-fields")},
    "loops": {("POST", "/api/v1/contacts/delete")},
    "segment": {("POST", "/v1/alias")},
    "sendgrid": {
        ("POST", "/v3/marketing/field_definitions"),
        ("GET", "/v3/marketing/contacts/imports/{job_id}"),
        ("POST", "/v3/marketing/lists"),
    },
    "sfmc": set(),
}


def provider(name: str) -> Provider:
    found = get_provider(name)
    assert found is not None
    return found


def test_every_provider_has_its_sandbox_only_list() -> None:
    assert sorted(SANDBOX_ONLY) == sorted(provider_names())


@pytest.mark.parametrize("name", provider_names())
def test_each_endpoint_is_declared_once_with_its_documentation(name: str) -> None:
    endpoints = provider(name).endpoints
    assert endpoints, f"{name} declares no endpoints"
    keys = [(e.method, e.path) for e in endpoints]
    assert len(keys) == len(set(keys)), f"{name} declares an endpoint twice"
    for endpoint in endpoints:
        assert endpoint.method in ("GET", "POST", "PUT", "PATCH", "DELETE"), endpoint
        assert endpoint.path.startswith("/"), endpoint
        assert endpoint.doc_url.startswith("https://"), endpoint


@pytest.mark.parametrize("name", provider_names())
def test_the_sandbox_routes_exactly_the_declared_endpoints(name: str) -> None:
    (emulator,) = [e for e in load_emulators() if e.name == name]
    routed = [route.endpoint for route in emulator.routes]
    assert len(routed) == len(set(routed)), f"the {name} sandbox routes an endpoint twice"
    missing = set(provider(name).endpoints) - set(routed)
    assert not missing, f"declared by {name} but not served by its sandbox: {missing}"
    extra = {(e.method, e.path) for e in routed} - {
        (e.method, e.path) for e in provider(name).endpoints
    }
    assert extra == SANDBOX_ONLY[name]


def matching(endpoints: tuple[Endpoint, ...], method: str, url: str) -> list[Endpoint]:
    path = urlsplit(url).path
    return [e for e in endpoints if e.method == method and e.regex().match(path)]


def case_requests(case: dict[str, Any], tmp_path: Path) -> list[tuple[str, str]]:
    """(method, URL) of every request the case's dry run builds."""
    _, verdict = judged(case, tmp_path)
    if not isinstance(verdict, Ready):
        return []
    return [(request.method, request.url) for request in verdict.requests]


@pytest.mark.parametrize(
    "path", case_files(), ids=lambda p: str(p.relative_to(CASES).with_suffix(""))
)
def test_every_golden_request_uses_exactly_one_declared_endpoint(path: Path, tmp_path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    endpoints = provider(case["destination"]["provider"]).endpoints
    for method, url in case_requests(case, tmp_path):
        found = matching(endpoints, method, url)
        assert len(found) == 1, f"{method} {url} matches {len(found)} declared endpoints: {found}"


def test_the_golden_cases_reach_most_endpoints(tmp_path: Path) -> None:
    """Guards the test above against passing vacuously (cases that build no request)."""
    used: set[Endpoint] = set()
    for path in case_files():
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        endpoints = provider(case["destination"]["provider"]).endpoints
        for method, url in case_requests(case, tmp_path):
            used.update(matching(endpoints, method, url))
    declared = {e for name in provider_names() for e in provider(name).endpoints}
    assert len(used) >= len(declared) // 2, sorted(f"{e.method} {e.path}" for e in used)


ROW = Endpoint("PUT", "/hub/v1/dataevents/{de}/rows/{keys}", "https://example.com/docs")


def test_url_fills_each_placeholder_with_its_value_as_given() -> None:
    url = ROW.url("https://x.test", de="key:a%20b", keys="Id:1,Name:o'brien")
    assert url == "https://x.test/hub/v1/dataevents/key:a%20b/rows/Id:1,Name:o'brien"
    assert Endpoint("GET", "/v2/email", "").url("https://h") == "https://h/v2/email"


@pytest.mark.parametrize("values", [{"de": "x"}, {"de": "x", "keys": "y", "other": "z"}])
def test_url_refuses_missing_or_unknown_placeholders(values: dict[str, str]) -> None:
    with pytest.raises(TypeError, match=r"takes \('de', 'keys'\)"):
        ROW.url("https://x.test", **values)


def test_regex_takes_one_path_segment_per_placeholder_and_literal_text_as_is() -> None:
    match = ROW.regex().match("/hub/v1/dataevents/key:x/rows/Contact%20Key:u")
    assert match is not None and match.groupdict() == {"de": "key:x", "keys": "Contact%20Key:u"}
    assert ROW.regex().match("/hub/v1/dataevents/a/b/rows/k") is None
    assert ROW.regex().match("/hub/v1/dataevents/x/rows/k/extra") is None
    dotted = Endpoint("GET", "/v1.0/items", "")
    assert dotted.regex().match("/v1.0/items") and not dotted.regex().match("/v1x0/items")
