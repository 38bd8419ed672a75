"""A rule's documentation, from the rule class alone: its docstring, what each Keras does,
its fix and its VALID / INVALID / FIXED examples. `tfc-lint rule CODE` prints it and the
documentation site's rule pages are generated from it, so the two never drift."""

from __future__ import annotations

import inspect
import textwrap

from tfcollections.lint.rule import LintRule


def rule_page(rule: type[LintRule], url: str | None = None) -> str:
    """The rule's page as Markdown."""
    summary, _, explanation = inspect.cleandoc(rule.__doc__ or "").partition("\n")
    parts = [f"# {rule.code} {rule.name}", "", summary.strip(), "", explanation.strip()]
    if rule.KERAS:
        parts += ["", "## Keras 2 and Keras 3", "", "| Keras | what it does |", "| --- | --- |"]
        parts += [f"| {major} | {text} |" for major, text in sorted(rule.KERAS.items())]
    if rule.FIX:
        applicability, text = rule.FIX
        parts += ["", f"## Fix ({applicability})", "", text]
    else:
        parts += ["", "## Fix", "", "None: what to change depends on what the code means."]
    for title, examples in (("Valid", rule.VALID), ("Invalid", rule.INVALID)):
        parts += ["", f"## {title} code", ""]
        parts += [_code(example) for example in examples]
    if rule.FIXED:
        parts += ["", "## Fixed by `tfc-lint --fix --unsafe-fixes`", ""]
        for before, after in rule.FIXED:
            parts += ["Before:", "", _code(before), "After:", "", _code(after)]
    if url:
        parts += ["", f"<{url}>"]
    return "\n".join(parts).rstrip() + "\n"


def _code(example: str) -> str:
    return f"```python\n{textwrap.dedent(example).strip()}\n```\n"
