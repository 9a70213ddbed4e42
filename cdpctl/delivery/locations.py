"""Where a record came from: which input, which part of it, which line — ordered as read.

A replay may read several files, and the Dask engine reads a large plain file as several byte
ranges ("parts") on different workers. Locations order by (input, part, line), which is the
order the local engine reads records in, so "the first example of an error" means the same
record whichever engine found it. Within a part, `line` counts from the part's first line;
whoever split the file turns it into a line of the file (`Location.shifted`) once the sizes of
the parts before it are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Location:
    input: int
    part: int
    line: int  # line (or JSON array element) number, 1-based
    name: str = field(default="", compare=False)  # the input as the user named it
    unit: str = field(default="line", compare=False)  # "line", or "element" of a JSON array
    column: int | None = field(default=None, compare=False)  # where in the line, when known

    def __str__(self) -> str:
        where = f"{self.unit} {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{self.name} {where}" if self.name else where

    def shifted(self, lines_before: int) -> Location:
        """This location as a line of the whole input, given the lines of the parts before."""
        return Location(self.input, 0, self.line + lines_before, self.name, self.unit, self.column)


@dataclass(frozen=True, slots=True)
class Origin:
    """The input (and part of it) a record was read from; shared by all its records."""

    input: int = 0
    part: int = 0
    name: str = ""

    def at(self, line: int, unit: str = "line", column: int | None = None) -> Location:
        return Location(self.input, self.part, line, self.name, unit, column)


NOWHERE = Origin()
