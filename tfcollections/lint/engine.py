"""Lint one file's bytes: pre-check, parse once, run every applicable rule in one traversal.

Positions are computed only for files with a finding (LibCST's PositionProvider costs about a
parse), and `# noqa` comments are applied last.
"""

from __future__ import annotations

import ast
import re
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from tfcollections.lint import fixes
from tfcollections.lint.analysis.summaries import Project, Remote
from tfcollections.lint.finding import PARSE_ERROR, Finding
from tfcollections.lint.flow import Flow
from tfcollections.lint.keras_target import Decision
from tfcollections.lint.rule import LintRule

T = TypeVar("T")
_FILE_NOQA = re.compile(rb"#\s*tfc-lint\s*:\s*noqa\b", re.IGNORECASE)
_LINE_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE
)


def lint_source(
    source: bytes,
    path: str,
    rules: Sequence[type[LintRule]],
    *,
    keras: str = "auto",
    project: Project | None = None,
) -> list[Finding]:
    """The findings of `rules` in `source` (the bytes of the file at `path`), sorted; `keras`
    is the Keras version the Keras rules assume ("auto", "2" or "3", see `keras_target`);
    `project`, when given, is followed into the modules the file imports (`summaries`).

    Unparsable input gives one TFC000 finding at the error position instead of raising.
    """
    if b"\0" in source:
        return [Finding(path, 1, 1, PARSE_ERROR, "cannot parse: the file contains NUL bytes")]
    lowered = source.lower()
    following = [rule for rule in rules if rule.FOLLOWS_PROJECT]
    reached: frozenset[bytes] = frozenset()
    if project is not None and following:  # the words may be in the modules it imports
        groups = (group for rule in following for group in rule.PROJECT_PRECHECK)
        reached = project.reachable_words(source, frozenset(w for g in groups for w in g))
    active = [rule for rule in rules if rule.may_apply(lowered, reached)]
    if not active or _FILE_NOQA.search(source):
        return []
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, LookupError) as error:
        return [_parse_error(source, path, error)]
    flow = Flow(source, keras, Path(path), project, reached)
    try:
        return _lint_parsed(module, source, path, active, flow)
    except RecursionError:  # deeper than Python's default limit: again, with room for it
        try:
            flow = Flow(source, keras, Path(path), project, reached)
            return _with_deep_stack(lambda: _lint_parsed(module, source, path, active, flow))
        except RecursionError:
            message = "cannot lint: the code is nested too deeply"
            return [Finding(path, 1, 1, PARSE_ERROR, message)]


FIX_ROUNDS = 10
"""A fix can make room for another (Ruff's loop): lint and fix again, this many times at most."""


def fix_source(
    source: bytes,
    path: str,
    rules: Sequence[type[LintRule]],
    *,
    unsafe: bool = False,
    keras: str = "auto",
    project: Project | None = None,
    selected: Callable[[Finding], bool] = lambda finding: True,
) -> tuple[bytes, int, list[Finding]]:
    """`source` with the fixes of its findings applied (unsafe ones only if `unsafe`), the
    number of findings fixed, and the findings of the fixed code. `selected` says which
    findings are reported (select, ignore, per-file-ignores): only those are fixed."""
    fixed = 0
    findings = [
        f for f in lint_source(source, path, rules, keras=keras, project=project) if selected(f)
    ]
    for _ in range(FIX_ROUNDS):
        applicable = [f for f in findings if f.fix and (f.fix.safe or unsafe)]
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:  # fixes are made on UTF-8 text only
            break
        if not applicable:
            break
        changed, skipped = fixes.apply(text, (e for f in applicable for e in f.fix.edits))
        if changed == text:
            break
        fixed += len(applicable) - skipped
        source = changed.encode("utf-8")
        findings = [
            f for f in lint_source(source, path, rules, keras=keras, project=project) if selected(f)
        ]
    return source, fixed, findings


def keras_decision(source: bytes, path: str, keras: str = "auto") -> Decision:
    """The Keras the Keras rules lint the file at `path` for, and why (from its imports, as
    `lint_source` sees them). A file that does not parse shows no Keras."""
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, LookupError):
        module = cst.Module(body=[])
    flow = Flow(source, keras, Path(path))
    cst.visit_batched(module, [], before_visit=flow.before_visit, after_leave=flow.after_leave)
    return flow.keras_decision()


def _lint_parsed(
    module: cst.Module, source: bytes, path: str, rules: Sequence[type[LintRule]], flow: Flow
) -> list[Finding]:
    """Every step after parsing: the traversal, the rules' analyses and the positions of what
    they report all recurse on the tree, so all of them run under one deep-stack retry. A
    finding whose other half is in another module is reported at the call that leads there."""
    visitors, failed = _visit(module, rules, flow, path)
    reported = [(visitor.code, *report) for visitor in visitors for report in visitor.reports]
    if not reported:
        return failed
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = source.decode(module.encoding, errors="replace").splitlines()
    newline = "\r\n" if b"\r\n" in source else "\n"
    findings = {}
    remote: set[tuple[int, str]] = set()  # one finding a call and rule, naming its first cause
    for code, node, message, node_fix in reported:
        if isinstance(node, Remote):
            if (id(node.entry), code) in remote:
                continue
            remote.add((id(node.entry), code))
            node, message = node.entry, f"{message} (via {node.where})"
        start = positions[node].start
        if not _suppressed(lines, start.line, code):
            fix = fixes.resolve(node_fix, positions, lines, newline) if node_fix else None
            finding = Finding(path, start.line, start.column + 1, code, message, fix)
            findings.setdefault(finding, finding)
    return sorted([*findings, *failed])


def _visit(
    module: cst.Module, rules: Sequence[type[LintRule]], flow: Flow, path: str
) -> tuple[list[LintRule], list[Finding]]:
    """One traversal of `module` by every rule's visitor, over one shared flow tracker, then
    each rule's `finish()` (which may walk the tree again: it needs the same deep stack). A rule
    whose analysis fails on this file gives a TFC000 naming it; the other rules still report."""
    visitors = [rule(flow) for rule in rules]
    cst.visit_batched(
        module, visitors, before_visit=flow.before_visit, after_leave=flow.after_leave
    )
    finished, failed = [], []
    for visitor in visitors:
        try:
            visitor.finish()
        except RecursionError:
            raise
        except Exception as error:  # one file's analysis must not stop the run
            message = (
                f"cannot lint: {visitor.code} failed on this file ({error!r}); please report it"
            )
            failed.append(Finding(path, 1, 1, PARSE_ERROR, message))
        else:
            finished.append(visitor)
    return finished, failed


_DEEP_STACK_BYTES = 512 * 2**20
_DEEP_RECURSION_LIMIT = 200_000
_DEEP_STACK_LOCK = threading.Lock()  # stack size and recursion limit are process-wide


def _with_deep_stack(function: Callable[[], T]) -> T:
    """`function()` in a thread with a 512 MiB stack and a recursion limit to match: LibCST
    and the rules recurse on the tree, so code nested deeper than CPython's default limit
    (about 1,000 frames) needs both. The limit is process-wide: restored after."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as error:  # re-raised in the caller's thread
            outcome.append((False, error))

    limit = sys.getrecursionlimit()
    with _DEEP_STACK_LOCK:
        threading.stack_size(_DEEP_STACK_BYTES)
        sys.setrecursionlimit(_DEEP_RECURSION_LIMIT)
        try:
            thread = threading.Thread(target=run, name="tfc-lint-deep")
            thread.start()
            thread.join()
        finally:
            threading.stack_size(0)
            sys.setrecursionlimit(limit)
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


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
