"""Print findings as text, JSON, GitHub annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tfcollections.lint.finding import Finding

FORMATS = ("text", "json", "github", "sarif")


def render(
    findings: Sequence[Finding],
    fmt: str,
    rules: dict[str, str],
    version: str,
    *,
    unsafe: bool = False,
    urls: dict[str, str] | None = None,
) -> str:
    """`findings` in format `fmt`; `rules` maps each code to its one-line summary, `urls` to
    its documentation. In text, `[*]` marks a finding whose fix `--fix` applies (unsafe ones
    only with `unsafe`); JSON and SARIF carry every fix with its applicability."""
    urls = urls or {}
    if fmt == "json":
        return json.dumps([_as_dict(finding, urls) for finding in findings], indent=2)
    if fmt == "github":
        return "\n".join(
            f"::error file={f.path},line={f.line},col={f.column},title={f.code}::{f.message}"
            for f in findings
        )
    if fmt == "sarif":
        return json.dumps(_sarif(findings, rules, version, urls), indent=2)
    return "\n".join(
        f"{f.path}:{f.line}:{f.column}: {f.code} {'[*] ' if _applies(f, unsafe) else ''}{f.message}"
        for f in findings
    )


def fixable(findings: Sequence[Finding], unsafe: bool) -> str:
    """Ruff's line under the findings: how many `--fix` would fix, and how many more
    `--unsafe-fixes` would; "" when none has a fix."""
    applicable = sum(_applies(f, unsafe) for f in findings)
    hidden = sum(bool(f.fix) for f in findings) - applicable
    fixes = "fixes" if hidden > 1 else "fix"
    more = f"{hidden} hidden {fixes} can be enabled with the `--unsafe-fixes` option"
    if applicable:
        return f"[*] {applicable} fixable with the `--fix` option" + (
            f" ({more})." if hidden else "."
        )
    return f"No fixes available ({more})." if hidden else ""


def _applies(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.safe or unsafe)


def statistics(findings: Sequence[Finding], names: dict[str, str]) -> str:
    """A table of how many findings each code has, most first."""
    from collections import Counter

    counts = Counter(finding.code for finding in findings)
    rows = [(count, code, names.get(code, "")) for code, count in counts.most_common()]
    from tabulate import tabulate  # only with --statistics: every other run starts faster

    return tabulate(rows, headers=["count", "code", "rule"])


def _as_dict(finding: Finding, urls: dict[str, str]) -> dict:
    fix = finding.fix
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "code": finding.code,
        "message": finding.message,
        "url": urls.get(finding.code),
        "fix": fix
        and {
            "applicability": "safe" if fix.safe else "unsafe",
            "message": fix.message,
            "edits": [
                {
                    "content": edit.content,
                    "location": {"row": edit.line, "column": edit.column},
                    "end_location": {"row": edit.end_line, "column": edit.end_column},
                }
                for edit in fix.edits
            ],
        },
    }


def _sarif_fix(finding: Finding) -> list[dict]:
    if finding.fix is None:
        return []
    replacements = [
        {
            "deletedRegion": {
                "startLine": edit.line,
                "startColumn": edit.column,
                "endLine": edit.end_line,
                "endColumn": edit.end_column,
            },
            "insertedContent": {"text": edit.content},
        }
        for edit in finding.fix.edits
    ]
    return [
        {
            "description": {"text": finding.fix.message},
            "artifactChanges": [
                {"artifactLocation": {"uri": finding.path}, "replacements": replacements}
            ],
            "properties": {"applicability": "safe" if finding.fix.safe else "unsafe"},
        }
    ]


def _sarif(
    findings: Sequence[Finding], rules: dict[str, str], version: str, urls: dict[str, str]
) -> dict:
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
                            {
                                "id": code,
                                "shortDescription": {"text": summary},
                                **({"helpUri": urls[code]} if code in urls else {}),
                            }
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
                        **({"fixes": _sarif_fix(f)} if f.fix else {}),
                    }
                    for f in findings
                ],
            }
        ],
    }
