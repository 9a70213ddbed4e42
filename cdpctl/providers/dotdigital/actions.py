"""Dotdigital's seven actions: fields, provider-specific checks, bodies and request plans.

Reference: shared/reference/providers/dotdigital.md §2–§3 (bodies keep Segment's key order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic, Severity
from cdpctl.jsonwire import js_number_text
from cdpctl.jsvalues import js_trim
from cdpctl.providers.base import (
    Action,
    ActionContext,
    ActionFailed,
    Field,
    FieldType,
    Format,
    Repeat,
    Reply,
    Request,
    RequestPlan,
    Upsert,
    learnt_id,
)
from cdpctl.providers.dotdigital import api
from cdpctl.providers.dotdigital.rules import (
    INVALID_MOBILE,
    DataFieldError,
    InvalidMobileNumber,
    clean_mobile_number,
    convert_data_field,
    convert_data_fields,
    data_field_types,
    invalid_addresses,
    is_valid_address,
    parse_data_field_types,
    split_addresses,
)

CONTACT_ID_PLACEHOLDER = "<contactId>"
UNKNOWN_TYPE_PLACEHOLDER = "<type from GET /v2/data-fields/>"
NOT_FOUND_TO_REMOVE = "contact not found — nothing to remove"


def _if_exists(path: str, otherwise: str) -> dict[str, Any]:
    return {
        "@if": {"exists": {"@path": path}, "then": {"@path": path}, "else": {"@path": otherwise}}
    }


def _trigger(title: str) -> str:
    return f'type = "track" and event = "{title}"'


def _missing(name: str, hint: str) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_MISSING_FIELD,
        f"missing the required field '{name}'",
        json_path=(name,),
        hint=hint,
    )


def _warning(message: str, path: tuple[str | int, ...], hint: str | None = None) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_RULE, message, json_path=path, hint=hint, severity=Severity.WARNING
    )


def _js_string(value: Any) -> str:
    """A path segment as JavaScript's template literal writes the value."""
    if isinstance(value, float):
        return js_number_text(value)
    return str(value)


def _contact_id(reply: Reply, what: str, ctx: ActionContext) -> Any:
    contact_id = reply.json.get("contactId") if isinstance(reply.json, Mapping) else None
    if contact_id is None:
        raise ActionFailed(f"{what}: Dotdigital's answer has no contactId", status=reply.status)
    return learnt_id(contact_id, what, ctx)


# --- the contact identifier (§2.2) -----------------------------------------------------------

CHANNELS = ("email", "mobileNumber")
IDENTIFIER_FIELDS = (
    Field(
        "channelIdentifier",
        FieldType.STRING,
        "Contact Identifier type",
        "Identify the contact by email address or by mobile number; the value is also the "
        "identifier type in the contact URL.",
        required=True,
        default="email",
        enum=CHANNELS,
    ),
    Field(
        "emailIdentifier",
        FieldType.STRING,
        "Email Address",
        "The contact's email address. Required when channelIdentifier is email; sent as an "
        "identifier whenever present.",
        default=_if_exists("$.traits.email", "$.properties.email"),
        format=Format.EMAIL,
    ),
    Field(
        "mobileNumberIdentifier",
        FieldType.STRING,
        "Mobile Number",
        "The contact's mobile number in E.164 form (e.g. +447000000001). Required when "
        "channelIdentifier is mobileNumber; sent as an identifier whenever present.",
        default=_if_exists("$.traits.phone", "$.properties.phone"),
        format=Format.E164,
    ),
)


def check_identifier(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    """The conditional requirement: the chosen channel's identifier must be mapped."""
    if payload.get("channelIdentifier") == "mobileNumber":
        if "mobileNumberIdentifier" not in payload:
            return [
                _missing(
                    "mobileNumberIdentifier",
                    'channelIdentifier is "mobileNumber": map mobileNumberIdentifier, e.g. to '
                    "$.context.traits.phone on track events",
                )
            ]
    elif "emailIdentifier" not in payload:
        return [
            _missing(
                "emailIdentifier",
                'channelIdentifier is "email": map emailIdentifier, e.g. to '
                "$.context.traits.email on track events",
            )
        ]
    return []


def identifier_value(payload: Mapping[str, Any]) -> str:
    key = "emailIdentifier" if payload["channelIdentifier"] == "email" else "mobileNumberIdentifier"
    return str(payload.get(key, ""))


def identifiers(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Both identifiers when both are present, whichever channel was chosen."""
    found: dict[str, Any] = {}
    if payload.get("emailIdentifier"):
        found["email"] = payload["emailIdentifier"]
    if payload.get("mobileNumberIdentifier"):
        found["mobileNumber"] = payload["mobileNumberIdentifier"]
    return found


# --- addContactToList: "Add or Update Contact" (§3.1) ----------------------------------------

SUBSCRIPTION_STATUSES = ("subscribed", "unsubscribed", "suppressed")
LOCALES = (
    "cs-CS", "da-DA", "de-DE", "el-EL", "en-EN", "es-ES", "es", "fi-FI", "fr-FR", "hu-HU",
    "it-IT", "nl-NL", "nb-NO", "pl-PL", "pt-PT", "ru-RU", "se-SE", "sk-SK", "tr-TR", "zh-CN",
)  # fmt: skip

CONTACT_FIELDS = (
    *IDENTIFIER_FIELDS,
    Field(
        "emailType",
        FieldType.STRING,
        "Email Type",
        "The format of email the contact receives.",
        default="html",
        enum=("html", "plainText"),
    ),
    Field(
        "optInType",
        FieldType.STRING,
        "Opt-in Type",
        "How the contact opted in.",
        default="single",
        enum=("unknown", "single", "double", "verifiedDouble"),
    ),
    Field(
        "updateEmailSubscription",
        FieldType.BOOLEAN,
        "Update Email Subscription",
        "Whether to send an email subscription status at all.",
        default=True,
    ),
    Field(
        "emailSubscriptionStatus",
        FieldType.STRING,
        "Email Subscription Status",
        "subscribed is sent only together with emailResubscribe = true; unsubscribed and "
        "suppressed are always sent.",
        default="subscribed",
        enum=SUBSCRIPTION_STATUSES,
    ),
    Field(
        "emailResubscribe",
        FieldType.BOOLEAN,
        "Resubscribe Email",
        "Send status subscribed with resubscribe options (re-subscribes an unsubscribed contact). "
        "Defaults to true like Segment's UI; a payload without it behaves as false.",
        default=True,
    ),
    Field(
        "resubscribeWithoutChallengeEmail",
        FieldType.BOOLEAN,
        "Resubscribe Without Challenge Email",
        "Re-subscribe without Dotdigital's confirmation (challenge) email.",
        default=False,
    ),
    Field(
        "preferredLocale",
        FieldType.STRING,
        "Preferred Locale",
        "Language of the challenge email; sent only when the challenge email is used.",
        enum=LOCALES,
    ),
    Field(
        "redirectUrlAfterChallenge",
        FieldType.STRING,
        "Redirect URL After Challenge",
        "Where the challenge email sends the contact; sent only when the challenge is used.",
    ),
    Field(
        "updateSmsSubscription",
        FieldType.BOOLEAN,
        "Update SMS Subscription",
        "Whether to send an SMS subscription status (only when a mobile number is present).",
        default=True,
    ),
    Field(
        "smsSubscriptionStatus",
        FieldType.STRING,
        "SMS Subscription Status",
        "The SMS subscription status to set.",
        default="subscribed",
        enum=SUBSCRIPTION_STATUSES,
    ),
    Field(
        "listId",
        FieldType.NUMBER,
        "List",
        "The ID of one list (address book) to add the contact to.",
    ),
    Field(
        "dataFields",
        FieldType.OBJECT,
        "Data Fields",
        "Values keyed by Dotdigital data-field NAME (e.g. FIRSTNAME); the fields must exist in "
        "Dotdigital. Each value is checked and converted by its Dotdigital type.",
    ),
)


def email_channel_properties(payload: Mapping[str, Any]) -> dict[str, Any]:
    """`channelProperties.email` with Segment's fallbacks (emailResubscribe falls back to false)."""
    email: dict[str, Any] = {
        "emailType": payload.get("emailType", "html"),
        "optInType": payload.get("optInType", "single"),
    }
    if not payload.get("updateEmailSubscription", True):
        return email
    status = payload.get("emailSubscriptionStatus", "subscribed")
    if status == "subscribed":
        if payload.get("emailResubscribe", False):
            no_challenge = payload.get("resubscribeWithoutChallengeEmail", False)
            options: dict[str, Any] = {"resubscribeWithNoChallenge": no_challenge}
            if not no_challenge:
                for key in ("preferredLocale", "redirectUrlAfterChallenge"):
                    if payload.get(key):
                        options[key] = payload[key]
            email["status"] = "subscribed"
            email["resubscribeOptions"] = options
    elif status:
        email["status"] = status
    return email


def contact_body(
    payload: Mapping[str, Any], data_fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The PATCH body: identifiers, channelProperties, lists, dataFields (in that order)."""
    channel_properties: dict[str, Any] = {}
    if payload.get("emailIdentifier"):
        channel_properties["email"] = email_channel_properties(payload)
    sms_status = payload.get("smsSubscriptionStatus", "subscribed")
    if (
        payload.get("mobileNumberIdentifier")
        and payload.get("updateSmsSubscription", True)
        and sms_status
    ):
        channel_properties["sms"] = {"status": sms_status}
    body: dict[str, Any] = {
        "identifiers": identifiers(payload),
        "channelProperties": channel_properties,
    }
    if payload.get("listId"):
        body["lists"] = [payload["listId"]]
    if data_fields is not None:
        body["dataFields"] = data_fields
    return body


#: Settings keys cdpctl fills from an account snapshot (`cdpctl account pull`): every data
#: field of the account with its type, and the snapshot's name. They replace `dataFieldTypes`
#: (an assumption) in checks and in the dry-run answer of the data-field lookup.
ACCOUNT_DATA_FIELD_TYPES = "cdpctl.account.dataFieldTypes"
ACCOUNT_SNAPSHOT = "cdpctl.account.snapshot"


def declared_types(settings: Mapping[str, Any]) -> dict[str, str]:
    from_account = settings.get(ACCOUNT_DATA_FIELD_TYPES)
    if isinstance(from_account, Mapping):
        return {str(name): str(kind) for name, kind in from_account.items()}
    return parse_data_field_types(settings.get("dataFieldTypes"))


def _check_contact(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    problems = check_identifier(payload, settings)
    problems.extend(_check_resubscribe_options(payload))
    values = payload.get("dataFields")
    if isinstance(values, dict):
        if isinstance(settings.get(ACCOUNT_DATA_FIELD_TYPES), Mapping):
            problems.extend(_check_against_account(values, settings))
        else:
            problems.extend(check_data_fields(values, declared_types(settings)))
    return problems


def _check_against_account(
    values: Mapping[str, Any], settings: Mapping[str, Any]
) -> list[Diagnostic]:
    """Every mapped data field by the type the account snapshot gives it."""
    types = declared_types(settings)
    problems = []
    for key, value in values.items():
        if key not in types:
            problems.append(
                Diagnostic(
                    codes.ACCOUNT_FIELD_NOT_DEFINED,
                    f"Data field {key} not found in Dotdigital (account snapshot "
                    f"{settings.get(ACCOUNT_SNAPSHOT)}): Dotdigital refuses the contact",
                    json_path=("dataFields", key),
                    hint="create the data field in Dotdigital, then run `cdpctl account pull`",
                )
            )
            continue
        try:
            convert_data_field(key, value, types[key])
        except DataFieldError as error:
            problems.append(_data_field_problem(error, types[key], ("dataFields", key)))
    return problems


def _check_resubscribe_options(payload: Mapping[str, Any]) -> list[Diagnostic]:
    """Challenge options that will not be sent, said out loud."""
    used = (
        payload.get("emailIdentifier")
        and payload.get("updateEmailSubscription", True)
        and payload.get("emailSubscriptionStatus", "subscribed") == "subscribed"
        and payload.get("emailResubscribe", False)
        and not payload.get("resubscribeWithoutChallengeEmail", False)
    )
    if used:
        return []
    return [
        _warning(
            f"{key} is not sent: it applies only to a re-subscribe with the challenge email "
            "(status subscribed, emailResubscribe true, resubscribeWithoutChallengeEmail false)",
            (key,),
        )
        for key in ("preferredLocale", "redirectUrlAfterChallenge")
        if payload.get(key)
    ]


def check_data_fields(values: Mapping[str, Any], declared: Mapping[str, str]) -> list[Diagnostic]:
    """Declared types are checked now, undeclared ones only at send time."""
    problems: list[Diagnostic] = []
    undeclared: list[str] = []
    for key, value in values.items():
        path = ("dataFields", key)
        if key not in declared:
            undeclared.append(key)
        else:
            try:
                convert_data_field(key, value, declared[key])
            except DataFieldError as error:
                problems.append(_data_field_problem(error, declared[key], path))
    if undeclared:
        names = ", ".join(undeclared)
        problems.append(
            Diagnostic(
                codes.PAYLOAD_RULE,
                f"dataFields {names}: type not declared, so the dry run shows the value "
                "unconverted; at send time Dotdigital's GET /v2/data-fields/ decides",
                json_path=("dataFields",),
                hint=f"declare them in the dataFieldTypes setting, e.g. {undeclared[0]}=String",
                severity=Severity.WARNING if declared else Severity.INFO,
            )
        )
    return problems


def _data_field_problem(error: DataFieldError, kind: str, path: tuple[str, ...]) -> Diagnostic:
    if kind == "Date":
        return Diagnostic(
            codes.PAYLOAD_BAD_FORMAT,
            error.message,
            json_path=path,
            hint="use an ISO-8601 date such as 1990-05-17 or 1990-05-17T09:30:00Z",
        )
    return Diagnostic(codes.PAYLOAD_WRONG_TYPE, error.message, json_path=path)


def data_fields_request(payload: Mapping[str, Any], settings: Mapping[str, Any]) -> Request:
    """The data-field lookup; its dry-run answer declares the types of `dataFieldTypes`."""
    declared = declared_types(settings)
    keys = list(payload["dataFields"])
    if isinstance(settings.get(ACCOUNT_DATA_FIELD_TYPES), Mapping):
        return Request(
            "GET",
            api.DATA_FIELDS.url(api.api_host(settings)),
            api.headers(settings),
            purpose="look up data-field types (dry run: the types of account snapshot "
            f"{settings.get(ACCOUNT_SNAPSHOT)})",
            dry_run_reply=Reply(
                200,
                [{"name": n, "type": t, "visibility": "Private"} for n, t in declared.items()],
            ),
        )
    reply = [
        {"name": key, "type": declared.get(key, UNKNOWN_TYPE_PLACEHOLDER), "visibility": "Private"}
        for key in keys
    ]
    known = [f"{key}={declared[key]}" for key in keys if key in declared]
    unknown = [key for key in keys if key not in declared]
    notes = []
    if known:
        notes.append("dry run assumes " + ", ".join(known))
    if unknown:
        notes.append(", ".join(unknown) + " left unconverted: not in dataFieldTypes")
    purpose = "look up data-field types" + (f" ({'; '.join(notes)})" if notes else "")
    return Request(
        "GET",
        api.DATA_FIELDS.url(api.api_host(settings)),
        api.headers(settings),
        purpose=purpose,
        dry_run_reply=Reply(200, reply),
    )


def _plan_contact(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    data_fields = None
    if "dataFields" in payload:
        reply = yield data_fields_request(payload, ctx.settings)
        values = payload["dataFields"] if isinstance(payload["dataFields"], dict) else {}
        try:
            data_fields = convert_data_fields(values, data_field_types(reply.json))
        except DataFieldError as error:
            raise ActionFailed(error.message, status=400) from None
    url = api.CONTACT_PATCH.url(
        api.api_host(ctx.settings),
        channel=payload["channelIdentifier"],
        value=identifier_value(payload),
    )
    yield Request(
        "PATCH",
        url + "?merge-option=overwrite",
        api.headers(ctx.settings, json=True),
        json=contact_body(payload, data_fields),
        purpose="create or update the contact",
    )


# --- enrolContact (§3.2) ---------------------------------------------------------------------

ENROL_FIELDS = (
    *IDENTIFIER_FIELDS,
    Field(
        "programId",
        FieldType.STRING,
        "Program",
        "The ID of an active automation program; sent as a string.",
        required=True,
    ),
)


def _plan_enrol(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    url = api.CONTACT_PATCH.url(
        api.api_host(ctx.settings),
        channel=payload["channelIdentifier"],
        value=identifier_value(payload),
    )
    reply = yield Request(
        "PATCH",
        url,
        api.headers(ctx.settings, json=True),
        json={"identifiers": identifiers(payload)},
        purpose=f"fetch or create the contact (dry run: contactId {CONTACT_ID_PLACEHOLDER})",
        repeat=Repeat.IDEMPOTENT,  # an upsert by the identifier
        dry_run_reply=Reply(200, {"contactId": CONTACT_ID_PLACEHOLDER}),
    )
    contact_id = _contact_id(reply, "fetch or create the contact", ctx)
    yield Request(
        "POST",
        api.ENROLMENTS.url(api.api_host(ctx.settings)),
        api.headers(ctx.settings, json=True),
        json={"contacts": [contact_id], "programId": payload["programId"]},
        purpose="enrol the contact in the program",
    )


# --- removeContactFromList (§3.3) ------------------------------------------------------------

REMOVE_FIELDS = (
    *IDENTIFIER_FIELDS,
    Field(
        "listId",
        FieldType.NUMBER,
        "List",
        "The ID of the list (address book) to remove the contact from.",
        required=True,
    ),
)


def _plan_remove(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    url = api.CONTACT.url(
        api.api_host(ctx.settings),
        channel=payload["channelIdentifier"],
        value=identifier_value(payload),
    )
    reply = yield Request(
        "GET",
        url,
        api.headers(ctx.settings),
        purpose=f"look up the contact (dry run: contactId {CONTACT_ID_PLACEHOLDER})",
        dry_run_reply=Reply(200, {"contactId": CONTACT_ID_PLACEHOLDER}),
        handles=frozenset({404}),
    )
    if reply.status == 404:
        raise ActionFailed(NOT_FOUND_TO_REMOVE, status=404, retryable=False)
    contact_id = _contact_id(reply, "look up the contact", ctx)
    yield Request(
        "DELETE",
        api.LIST_CONTACT_DELETE.url(
            api.api_host(ctx.settings),
            listId=_js_string(payload["listId"]),
            contactId=_js_string(contact_id),
        ),
        api.headers(ctx.settings),
        purpose="remove the contact from the list",
    )


# --- sendEmailCampaign (§3.4) ----------------------------------------------------------------

CAMPAIGN_FIELDS = (
    Field(
        "email",
        FieldType.STRING,
        "Email",
        "The address of an existing contact; the campaign is not sent to unknown contacts.",
        required=True,
        default=_if_exists("$.traits.email", "$.properties.email"),
    ),
    Field(
        "campaignId", FieldType.NUMBER, "Campaign", "The ID of the email campaign.", required=True
    ),
    Field(
        "sendDate",
        FieldType.DATETIME,
        "Send Date",
        "When to send, as an ISO-8601 string; blank sends immediately. Ignored when "
        "sendTimeOptimised is true.",
    ),
    Field(
        "sendTimeOptimised",
        FieldType.BOOLEAN,
        "Send Time Optimised",
        "Send at the time the contact usually opens email.",
        default=False,
    ),
)
_PATH_BREAKING = frozenset("/?#% \t\r\n")


def _check_campaign(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    problems = []
    breaking = sorted(set(payload.get("email", "")) & _PATH_BREAKING)
    if breaking:
        problems.append(
            Diagnostic(
                codes.PAYLOAD_BAD_FORMAT,
                f"'email' contains {' '.join(repr(c) for c in breaking)}, which would change the "
                "contact lookup URL (the address goes into the path as is)",
                json_path=("email",),
                hint="map a plain email address",
            )
        )
    send_date = payload.get("sendDate")
    if isinstance(send_date, (int, float)):
        problems.append(
            Diagnostic(
                codes.PAYLOAD_WRONG_TYPE,
                "'sendDate' must be an ISO-8601 string; cdpctl does not send epoch numbers "
                "(Segment passes them through unchanged)",
                json_path=("sendDate",),
                hint="map an ISO-8601 date-time such as 2026-09-01T09:00:00Z",
            )
        )
    elif send_date is not None and payload.get("sendTimeOptimised"):
        problems.append(
            _warning("sendDate is not sent: sendTimeOptimised picks the time", ("sendDate",))
        )
    return problems


def campaign_request(
    payload: Mapping[str, Any], contact_id: Any, settings: Mapping[str, Any]
) -> Request:
    body: dict[str, Any] = {"campaignID": payload["campaignId"], "contactIDs": [contact_id]}
    endpoint = api.CAMPAIGN_SEND
    if payload.get("sendTimeOptimised"):
        endpoint = api.CAMPAIGN_SEND_OPTIMISED
    elif "sendDate" in payload:
        body["sendDate"] = payload["sendDate"]
    return Request(
        "POST",
        endpoint.url(api.api_host(settings)),
        api.headers(settings, json=True),
        json=body,
        purpose="send the campaign to the contact",
    )


def _plan_campaign(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    reply = yield Request(
        "GET",
        api.CONTACT.url(api.api_host(ctx.settings), channel="email", value=payload["email"]),
        api.headers(ctx.settings),
        purpose=f"look up the contact (dry run: contactId {CONTACT_ID_PLACEHOLDER})",
        dry_run_reply=Reply(200, {"contactId": CONTACT_ID_PLACEHOLDER}),
        handles=frozenset({404}),
    )
    if reply.status == 404:
        raise ActionFailed(
            "contact not found — campaigns are sent only to existing contacts", status=404
        )
    yield campaign_request(payload, _contact_id(reply, "look up the contact", ctx), ctx.settings)


# --- sendSms (§3.5) and sendTransactionalSms (§3.7) ------------------------------------------

SMS_TO = Field(
    "to",
    FieldType.STRING,
    "To",
    "The mobile number in E.164 form (e.g. +447000000001); sent as digits only.",
    required=True,
    default=_if_exists("$.traits.phone", "$.properties.phone"),
    format=Format.E164,
)
SMS_FIELDS = (SMS_TO, Field("message", FieldType.STRING, "Message", "The SMS text.", required=True))
TRANSACTIONAL_SMS_FIELDS = (
    SMS_TO,
    Field(
        "from",
        FieldType.STRING,
        "From",
        "A custom sender name; when blank Dotdigital uses a random number.",
    ),
    Field(
        "message",
        FieldType.STRING,
        "Message",
        f"The SMS text, up to {api.SMS_MAX_CHARACTERS} non-encoded characters per message.",
        required=True,
    ),
    Field(
        "link_shortening",
        FieldType.BOOLEAN,
        "Link Shortening",
        "Shorten and track links in the message.",
        default=False,
    ),
    Field(
        "allow_unicode",
        FieldType.BOOLEAN,
        "Allow Unicode Characters",
        "When false, Dotdigital does not send messages that contain Unicode characters.",
        default=False,
    ),
)


def _check_sms(payload: dict[str, Any], settings: Mapping[str, Any]) -> list[Diagnostic]:
    try:
        clean_mobile_number(payload["to"])
    except InvalidMobileNumber:
        return [Diagnostic(codes.PAYLOAD_BAD_FORMAT, INVALID_MOBILE, json_path=("to",))]
    return []


def _check_transactional_sms(
    payload: dict[str, Any], settings: Mapping[str, Any]
) -> list[Diagnostic]:
    problems = _check_sms(payload, settings)
    message = payload.get("message", "")
    if len(message) > api.SMS_MAX_CHARACTERS:
        problems.append(
            _warning(
                f"message is {len(message)} characters; one SMS holds "
                f"{api.SMS_MAX_CHARACTERS} non-encoded characters (longer ones cost more)",
                ("message",),
            )
        )
    return problems


def _plan_sms(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    digits = clean_mobile_number(payload["to"])
    yield Request(
        "POST",
        api.SMS_SEND.url(api.api_host(ctx.settings), number=digits),
        api.headers(ctx.settings, json=True),
        json={"message": payload["message"]},
        purpose="send the SMS",
    )


def transactional_sms_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": {"phoneNumber": clean_mobile_number(payload["to"])},
        "body": payload["message"],
        "rules": ["sms"],
    }
    if payload.get("from") or payload.get("allow_unicode"):
        sms: dict[str, Any] = {}
        if payload.get("from"):
            sms["from"] = payload["from"]
        if payload.get("allow_unicode"):
            sms["allowUnicode"] = payload["allow_unicode"]
        body["channelOptions"] = {"sms": sms}
    if payload.get("link_shortening"):
        body["shortenLinks"] = "on"
    return body


def _plan_transactional_sms(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    yield Request(
        "POST",
        api.CPAAS_MESSAGES.url(api.api_host(ctx.settings)),
        api.headers(ctx.settings, json=True),
        json=transactional_sms_body(payload),
        purpose="send the transactional SMS",
    )


# --- sendTransactionalEmail (§3.6) -----------------------------------------------------------

TRANSACTIONAL_EMAIL_FIELDS = (
    Field(
        "fromAddress",
        FieldType.STRING,
        "From Address",
        'A from address of your account, optionally with a name: "My Company '
        '<news@example.com>" (letters, digits, _ and spaces in the name). Unknown addresses '
        "are replaced by your default from address.",
        required=True,
    ),
    Field(
        "toAddresses",
        FieldType.STRING,
        "To Address",
        "The address(es) to send to, separated by commas.",
        required=True,
        default=_if_exists("$.traits.email", "$.properties.email"),
    ),
    Field("subject", FieldType.STRING, "Subject", "The subject line.", required=True),
    Field("htmlContent", FieldType.STRING, "HTML Content", "The HTML body.", required=True),
    Field("plainTextContent", FieldType.STRING, "Plain Text Content", "The plain-text body."),
    Field(
        "ccAddresses",
        FieldType.STRING,
        "CC Addresses",
        f"CC addresses separated by commas; at most {api.CC_BCC_MAX_ADDRESSES}.",
    ),
    Field(
        "bccAddresses",
        FieldType.STRING,
        "BCC Addresses",
        f"BCC addresses separated by commas; at most {api.CC_BCC_MAX_ADDRESSES}.",
    ),
)
_ADDRESS_HINT = 'write an address such as news@example.com or "My Company <news@example.com>"'


def _check_transactional_email(
    payload: dict[str, Any], settings: Mapping[str, Any]
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    sender = js_trim(payload["fromAddress"])
    if not is_valid_address(sender):
        problems.append(_bad_address("fromAddress", sender))
    for key in ("toAddresses", "ccAddresses", "bccAddresses"):
        problems.extend(_bad_address(key, item) for item in invalid_addresses(payload.get(key)))
    if not split_addresses(payload["toAddresses"]):
        problems.append(
            Diagnostic(
                codes.PAYLOAD_NOT_ALLOWED,
                "'toAddresses' holds no address",
                json_path=("toAddresses",),
            )
        )
    for key in ("ccAddresses", "bccAddresses"):
        count = len(split_addresses(payload.get(key)))
        if count > api.CC_BCC_MAX_ADDRESSES:
            problems.append(
                _warning(
                    f"{key} has {count} addresses; Dotdigital documents at most "
                    f"{api.CC_BCC_MAX_ADDRESSES}",
                    (key,),
                )
            )
    return problems


def _bad_address(key: str, address: str) -> Diagnostic:
    return Diagnostic(
        codes.PAYLOAD_BAD_FORMAT,
        f"'{key}': Invalid email format: {address}",
        json_path=(key,),
        hint=_ADDRESS_HINT,
    )


def transactional_email_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """PascalCase keys; CC and BCC always present, PlainTextContent only when set."""
    body: dict[str, Any] = {
        "ToAddresses": split_addresses(payload["toAddresses"]),
        "CCAddresses": split_addresses(payload.get("ccAddresses")),
        "BCCAddresses": split_addresses(payload.get("bccAddresses")),
        "Subject": payload["subject"],
        "FromAddress": js_trim(payload["fromAddress"]),
        "HtmlContent": payload["htmlContent"],
    }
    if "plainTextContent" in payload:
        body["PlainTextContent"] = payload["plainTextContent"]
    return body


def _plan_transactional_email(payload: dict[str, Any], ctx: ActionContext) -> RequestPlan:
    yield Request(
        "POST",
        api.TRANSACTIONAL_EMAIL.url(api.api_host(ctx.settings)),
        api.headers(ctx.settings, json=True),
        json=transactional_email_body(payload),
        purpose="send the transactional email",
    )


# --- the action table ------------------------------------------------------------------------

ACTIONS = (
    Action(
        name="addContactToList",
        upsert=Upsert.CONTACT,
        title="Add or Update Contact",
        description="Create or update a contact, optionally add it to a list and set its "
        "subscription statuses and data fields.",
        fields=CONTACT_FIELDS,
        plan=_plan_contact,
        repeat=Repeat.IDEMPOTENT,
        default_trigger=_trigger("Add or Update Contact"),
        check=_check_contact,
    ),
    Action(
        name="enrolContact",
        title="Enrol Contact to Program",
        description="Fetch or create a contact, then enrol it in an automation program.",
        fields=ENROL_FIELDS,
        plan=_plan_enrol,
        repeat=Repeat.NOT_IDEMPOTENT,
        default_trigger=_trigger("Enrol Contact to Program"),
        check=check_identifier,
    ),
    Action(
        name="removeContactFromList",
        title="Remove Contact from List",
        description="Remove a contact from a list (address book).",
        fields=REMOVE_FIELDS,
        plan=_plan_remove,
        repeat=Repeat.IDEMPOTENT,
        default_trigger=_trigger("Remove Contact from List"),
        check=check_identifier,
    ),
    Action(
        name="sendEmailCampaign",
        title="Send Email Campaign",
        description="Send an email campaign to an existing contact.",
        fields=CAMPAIGN_FIELDS,
        plan=_plan_campaign,
        repeat=Repeat.NOT_IDEMPOTENT,
        default_trigger=_trigger("Send Email Campaign"),
        check=_check_campaign,
    ),
    Action(
        name="sendSms",
        title="Send SMS",
        description="Send a free-text marketing SMS to one mobile number.",
        fields=SMS_FIELDS,
        plan=_plan_sms,
        repeat=Repeat.NOT_IDEMPOTENT,
        default_trigger=_trigger("Send SMS"),
        check=_check_sms,
    ),
    Action(
        name="sendTransactionalSms",
        title="Send Transactional SMS",
        description="Send a transactional SMS through Dotdigital's CPaaS API.",
        fields=TRANSACTIONAL_SMS_FIELDS,
        plan=_plan_transactional_sms,
        repeat=Repeat.NOT_IDEMPOTENT,
        default_trigger=_trigger("Send Transactional SMS"),
        check=_check_transactional_sms,
    ),
    Action(
        name="sendTransactionalEmail",
        title="Send Transactional Email",
        description="Send a transactional email.",
        fields=TRANSACTIONAL_EMAIL_FIELDS,
        plan=_plan_transactional_email,
        repeat=Repeat.NOT_IDEMPOTENT,
        default_trigger=_trigger("Send Transactional Email"),
        check=_check_transactional_email,
    ),
)
