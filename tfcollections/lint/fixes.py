"""Fixes as rules write them (nodes of the tree) and as they are applied (text edits).

A rule says what to change in terms of nodes: replace a node's code, or insert a line before or
after a statement. The engine turns that into `Edit`s at positions once it has them, so a fixed
file differs from the original only in the changed or inserted lines: indentation, comments
and the rest of the formatting stay as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from tfcollections.lint.finding import Edit, Fix


@dataclass(frozen=True)
class Replace:
    """Replace the code of `node` with `code`."""

    node: cst.CSTNode
    code: str


@dataclass(frozen=True)
class Insert:
    """Insert the line `code` before (or `after`) the statement `statement`, at its indentation."""

    statement: cst.CSTNode
    code: str
    after: bool = False


@dataclass(frozen=True)
class NodeFix:
    """What a rule reports as a finding's fix; see `finding.Fix` for `safe`."""

    message: str
    safe: bool
    changes: tuple[Replace | Insert, ...]


def resolve(
    fix: NodeFix, positions: Mapping[cst.CSTNode, CodeRange], lines: Sequence[str], newline: str
) -> Fix | None:
    """`fix` as text edits, given the positions of the tree's nodes, the file's lines and its
    line ending; None when a statement to insert at shares its line with other code
    (`if x: y = 1`) or is not in this file."""
    edits = []
    for change in fix.changes:
        node = change.node if isinstance(change, Replace) else change.statement
        if node not in positions:
            return None
        where: CodeRange = positions[node]
        start, end = where.start, where.end
        if isinstance(change, Replace):
            edits.append(Edit(start.line, start.column + 1, end.line, end.column + 1, change.code))
            continue
        indent = lines[start.line - 1][: start.column]
        rest = lines[end.line - 1][end.column :].split("#")[0]
        if indent.strip() or (change.after and rest.strip()):
            return None
        line = end.line + 1 if change.after else start.line
        edits.append(Edit(line, 1, line, 1, f"{indent}{change.code}{newline}"))
    return Fix(fix.message, fix.safe, tuple(edits))


def apply(text: str, edits: Iterable[Edit]) -> tuple[str, int]:
    """`text` with `edits` made, skipping any that overlaps one already made; and how many
    were skipped (the caller lints again and fixes what remains)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        if line > len(lines):
            return len(text)
        return starts[line - 1] + column - 1

    spans = sorted(
        (offset(e.line, e.column), offset(e.end_line, e.end_column), e.content) for e in edits
    )
    kept, skipped, reached = [], 0, -1
    for start, end, content in spans:
        if start < reached or (start == reached and start != end):
            skipped += 1
            continue
        kept.append((start, end, content))
        reached = end
    for start, end, content in reversed(kept):
        if start == len(text) and text and not text.endswith("\n"):
            content = "\n" + content
        text = text[:start] + content + text[end:]
    return text, skipped


class Tree:
    """Parents and enclosing statements of a module's nodes, worked out once when a rule
    needs them (only for files with a finding that may have a fix)."""

    def __init__(self, module: cst.Module) -> None:
        self._parents: dict[int, cst.CSTNode] = {}
        pending: list[cst.CSTNode] = [module]
        while pending:
            node = pending.pop()
            for child in node.children:
                self._parents[id(child)] = node
                pending.append(child)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(id(node))

    def statement(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        """The statement (a simple statement line or a compound statement) holding `node`."""
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.BaseStatement):
            current = self.parent(current)
        return current

    def block(self, statement: cst.BaseStatement) -> Sequence[cst.BaseStatement]:
        """The statements of the block `statement` is in, itself included."""
        parent = self.parent(statement)
        body = getattr(parent, "body", ())
        return body if isinstance(body, Sequence) else ()

    def scope(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The function (or None: the module) whose code `node` is."""
        current = self.parent(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda)):
            current = self.parent(current)
        return current
