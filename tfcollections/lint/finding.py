"""The record of one finding, and the engine's own code for unreadable files (no LibCST here,
so that a warm, all-cached run never imports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PARSE_ERROR = "TFC000"
PARSE_ERROR_NAME = "parse-error"
PARSE_ERROR_SUMMARY = "The file could not be read or parsed; the other files are still linted."


@dataclass(frozen=True)
class Edit:
    """Replace the text from (`line`, `column`) up to (`end_line`, `end_column`) with
    `content`: 1-based lines and columns (in characters), the end excluded, as Ruff's."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Fix:
    """How to fix a finding. `safe`: the fixed code does what the original meant to do, and
    nothing else changes; unsafe: it changes what the program does (for these rules, usually
    which layers train), so it is applied only with `--unsafe-fixes`."""

    message: str
    safe: bool
    edits: tuple[Edit, ...]

    def as_row(self) -> list[Any]:
        return [self.message, self.safe, [list(vars(edit).values()) for edit in self.edits]]

    @classmethod
    def from_row(cls, row: list[Any]) -> Fix:
        message, safe, edits = row
        return cls(message, safe, tuple(Edit(*edit) for edit in edits))


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem; sorts by path, line, column, code."""

    path: str
    line: int
    column: int
    code: str
    message: str
    fix: Fix | None = field(default=None, compare=False)

    def as_row(self) -> list[Any]:
        """The cache's record of it, without the path."""
        fix = self.fix.as_row() if self.fix else None
        return [self.line, self.column, self.code, self.message, fix]

    @classmethod
    def from_row(cls, path: str, row: list[Any]) -> Finding:
        line, column, code, message, fix = row
        return cls(path, line, column, code, message, Fix.from_row(fix) if fix else None)
