"""Every diagnostic code cdpctl emits, in one place. Codes are stable: never reuse or renumber."""

from __future__ import annotations

# Loading: the file itself.
FILE_UNREADABLE = "CDP100"
NOT_TEXT = "CDP101"
FILE_TOO_LARGE = "CDP102"
YAML_SYNTAX = "CDP103"
TOO_DEEP = "CDP104"
TOO_MANY_NODES = "CDP105"
DUPLICATE_KEY = "CDP106"
EMPTY_DOCUMENT = "CDP107"
MULTIPLE_DOCUMENTS = "CDP108"
JSON_SYNTAX = "CDP109"
INVALID_EVENT = "CDP110"

# Mapping-file JSON Schema.
SCHEMA_UNKNOWN_KEY = "CDP201"
SCHEMA_WRONG_TYPE = "CDP202"
SCHEMA_MISSING_KEY = "CDP203"
SCHEMA_INVALID_VALUE = "CDP204"

# Semantics of a mapping file.
UNKNOWN_PROVIDER = "CDP301"
UNKNOWN_ACTION = "CDP302"
UNKNOWN_FIELD = "CDP303"
REQUIRED_FIELD_UNMAPPED = "CDP304"
INVALID_TRIGGER = "CDP305"
TRIGGER_AMBIGUOUS = "CDP306"
INVALID_DIRECTIVE = "CDP307"
PLAIN_TEXT_SECRET = "CDP308"
UNKNOWN_SETTING = "CDP309"
MISSING_SETTING = "CDP310"
INVALID_SETTING = "CDP311"
BAD_ENV_REFERENCE = "CDP312"
DUPLICATE_SUBSCRIPTION_NAME = "CDP313"
TRIGGER_CONDITION_DROPPED = "CDP314"
NOT_A_MAPPING_FILE = "CDP315"

# A rendered payload checked against its action's fields.
PAYLOAD_MISSING_FIELD = "CDP401"
PAYLOAD_WRONG_TYPE = "CDP402"
PAYLOAD_BAD_FORMAT = "CDP403"
PAYLOAD_TOO_LONG = "CDP404"
PAYLOAD_NOT_ALLOWED = "CDP405"
PAYLOAD_RULE = "CDP406"
MAPPING_RUNTIME = "CDP407"
UNRESOLVED_SECRET = "CDP408"

# Delivery (send --live, replay --live).
DELIVERY_FAILED = "CDP501"

# Lint rules beyond the schema (cdpctl/lint/): likely bugs are errors, smells are warnings.
TRIGGER_NEVER_MATCHES = "CDP601"
DUPLICATE_SUBSCRIPTION = "CDP602"
PATH_NOT_IN_EVENTS = "CDP603"
PATH_NOT_IN_CALL_TYPE = "CDP604"
TIMESTAMP_TO_LAST_WRITE_WINS = "CDP605"
HARD_CODED_CONTACT = "CDP606"
ENV_REFERENCE_IN_MAPPING = "CDP607"
TEMPLATE_UNBALANCED = "CDP608"
PLACEHOLDER_SETTING = "CDP609"

# Tracking plans: `validate --plan` (701-706) and events checked against a plan (711-714).
PLAN_UNREADABLE = "CDP701"
PLAN_NO_EVENT_MATCHES = "CDP702"
PLAN_UNDECLARED_READ = "CDP703"
PLAN_TYPE_MISMATCH = "CDP704"
PLAN_TYPE_COERCED = "CDP705"
PLAN_OPTIONAL_FEEDS_REQUIRED = "CDP706"
UNPLANNED_EVENT = "CDP711"
PLAN_PROPERTY_MISSING = "CDP712"
PLAN_PROPERTY_INVALID = "CDP713"
UNPLANNED_PROPERTY = "CDP714"

DESCRIPTIONS: dict[str, str] = {
    FILE_UNREADABLE: "The file cannot be read (missing, a directory, or permission denied).",
    NOT_TEXT: "The file is not UTF-8 text (binary data or a wrong encoding).",
    FILE_TOO_LARGE: "The file exceeds the size limit for mapping files.",
    YAML_SYNTAX: "The YAML is malformed (indentation, quoting, brackets).",
    TOO_DEEP: "The document is nested deeper than cdpctl accepts.",
    TOO_MANY_NODES: "YAML aliases expand to more nodes than cdpctl accepts (an alias bomb).",
    DUPLICATE_KEY: "A mapping key appears twice; YAML would silently keep only the last one.",
    EMPTY_DOCUMENT: "The file holds no document.",
    MULTIPLE_DOCUMENTS: "The file holds more than one YAML document; use one file per destination.",
    JSON_SYNTAX: "The JSON is malformed.",
    INVALID_EVENT: "A JSON object that is not a Segment event: no `type`, or not identify, track, "
    "page, screen, group or alias.",
    SCHEMA_UNKNOWN_KEY: "A key the mapping-file schema does not define (often a typo).",
    SCHEMA_WRONG_TYPE: "A value of the wrong type for its key.",
    SCHEMA_MISSING_KEY: "A key the mapping-file schema requires is missing.",
    SCHEMA_INVALID_VALUE: "A value outside what the schema allows (enum, pattern, range).",
    UNKNOWN_PROVIDER: "`destination.provider` names no provider cdpctl knows.",
    UNKNOWN_ACTION: "A subscription's `action` is not an action of its provider.",
    UNKNOWN_FIELD: "A mapping key that is not a field of the action.",
    REQUIRED_FIELD_UNMAPPED: "A required action field has neither a mapping nor a default.",
    INVALID_TRIGGER: "The FQL trigger does not parse.",
    TRIGGER_AMBIGUOUS: "The trigger parses, but Segment evaluates it differently than it reads.",
    INVALID_DIRECTIVE: "A mapping directive is unknown or has the wrong arguments.",
    PLAIN_TEXT_SECRET: "A secret setting holds a literal; use a ${ENV_NAME} reference.",
    UNKNOWN_SETTING: "A destination setting the provider does not define.",
    MISSING_SETTING: "A setting the provider requires is missing.",
    INVALID_SETTING: "A setting value the provider does not accept.",
    BAD_ENV_REFERENCE: "A malformed ${...} environment reference.",
    DUPLICATE_SUBSCRIPTION_NAME: "Two subscriptions share a name; names key the replay ledger.",
    TRIGGER_CONDITION_DROPPED: "Segment drops a condition of the trigger (an unknown field, a "
    "function on a field it does not apply to), so the subscription matches more than it reads.",
    NOT_A_MAPPING_FILE: "A YAML file that is plainly not a mapping file: a list, or a mapping "
    "with none of the keys `version`, `destination`, `subscriptions` (a CI file, docker compose "
    "without `version`); reported once, instead of every schema error.",
    PAYLOAD_MISSING_FIELD: "A required field is missing from the mapped payload.",
    PAYLOAD_WRONG_TYPE: "A mapped value has the wrong type for its field.",
    PAYLOAD_BAD_FORMAT: "A mapped value has the wrong format (email, E.164 phone, ISO-8601 date).",
    PAYLOAD_TOO_LONG: "A mapped value is longer or larger than the provider accepts.",
    PAYLOAD_NOT_ALLOWED: "A mapped value is not one of the field's allowed values.",
    PAYLOAD_RULE: "A provider-specific rule rejects the payload.",
    MAPPING_RUNTIME: "The mapping failed while rendering this event (e.g. @json of bad text).",
    UNRESOLVED_SECRET: "A ${ENV_NAME} reference has no value in the environment.",
    DELIVERY_FAILED: "A provider refused an event or never acknowledged it; see the dead letters.",
    TRIGGER_NEVER_MATCHES: "The trigger can never match a Segment event (contradiction or a "
    "field that call type never carries).",
    DUPLICATE_SUBSCRIPTION: "Two enabled subscriptions have the same trigger and action, so the "
    "action runs twice for every matching event.",
    PATH_NOT_IN_EVENTS: "A @path or {{template}} reads a place no Segment event has "
    "(a misspelt spec field such as $.trait or $.context.trait).",
    PATH_NOT_IN_CALL_TYPE: "A @path or {{template}} reads a field the subscription's call types "
    "do not carry (e.g. $.traits on track events: use $.context.traits).",
    TIMESTAMP_TO_LAST_WRITE_WINS: "A contact upsert sends the event time to a provider that keeps "
    "whichever write arrives last, so a late or replayed event moves it backwards.",
    HARD_CODED_CONTACT: "A mapping hard-codes an email address or phone number where the event's "
    "own contact belongs.",
    ENV_REFERENCE_IN_MAPPING: "A ${NAME} reference inside a mapping: only destination settings "
    "resolve them, so the text is sent literally.",
    TEMPLATE_UNBALANCED: "An @template with an unpaired {{ or }}: it is sent as literal text.",
    PLACEHOLDER_SETTING: "A setting still holds the your-… placeholder `cdpctl init` wrote.",
    PLAN_UNREADABLE: "The tracking plan cannot be read: not a Segment Protocols, Avo, RudderStack "
    "or Snowplow Iglu plan, or a broken reference inside it.",
    PLAN_NO_EVENT_MATCHES: "The trigger matches none of the tracking plan's events (a misspelt "
    "event name, or an event the plan dropped).",
    PLAN_UNDECLARED_READ: "A mapping reads a property, trait or context key that no plan event "
    "the trigger matches declares.",
    PLAN_TYPE_MISMATCH: "The plan's type for a property cannot feed the action field it is "
    "mapped to (a boolean into a string field, an object into a number).",
    PLAN_TYPE_COERCED: "The plan's type feeds the action field only after coercion, or without "
    "the format it needs (a number into a string field, a plain string into an email field).",
    PLAN_OPTIONAL_FEEDS_REQUIRED: "A required action field is fed only from properties the plan "
    "marks optional, so events without them fail.",
    UNPLANNED_EVENT: "An event the tracking plan does not define.",
    PLAN_PROPERTY_MISSING: "An event lacks a property its plan event requires.",
    PLAN_PROPERTY_INVALID: "A property of an event breaks its plan's JSON Schema (type, enum, "
    "format, pattern, range).",
    UNPLANNED_PROPERTY: "An event carries a property its plan event does not allow "
    "(additionalProperties: false).",
}

#: Codes reported as warnings by default; every other code is an error by default. (A provider
#: check may still report a PAYLOAD_* code as a warning for one value.)
WARNINGS: frozenset[str] = frozenset(
    {
        TRIGGER_AMBIGUOUS,
        DUPLICATE_SUBSCRIPTION,
        PATH_NOT_IN_CALL_TYPE,
        TIMESTAMP_TO_LAST_WRITE_WINS,
        HARD_CODED_CONTACT,
        ENV_REFERENCE_IN_MAPPING,
        TEMPLATE_UNBALANCED,
        PLACEHOLDER_SETTING,
        PLAN_TYPE_COERCED,
        PLAN_OPTIONAL_FEEDS_REQUIRED,
    }
)


def default_severity(code: str) -> str:
    """How `code` is reported by default, "error" or "warning" (SARIF, docs/lint-rules.md)."""
    return "warning" if code in WARNINGS else "error"
