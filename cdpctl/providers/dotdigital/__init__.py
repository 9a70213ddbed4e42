"""Dotdigital (Actions): contacts, lists, programs, campaigns, SMS and transactional email.

API: https://developer.dotdigital.com/ — reference: shared/reference/providers/dotdigital.md.
The package splits the API surface and limits (`api`), the value rules (`rules`) and the
actions (`actions`).
"""

from __future__ import annotations

from cdpctl.providers.base import ActionContext, Provider, Request, RequestPlan, Setting
from cdpctl.providers.dotdigital import api
from cdpctl.providers.dotdigital.actions import ACTIONS
from cdpctl.providers.dotdigital.rules import DATA_FIELD_TYPES_PATTERN

SETTINGS = (
    Setting(
        "api_host",
        "Region",
        "The region of your account; its API base URL (r1, r2 or r3).",
        required=True,
        default=api.DEFAULT_API_HOST,
        enum=tuple(api.REGIONS.values()),
    ),
    Setting(
        "username",
        "Username",
        "The API user's name (Settings → Access → API users).",
        required=True,
        credential=True,
    ),
    Setting("password", "Password", "The API user's password.", required=True, secret=True),
    Setting(
        "dataFieldTypes",
        "Data field types",
        "NAME=Type pairs separated by commas, Type one of String, Numeric, Date, Boolean (e.g. "
        '"FIRSTNAME=String, BIRTHDAY=Date"). cdpctl only: checks dataFields and shows their '
        "conversion in dry runs; when sending, Dotdigital's GET /v2/data-fields/ decides.",
        pattern=DATA_FIELD_TYPES_PATTERN,
    ),
)


def _test_authentication(ctx: ActionContext) -> RequestPlan:
    yield Request(
        "GET",
        api.DATA_FIELDS.url(api.api_host(ctx.settings)),
        api.headers(ctx.settings),
        purpose="check the API user's credentials",
    )


PROVIDER = Provider(
    name="dotdigital",
    title="Dotdigital",
    description="Marketing automation: contacts and lists, programs, email campaigns, SMS and "
    "transactional email.",
    docs_url=api.DOCS_URL,
    endpoints=api.ENDPOINTS,
    segment_slugs=("actions-dotdigital",),  # Dotdigital (Actions)
    settings=SETTINGS,
    actions=ACTIONS,
    rate_limit=api.RATE_LIMIT,
    derived_secrets=api.derived_secrets,
    test_authentication=_test_authentication,
)
