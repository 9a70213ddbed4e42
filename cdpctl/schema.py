"""The mapping-file JSON Schema (generated from the provider modules) and checks against it."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from cdpctl import codes, resources
from cdpctl.diagnostics import Diagnostic
from cdpctl.loading import Document
from cdpctl.providers import get_provider, provider_names
from cdpctl.providers.base import ENDPOINT_SHAPE, Action, Field, FieldType, Provider, Setting

SCHEMA_ID = "https://cdpctl.dev/schemas/mapping.schema.json"
ENV_REFERENCE_PATTERN = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"

_JSON_TYPES = {
    FieldType.STRING: "string",
    FieldType.NUMBER: "number",
    FieldType.INTEGER: "integer",
    FieldType.BOOLEAN: "boolean",
    FieldType.OBJECT: "object",
}


def field_schema(field: Field) -> dict[str, Any]:
    """JSON Schema of one action field's *payload* value (after mapping)."""
    item: dict[str, Any] = {"title": field.title}
    if field.description:
        item["description"] = field.description
    if field.type is FieldType.DATETIME:
        item["anyOf"] = [{"type": "string", "format": "date-time"}, {"type": "number"}]
    elif field.type in _JSON_TYPES:
        item["type"] = _JSON_TYPES[field.type]
    if field.enum is not None:
        item["enum"] = list(field.enum)
    if field.format is not None:
        item["format"] = "phone-e164" if field.format.value == "e164" else field.format.value
    if field.max_length is not None:
        item["maxLength"] = field.max_length
    if field.minimum is not None:
        item["minimum"] = field.minimum
    if field.maximum is not None:
        item["maximum"] = field.maximum
    if field.properties:
        item["properties"] = {child.name: field_schema(child) for child in field.properties}
        required = [child.name for child in field.properties if child.required]
        if required:
            item["required"] = required
    if field.multiple:
        item = {"title": item.pop("title"), "type": "array", "items": item}
    if field.has_default:
        item["x-default-mapping"] = field.default
    if field.allow_null and "type" in item:
        item["type"] = [item["type"], "null"]
    return item


def action_payload_schema(provider: Provider, action: Action) -> dict[str, Any]:
    """JSON Schema of the payload an action accepts (what `mapping` must produce)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://cdpctl.dev/schemas/actions/{provider.name}.{action.name}.schema.json",
        "title": f"{provider.title}: {action.title}",
        "description": action.description,
        "x-default-trigger": action.default_trigger,
        "type": "object",
        "properties": {field.name: field_schema(field) for field in action.fields},
        "required": [field.name for field in action.fields if field.required],
    }


def _setting_schema(setting: Setting) -> dict[str, Any]:
    item: dict[str, Any] = {"title": setting.title}
    if setting.description:
        item["description"] = setting.description
    if setting.secret:
        item["type"] = "string"
        item["pattern"] = ENV_REFERENCE_PATTERN
        item["description"] = (
            item.get("description", "") + " Secret: write a ${ENV_NAME} reference, never the value."
        ).strip()
        return item
    scalar: dict[str, Any] = {"type": setting.type}
    if setting.enum is not None:
        scalar["enum"] = list(setting.enum)
    if setting.pattern is not None:
        scalar["pattern"] = setting.pattern
    item["anyOf"] = [scalar, {"type": "string", "pattern": ENV_REFERENCE_PATTERN}]
    if setting.has_default:
        item["default"] = setting.default
    return item


def _directive_value() -> dict[str, Any]:
    return {
        "description": "A literal value or a mapping-kit directive object such as "
        '{"@path": "$.traits.email"}.'
    }


def _provider_branch(provider: Provider) -> dict[str, Any]:
    actions = []
    for action in provider.actions:
        actions.append(
            {
                "if": {"properties": {"action": {"const": action.name}}, "required": ["action"]},
                "then": {
                    "properties": {
                        "mapping": {
                            "properties": {
                                f.name: {"title": f.title, "description": f.description or f.title}
                                for f in action.fields
                            },
                        }
                    }
                },
            }
        )
    return {
        "if": {
            "properties": {"destination": {"properties": {"provider": {"const": provider.name}}}},
        },
        "then": {
            "properties": {
                "destination": {
                    "properties": {
                        "settings": {
                            "properties": {s.name: _setting_schema(s) for s in provider.settings},
                            "additionalProperties": False,
                        }
                    }
                },
                "subscriptions": {
                    "items": {
                        "properties": {"action": {"enum": [a.name for a in provider.actions]}},
                        "allOf": actions,
                    }
                },
            },
        },
    }


def mapping_file_schema() -> dict[str, Any]:
    """The schema of a cdpctl mapping file, with per-provider branches for editor completion."""
    providers = [get_provider(name) for name in provider_names()]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "cdpctl mapping file",
        "description": "One destination (a provider account) and the subscriptions that map "
        "Segment events to its actions. Add `# yaml-language-server: $schema=<url or path>` "
        "to get completion in editors.",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "destination", "subscriptions"],
        "properties": {
            "$schema": {"type": "string", "description": "Where editors find this schema."},
            "version": {"const": 1, "description": "Mapping-file format version; always 1."},
            "destination": {
                "type": "object",
                "title": "Destination",
                "additionalProperties": False,
                "required": ["provider"],
                "properties": {
                    "provider": {
                        "type": "string",
                        "examples": [p.name for p in providers if p is not None],
                        "description": "Which provider this file sends to.",
                    },
                    "name": {"type": "string", "description": "A label for humans."},
                    "settings": {
                        "type": "object",
                        "description": "Provider settings; secrets as ${ENV_NAME} references.",
                    },
                    "endpoint": {
                        "type": "string",
                        "pattern": ENDPOINT_SHAPE.pattern,
                        "description": "Send every request to this scheme://host[:port] instead "
                        "(e.g. the cdpctl sandbox); paths are kept.",
                    },
                    "rateLimit": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": "Requests per second for live sends; defaults to the "
                        "provider's documented limit.",
                    },
                    "segment": {
                        "type": "object",
                        "title": "Segment destination",
                        "additionalProperties": False,
                        "required": ["destination_id"],
                        "description": "The Segment workspace destination these subscriptions "
                        "live in (`cdpctl workspace pull | status | push`).",
                        "properties": {
                            "destination_id": {
                                "type": "string",
                                "minLength": 1,
                                "description": "The destination's id in the Segment Public API.",
                            },
                            "region": {
                                "enum": ["us", "eu"],
                                "default": "us",
                                "description": "us: api.segmentapis.com; eu: "
                                "eu1.api.segmentapis.com.",
                            },
                        },
                    },
                },
            },
            "subscriptions": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "title": "Subscription",
                    "additionalProperties": False,
                    "required": ["name", "trigger", "action"],
                    "properties": {
                        "id": {
                            "type": "string",
                            "minLength": 1,
                            "description": "The subscription's Segment id, written by "
                            "`cdpctl workspace pull` and `push`; a stable identity that "
                            "survives renames.",
                        },
                        "name": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Unique within the file; keys the replay ledger.",
                        },
                        "trigger": {
                            "type": "string",
                            "minLength": 1,
                            "description": 'Segment FQL, e.g. type = "track" and '
                            'event = "Order Completed".',
                        },
                        "action": {"type": "string", "description": "The provider action."},
                        "enabled": {"type": "boolean", "default": True},
                        "defaults": {
                            "type": "boolean",
                            "default": True,
                            "description": "Fill unmapped fields with the action's default "
                            "mappings (as Segment pre-fills them).",
                        },
                        "mapping": {
                            "type": "object",
                            "description": "Action field → mapping-kit value.",
                            "additionalProperties": _directive_value(),
                        },
                    },
                },
            },
        },
        "allOf": [_provider_branch(p) for p in providers if p is not None],
    }


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(resources.load_json("schemas/mapping.schema.json"))


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def _type_of(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "empty (null)"
    return "a string"


def _where(path: tuple[str | int, ...]) -> str:
    if not path:
        return "at the top level"
    if path[0] == "subscriptions" and len(path) >= 2 and isinstance(path[1], int):
        rest = ".".join(str(p) for p in path[2:])
        return f"in subscription {path[1] + 1}" + (f" ({rest})" if rest else "")
    return "in " + ".".join(str(p) for p in path)


def check(document: Document) -> list[Diagnostic]:
    """Structural errors of a mapping file. Provider-specific branches are left to the linter,
    which reports the same facts with better messages."""
    diagnostics: list[Diagnostic] = []
    for error in _validator().iter_errors(document.data):
        if "allOf" in error.absolute_schema_path:
            continue
        diagnostics.extend(_to_diagnostics(document, error))
    # jsonschema yields one `required` error per missing key, and each names every key missing
    # there: keep each finding once.
    diagnostics = list(dict.fromkeys(diagnostics))
    diagnostics.sort(key=lambda d: (d.line or 0, d.column or 0))
    return diagnostics


def _to_diagnostics(document: Document, error: Any) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        out = []
        for key in error.instance:
            if key in allowed:
                continue
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            out.append(
                document.diagnostic(
                    codes.SCHEMA_UNKNOWN_KEY,
                    f'unknown key "{key}" {_where(path)}',
                    (*path, key),
                    at_key=True,
                    hint=f'did you mean "{guess[0]}"?'
                    if guess
                    else f"allowed: {', '.join(allowed)}",
                )
            )
        return out
    if validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return [
            document.diagnostic(
                codes.SCHEMA_MISSING_KEY,
                f'missing required key "{key}" {_where(path)}',
                path,
                at_key=True,
            )
            for key in missing
        ]
    if validator == "type":
        expected = error.validator_value
        words = (
            " or ".join(_TYPE_WORDS.get(t, str(t)) for t in expected)
            if isinstance(expected, list)
            else _TYPE_WORDS.get(expected, expected)
        )
        name = f'"{path[-1]}"' if path and isinstance(path[-1], str) else _where(path)
        hint = None
        if expected == "object" and isinstance(error.instance, str):
            hint = "indent the keys that belong under it"
        return [
            document.diagnostic(
                codes.SCHEMA_WRONG_TYPE,
                f"{name} must be {words}, got {_type_of(error.instance)}",
                path,
                hint=hint,
            )
        ]
    if validator in ("enum", "const"):
        allowed = error.validator_value if validator == "enum" else [error.validator_value]
        guess = difflib.get_close_matches(str(error.instance), [str(a) for a in allowed], n=1)
        if guess and guess[0] == str(error.instance):
            guess = []
            hint = "write it without quotes"
        else:
            hint = f'did you mean "{guess[0]}"?' if guess else None
        return [
            document.diagnostic(
                codes.SCHEMA_INVALID_VALUE,
                f"{error.instance!r} is not allowed {_where(path)}; expected one of "
                + ", ".join(repr(a) for a in allowed),
                path,
                hint=hint,
            )
        ]
    message = error.message
    if validator == "pattern" and path and path[-1] == "endpoint":
        message = (
            f"endpoint {error.instance!r} must be scheme://host[:port], e.g. http://127.0.0.1:8080"
        )
    elif validator == "minItems":
        message = f"{_where(path)}: needs at least one entry"
    elif validator == "minLength":
        message = f"{_where(path)} must not be empty"
    return [document.diagnostic(codes.SCHEMA_INVALID_VALUE, message, path)]


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema cdpctl publishes, keyed by its path under `schemas/`."""
    schemas = {"mapping.schema.json": mapping_file_schema()}
    for name in provider_names():
        provider = get_provider(name)
        assert provider is not None
        for action in provider.actions:
            schemas[f"actions/{provider.name}.{action.name}.schema.json"] = action_payload_schema(
                provider, action
            )
    return schemas


def schema_text(schema: dict[str, Any]) -> str:
    import json

    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
