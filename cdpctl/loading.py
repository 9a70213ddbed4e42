"""Read mapping files (YAML/JSON) into plain data plus the line/column of every node.

Hostile input is expected (binary files, huge files, alias bombs, deep nesting): every failure
becomes one `LoadError` carrying a located `Diagnostic`, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cdpctl import codes
from cdpctl.diagnostics import Diagnostic

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000

JsonPath = tuple[str | int, ...]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML without implicit timestamps: a date in a mapping stays the string it reads as."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line/column of a node; for mapping values also where its key starts."""

    line: int
    column: int
    key_line: int | None = None
    key_column: int | None = None
    quoted: bool = False  # a quoted scalar: its text starts one column later


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    data: Any
    positions: dict[JsonPath, Position] = field(default_factory=dict)

    def locate(self, json_path: JsonPath, *, at_key: bool = False) -> Position:
        """Position of `json_path`, or of its nearest located ancestor."""
        probe = tuple(json_path)
        while probe not in self.positions and probe:
            probe = probe[:-1]
        position = self.positions.get(probe, Position(1, 1))
        if at_key and probe == tuple(json_path) and position.key_line is not None:
            return Position(position.key_line, position.key_column or 1)
        return position

    def diagnostic(
        self,
        code: str,
        message: str,
        json_path: JsonPath,
        *,
        at_key: bool = False,
        **extra: Any,
    ) -> Diagnostic:
        position = self.locate(json_path, at_key=at_key)
        return Diagnostic(
            code=code,
            message=message,
            path=self.path,
            line=position.line,
            column=position.column,
            json_path=tuple(json_path),
            **extra,
        )


class LoadError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _fail(path: str, code: str, message: str, line: int = 1, column: int = 1, **kw: Any) -> None:
    raise LoadError(
        Diagnostic(code=code, message=message, path=path, line=line, column=column, **kw)
    )


def read_text(path: str | Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """Read a UTF-8 text file, refusing binary data and files larger than `limit` bytes."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        _fail(name, codes.FILE_UNREADABLE, "file not found")
    except IsADirectoryError:
        _fail(name, codes.FILE_UNREADABLE, "is a directory, not a file")
    except OSError as exc:
        _fail(name, codes.FILE_UNREADABLE, f"cannot read file: {exc.strerror or exc}")
    if len(raw) > limit:
        _fail(
            name,
            codes.FILE_TOO_LARGE,
            f"file is larger than {limit // (1024 * 1024)} MB; mapping files are small YAML "
            "documents — is this the right file?",
        )
    return decode_text(raw, name)


def decode_text(raw: bytes, name: str) -> str:
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        _fail(
            name,
            codes.NOT_TEXT,
            f"binary data (NUL byte at offset {nul}); expected UTF-8 text",
            line,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        _fail(
            name,
            codes.NOT_TEXT,
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            line,
            column,
        )
    return text.removeprefix("\ufeff")


def load_yaml(path: str | Path) -> Document:
    """Load one YAML (or JSON, a YAML subset) mapping file with positions."""
    return parse_yaml(read_text(path), str(path))


def parse_yaml(text: str, name: str) -> Document:
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "malformed YAML"
        context = f" ({exc.context})" if exc.context else ""
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        source_line = text.splitlines()[line - 1] if 0 < line <= text.count("\n") + 1 else ""
        _fail(
            name,
            codes.YAML_SYNTAX,
            f"YAML syntax error: {problem}{context}",
            line,
            column,
            hint=_yaml_hint(problem, source_line),
        )
    except yaml.YAMLError as exc:
        _fail(name, codes.YAML_SYNTAX, f"YAML syntax error: {exc}")
    except RecursionError:
        _fail(name, codes.TOO_DEEP, f"document is nested deeper than {MAX_DEPTH} levels")
    if not nodes:
        _fail(
            name,
            codes.EMPTY_DOCUMENT,
            "file is empty; expected a mapping document",
            hint="start from `cdpctl init PROVIDER`",
        )
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        _fail(
            name,
            codes.MULTIPLE_DOCUMENTS,
            "more than one YAML document ('---'); use one file per destination",
            mark.line + 1,
            mark.column + 1,
        )
    builder = _Builder(name)
    data = builder.build(nodes[0], (), 0)
    return Document(name, data, builder.positions)


def _yaml_hint(problem: str, source_line: str) -> str | None:
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())]:
        return "YAML indents with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "check the indentation of this line, or quote a value that contains ': '"
    if "expected <block end>" in problem:
        return "check that this line is indented like its siblings"
    return None


class _Builder:
    """Turns a composed node graph into Python data, recording positions and enforcing limits."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: dict[JsonPath, Position] = {}
        self.visited = 0
        self._scalar = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: JsonPath, depth: int) -> Any:
        self.visited += 1
        mark = node.start_mark
        if self.visited > MAX_NODES:
            _fail(
                self.name,
                codes.TOO_MANY_NODES,
                f"document expands to more than {MAX_NODES} nodes (YAML aliases?)",
                mark.line + 1,
                mark.column + 1,
            )
        if depth > MAX_DEPTH:
            _fail(
                self.name,
                codes.TOO_DEEP,
                f"document is nested deeper than {MAX_DEPTH} levels",
                mark.line + 1,
                mark.column + 1,
            )
        self.positions.setdefault(path, Position(mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar_value(node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath, depth: int) -> dict[Any, Any]:
        """Keys in document order. Merge keys (`<<: *base`) bring in the keys the mapping
        does not set itself, as YAML 1.1 says: an explicit key overrides a merged one (it is
        no duplicate); a key written twice explicitly is."""
        result: dict[Any, Any] = {}
        explicit: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node, path, depth + 1)
                sources = merged if isinstance(merged, list) else [merged]
                if not all(isinstance(source, dict) for source in sources):
                    mark = value_node.start_mark
                    _fail(
                        self.name,
                        codes.YAML_SYNTAX,
                        "a merge key (<<) takes a mapping or a list of mappings",
                        mark.line + 1,
                        mark.column + 1,
                    )
                for source in sources:
                    for merged_key, merged_value in source.items():
                        if merged_key not in explicit:
                            result.setdefault(merged_key, merged_value)
                continue
            key = self._scalar_value(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or isinstance(key, (dict, list)):
                mark = key_node.start_mark
                _fail(
                    self.name,
                    codes.YAML_SYNTAX,
                    "mapping keys must be plain text",
                    mark.line + 1,
                    mark.column + 1,
                )
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            key_mark = key_node.start_mark
            if key in explicit:
                _fail(
                    self.name,
                    codes.DUPLICATE_KEY,
                    f'duplicate key "{key}"; YAML keeps only the last one — remove or merge one',
                    key_mark.line + 1,
                    key_mark.column + 1,
                )
            child = (*path, key)
            value_mark = value_node.start_mark
            quoted = isinstance(value_node, yaml.ScalarNode) and value_node.style in ('"', "'")
            self.positions[child] = Position(
                value_mark.line + 1,
                value_mark.column + 1,
                key_mark.line + 1,
                key_mark.column + 1,
                quoted,
            )
            result[key] = self.build(value_node, child, depth + 1)
            explicit.add(key)
        return result

    def _scalar_value(self, node: yaml.Node) -> Any:
        try:
            value = self._scalar.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            mark = node.start_mark
            _fail(
                self.name,
                codes.YAML_SYNTAX,
                f"YAML value error: {exc}",
                mark.line + 1,
                mark.column + 1,
            )
        except ValueError as exc:
            mark = node.start_mark
            _fail(
                self.name,
                codes.YAML_SYNTAX,
                f"invalid value: {exc}",
                mark.line + 1,
                mark.column + 1,
            )
        if value is not None and not isinstance(value, (str, int, float)):
            mark = node.start_mark
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            _fail(
                self.name,
                codes.YAML_SYNTAX,
                f"the YAML tag {tag} is not supported in mapping files (values are text, "
                "numbers, true/false or null)",
                mark.line + 1,
                mark.column + 1,
                hint="remove the tag, or quote the value to keep it as text",
            )
        return value
