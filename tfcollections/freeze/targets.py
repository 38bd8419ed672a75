"""Which candidate variables a freeze target names; shared by the graph and Keras wrappers.

A target is a variable, a string, or a list of them. A string with glob characters is matched
against the whole name (`"discriminator/*"`); a plain string matches a whole name, the name with
`:0`, or any `/`-separated segment of it, so a layer or scope name selects everything under it.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tfcollections.errors import UnknownTargetError

_GLOB_CHARS = frozenset("*?[")


def select(
    targets: Any,
    candidates: Sequence[Any],
    name_of: Callable[[Any], str],
    expand: Callable[[Any], list | None] = lambda target: None,
    aliases: Callable[[Any], Iterable[Any]] = lambda candidate: (candidate,),
) -> list[bool]:
    """A mask over `candidates`: True where one of `targets` names that candidate.

    `expand` turns a container target (a Keras layer or model) into its variables, or returns
    None for anything else; `aliases` gives the objects that stand for a candidate (a Keras
    variable and the TF variable it wraps). Raises UnknownTargetError, listing close names,
    for a target that matches no candidate.
    """
    chosen = [False] * len(candidates)
    names = [name_of(candidate) for candidate in candidates]
    by_identity = {
        id(alias): index
        for index, candidate in enumerate(candidates)
        for alias in aliases(candidate)
    }
    for target in _flatten(targets):
        expanded = expand(target)
        hits: list[int] = []
        for variable in [target] if expanded is None else expanded:
            if isinstance(variable, str):
                hits += [index for index, name in enumerate(names) if _names(variable, name)]
            elif id(variable) in by_identity:
                hits.append(by_identity[id(variable)])
        if not hits and (expanded is None or expanded):
            raise UnknownTargetError(_unknown_message(target, names, name_of))
        for index in hits:
            chosen[index] = True
    return chosen


def _flatten(targets: Any) -> list:
    if isinstance(targets, (list, tuple, set, frozenset)):
        return [leaf for target in targets for leaf in _flatten(target)]
    return [targets]


def _names(pattern: str, name: str) -> bool:
    if _GLOB_CHARS & set(pattern):
        return fnmatch.fnmatchcase(name, pattern)
    return name == pattern or name == pattern.removesuffix(":0") or pattern in name.split("/")


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
