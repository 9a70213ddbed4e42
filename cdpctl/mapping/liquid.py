"""``@liquid``: Liquid templates, rendered by python-liquid set up to behave like liquidjs.

mapping-kit renders with liquidjs and disables loops, includes and a few filters; here the
same tags and filters are disabled, output (and ``append``, ``prepend``, ``join``, ``escape``)
stringify the JavaScript way (``1`` for ``1.0``, ``[object Object]``, arrays joined with
nothing), arithmetic uses doubles (``3 | divided_by: 2`` is ``1.5``), ``json`` is
``JSON.stringify``, unknown filters are ignored and whitespace-only blocks are kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from cdpctl.mapping.jsvalues import (
    UNDEFINED,
    js_to_string,
    js_trim,
    json_stringify,
    number_to_string,
    utf16_length,
)
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import CompileChild, Resolver, constant, raising

if TYPE_CHECKING:
    from liquid import Environment

MAX_TEMPLATE_LENGTH: Final = 1000
# liquidjs' memoryLimit (1e8) and the bytes python-liquid lets a template write or assign.
_MEMORY_LIMIT: Final = 100_000_000
_DECIMAL_LITERAL: Final = re.compile(
    r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
)
_HTML_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_HTML_UNESCAPES: Final = {entity: char for char, entity in _HTML_ESCAPES.items()}
_HTML_SPECIALS: Final = re.compile("[&<>\"']")
_HTML_ENTITIES: Final = re.compile("&(?:amp|lt|gt|#34|#39);")
DISABLED_TAGS: Final = ("case", "for", "include", "layout", "render", "tablerow")
DISABLED_FILTERS: Final = (
    "array_to_sentence_string",
    "concat",
    "find",
    "find_exp",
    "find_index",
    "find_index_exp",
    "group_by",
    "group_by_exp",
    "has",
    "has_exp",
    "map",
    "newline_to_br",
    "reject",
    "reject_exp",
    "reverse",
    "sort",
    "sort_natural",
    "uniq",
    "where_exp",
    "type",
)


def compile_liquid(argument: Any, compile_child: CompileChild, keep_undefined: bool) -> Resolver:
    """Parse the template once; errors surface when the directive is resolved, as in JS."""
    if not isinstance(argument, str):
        return raising("liquid template value must be a string")
    if not argument:
        return constant("")
    if utf16_length(argument) > MAX_TEMPLATE_LENGTH:
        return raising(f"liquid template values are limited to {MAX_TEMPLATE_LENGTH} characters")
    from liquid.exceptions import LiquidError

    try:
        template = liquid_environment().from_string(argument)
    except LiquidError as error:
        return raising(_liquidjs_style(error))

    def resolve_liquid(payload: Any) -> str:
        try:
            return template.render(payload if isinstance(payload, dict) else {})
        except LiquidError as error:
            raise MappingError(_liquidjs_style(error)) from error
        except (ArithmeticError, TypeError, ValueError) as error:
            # A python-liquid filter failing on a value it did not expect (e.g. `sum` on text).
            raise MappingError(f"@liquid: {error!r}") from error

    return resolve_liquid


def _liquidjs_style(error: Exception) -> str:
    """``message, line:1, col:4`` (liquidjs' shape) rather than python-liquid's excerpt."""
    message = error.args[0] if error.args else str(error)
    context = error.context() if hasattr(error, "context") else None
    if context is None:
        return str(message)
    line, column, *_ = context
    return f"{message}, line:{line}, col:{column + 1}"


@cache
def liquid_environment() -> Environment:
    """The one python-liquid environment, configured once (importing python-liquid is slow)."""
    from liquid import Environment
    from liquid.builtin.output import Output, OutputNode
    from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
    from liquid.exceptions import FilterError, LiquidSyntaxError
    from liquid.tag import Tag
    from liquid.undefined import Undefined

    def output_text(value: Any) -> str:
        """liquidjs' ``stringify``: nothing for nil, arrays joined with no separator."""
        if isinstance(value, str):
            return value
        if value is None or value is UNDEFINED or isinstance(value, Undefined):
            return ""
        if isinstance(value, (list, tuple)):
            return "".join(output_text(item) for item in value)
        if isinstance(value, Decimal):
            return number_to_string(float(value))
        if isinstance(value, (bool, int, float, dict)):
            return js_to_string(value)
        return str(value)

    class JsOutputNode(OutputNode):
        def render_to_output(self, context: Any, buffer: Any) -> int:
            return buffer.write(output_text(self.expression.evaluate(context)))

        async def render_to_output_async(self, context: Any, buffer: Any) -> int:
            return buffer.write(output_text(await self.expression.evaluate_async(context)))

    class JsEchoNode(JsOutputNode, EchoNode):
        pass

    class JsOutput(Output):
        node_class = JsOutputNode

    class JsEchoTag(EchoTag):
        node_class = JsEchoNode

    class LiquidjsLikeEnvironment(Environment):
        suppress_blank_control_flow_blocks = False
        output_stream_limit = _MEMORY_LIMIT
        local_namespace_limit = _MEMORY_LIMIT

    def disabled_tag(tag_name: str) -> type[Tag]:
        def parse(self: Tag, stream: Any) -> Any:
            raise LiquidSyntaxError(f'tag "{tag_name}" is disabled', token=stream.current)

        return type(f"Disabled_{tag_name}", (Tag,), {"name": tag_name, "parse": parse})

    def disabled_filter(filter_name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise FilterError(f'filter "{filter_name}" is disabled', token=None)

        return fail

    environment = LiquidjsLikeEnvironment(strict_filters=False)
    environment.add_tag(JsOutput)
    environment.add_tag(JsEchoTag)
    for tag_name in DISABLED_TAGS:
        environment.add_tag(disabled_tag(tag_name))
    for filter_name in DISABLED_FILTERS:
        environment.add_filter(filter_name, disabled_filter(filter_name))
    for filter_name, operation in _ARITHMETIC.items():
        environment.add_filter(filter_name, _arithmetic_filter(operation))

    def json_filter(value: Any, *args: Any) -> str:
        result = UNDEFINED if isinstance(value, Undefined) else json_stringify(value)
        return "" if result is UNDEFINED else result

    def escape_filter(value: Any) -> str:
        return _HTML_SPECIALS.sub(lambda match: _HTML_ESCAPES[match.group()], output_text(value))

    def escape_once_filter(value: Any) -> str:
        return escape_filter(
            _HTML_ENTITIES.sub(lambda match: _HTML_UNESCAPES[match.group()], output_text(value))
        )

    def append_filter(value: Any, suffix: Any = "") -> str:
        return output_text(value) + output_text(suffix)

    def prepend_filter(value: Any, prefix: Any = "") -> str:
        return output_text(prefix) + output_text(value)

    def join_filter(value: Any, separator: Any = " ") -> str:
        if not isinstance(value, (list, tuple)):
            return output_text(value)
        return output_text(separator).join(
            "" if item is None or isinstance(item, Undefined) else js_to_string(item)
            for item in value
        )

    environment.add_filter("append", append_filter)
    environment.add_filter("prepend", prepend_filter)
    environment.add_filter("join", join_filter)
    environment.add_filter("json", json_filter)
    environment.add_filter("jsonify", json_filter)
    environment.add_filter("escape", escape_filter)
    environment.add_filter("xml_escape", escape_filter)
    environment.add_filter("escape_once", escape_once_filter)
    return environment


def _to_number(value: Any) -> float:
    """JavaScript ``Number(value)`` for the values a template handles."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, str):
        text = js_trim(value)
        if not text:
            return 0.0
        if _DECIMAL_LITERAL.fullmatch(text):
            return float(text.replace("Infinity", "inf"))
    return math.nan


def _divide(left: float, right: float) -> float:
    if right == 0:
        if left == 0 or left != left:
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _remainder(left: float, right: float) -> float:
    if right == 0 or math.isinf(left):
        return math.nan
    return math.fmod(left, right)


_ARITHMETIC: Final[dict[str, Callable[[float, float], float]]] = {
    "plus": lambda left, right: left + right,
    "minus": lambda left, right: left - right,
    "times": lambda left, right: left * right,
    "divided_by": _divide,
    "modulo": _remainder,
}


def _arithmetic_filter(operation: Callable[[float, float], float]) -> Callable[..., float]:
    def apply(left: Any, right: Any = UNDEFINED) -> float:
        return operation(_to_number(left), _to_number(right))

    return apply
