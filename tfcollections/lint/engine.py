"""Lint one file's bytes: pre-check, parse once, run every applicable rule in one traversal.

Positions are computed only for files with a finding (LibCST's PositionProvider costs about a
parse), and `# noqa` comments are applied last.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from tfcollections.lint.finding import PARSE_ERROR, Finding
from tfcollections.lint.flow import Flow
from tfcollections.lint.rule import LintRule

_FILE_NOQA = re.compile(rb"#\s*tfc-lint\s*:\s*noqa\b", re.IGNORECASE)
_LINE_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE
)


def lint_source(source: bytes, path: str, rules: Sequence[type[LintRule]]) -> list[Finding]:
    """The findings of `rules` in `source` (the bytes of the file at `path`), sorted.

    Unparsable input gives one TFC000 finding at the error position instead of raising.
    """
    if b"\0" in source:
        return [Finding(path, 1, 1, PARSE_ERROR, "cannot parse: the file contains NUL bytes")]
    lowered = source.lower()
    active = [rule for rule in rules if rule.may_apply(lowered)]
    if not active or _FILE_NOQA.search(source):
        return []
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, LookupError) as error:
        return [_parse_error(source, path, error)]
    flow = Flow()
    visitors = [rule(flow) for rule in active]
    try:
        cst.visit_batched(
            module, visitors, before_visit=flow.before_visit, after_leave=flow.after_leave
        )
    except RecursionError:
        return [Finding(path, 1, 1, PARSE_ERROR, "cannot lint: the code is nested too deeply")]
    for visitor in visitors:
        visitor.finish()
    reported = [
        (visitor.code, node, message) for visitor in visitors for node, message in visitor.reports
    ]
    if not reported:
        return []
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = source.decode(module.encoding, errors="replace").splitlines()
    findings = set()
    for code, node, message in reported:
        start = positions[node].start
        if not _suppressed(lines, start.line, code):
            findings.add(Finding(path, start.line, start.column + 1, code, message))
    return sorted(findings)


def _parse_error(source: bytes, path: str, error: Exception) -> Finding:
    """TFC000 at the error position. CPython's compiler names the problem better than LibCST
    ("Missing parentheses in call to 'print'", the undecodable byte), so it is asked first."""
    try:
        compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as syntax:
        line, column = syntax.lineno or 1, syntax.offset or 1
        return Finding(path, line, column, PARSE_ERROR, f"cannot parse: {syntax.msg}")
    except ValueError as other:
        return Finding(path, 1, 1, PARSE_ERROR, f"cannot parse: {other}")
    message = getattr(error, "message", str(error)).splitlines()[0]
    return Finding(path, 1, 1, PARSE_ERROR, f"cannot parse: {message}")


def _suppressed(lines: list[str], line: int, code: str) -> bool:
    if line > len(lines):
        return False
    match = _LINE_NOQA.search(lines[line - 1])
    if match is None:
        return False
    codes = match.group("codes")
    return codes is None or code.upper() in {c.strip().upper() for c in codes.split(",")}
