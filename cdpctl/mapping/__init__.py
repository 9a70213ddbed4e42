"""The mapping engine: Segment's mapping-kit (``@segment/actions-core``) in Python, plus
``@jmespath``. ``compile_mapping`` validates once and returns a fast callable for bulk use."""

from __future__ import annotations

from cdpctl.jsvalues import UNDEFINED
from cdpctl.mapping.budget import BudgetExceeded
from cdpctl.mapping.compiler import compile_mapping, transform
from cdpctl.mapping.objects import may_leave_undefined, strip_undefined
from cdpctl.mapping.problems import MappingError, MappingProblem
from cdpctl.mapping.validator import DIRECTIVES, validate

__all__ = [
    "DIRECTIVES",
    "UNDEFINED",
    "BudgetExceeded",
    "MappingError",
    "MappingProblem",
    "compile_mapping",
    "may_leave_undefined",
    "strip_undefined",
    "transform",
    "validate",
]
