"""FQL → condition tree exactly as ``parseFql`` (destination-subscriptions 3.37.0) builds it.

Segment's parser skips what it does not understand and lets the last and/or win; wherever its
reading probably differs from the author's intent, this parser records a TriggerWarning.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections import deque
from typing import Final

from cdpctl.jsvalues import js_to_string, string_to_number, utf16_slice

from .errors import TriggerSyntaxError, TriggerWarning
from .lexer import Token, lex
from .lookup import OBJECT_PROTO_NAMES
from .model import Broken, Comparison, Group, Node, Trigger, normalize_number, quote

FIELD_KINDS: Final = {
    "type": "event-type",
    "event": "event",
    "name": "name",
    "userId": "userId",
    "context": "event-context",
    "properties": "event-property",
    "traits": "event-trait",
}
_PATH_FIELDS: Final = ("properties", "traits", "context")
_FUNCTIONS: Final = ("contains", "match")
_KNOWN: Final = "type, event, name, userId, properties.<name>, traits.<name> or context.<name>"
_COMPARISONS: Final = frozenset(("=", "!=", "<", "<=", ">", ">="))
_PATH_TEXT: Final = re.compile(r"(?:\\.|[^\s=!<>(),\"'])+")
_NOT_A_VALUE: Final = frozenset(
    (
        "operator",
        "conditional",
        "parenleft",
        "parenright",
        "comma",
        "dot",
        "brackleft",
        "brackright",
    )
)


def _describe(token: Token) -> str:
    if token.kind == "eos":
        return "the end of the trigger"
    return f'"{token.value}"' if token.kind != "string" else token.value


def _token_value(token: Token) -> str | float | bool:
    """``getTokenValue``: strings lose their double quotes, numbers go through ``Number()``."""
    if token.kind == "string":
        text = token.value
        text = text[1:] if text.startswith('"') else text
        return text[:-1] if text.endswith('"') else text
    if token.kind == "number":
        return string_to_number(token.value)
    if token.kind == "ident" and token.value in ("true", "false"):
        return token.value == "true"
    return token.value


def _ast_value(token: Token) -> str | int | float | bool:
    value = _token_value(token)
    return normalize_number(value) if isinstance(value, float) else value


def _normalize(tokens: list[Token]) -> list[Token]:
    """Join ``ident . ident`` runs into one dotted ident, as ``normalize`` in parse-fql does."""
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        current = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if (
            out
            and out[-1].kind == "ident"
            and current.kind == "dot"
            and following is not None
            and following.kind == "ident"
        ):
            previous = out.pop()
            value = f"{previous.value}.{following.value}"
            out.append(Token("ident", value, previous.start, following.end))
            index += 2
        else:
            out.append(current)
            index += 1
    return out


def _pop(tokens: deque[Token]) -> Token | None:
    return tokens.popleft() if tokens else None


class _Parser:
    """One parse of one FQL string; collects warnings as it goes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[TriggerWarning] = []
        self.unknown_fields: list[TriggerWarning] = []
        self.quiet: set[int] = set()  # token starts whose "ignored" warning is already covered
        self.group_ends: set[int] = set()  # starts of the ")" tokens that closed a group

    def warn(self, column: int, message: str) -> None:
        self.warnings.append(TriggerWarning(column, message))

    def dropped(self, column: int, message: str) -> None:
        """Warn about a condition Segment drops (reported as the error if nothing is left)."""
        warning = TriggerWarning(column, message, drops_condition=True)
        self.warnings.append(warning)
        self.unknown_fields.append(warning)

    def parse(self) -> Trigger:
        tokens = _normalize(lex(self.source))
        for token, following in itertools.pairwise(tokens):
            if token.kind == following.kind == "string" and following.start == token.end - 1:
                self.quiet.add(following.start)
                self.warn(
                    following.column,
                    f"the closing {token.value[0]} at column {following.column} needs a space, "
                    '",", ")" or the end after it; Segment also reads it as the opening quote of '
                    "another string",
                )
        node = self.level(deque(tokens), depth=0)
        if node is None:
            raise self.nothing_recognised(tokens)
        if not isinstance(node, Group):
            node = Group("and", (node,), column=node.column)
        unique = dict.fromkeys(self.warnings)  # drops repeats, keeps the order they were found in
        warnings = tuple(sorted(unique, key=lambda warning: warning.column))
        return Trigger(self.source, warnings, node)

    def nothing_recognised(self, tokens: list[Token]) -> TriggerSyntaxError:
        first = tokens[0]
        if first.kind == "eos":
            return TriggerSyntaxError(
                'the trigger is empty; write a condition such as type = "track"', 1
            )
        if self.unknown_fields:
            dropped = self.unknown_fields[0]
            return TriggerSyntaxError(f"no condition left: {dropped.message}", dropped.column)
        return TriggerSyntaxError(
            'expected a condition such as type = "track" or contains(event, "Order"), '
            f"got {_describe(first)}",
            first.column,
        )

    def level(self, tokens: deque[Token], depth: int) -> Node | None:
        """One ``parse()`` call of Segment's: a flat list of conditions joined by and/or."""
        nodes: list[Node] = []
        operator = "and"
        connectives: list[Token] = []
        previous: str | None = None  # "condition" or "connective", for placement warnings
        unjoined: list[Token] = []

        def condition_at(token: Token) -> None:
            nonlocal previous
            if previous == "condition":
                unjoined.append(token)
            previous = "condition"

        token = _pop(tokens)
        while token is not None and token.kind != "eos":
            if token.kind == "ident":
                root = token.value.split(".")[0]
                if root in FIELD_KINDS or root in OBJECT_PROTO_NAMES:
                    condition_at(token)
                    node = self.comparison(root, token, tokens)
                    if node is not None:
                        nodes.append(node)
                elif token.value in _FUNCTIONS:
                    condition_at(token)
                    self.function(token, token, tokens, nodes, negate=False)
                elif token.start in self.quiet:
                    pass  # part of a condition already reported
                elif self.is_exponent(token):
                    self.warn(
                        token.column,
                        "FQL numbers have no exponent: Segment ends the number before "
                        f'"{token.value}" and ignores the rest; write the number out in full',
                    )
                else:
                    condition_at(token)
                    self.unknown_field(token, tokens)
            elif token.kind == "operator" and token.value == "!":
                if not tokens:
                    raise TriggerSyntaxError(
                        '"!" must be followed by contains( or match(', token.column
                    )
                following = tokens[0]
                if following.kind == "ident" and following.value in _FUNCTIONS:
                    tokens.popleft()
                    condition_at(token)
                    self.function(token, following, tokens, nodes, negate=True)
                else:
                    self.warn(
                        token.column,
                        f'Segment ignores "!" before {_describe(following)}: "!" only negates '
                        "contains(...) and match(...); use != to negate a comparison",
                    )
            elif token.kind == "parenleft":
                condition_at(token)
                nodes.append(self.group(token, tokens, depth))
            elif token.kind == "conditional":
                operator = token.value
                connectives.append(token)
                if previous is None:
                    self.warn(
                        token.column, f'"{token.value}" with no condition before it is ignored'
                    )
                elif previous == "connective":
                    self.warn(token.column, f'repeated "{token.value}" is ignored')
                previous = "connective"
            else:
                self.stray(token)
            token = _pop(tokens)

        if previous == "connective":
            last = connectives[-1]
            self.warn(last.column, f'"{last.value}" with no condition after it is ignored')
        for token in unjoined:
            self.warn(
                token.column,
                f'missing "and"/"or" before this condition; Segment joins it with "{operator}"',
            )
        if len(nodes) > 1 and len({c.value for c in connectives}) > 1:
            mixed = next(c for c in connectives if c.value != connectives[0].value)
            self.warn(
                mixed.column,
                'mixes "and" and "or" without parentheses; Segment applies the last one '
                f'("{operator}") to every condition — add parentheses to make the intent explicit',
            )
        if not nodes:
            return None
        if len(nodes) == 1:
            if isinstance(nodes[0], Broken):
                if depth == 0:
                    raise TriggerSyntaxError(nodes[0].reason, nodes[0].column)
                return None
            return nodes[0]
        return Group(operator, tuple(nodes), column=nodes[0].column)

    def group(self, opening: Token, tokens: deque[Token], depth: int) -> Node:
        inner: list[Token] = []
        while True:
            token = _pop(tokens)
            if token is None:
                if depth:
                    raise TriggerSyntaxError(
                        "parentheses cannot be nested: Segment supports one level of (...)",
                        opening.column,
                    )
                raise TriggerSyntaxError('this "(" is never closed', opening.column)
            if token.kind == "parenright":
                break
            inner.append(token)
        inner.append(Token("eos", "eos", token.start, token.start))
        self.group_ends.add(token.start)
        self.check_group_end(opening, inner, tokens)
        node = self.level(deque(inner), depth + 1)
        if node is None:
            reason = (
                f"no condition Segment recognises inside the parentheses at column {opening.column}"
            )
            self.warn(
                opening.column,
                f"{reason}: Segment keeps an empty slot there and its matcher throws when it "
                "reaches it",
            )
            return Broken(reason, opening.column)
        return node

    def check_group_end(self, opening: Token, inner: list[Token], rest: deque[Token]) -> None:
        """Warn when a function's ")" ends the group early (Segment closes at the first ")")."""
        calls = [
            token
            for token, following in itertools.pairwise(inner)
            if token.kind == "ident" and token.value in _FUNCTIONS and following.kind == "parenleft"
        ]
        if not calls:
            return
        if rest and rest[0].kind == "parenright":
            self.quiet.add(rest[0].start)
            return
        call = calls[-1]
        stray_close = next((token for token in rest if token.kind == "parenright"), None)
        if stray_close is not None:
            self.quiet.add(stray_close.start)  # the ")" the author meant for the group
        self.warn(
            call.column,
            f'the ")" of {call.value}(...) also ends the group opened at column {opening.column}, '
            f"so Segment reads what follows outside the parentheses; put {call.value}(...) last "
            "inside the parentheses",
        )

    def is_exponent(self, token: Token) -> bool:
        before = self.source[token.start - 1] if token.start else ""
        return token.value[:1] in ("e", "E") and (before.isdigit() or before == ".")

    def unknown_field(self, token: Token, tokens: deque[Token]) -> None:
        root = token.value.split(".")[0]
        close = difflib.get_close_matches(root, [*FIELD_KINDS, *_FUNCTIONS], n=1, cutoff=0.6)
        hint = f' — did you mean "{close[0]}"?' if close else ""
        if token.value == "not":
            message = '"not" is not an FQL keyword; use != or !contains(...)/!match(...)'
        else:
            message = (
                f'unknown field "{token.value}" is ignored by Segment, together with its '
                f"comparison; conditions can use {_KNOWN}{hint}"
            )
        self.dropped(token.column, message)
        if tokens and tokens[0].kind == "operator" and tokens[0].value != "!":
            self.quiet.add(tokens[0].start)
            if len(tokens) > 1 and tokens[1].kind in ("string", "number", "null", "ident"):
                self.quiet.add(tokens[1].start)

    def stray(self, token: Token) -> None:
        if token.start in self.quiet:
            return
        if token.kind == "parenright":
            self.warn(token.column, 'Segment ignores this ")": there is no "(" to close')
        elif token.kind in ("string", "number", "null"):
            self.warn(
                token.column,
                f"Segment ignores the value {_describe(token)}: a value must follow a field and "
                "an operator",
            )
        elif token.kind == "operator":
            self.warn(
                token.column,
                f"Segment ignores {_describe(token)}: an operator must follow a field name",
            )
        else:
            self.warn(token.column, f"Segment ignores {_describe(token)} here")

    def quiet_rest_of_condition(self, tokens: deque[Token]) -> None:
        for token in tokens:
            if token.kind in ("conditional", "parenleft", "parenright", "eos"):
                return
            self.quiet.add(token.start)

    def comparison(self, root: str, field: Token, tokens: deque[Token]) -> Comparison | None:
        """``<field> <operator> <value>``; the operator and value are whatever tokens come next."""
        op_token = _pop(tokens)
        value_token = _pop(tokens)
        if op_token is None or value_token is None:
            raise TriggerSyntaxError(
                f'expected an operator and a value after "{field.value}" '
                f'(for example {field.value} = "x")',
                field.end + 1,
            )
        kind = FIELD_KINDS.get(root)
        if kind is None:
            self.dropped(
                field.column,
                f'unknown field "{field.value}" is ignored by Segment, together with its '
                f"comparison; conditions can use {_KNOWN}",
            )
            return None
        op = op_token.value
        self.check_comparison(root, field, op_token, value_token, tokens)
        value = value_token.value
        column = field.column
        exists = op == "!=" and value == "null"
        not_exists = op == "=" and value == "null"
        is_true = op == "=" and value == "true"
        is_false = op == "=" and value == "false"
        if kind in ("event", "event-type") or (kind == "name" and not (exists or not_exists)):
            return Comparison(kind, op, js_to_string(_token_value(value_token)), column=column)
        special = "exists" if exists else "not_exists" if not_exists else None
        if special is None:
            special = "is_true" if is_true else "is_false" if is_false else None
        if kind == "name" or kind == "userId":
            if special is not None:
                return Comparison(kind, special, column=column)
            return Comparison(kind, op, js_to_string(_token_value(value_token)), column=column)
        name = field.value[len(root) + 1 :] if field.value.startswith(root + ".") else field.value
        if special is not None:
            return Comparison(kind, special, name=name, column=column)
        if value_token.kind == "number" and op in ("=", "!="):
            operator = "number_equals" if op == "=" else "number_not_equals"
            return Comparison(kind, operator, _ast_value(value_token), name, column)
        return Comparison(kind, op, _ast_value(value_token), name, column)

    def check_comparison(
        self, root: str, field: Token, op_token: Token, value_token: Token, rest: deque[Token]
    ) -> None:
        if op_token.kind == "dot":
            path = _PATH_TEXT.match(self.source, field.start)
            text = path.group() if path else field.value
            cut = value_token.start - field.start
            escaped = f"{text[:cut]}\\{text[cut:]}" if 0 < cut < len(text) else text
            self.warn(
                field.column,
                f'Segment cannot read the path "{text}": a part that starts with a digit or is '
                '"and", "or" or "null" stops it, so the condition never matches; escape that '
                f"part's first character ({escaped})",
            )
            self.quiet_rest_of_condition(rest)
            return
        if root in _PATH_FIELDS and not field.value.startswith(root + "."):
            self.warn(
                field.column,
                f'"{field.value}" names no property: write {root}.<name>; Segment looks up '
                f'"{field.value}" inside {root}',
            )
        if op_token.kind != "operator" or op_token.value not in _COMPARISONS:
            self.warn(
                op_token.column if op_token.kind != "eos" else field.end + 1,
                f'expected an operator (=, !=, <, <=, >, >=) after "{field.value}", got '
                f"{_describe(op_token)}; Segment keeps the condition but it never matches",
            )
            self.quiet_rest_of_condition(deque([value_token]))
            return
        op = op_token.value
        if value_token.kind == "eos":
            self.warn(
                op_token.end + 1,
                f'expected a value after "{op}" (a quoted string, number, true, false or null); '
                'Segment compares with the text "eos"',
            )
        elif value_token.kind in _NOT_A_VALUE:
            self.warn(
                value_token.column,
                f'expected a value after "{op}" (a quoted string, number, true, false or null), '
                f"got {_describe(value_token)}; Segment compares with the text "
                f'"{value_token.value}"',
            )
        elif value_token.kind == "string" and value_token.value.startswith("'"):
            self.warn(value_token.column, _single_quote_message(value_token))
        elif value_token.kind == "number" and math.isnan(string_to_number(value_token.value)):
            self.warn(
                value_token.column,
                f'"{value_token.value}" is not a number; Segment reads it as NaN',
            )
        top_level = root in ("type", "event", "name", "userId")
        if value_token.kind == "null" and root in ("type", "event") and op in ("=", "!="):
            self.warn(
                value_token.column,
                f'Segment compares {root} with the text "null" here instead of checking whether '
                f"it is set ({root} {op} null is {'never' if op == '=' else 'always'} what you "
                "want for a missing field)",
            )
        boolean = value_token.kind == "ident" and value_token.value in ("true", "false")
        if boolean and (op == "!=" or (op == "=" and top_level and root != "userId")):
            word = value_token.value
            self.warn(
                value_token.column,
                f'{field.value} {op} {word} compares with the text "{word}", not the boolean',
            )
        if value_token.kind == "number" and top_level and op in ("=", "!="):
            self.warn(
                value_token.column,
                f"Segment compares {root} with the text "
                f'"{js_to_string(_token_value(value_token))}" here, so a numeric {root} never '
                "equals it",
            )
        ordering = op in ("<", "<=", ">", ">=") and value_token.kind == "string"
        if ordering and math.isnan(string_to_number(str(_token_value(value_token)))):
            self.warn(
                value_token.column,
                f"{value_token.value} is not a number, so this comparison never matches",
            )

    def function(
        self, start: Token, name_token: Token, tokens: deque[Token], nodes: list[Node], negate: bool
    ) -> None:
        """``contains(field, "x")`` or ``match(field, "x*")``: Segment takes 5 tokens blindly."""
        name = name_token.value
        open_token = _pop(tokens)
        field = _pop(tokens)
        if field is None:
            raise TriggerSyntaxError(
                f'{name}() needs a field and a value, e.g. {name}(event, "Order")',
                name_token.column,
            )
        comma = _pop(tokens)
        value_token = _pop(tokens)
        if value_token is None:
            raise TriggerSyntaxError(
                f"{name}() needs a second argument, the text to look for", name_token.column
            )
        close = _pop(tokens)
        self.check_call(name_token, open_token, comma, value_token, close)
        text = js_to_string(_token_value(value_token))
        if name == "contains":
            operator = "not_contains" if negate else "contains"
            value = text
        elif value_token.value.endswith('*"'):
            operator = "not_starts_with" if negate else "starts_with"
            value = utf16_slice(text, 0, -1)
            if "*" in value:
                self.warn(value_token.column, _pattern_message(text, "starts-with", value))
        else:
            operator = "not_ends_with" if negate else "ends_with"
            value = utf16_slice(text, 1)
            if not text.startswith("*"):
                self.warn(
                    value_token.column,
                    f'match() pattern {quote(text)} has no leading or trailing "*": Segment drops '
                    f'its first character and tests ends-with {quote(value)}; write "*{text}" '
                    f'(ends with), "{text}*" (starts with) or use = for an exact match',
                )
            elif "*" in value:
                self.warn(value_token.column, _pattern_message(text, "ends-with", value))
        node = self.function_field(name, field, operator, value, start.column)
        if node is not None:
            nodes.append(node)

    def check_call(
        self,
        name_token: Token,
        open_token: Token | None,
        comma: Token | None,
        value_token: Token,
        close: Token | None,
    ) -> None:
        name = name_token.value
        if value_token.kind == "eos":
            self.warn(
                name_token.column,
                f'{name}() needs two arguments, as in {name}(event, "Order"); Segment reads the '
                'missing text as "eos"',
            )
            return
        if open_token is None or open_token.kind != "parenleft":
            self.warn(
                name_token.column, f'expected "(" right after {name}; Segment skips that token'
            )
        if comma is None or comma.kind != "comma":
            column = comma.column if comma is not None else name_token.column
            self.warn(
                column, f'expected "," between the arguments of {name}(); Segment skips that token'
            )
        if value_token.kind == "string" and value_token.value.startswith("'"):
            self.warn(value_token.column, _single_quote_message(value_token))
        if close is not None and close.kind == "eos" and close.start in self.group_ends:
            return  # the group's ")" closed the call; check_group_end has reported it
        if close is None or close.kind != "parenright":
            shown = _describe(close) if close is not None else "nothing"
            self.warn(
                close.column if close is not None else name_token.column,
                f'expected ")" to close {name}(, got {shown}; Segment skips that token',
            )

    def function_field(
        self, name: str, field: Token, operator: str, value: str, column: int
    ) -> Comparison | None:
        text = field.value
        if text in ("event", "name", "userId"):
            return Comparison(text, operator, value, column=column)
        for root in _PATH_FIELDS:
            if text.startswith(root):
                if not text.startswith(root + "."):
                    self.warn(
                        field.column,
                        f'"{text}" names no property: write {root}.<name>; Segment looks up '
                        f'"{text}" inside {root}',
                    )
                path = text[len(root) + 1 :] if text.startswith(root + ".") else text
                return Comparison(FIELD_KINDS[root], operator, value, path, column)
        allowed = "event, name, userId, properties.<name>, traits.<name> or context.<name>"
        self.dropped(
            field.column, f"Segment ignores {name}() on {_describe(field)}: it works on {allowed}"
        )
        return None


def _single_quote_message(token: Token) -> str:
    return (
        f"single quotes are part of the value in Segment: {token.value} matches only the text "
        f"{quote(token.value)} — use double quotes"
    )


def _pattern_message(text: str, test: str, value: str) -> str:
    return (
        f'match() only understands one "*", at the start ("*X") or at the end ("X*"); for '
        f'{quote(text)} Segment tests {test} {quote(value)} with a literal "*"'
    )


def parse(fql: str) -> Trigger:
    """Parse FQL as Segment does; raises TriggerSyntaxError where ``parseFql`` returns an error."""
    return _Parser(fql).parse()
