"""JUnit XML for CI systems without SARIF: a testsuite per file, a failing testcase per error.

A file without errors is one passing testcase; its warnings go to the suite's system-out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from cdpctl.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from cdpctl.diagnostics import Report

# Characters XML 1.0 cannot hold at all (even escaped).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CLASSNAME = "cdpctl.validate"


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _line(d: Diagnostic) -> str:
    return _text(f"{d.location()}: {d.severity.value} {d.code} {d.full_message()}")


def render_junit(reports: Sequence[Report], *, color: bool = False) -> str:
    del color
    root = ET.Element("testsuites", name="cdpctl validate")
    total = failures = 0
    for report in reports:
        errors = [d for d in report.diagnostics if d.severity is Severity.ERROR]
        others = [d for d in report.diagnostics if d.severity is not Severity.ERROR]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_text(report.path),
            tests=str(max(len(errors), 1)),
            failures=str(len(errors)),
            errors="0",
            skipped="0",
        )
        for d in errors:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=CLASSNAME,
                name=_text(f"{d.code} at {d.line or 1}:{d.column or 1}"),
                file=_text(d.path or report.path),
                line=str(d.line or 1),
            )
            failure = ET.SubElement(case, "failure", message=_text(d.full_message()), type=d.code)
            failure.text = _line(d)
        if not errors:
            ET.SubElement(
                suite,
                "testcase",
                classname=CLASSNAME,
                name=_text(f"{report.path} is valid"),
                file=_text(report.path),
            )
        if others:
            ET.SubElement(suite, "system-out").text = "\n".join(_line(d) for d in others)
        total += max(len(errors), 1)
        failures += len(errors)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
