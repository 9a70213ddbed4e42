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
# CDP408 is retired, never to be reused: it was UNRESOLVED_SECRET, never emitted (an unset
# ${ENV_NAME} is a usage error, exit 2, before any event is judged).
EXPRESSION_BUDGET = "CDP409"

# Delivery (send --live, replay --live).
DELIVERY_FAILED = "CDP501"
DELIVERY_IN_DOUBT = "CDP502"
STATE_UNUSABLE = "CDP503"

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
UNBOUNDED_EXPRESSION = "CDP610"

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

# Segment workspaces: `cdpctl workspace push`.
SEGMENT_CANNOT_RUN = "CDP801"
# The provider account: `account pull`, `validate` with a snapshot, `--check-account`.
ACCOUNT_SNAPSHOT_UNREADABLE = "CDP901"
ACCOUNT_SNAPSHOT_STALE = "CDP902"
ACCOUNT_NOT_IN_SNAPSHOT = "CDP903"
ACCOUNT_DATA_EXTENSION_NOT_FOUND = "CDP904"
ACCOUNT_COLUMN_NOT_FOUND = "CDP905"
ACCOUNT_COLUMN_TYPE = "CDP906"
ACCOUNT_PRIMARY_KEY_UNMAPPED = "CDP907"
ACCOUNT_REQUIRED_COLUMN_UNMAPPED = "CDP908"
ACCOUNT_TITLE_CASE_COLUMN_MISSING = "CDP909"
ACCOUNT_LIST_NOT_FOUND = "CDP910"
ACCOUNT_PROGRAM_NOT_FOUND = "CDP911"
ACCOUNT_PROGRAM_INACTIVE = "CDP912"
ACCOUNT_CAMPAIGN_NOT_FOUND = "CDP913"
ACCOUNT_TEMPLATE_NOT_FOUND = "CDP914"
ACCOUNT_FIELD_NOT_DEFINED = "CDP915"
ACCOUNT_FIELD_TYPE = "CDP916"
ACCOUNT_CHANGED = "CDP917"
ACCOUNT_PULL_FAILED = "CDP918"

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
    MAPPING_RUNTIME: "The mapping failed while mapping this event (e.g. @json of bad text).",
    EXPRESSION_BUDGET: "An expression would build more for this event than the mapping budget "
    "allows (1 MB per value, 4 MB per event, bounded JMESPath work); the event is refused.",
    DELIVERY_FAILED: "A provider refused an event or never acknowledged it; see the dead letters.",
    DELIVERY_IN_DOUBT: "An event's request was sent but never answered whole: the provider may "
    "have processed it, so it is not sent again without --resend-in-doubt.",
    STATE_UNUSABLE: "The replay ledger (--state) cannot be used: not a ledger, damaged, or "
    "not writable.",
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
    UNBOUNDED_EXPRESSION: "An expression whose output can outgrow its input without bound (a "
    "self-multiplying JMESPath multiselect, a template re-expanding inserted text): a hostile "
    "event can make it hit the mapping budget.",
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
    SEGMENT_CANNOT_RUN: "A mapping uses something Segment cannot run (cdpctl's own @jmespath), so "
    "`cdpctl workspace push` refuses the file.",
    ACCOUNT_SNAPSHOT_UNREADABLE: "The account snapshot cannot be used: unreadable, not a "
    "snapshot, or pulled for another provider.",
    ACCOUNT_SNAPSHOT_STALE: "The account snapshot is older than the allowed age "
    "(CDPCTL_ACCOUNT_MAX_AGE, 7 days by default); the account may have changed.",
    ACCOUNT_NOT_IN_SNAPSHOT: "The mapping names something the snapshot did not read (it was "
    "pulled before); run `cdpctl account pull` again.",
    ACCOUNT_DATA_EXTENSION_NOT_FOUND: "The SFMC data extension the mapping writes to does not "
    "exist in the account.",
    ACCOUNT_COLUMN_NOT_FOUND: "A key mapped into an SFMC data extension that has no such column: "
    "SFMC ignores it and the value is dropped.",
    ACCOUNT_COLUMN_TYPE: "A value the data extension column cannot hold: its type (Number, "
    "Date, Boolean, EmailAddress…) or its length.",
    ACCOUNT_PRIMARY_KEY_UNMAPPED: "A primary key of the data extension that nothing maps as a "
    "key (or a key that is not a primary key): SFMC refuses the rows.",
    ACCOUNT_REQUIRED_COLUMN_UNMAPPED: "A column that may not be empty and that nothing maps: "
    "SFMC refuses new rows unless the column has a default.",
    ACCOUNT_TITLE_CASE_COLUMN_MISSING: "A Title Case column the SFMC classic actions would "
    "write is missing from the data extension, so that value is dropped.",
    ACCOUNT_LIST_NOT_FOUND: "A list id (Dotdigital address book, SendGrid list, Loops mailing "
    "list) that does not exist in the account.",
    ACCOUNT_PROGRAM_NOT_FOUND: "A Dotdigital program id that does not exist in the account.",
    ACCOUNT_PROGRAM_INACTIVE: "A Dotdigital program that exists but is not active, so "
    "enrolments are refused.",
    ACCOUNT_CAMPAIGN_NOT_FOUND: "A Dotdigital campaign id that does not exist in the account.",
    ACCOUNT_TEMPLATE_NOT_FOUND: "A SendGrid template id that does not exist in the account.",
    ACCOUNT_FIELD_NOT_DEFINED: "A Dotdigital data field, SendGrid custom field or Loops contact "
    "property that is not defined in the account.",
    ACCOUNT_FIELD_TYPE: "A mapped value the account's field type cannot take (text into a "
    "Numeric data field, a word into a Date field).",
    ACCOUNT_CHANGED: "`--check-account`: the account no longer matches the snapshot in a way "
    "that would drop data; the live run is refused.",
    ACCOUNT_PULL_FAILED: "`account pull` could not read the account (refused credentials, an "
    "unreadable answer, no answer).",
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
        UNBOUNDED_EXPRESSION,
        PLAN_TYPE_COERCED,
        PLAN_OPTIONAL_FEEDS_REQUIRED,
        ACCOUNT_SNAPSHOT_STALE,
        ACCOUNT_NOT_IN_SNAPSHOT,
        ACCOUNT_REQUIRED_COLUMN_UNMAPPED,
        ACCOUNT_TITLE_CASE_COLUMN_MISSING,
        ACCOUNT_PROGRAM_INACTIVE,
    }
)


def default_severity(code: str) -> str:
    """How `code` is reported by default, "error" or "warning" (SARIF, docs/lint-rules.md)."""
    return "warning" if code in WARNINGS else "error"
