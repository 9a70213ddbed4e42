"""Terminal-safe text: the one place that turns control characters into visible escapes.

Event values, provider answers, file names and messages come from outside. Written raw to a
terminal, `ESC ] 0 ; … BEL` sets its title, `ESC ] 8 ; ;` makes hyperlinks, `ESC [ 2 J` clears
the screen, a carriage return or a newline forges a line, and bidi overrides (U+202E) reorder
what is shown. Every text view goes through this module:

- `escape` turns every such character in a value into a visible escape (`\\x1b`, `\\r`, `\\n`,
  `\\u202e`), for values interpolated into one line (a location, a message, a provider answer);
- `SafeStream` guards `sys.stdout` and `sys.stderr` for the whole command (`install`), so a
  view that forgets still writes no raw control character; the only escape sequences it lets
  through are SGR colour codes, and only when colour is on for that stream;
- `console` makes rich consoles that escape every piece of text they render (styles stay), with
  markup and emoji codes off;
- `write_data` is the one way past the guard, for machine formats that must stay exact (JSON,
  NDJSON, YAML, SARIF, JUnit, GitHub workflow commands), which escape what they need themselves.

See https://en.wikipedia.org/wiki/ANSI_escape_code and https://trojansource.codes/ (bidi).
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import IO, Any, TextIO

# Every character of Unicode general category Cc (C0, DEL, C1), Cf (format: bidi controls, zero
# width characters, tags), Zl and Zp (line and paragraph separators), and lone surrogates (file
# names that are not UTF-8). tests/cli/test_terminal.py holds this list to `unicodedata`.
_UNSAFE_CLASS = (
    "\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_UNSAFE = re.compile(f"[{_UNSAFE_CLASS}]")
_UNSAFE_BUT_LINES = re.compile("[" + _UNSAFE_CLASS.replace("\x00-\x1f", "\x00-\x08\x0b-\x1f") + "]")
_SGR = re.compile("\x1b\\[[0-9;]*m")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(found: re.Match[str]) -> str:
    char = found.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str) -> str:
    """`text` with every control, format and line-breaking character as a visible escape, so it
    shows as one line exactly as it is (a value, a file name, a provider's answer). Idempotent:
    its output holds only printable characters."""
    return _UNSAFE.sub(_visible, text)


def escape_lines(text: str) -> str:
    """Like `escape` but keeping newlines and tabs: for a whole view whose lines are its own."""
    return _UNSAFE_BUT_LINES.sub(_visible, text)


def escape_view(text: str, *, colour: bool) -> str:
    """A whole view made safe for a terminal: `escape_lines`, and with `colour` the SGR colour
    codes (`ESC [ … m`) kept; every other escape sequence is shown, not obeyed."""
    if not colour or "\x1b" not in text:
        return escape_lines(text)
    out = []
    at = 0
    for found in _SGR.finditer(text):
        out.append(escape_lines(text[at : found.start()]))
        out.append(found.group())
        at = found.end()
    out.append(escape_lines(text[at:]))
    return "".join(out)


class SafeStream(io.TextIOBase):
    """A text stream that writes `escape_view` of everything to the stream it wraps."""

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw
        self.colour: bool | None = None  # None: decided from the environment on first use

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.raw, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        isatty = getattr(self.raw, "isatty", None)
        return bool(isatty and isatty())

    def fileno(self) -> int:
        return self.raw.fileno()

    def flush(self) -> None:
        self.raw.flush()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.raw.write(escape_view(text, colour=self._colour()))
        return len(text)

    def _colour(self) -> bool:
        if self.colour is None:
            self.colour = default_colour(self.raw)
        return self.colour


def default_colour(stream: object) -> bool:
    """Colour when nothing chose: NO_COLOR or CDPCTL_COLOR=never say no, FORCE_COLOR or
    CDPCTL_COLOR=always yes, else a terminal."""
    chosen = os.environ.get("CDPCTL_COLOR")
    if chosen in ("always", "never"):
        return chosen == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def install() -> None:
    """Guard sys.stdout and sys.stderr for the rest of the command (once; idempotent)."""
    if not isinstance(sys.stdout, SafeStream):
        sys.stdout = SafeStream(sys.stdout)
    if not isinstance(sys.stderr, SafeStream):
        sys.stderr = SafeStream(sys.stderr)


def raw(stream: IO[str]) -> IO[str]:
    """The stream under a guard (`stream` itself when it is not guarded)."""
    return stream.raw if isinstance(stream, SafeStream) else stream


def set_colour(stream: object, colour: bool) -> None:
    """Record the colour decision for a guarded stream: SGR codes pass only with colour on."""
    if isinstance(stream, SafeStream):
        stream.colour = colour


def write_data(text: str, *, err: bool = False) -> None:
    """Write a machine format exactly as it is (JSON, NDJSON, YAML, SARIF, JUnit, GitHub
    workflow commands): past the guard, because escaping would change the data."""
    stream = raw(sys.stderr if err else sys.stdout)
    stream.write(text)
    stream.flush()


def console(**options: Any) -> Any:
    """A rich Console whose rendered text is escaped piece by piece (styles, cursor control and
    rich's own line breaks are kept), with markup, emoji codes and highlighting off. A console
    that writes to a guarded stream writes to the stream under the guard."""
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        def render(self, renderable: Any, options: Any = None) -> Any:
            for segment in super().render(renderable, options):
                text, style, control = segment
                if control is None and text != "\n" and _UNSAFE.search(text):
                    yield Segment(escape(text), style, control)
                else:
                    yield segment

    options.setdefault("markup", False)
    options.setdefault("emoji", False)
    options.setdefault("highlight", False)
    if options.get("file") is None:
        options["file"] = raw(sys.stderr if options.pop("stderr", False) else sys.stdout)
    return SafeConsole(**options)
