"""Tokenizer for FQL, following ``@segment/fql-ts`` 1.10.1 character by character."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cdpctl.jsvalues import utf16_length

from .errors import TriggerSyntaxError

_EOS: Final = ""  # what peek() answers at the end; never a real character
_MAX_LENGTH: Final = 100_000
_WHITESPACE: Final = frozenset(" \t\n")
_TERMINATORS: Final = frozenset(" \t\n,])")
# First letter → (rest of the keyword, token kind, token value).
_KEYWORDS: Final = {
    "a": ("nd", "conditional", "and"),
    "o": ("r", "conditional", "or"),
    "n": ("ull", "null", "null"),
}
_SINGLE_TOKENS: Final = {
    ".": "dot",
    "[": "brackleft",
    "]": "brackright",
    ",": "comma",
    "(": "parenleft",
    ")": "parenright",
}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexed token; ``start``/``end`` are 0-based offsets into the FQL text."""

    kind: str  # ident, dot, operator, conditional, string, number, null, brackleft, ...
    value: str
    start: int
    end: int

    @property
    def column(self) -> int:
        """1-based column of the token's first character."""
        return self.start + 1


def _is_alpha(ch: str) -> bool:
    return ch != _EOS and ch.isascii() and ch.isalpha()


def _is_digit(ch: str) -> bool:
    return ch != _EOS and "0" <= ch <= "9"


def _is_ident(ch: str) -> bool:
    return _is_alpha(ch) or _is_digit(ch) or ch in ("_", "-", "\\")


def _is_terminator(ch: str) -> bool:
    return ch == _EOS or ch in _TERMINATORS


def _show(ch: str) -> str:
    if ch == _EOS:
        return "the end of the trigger"
    names = {"\r": "a carriage return (\\r)", "\t": "a tab", "\n": "a new line"}
    return names.get(ch, f'"{ch}"')


class _Lexer:
    """Cursor over the FQL text with fql-ts's next/peek/backup/accept primitives."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.pos = 0
        # Where a closing quote was left unconsumed (fql-ts needs a terminator after it).
        self.unconsumed_quotes: set[int] = set()

    def next(self) -> str:
        if self.pos >= len(self.code):
            return _EOS
        ch = self.code[self.pos]
        self.pos += 1
        return ch

    def peek(self) -> str:
        return self.code[self.pos] if self.pos < len(self.code) else _EOS

    def backup(self, count: int) -> None:
        self.pos = max(self.pos - count, 0)

    def accept(self, expected: str) -> bool:
        """Consume ``expected`` if a terminator follows it; a partial read at EOS stays eaten."""
        chars = ""
        for _ in expected:
            ch = self.next()
            if ch == _EOS:
                return False
            chars += ch
            if _is_terminator(ch):
                break
        if chars == expected and _is_terminator(self.peek()):
            return True
        self.backup(len(chars))
        return False

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            start = self.pos
            ch = self.next()
            if ch == _EOS:
                out.append(Token("eos", "eos", start, start))
                return out
            if ch in _WHITESPACE:
                continue
            if ch == "!" and (_is_alpha(self.peek()) or self.peek() == "("):
                out.append(Token("operator", "!", start, self.pos))
                continue
            if _is_alpha(ch) or ch in "!=><\\_":
                out.append(self.operator_or_word(ch, start))
            elif _is_digit(ch) or ch in "-+":
                out.append(self.number(ch, start))
            elif ch in "\"'":
                out.append(self.string(ch, start))
            elif ch in _SINGLE_TOKENS:
                out.append(Token(_SINGLE_TOKENS[ch], ch, start, self.pos))
            else:
                raise TriggerSyntaxError(_invalid_character(ch), start + 1)

    def string(self, quote: str, start: int) -> Token:
        text = ""
        while self.peek() != quote:
            ch = self.next()
            if ch == _EOS:
                raise TriggerSyntaxError(self._unterminated(quote, start), start + 1)
            text += ch
            if utf16_length(text) >= _MAX_LENGTH:
                raise TriggerSyntaxError(
                    "string is too long (100000 characters or more)", start + 1
                )
        end = self.pos
        if not self.accept(quote):
            self.unconsumed_quotes.add(self.pos)
            end += 1  # the quote also opens the next token
        return Token("string", f"{quote}{text}{quote}", start, end)

    def _unterminated(self, quote: str, start: int) -> str:
        if start in self.unconsumed_quotes:
            return (
                f'a closing {quote} must be followed by a space, ",", ")" or the end of the '
                f"trigger; here Segment reads this {quote} as the start of a new string that "
                "never ends"
            )
        return f"unterminated string: the {quote} here is never closed"

    def number(self, first: str, start: int) -> Token:
        text = ""
        coming = self.peek()
        seen_point = False
        while _is_digit(coming) or coming == ".":
            text += self.next()
            if coming == ".":
                if _is_terminator(self.peek()):
                    raise TriggerSyntaxError(
                        'a number cannot end with "." (write 1 or 1.0)', self.pos
                    )
                if seen_point:
                    raise TriggerSyntaxError("a number can have only one decimal point", self.pos)
                seen_point = True
            if len(text) >= _MAX_LENGTH:
                raise TriggerSyntaxError("number is too long", start + 1)
            coming = self.peek()
        return Token("number", first + text, start, self.pos)

    def operator_or_word(self, first: str, start: int) -> Token:
        if first == "=":
            return Token("operator", "=", start, self.pos)
        if first == "!":
            if self.accept("="):
                return Token("operator", "!=", start, self.pos)
            raise TriggerSyntaxError(
                _bad_bang(self.peek(), self.code[self.pos : self.pos + 2]), start + 1
            )
        if first in "<>":
            value = first + "=" if self.accept("=") else first
            return Token("operator", value, start, self.pos)
        if first in _KEYWORDS:
            rest, kind, value = _KEYWORDS[first]
            if self.accept(rest):
                return Token(kind, value, start, self.pos)
        return self.word(first, start)

    def word(self, first: str, start: int) -> Token:
        text = ""
        ch = first
        while True:
            if ch == "\\":
                if self.peek() == _EOS:
                    raise TriggerSyntaxError('a "\\" at the end has nothing to escape', self.pos)
                ch = self.next()
            text += ch
            if utf16_length(text) >= _MAX_LENGTH:
                raise TriggerSyntaxError("name is too long (100000 characters or more)", start + 1)
            if not _is_ident(self.peek()):
                break
            ch = self.next()
        coming = self.peek()
        if not (_is_terminator(coming) or coming in (".", "(", "=", "!")):
            path_start = start
            while path_start and (
                _is_ident(self.code[path_start - 1]) or self.code[path_start - 1] == "."
            ):
                path_start -= 1
            raise TriggerSyntaxError(
                _after_word(self.code[path_start : self.pos], coming), self.pos + 1
            )
        return Token("ident", text, start, self.pos)


def _invalid_character(ch: str) -> str:
    hints = {
        "*": ' ("*" is only meaningful inside a match() pattern such as "Order*")',
        "&": ' (use "and")',
        "|": ' (use "or")',
        "\r": " (use spaces or plain new lines)",
        "`": " (quote values with double quotes)",
    }
    if ch in hints:
        return f"invalid character {_show(ch)}{hints[ch]}"
    if ch.isalpha() or ch.isdigit():
        return (
            f'invalid character {_show(ch)}: names may only use ASCII letters, digits, "_" and '
            '"-"; escape other characters with "\\" or put the value in double quotes'
        )
    return f"invalid character {_show(ch)}"


def _bad_bang(coming: str, ahead: str) -> str:
    if ahead.startswith("="):
        return '"!=" must be followed by a space or the end of the trigger'
    if coming in _WHITESPACE:
        return 'remove the space after "!" (write !contains(...) or !match(...)), or write "!="'
    return f'expected "=", contains( or match( after "!", got {_show(coming)}'


def _after_word(word: str, coming: str) -> str:
    if coming in "<>":
        return f'put a space between "{word}" and "{coming}"'
    if coming == "[":
        return f'"[" cannot follow "{word}": Segment\'s FQL cannot index arrays with brackets'
    if coming in "\"'":
        return f'missing operator or space between "{word}" and the quoted value'
    return f'unexpected {_show(coming)} right after "{word}"'


def lex(code: str) -> list[Token]:
    """Tokens of ``code`` ending with ``eos``; raises TriggerSyntaxError where fql-ts fails."""
    return _Lexer(code).tokens()
