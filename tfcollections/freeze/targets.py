"""Which candidate variables a freeze target names; shared by the graph and Keras wrappers.

A target is a variable, a string, or a list of them. A string with glob characters is matched
against the whole name (`"discriminator/*"`); a plain string matches a whole name, the name with
`:0`, or any `/`-separated segment of it, so a layer or scope name selects everything under it.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Sequence
from typing import Any

from tfcollections.errors import UnknownTargetError

_GLOB_CHARS = frozenset("*?[")


def select(
    targets: Any,
    candidates: Sequence[Any],
    name_of: Callable[[Any], str],
    expand: Callable[[Any], list | None] = lambda target: None,
    same: Callable[[Any, Any], bool] = lambda target, candidate: target is candidate,
) -> list[bool]:
    """A mask over `candidates`: True where one of `targets` names that candidate.

    `expand` turns a container target (a Keras layer or model) into its variables, or returns
    None for anything else; `same` says whether a target variable is a candidate (identity by
    default: Keras variables wrap TF ones). Raises UnknownTargetError, listing close names,
    for a target that matches no candidate.
    """
    chosen = [False] * len(candidates)
    names = [name_of(candidate) for candidate in candidates]
    for target in _flatten(targets):
        expanded = expand(target)
        variables = [target] if expanded is None else expanded
        hits = [
            index
            for index, candidate in enumerate(candidates)
            if any(_names(variable, candidate, names[index], same) for variable in variables)
        ]
        if not hits and (expanded is None or expanded):
            raise UnknownTargetError(_unknown_message(target, names, name_of))
        for index in hits:
            chosen[index] = True
    return chosen


def _flatten(targets: Any) -> list:
    if isinstance(targets, (list, tuple, set, frozenset)):
        return [leaf for target in targets for leaf in _flatten(target)]
    return [targets]


def _names(target: Any, candidate: Any, name: str, same: Callable[[Any, Any], bool]) -> bool:
    if not isinstance(target, str):
        return same(target, candidate)
    if _GLOB_CHARS & set(target):
        return fnmatch.fnmatchcase(name, target)
    return name == target or name == target.removesuffix(":0") or target in name.split("/")


def _unknown_message(target: Any, names: list[str], name_of: Callable[[Any], str]) -> str:
    shown = target if isinstance(target, str) else _safe_name(target, name_of)
    close = difflib.get_close_matches(shown, names, n=5, cutoff=0.4) or names[:5]
    listing = ", ".join(close) if close else "none: no candidate variables"
    return f"freeze target {shown!r} matches no candidate variable; close names: {listing}"


def _safe_name(target: Any, name_of: Callable[[Any], str]) -> str:
    try:
        return name_of(target)
    except (AttributeError, TypeError):
        return repr(target)
