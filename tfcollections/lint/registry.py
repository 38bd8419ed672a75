"""Find the rules: the `tfc_lint.rules` entry-point group, each entry named by its code.

The engine imports no rule by name, so another package adds rules by declaring
`[project.entry-points."tfc_lint.rules"] XYZ001 = "their_package.rules:TheirRule"`. Codes come
from the entry names, so choosing rules and keying the cache import no rule and no LibCST.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tfcollections.errors import TfCollectionsError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "tfc_lint.rules"
DOCS_URL = "https://tfcollections.readthedocs.io/en/latest/"
"""Where the documentation site (`docs/`, `make docs`) is published: mkdocs.yml's site_url."""


def rule_entry_points() -> dict[str, EntryPoint]:
    """Code -> entry point of every registered rule, without importing any."""
    from importlib.metadata import entry_points  # slow to import: only when asked

    return {entry.name.upper(): entry for entry in entry_points(group=GROUP)}


def load_selected(codes: Sequence[str]) -> list:
    """The rule classes for `codes`. A broken entry point, or one whose class is no LintRule
    or carries another code, is a TfCollectionsError naming it."""
    from tfcollections.lint.rule import LintRule

    entries = rule_entry_points()
    rules = []
    for code in codes:
        entry = entries[code]
        try:
            rule = entry.load()
        except Exception as error:  # a broken plugin must not look like a crash of ours
            raise TfCollectionsError(
                f"rule {code} ({entry.value}) failed to load: {error}"
            ) from error
        if not (isinstance(rule, type) and issubclass(rule, LintRule)) or rule.code != code:
            raise TfCollectionsError(f"rule {code} ({entry.value}) is not a LintRule coded {code}")
        rules.append(rule)
    return rules


def rule_urls() -> dict[str, str]:
    """Code -> the page of each rule tfcollections ships (`rules/tfc005/`); another
    package's rules are documented by that package."""
    return {
        code: f"{DOCS_URL}rules/{code.lower()}/"
        for code, entry in rule_entry_points().items()
        if entry.dist is not None and entry.dist.name.lower() == "tfcollections"
    }
