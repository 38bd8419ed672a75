"""The text pre-check, as plain data: a file can hold a rule's finding only if, for each of
the rule's word groups, its lower-cased text holds one of the words, or (for a rule that
follows the project) a module it imports holds one of the group's patterns. Shared by
`LintRule.may_apply` and by the warm path, which asks it without importing any rule."""

from __future__ import annotations

Groups = tuple[tuple[bytes, ...], ...]


def passes(
    precheck: Groups,
    project_precheck: Groups,
    lowered: bytes,
    reached: frozenset[bytes] = frozenset(),
) -> bool:
    """Whether `lowered` (a file's lower-cased bytes) passes; `reached` are the
    `project_precheck` patterns found in the project modules the file imports."""
    elsewhere = project_precheck or tuple(() for _ in precheck)
    return all(
        any(word in lowered for word in here) or any(word in reached for word in there)
        for here, there in zip(precheck, elsewhere)
    )
