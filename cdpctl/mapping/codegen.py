"""Python source for a mapping: what `compile_mapping` computes, as straight-line code.

The compiled mapping is a tree of closures; for bulk work (dry-run replays of millions of
events) `cdpctl.fastpath` instead generates one function per subscription, and this module
writes the mapping part of it. Each static `@path` is read once per event (shared prefixes
once), `@template`, `@if`, `@arrayPath` with an object shape, `@jmespath` field chains with
`||` and `length()`, raw objects and literals become plain statements. Any other node calls
its compiled resolver (the very code `compile_mapping` runs), so nothing outside the subset
changes meaning; a resolver that raises makes the generated function raise, and the caller
then judges that event the ordinary way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from cdpctl.jsvalues import UNDEFINED, js_trim, js_truthy, loosely_equals_empty_string
from cdpctl.mapping.budget import MAX_VALUE_CHARS, check_value, json_size
from cdpctl.mapping.compiler import compile_node, is_directive
from cdpctl.mapping.objects import may_leave_undefined, strip_undefined
from cdpctl.mapping.paths import follow_path, parse_path, strip_root
from cdpctl.mapping.templates import _DOUBLE, _TRIPLE, placeholder_text
from cdpctl.mapping.validator import is_directive_key

_SCALARS = (str, int, float, bool, type(None))


class _Indented:
    """Lines of code, each written at the depth of the `block`s open around it."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.depth = 0

    def add(self, text: str) -> None:
        self.written.append("    " * self.depth + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.add(header)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1


class Source(_Indented):
    """Lines of Python being written, and the objects the code refers to by name."""

    def __init__(self) -> None:
        super().__init__()
        self.namespace: dict[str, Any] = {"U": UNDEFINED}
        self._numbers = count()
        self._bound: dict[int, str] = {}

    def extend(self, lines: list[str]) -> None:
        self.written.extend("    " * self.depth + line for line in lines)

    def name(self, hint: str) -> str:
        return f"{hint}{next(self._numbers)}"

    def bind(self, value: Any, hint: str = "g") -> str:
        """A global name for `value` in the generated module (one name per object)."""
        known = self._bound.get(id(value))
        if known is not None:
            return known
        name = self.name(f"_{hint}")
        self.namespace[name] = value
        self._bound[id(value)] = name
        return name

    def text(self) -> str:
        return "\n".join(self.written) + "\n"


class MappingCode(_Indented):
    """Writes the statements that compute mapping nodes against `root` (a dict variable for the
    event; any value for an @arrayPath item). Path reads go to `prelude`, computed once before
    the rest (`written`), so branches can share them."""

    def __init__(self, source: Source, root: str, *, root_is_dict: bool) -> None:
        super().__init__()
        self.source = source
        self.root = root
        self.root_is_dict = root_is_dict
        self.prelude: list[str] = []
        self._paths: dict[tuple[str, ...], str] = {}
        self.interpreted = False  # some node runs its compiled resolver

    def lines(self) -> list[str]:
        return self.prelude + self.written

    # -- values ----------------------------------------------------------------------------

    def path(self, keys: tuple[str, ...]) -> str:
        """A variable holding `follow_path(root, keys)`, as actions-core's `get` walks it."""
        if not keys:
            return self.root
        known = self._paths.get(keys)
        if known is not None:
            return known
        parent = self.path(keys[:-1])
        name = self.source.name("p")
        key = repr(keys[-1])
        if parent == self.root and self.root_is_dict:
            self.prelude.append(f"{name} = {parent}.get({key}, U)")
        else:
            follow = self.source.bind(follow_path, "follow")
            self.prelude.append(
                f"{name} = {parent}.get({key}, U) if type({parent}) is dict "
                f"else {follow}({parent}, ({key},))"
            )
        self._paths[keys] = name
        return name

    def value(self, node: Any, keep_undefined: bool = False) -> str:
        """Write the statements for `node`; return an expression (a name or a literal) for its
        value, which may be UNDEFINED."""
        if isinstance(node, dict):
            if is_directive(node):
                return self._directive(node, keep_undefined)
            if keep_undefined:
                return self._interpreted(node, keep_undefined)
            return self._object(node)
        if isinstance(node, list):
            return self._interpreted(node, keep_undefined)
        if isinstance(node, _SCALARS) and type(node) is not float:
            return repr(node)
        return self.source.bind(node, "c")

    def _interpreted(self, node: Any, keep_undefined: bool) -> str:
        """The node's compiled resolver, called as is (exact, if slower)."""
        self.interpreted = True
        resolve = self.source.bind(compile_node(node, keep_undefined), "r")
        name = self.source.name("v")
        if may_leave_undefined(node) and not keep_undefined:
            strip = self.source.bind(strip_undefined, "strip")
            self.add(f"{name} = {resolve}({self.root})")
            self.add(f"if {name} is not U: {name} = {strip}({name})")
        else:
            self.add(f"{name} = {resolve}({self.root})")
        return name

    def object_items(self, node: dict[Any, Any]) -> list[tuple[Any, str, bool]]:
        """(key, expression, may be undefined) for each key of a raw object, in order."""
        items = []
        for key, child in node.items():
            if isinstance(child, _SCALARS):
                items.append((key, self.value(child), False))
            else:
                items.append((key, self.value(child), True))
        return items

    def _object(self, node: dict[Any, Any]) -> str:
        items = self.object_items(node)
        name = self.source.name("o")
        first_optional = next((i for i, item in enumerate(items) if item[2]), len(items))
        leading = ", ".join(
            f"{key!r}: {expression}" for key, expression, _ in items[:first_optional]
        )
        self.add(f"{name} = {{{leading}}}")
        for key, expression, maybe in items[first_optional:]:
            if maybe:
                self.add(f"if {expression} is not U: {name}[{key!r}] = {expression}")
            else:
                self.add(f"{name}[{key!r}] = {expression}")
        return name

    def _directive(self, node: dict[Any, Any], keep_undefined: bool) -> str:
        name = next(key for key in node if is_directive_key(key))
        argument = node[name]
        if name == "@path" and isinstance(argument, str):
            return self.path(parse_path(strip_root(argument)))
        if name == "@template" and isinstance(argument, str) and not _TRIPLE.search(argument):
            return self._template(argument)
        if name == "@if" and isinstance(argument, dict):
            written = self._if(argument, keep_undefined)
            if written is not None:
                return written
        if name == "@arrayPath" and _plain_array_path(argument):
            return self._array_path(argument[0], argument[1] if len(argument) > 1 else None)
        if name == "@jmespath" and isinstance(argument, str):
            written = self._jmespath(argument)
            if written is not None:
                return written
        if name == "@literal":
            return self.value(argument, keep_undefined)
        return self._interpreted(node, keep_undefined)

    def _template(self, template: str) -> str:
        parts: list[str] = []
        pieces: list[str] = []
        literal_size = 0
        position = 0
        text = self.source.bind(placeholder_text, "text")
        for match in _DOUBLE.finditer(template):
            literal = template[position : match.start()]
            if literal:
                parts.append(repr(literal))
                literal_size += len(literal)
            value = self.path(parse_path(js_trim(match.group(1))))
            piece = self.source.name("s")
            self.add(f"{piece} = {value} if type({value}) is str else {text}({value})")
            parts.append(piece)
            pieces.append(piece)
            position = match.end()
        tail = template[position:]
        if tail:
            parts.append(repr(tail))
            literal_size += len(tail)
        if not parts:
            return repr("")
        if pieces:  # the budget check `compile_template_text` makes, before joining
            size = " + ".join([str(literal_size), *(f"len({piece})" for piece in pieces)])
            over = self.source.bind(check_value, "budget")
            self.add(f"if {size} > {MAX_VALUE_CHARS}: {over}('@template', {size})")
        if len(parts) == 1:
            return parts[0]
        name = self.source.name("t")
        self.add(f"{name} = {' + '.join(parts)}")
        return name

    def _if(self, options: dict[Any, Any], keep_undefined: bool) -> str | None:
        """`compile_if`, written out; None for a shape that raises (left to the resolver)."""
        exists = options.get("exists", UNDEFINED)
        blank = options.get("blank", UNDEFINED)
        if not js_truthy(exists) and not js_truthy(blank):
            return None
        condition_node = exists if exists is not UNDEFINED else blank
        then = options.get("then", UNDEFINED)
        otherwise = options.get("else", UNDEFINED)
        condition = self.value(condition_node)
        test = f"{condition} is not None and {condition} is not U"
        if exists is UNDEFINED:
            blank_test = self.source.bind(loosely_equals_empty_string, "blank")
            test += f" and not {blank_test}({condition})"
        name = self.source.name("i")
        with self.block(f"if {test}:"):
            if then is UNDEFINED:
                self.add(f"{name} = U")
            else:
                self.add(f"{name} = {self.value(then, keep_undefined)}")
        with self.block("else:"):
            if js_truthy(otherwise):
                self.add(f"{name} = {self.value(otherwise, keep_undefined)}")
            else:
                self.add(f"{name} = U")
        return name

    def _array_path(self, path: str, shape: Any) -> str:
        root = self.path(parse_path(strip_root(path)))
        if not (isinstance(shape, dict) and shape):
            return root
        item = MappingCode(self.source, self.source.name("it"), root_is_dict=False)
        built = item.value(shape)
        self.interpreted = self.interpreted or item.interpreted
        name = self.source.name("a")
        size = self.source.name("n")
        measure = self.source.bind(json_size, "size")
        over = self.source.bind(check_value, "budget")
        # The budget check `paths.map_items` makes, item by item.
        check = [
            f"{size} += {measure}({built}, {MAX_VALUE_CHARS} - {size}) + 1",
            f"if {size} > {MAX_VALUE_CHARS}: {over}('@arrayPath', {size})",
        ]
        with self.block(f"if type({root}) is list:"):
            self.add(f"{name} = []")
            self.add(f"{size} = 2")
            with self.block(f"for {item.root} in {root}:"):
                for line in item.lines():
                    self.add(line)
                for line in check:
                    self.add(line)
                self.add(f"{name}.append({built})")
        with self.block(f"elif type({root}) is dict:"):
            self.add(f"{item.root} = {root}")
            self.add(f"{size} = 2")
            for line in item.lines():
                self.add(line)
            for line in check:
                self.add(line)
            self.add(f"{name} = [{built}]")
        with self.block("else:"):
            self.add(f"{name} = {root}")
        return name

    def _jmespath(self, expression: str) -> str | None:
        try:
            tree = jmespath.compile(expression).parsed
        except JMESPathError:
            return None
        if not _jmespath_supported(tree):
            return None
        result = self._jmes_node(tree, self.root)
        name = self.source.name("j")
        self.add(f"{name} = U if {result} is None else {result}")
        return name

    def _jmes_node(self, node: dict[str, Any], value: str) -> str:
        kind = node["type"]
        if kind == "field":
            name = self.source.name("m")
            key = repr(node["value"])
            self.add(f"{name} = {value}.get({key}) if type({value}) is dict else None")
            return name
        if kind == "index":
            name = self.source.name("m")
            index = node["value"]
            self.add(
                f"{name} = {value}[{index}] if type({value}) is list "
                f"and -len({value}) <= {index} < len({value}) else None"
            )
            return name
        if kind in ("subexpression", "index_expression"):
            for child in node["children"]:
                value = self._jmes_node(child, value)
            return value
        if kind == "or_expression":
            left, right = node["children"]
            name = self.source.name("m")
            self.add(f"{name} = {self._jmes_node(left, value)}")
            with self.block(
                f"if {name} is None or {name} is False or {name} == '' or {name} == [] "
                f"or {name} == {{}}:"
            ):
                self.add(f"{name} = {self._jmes_node(right, value)}")
            return name
        # length(x): a type error (JMESPath raises) is left to the caller
        (argument,) = node["children"]
        measured = self._jmes_node(argument, value)
        name = self.source.name("m")
        self.add(
            f"if type({measured}) is not list and type({measured}) is not dict "
            f"and type({measured}) is not str: raise TypeError('length')"
        )
        self.add(f"{name} = len({measured})")
        return name


def _plain_array_path(argument: Any) -> bool:
    return isinstance(argument, list) and bool(argument) and isinstance(argument[0], str)


def _jmespath_supported(node: dict[str, Any]) -> bool:
    kind = node["type"]
    if kind == "field":
        return True
    if kind == "index":
        return type(node["value"]) is int
    if kind in ("subexpression", "index_expression", "or_expression"):
        return all(_jmespath_supported(child) for child in node["children"])
    if kind == "function_expression":
        return (
            node["value"] == "length"
            and len(node["children"]) == 1
            and (_jmespath_supported(node["children"][0]))
        )
    return False
