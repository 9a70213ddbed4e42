"""``@liquid``: Liquid templates, rendered by python-liquid set up to behave like liquidjs.

mapping-kit renders with liquidjs and disables loops, includes and a few filters; here the
same tags and filters are disabled, output is stringified the JavaScript way (``1`` for
``1.0``, ``[object Object]``, arrays joined with nothing), the filters whose results differ
are liquidjs' (``liquid_filters``), unknown filters are ignored and blank blocks are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from cdpctl.jsvalues import utf16_length
from cdpctl.mapping.budget import MAX_VALUE_CHARS, BudgetExceeded
from cdpctl.mapping.problems import MappingError
from cdpctl.mapping.resolvers import CompileChild, Resolver, constant, raising

if TYPE_CHECKING:
    from liquid import Environment

MAX_TEMPLATE_LENGTH: Final = 1000
# liquidjs' memoryLimit (1e8): the bytes python-liquid lets a template assign. What it may
# write is the value budget, like every other directive's result (cdpctl.mapping.budget).
_MEMORY_LIMIT: Final = 100_000_000
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

    from liquid.exceptions import OutputStreamLimitError

    def resolve_liquid(payload: Any) -> str:
        try:
            return template.render(payload if isinstance(payload, dict) else {})
        except OutputStreamLimitError:
            raise BudgetExceeded("@liquid", MAX_VALUE_CHARS + 1, MAX_VALUE_CHARS) from None
        except LiquidError as error:
            raise MappingError(_liquidjs_style(error)) from error
        except Exception as error:
            # A python-liquid filter failing on a value it did not expect (`sum` on text...).
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

    from cdpctl.mapping.liquid_filters import (
        LIQUIDJS_FILTERS,
        STRING_INPUT_FILTERS,
        output_text,
        with_liquidjs_text_input,
    )

    class JsOutputNode(OutputNode):
        def render_to_output(self, context: Any, buffer: Any) -> int:
            return buffer.write(output_text(self.expression.evaluate(context)))

    class JsEchoNode(JsOutputNode, EchoNode):
        pass

    class JsOutput(Output):
        node_class = JsOutputNode

    class JsEchoTag(EchoTag):
        node_class = JsEchoNode

    class LiquidjsLikeEnvironment(Environment):
        suppress_blank_control_flow_blocks = False
        output_stream_limit = MAX_VALUE_CHARS
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
    for filter_name in STRING_INPUT_FILTERS:
        environment.add_filter(
            filter_name, with_liquidjs_text_input(environment.filters[filter_name])
        )
    for filter_name, liquidjs_filter in LIQUIDJS_FILTERS.items():
        environment.add_filter(filter_name, liquidjs_filter)
    return environment
