"""Print findings as text, JSON, GitHub annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from tfcollections.lint.finding import Finding

FORMATS = ("text", "json", "github", "sarif")


def render(findings: Sequence[Finding], fmt: str, rules: dict[str, str], version: str) -> str:
    """`findings` in format `fmt`; `rules` maps each code to its one-line summary."""
    if fmt == "json":
        return json.dumps([_as_dict(finding) for finding in findings], indent=2)
    if fmt == "github":
        return "\n".join(
            f"::error file={f.path},line={f.line},col={f.column},title={f.code}::{f.message}"
            for f in findings
        )
    if fmt == "sarif":
        return json.dumps(_sarif(findings, rules, version), indent=2)
    return "\n".join(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in findings)


def statistics(findings: Sequence[Finding], names: dict[str, str]) -> str:
    """A table of how many findings each code has, most first."""
    counts = Counter(finding.code for finding in findings)
    rows = [(count, code, names.get(code, "")) for code, count in counts.most_common()]
    from tabulate import tabulate  # only with --statistics: every other run starts faster

    return tabulate(rows, headers=["count", "code", "rule"])


def _as_dict(finding: Finding) -> dict:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "code": finding.code,
        "message": finding.message,
    }


def _sarif(findings: Sequence[Finding], rules: dict[str, str], version: str) -> dict:
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tfc-lint",
                        "version": version,
                        "rules": [
                            {"id": code, "shortDescription": {"text": summary}}
                            for code, summary in sorted(rules.items())
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": f.code,
                        "level": "error",
                        "message": {"text": f.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": f.path},
                                    "region": {"startLine": f.line, "startColumn": f.column},
                                }
                            }
                        ],
                    }
                    for f in findings
                ],
            }
        ],
    }
