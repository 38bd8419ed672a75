"""The record of one finding, and the engine's own code for unreadable files (no LibCST here,
so that a warm, all-cached run never imports it)."""

from __future__ import annotations

from dataclasses import dataclass

PARSE_ERROR = "TFC000"
PARSE_ERROR_NAME = "parse-error"
PARSE_ERROR_SUMMARY = "The file could not be read or parsed; the other files are still linted."


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem; sorts by path, line, column, code."""

    path: str
    line: int
    column: int
    code: str
    message: str
