"""Salesforce Marketing Cloud: the Actions destination's actions and the classic destination's
behaviour, over OAuth client credentials.

Reference: shared/reference/providers/sfmc.md. Modules: `auth` (tokens), `api` (endpoints,
limits, judging answers), `titlecase`, `actions` (Segment's Actions), `classic`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.providers.base import ActionContext, Provider, RequestPlan, Setting
from cdpctl.providers.sfmc import actions, api, auth, classic


def _derived_secrets(settings: Mapping[str, Any]) -> list[str]:
    """The client secret as the token form encodes it, so redaction finds it in the body too."""
    secret = settings.get("client_secret")
    if isinstance(secret, str) and secret and quote_plus(secret) != secret:
        return [quote_plus(secret)]
    return []


def _check_settings(settings: Mapping[str, Any]) -> list[Diagnostic]:
    problems = []
    problem = auth.subdomain_problem(settings.get("subdomain"))
    if problem is not None:
        problems.append(Diagnostic(codes.INVALID_SETTING, problem))
    if not settings.get("account_id"):
        problems.append(
            Diagnostic(
                codes.MISSING_SETTING,
                "account_id (MID) is not set: tokens are issued for the business unit that "
                "created the installed package",
                hint="Segment's Actions destination requires it; set it to target another "
                "business unit",
                severity=Severity.WARNING,
            )
        )
    return problems + classic.settings_problems(settings)


def _test_authentication(ctx: ActionContext) -> RequestPlan:
    """Get a token: proves subdomain, client id/secret and account id together."""
    yield from auth.access_token(ctx, refresh=True)


PROVIDER = Provider(
    name="sfmc",
    title="Salesforce Marketing Cloud",
    description="Contacts, Data Extension rows (sync and async) and Journey Builder API events; "
    "Segment's Actions destination plus the classic destination's Title Case behaviour.",
    docs_url=api.ACTIONS_DOCS_URL,
    endpoints=api.ENDPOINTS,
    # Salesforce Marketing Cloud (Actions), and the classic destination (the classic actions)
    segment_slugs=("actions-salesforce-marketing-cloud", "salesforce-marketing-cloud"),
    settings=(
        Setting(
            "subdomain",
            "Subdomain",
            "Tenant subdomain: letters, digits and hyphens only, usually 28 characters starting "
            "with mc (e.g. mc563885gzs27c5t9-63k636ttgm), without .rest.marketingcloudapis.com.",
            required=True,
            pattern=auth.SUBDOMAIN_PATTERN,
        ),
        Setting(
            "account_id",
            "Account ID",
            "The MID of the business unit, sent with the token request. Optional in cdpctl "
            "(the classic destination did not ask for it); without it the token is for the "
            "business unit that created the installed package.",
        ),
        Setting(
            "client_id",
            "Client ID",
            "Client ID of the installed package's API integration (Server-to-Server).",
            required=True,
            credential=True,
        ),
        Setting(
            "client_secret",
            "Client Secret",
            "Client secret of the installed package's API integration.",
            required=True,
            secret=True,
        ),
        Setting(
            "identifyExtensionExternalKey",
            "Identify Data Extension External Key",
            "Classic: external key of the data extension identify rows go to "
            "(identifyDataExtension).",
        ),
        Setting(
            "events",
            "Conversion events",
            "Classic: the Track events trackDataExtension sends, as a list of {event, "
            'externalKey, primaryKey (default "Contact Key"; comma-separated for several), '
            "uuidPrimaryKey (true: the key is Uuid = messageId)}.",
            type="array",
        ),
        Setting(
            "doNotCreateOrUpdateContacts",
            "Do Not Create or Update Contacts",
            "Classic: when true, identifyDataExtension only upserts the data extension row.",
            type="boolean",
            default=False,
        ),
        Setting(
            "apiEvents",
            "API events",
            "Classic: Track event name → Journey Builder event definition key (trackApiEvent).",
            type="object",
        ),
        Setting(
            "batching",
            "Batching",
            "Classic: send rows through the async Data Extensions API (Salesforce must enable "
            "it for the account); contacts are not created and API events are not sent.",
            type="boolean",
            default=False,
        ),
    ),
    actions=actions.ACTIONS + classic.ACTIONS,
    rate_limit=api.RATE_LIMIT,
    derived_secrets=_derived_secrets,
    check_settings=_check_settings,
    test_authentication=_test_authentication,
)
