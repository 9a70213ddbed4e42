"""The mapping engine: a Python reimplementation of Segment's mapping-kit, plus ``@jmespath``.

``transform(mapping, payload)`` gives what ``@segment/actions-core``'s ``transform`` returns;
``compile_mapping`` validates once and returns a fast callable for bulk use.
"""

from __future__ import annotations

from cdpctl.mapping.compiler import compile_mapping, transform
from cdpctl.mapping.jsvalues import UNDEFINED
from cdpctl.mapping.objects import strip_undefined
from cdpctl.mapping.problems import MappingError, MappingProblem
from cdpctl.mapping.validator import DIRECTIVES, validate

__all__ = [
    "DIRECTIVES",
    "UNDEFINED",
    "MappingError",
    "MappingProblem",
    "compile_mapping",
    "strip_undefined",
    "transform",
    "validate",
]
