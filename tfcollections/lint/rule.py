"""The base class of every tfc-lint rule, and the record of a finding.

A rule is a LibCST batchable visitor: the engine parses a file once and runs every selected
rule in one traversal, with the shared `Flow` answering scope and ordering questions. A rule
records nodes with `report()` while visiting, or decides in `finish()` once the whole file has
been seen (for "did X happen after Y" questions). Its docstring is its documentation; its VALID
and INVALID snippets are its tests (in INVALID, a line ending in `# <- CODE` must be reported).
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from tfcollections.lint.analysis.summaries import Remote
from tfcollections.lint.fixes import NodeFix
from tfcollections.lint.flow import Flow
from tfcollections.lint.precheck import passes


class LintRule(cst.BatchableCSTVisitor):
    """Subclass with `code`, `name`, `MESSAGE`, `PRECHECK`, `VALID` and `INVALID`."""

    code: ClassVar[str]
    name: ClassVar[str]
    MESSAGE: ClassVar[str]
    PRECHECK: ClassVar[tuple[tuple[bytes, ...], ...]] = ()
    """Groups of lower-case byte strings: a file can hold a finding only if, for every group,
    its lower-cased text contains one of them. Files that fail are not parsed at all."""
    FOLLOWS_PROJECT: ClassVar[bool] = False
    """The rule's analysis follows calls into the project's other modules, so a pre-check
    group the file lacks may be met by the modules it imports: by a pattern of the same group
    of PROJECT_PRECHECK (regular expressions over lower-case code without docstrings and
    comments: narrower than words, the module must do it, not mention it)."""
    PROJECT_PRECHECK: ClassVar[tuple[tuple[bytes, ...], ...]] = ()
    VALID: ClassVar[list[str]] = []
    INVALID: ClassVar[list[str]] = []
    KERAS: ClassVar[dict[int, str]] = {}
    """What each Keras major version does, for rules where they differ (the rule's page and
    `tfc-lint rule CODE` show it side by side)."""
    FIX: ClassVar[tuple[str, str] | tuple[()]] = ()
    """("safe" or "unsafe", what the fix does and when it is offered), for rules that fix."""
    FIXED: ClassVar[list[tuple[str, str]]] = []
    """(code with a finding, the same code after `tfc-lint --fix --unsafe-fixes`): the rule's
    fixes, tested like VALID and INVALID (the fixed code must lint clean)."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow
        self.reports: list[tuple[cst.CSTNode | Remote, str, NodeFix | None]] = []

    @classmethod
    def may_apply(cls, lowered_source: bytes, reached: frozenset[bytes] = frozenset()) -> bool:
        """The cheap text pre-check: False means the file cannot contain a finding. `reached`
        are the PROJECT_PRECHECK patterns found in the project modules the file imports. A rule
        may narrow it; PRECHECK must still hold for every file it lets through (the warm path
        decides from PRECHECK alone, see `precheck`)."""
        return passes(cls.PRECHECK, cls.PROJECT_PRECHECK, lowered_source, reached)

    @classmethod
    def summary(cls) -> str:
        """The first line of the rule's docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0]

    def report(
        self, node: cst.CSTNode | Remote, message: str | None = None, fix: NodeFix | None = None
    ) -> None:
        """Report at `node`, or, for a `Remote`, at the call that leads to it; `fix` changes
        this file's code only."""
        self.reports.append((node, message or self.MESSAGE, fix))

    def finish(self) -> None:
        """Called once after the traversal; override to report from collected places."""
