"""Python source for a mapping: the mapping part of the judge `cdpctl.compiler` generates.

Only the mapping's structure is written out: raw objects become dict displays, and each static
`@path` a read of the event, done once per event however many fields share it (shared prefixes
once), as `paths.compile_getter` reads it. Every other directive calls its compiled resolver
(`compile_node`), the one place its meaning is defined; a resolver that raises makes the
generated function raise the same error, which the judge turns into the event's verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

from cdpctl.jsvalues import UNDEFINED
from cdpctl.mapping.budget import BudgetExceeded
from cdpctl.mapping.compiler import compile_node, is_directive
from cdpctl.mapping.objects import may_leave_undefined, strip_undefined
from cdpctl.mapping.paths import follow_path, parse_path, strip_root
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
        self.namespace: dict[str, Any] = {"U": UNDEFINED, "BudgetExceeded": BudgetExceeded}
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

    def value(self, node: Any, where: tuple[Any, ...], keep_undefined: bool = False) -> str:
        """Write the statements for `node`, found at keys `where` of the mapping; return an
        expression (a name or a literal) for its value, which may be UNDEFINED."""
        if isinstance(node, dict):
            if is_directive(node):
                return self._directive(node, where, keep_undefined)
            if keep_undefined:
                return self._interpreted(node, where, keep_undefined)
            return self._object(node, where)
        if isinstance(node, list):
            return self._interpreted(node, where, keep_undefined)
        if isinstance(node, _SCALARS) and type(node) is not float:
            return repr(node)
        return self.source.bind(node, "c")

    def _interpreted(self, node: Any, where: tuple[Any, ...], keep_undefined: bool) -> str:
        """The node's compiled resolver, called as is; a budget refusal is located at `where`,
        as the compiled objects around it would locate it."""
        resolve = self.source.bind(compile_node(node, keep_undefined), "r")
        name = self.source.name("v")
        with self.block("try:"):
            self.add(f"{name} = {resolve}({self.root})")
        with self.block("except BudgetExceeded as refusal:"):
            self.add(f"raise refusal.within({where!r}) from None")
        if may_leave_undefined(node) and not keep_undefined:
            strip = self.source.bind(strip_undefined, "strip")
            self.add(f"if {name} is not U: {name} = {strip}({name})")
        return name

    def object_items(
        self, node: dict[Any, Any], where: tuple[Any, ...] = ()
    ) -> list[tuple[Any, str, bool]]:
        """(key, expression, may be undefined) for each key of a raw object at `where`."""
        items = []
        for key, child in node.items():
            expression = self.value(child, (*where, key))
            items.append((key, expression, not isinstance(child, _SCALARS)))
        return items

    def _object(self, node: dict[Any, Any], where: tuple[Any, ...]) -> str:
        items = self.object_items(node, where)
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

    def _directive(self, node: dict[Any, Any], where: tuple[Any, ...], keep_undefined: bool) -> str:
        argument = next(node[key] for key in node if is_directive_key(key))
        if "@path" in node and isinstance(argument, str):
            return self.path(parse_path(strip_root(argument)))
        return self._interpreted(node, where, keep_undefined)
