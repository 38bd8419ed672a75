"""Lint many files: read and hash each once, answer from the cache, parse the rest in parallel.

Rule codes come from the entry-point names, so a warm run imports neither LibCST nor a rule.
With imports followed, each file is linted with the `Project` of its folder, and the module
files it read are kept with its findings.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tfcollections import __version__
from tfcollections.lint.cache import Cache, Dependencies, content_key
from tfcollections.lint.finding import PARSE_ERROR, Finding
from tfcollections.lint.registry import load_selected
from tfcollections.lint.snapshot import Snapshot

if TYPE_CHECKING:
    from tfcollections.lint.analysis.modules import Resolver
    from tfcollections.lint.analysis.summaries import Project
    from tfcollections.lint.config import Follow

Linted = tuple[list[Finding], Dependencies]


def lint_files(
    files: Sequence[Path],
    codes: Sequence[str],
    *,
    jobs: int,
    cache_folder: Path | None,
    keras: str = "auto",
    follow: Follow | None = None,
    snapshot: Snapshot | None = None,
) -> list[Finding]:
    """Findings of the rules `codes` (plus TFC000) in `files`, sorted; `keras` is the Keras
    version setting ("auto", "2", "3"); `follow` how far imports are followed (None: not);
    `snapshot` what is known of the rules and the projects' Keras (taken from the cache
    folder when not given). A file that cannot hold a finding is answered from the rules'
    pre-checks alone: neither the cache nor LibCST is loaded for it."""
    _forget_earlier_runs()
    snapshot = snapshot or Snapshot.take(cache_folder, tuple(codes))
    cache: Cache | None = None
    findings: list[Finding] = []
    misses: list[tuple[str, str, bytes]] = []
    for path in files:
        shown = os.path.normpath(path)
        try:
            source = path.read_bytes()
        except OSError as error:
            findings.append(_unreadable(shown, error))
            continue
        if not _may_hold(snapshot, codes, path, source, follow):
            continue
        if cache is None and cache_folder is not None:
            cache = Cache(cache_folder, _fingerprint(codes, snapshot, keras, follow))
        key = content_key(source)
        if follow is not None:  # where a file is decides which modules it imports
            key = f"{key}:{os.path.abspath(path)}"
        if keras == "auto":  # and which Keras its project declares or has installed
            key = f"{key}:{snapshot.keras_environment(path.parent.resolve())}"
        cached = cache.get(key) if cache else None
        if cached is None:
            misses.append((shown, key, source))
        else:
            findings.extend(Finding.from_row(shown, row) for row in cached)
    files_and_sources = [(shown, source) for shown, _, source in misses]
    linted = _lint_misses(files_and_sources, codes, jobs, keras, follow)
    for (_, key, _), (found, modules) in zip(misses, linted):
        findings.extend(found)
        if cache:
            cache.put(key, [finding.as_row() for finding in found], modules)
    if cache:
        cache.save()
    snapshot.save(cache_folder)
    return sorted(findings)


def _forget_earlier_runs() -> None:
    """What earlier runs of this process read may have changed (the modules are not
    imported otherwise: a warm run imports no LibCST)."""
    summaries = sys.modules.get("tfcollections.lint.analysis.summaries")
    if summaries is not None:
        summaries.forget()
    reach = sys.modules.get("tfcollections.lint.analysis.reach")  # imported by summaries too
    if reach is not None:
        reach.forget()
        _resolver.cache_clear()
        _resolver_of_root.cache_clear()
    keras_target = sys.modules.get("tfcollections.lint.keras_target")
    if keras_target is not None:  # the project's declarations may have changed too
        keras_target.forget()


def _may_hold(
    snapshot: Snapshot, codes: Sequence[str], path: Path, source: bytes, follow: Follow | None
) -> bool:
    """The engine's pre-check, from the snapshot: False means the file has no finding."""
    if b"\0" in source:  # reported as TFC000 by the engine
        return True
    lowered = source.lower()
    chosen = list(codes)
    if snapshot.may_hold(chosen, lowered, frozenset()):
        return True
    patterns = snapshot.reach_patterns(chosen, lowered) if follow is not None else frozenset()
    if not patterns:
        return False
    from tfcollections.lint.analysis.reach import ProjectText

    assert follow is not None
    text = ProjectText(path, _resolver(path.parent.resolve()), follow)
    return snapshot.may_hold(chosen, lowered, text.reachable_words(source, patterns))


@dataclass(frozen=True)
class Fixed:
    """A file whose findings' fixes were applied in memory: its bytes before and after."""

    path: Path
    before: bytes
    after: bytes
    count: int


def fix_files(
    findings: Sequence[Finding],
    codes: Sequence[str],
    *,
    unsafe: bool,
    selected: Callable[[Finding], bool],
    keras: str = "auto",
    follow: Follow | None = None,
) -> tuple[list[Fixed], list[Finding]]:
    """The files among `findings` that have applicable fixes, fixed in memory (the caller
    writes them or shows the diff), and the findings after the fixes (all of `findings` for
    the other files). Only findings `selected` are fixed and returned."""
    fixable = {f.path for f in findings if selected(f) and f.fix and (f.fix.safe or unsafe)}
    if not fixable:
        return [], [f for f in findings if selected(f)]
    from tfcollections.lint.engine import fix_source

    _init_worker(codes, keras, follow)
    fixed, after = [], [f for f in findings if f.path not in fixable and selected(f)]
    for shown in sorted(fixable):
        path = Path(shown)
        before = path.read_bytes()
        project = _project(path) if follow is not None else None
        source, count, remaining = fix_source(
            before, shown, _worker_rules, unsafe=unsafe, keras=keras, project=project,
            selected=selected,
        )  # fmt: skip
        after.extend(remaining)
        if source != before:
            fixed.append(Fixed(path, before, source, count))
    return fixed, sorted(after)


def _fingerprint(
    codes: Sequence[str], snapshot: Snapshot, keras: str, follow: Follow | None
) -> str:
    parts = [f"tfc-lint {__version__}", f"keras {keras}", f"follow {follow}"]
    for code in sorted(codes):
        facts = snapshot.rules[code]
        parts.append(f"{code}={facts.entry}@{facts.version}")
    return "\n".join(parts)


_worker_rules: list = []
_worker_keras = "auto"
_worker_follow: Follow | None = None


def _init_worker(codes: Sequence[str], keras: str, follow: Follow | None) -> None:
    global _worker_rules, _worker_keras, _worker_follow
    _worker_rules = load_selected(codes)
    _worker_keras = keras
    _worker_follow = follow


def _lint_one(path_and_source: tuple[str, bytes]) -> Linted:
    """Lint bytes already read (and hashed) by the parent: one read a file, no race. Gives
    the findings and the project modules they were computed from."""
    from tfcollections.lint.engine import lint_source

    path, source = path_and_source
    project = _project(Path(path)) if _worker_follow is not None else None
    found = lint_source(source, path, _worker_rules, keras=_worker_keras, project=project)
    return found, (project.read if project is not None else {})


@functools.cache
def _resolver(folder: Path) -> Resolver:
    """The resolver of a folder's project: one per project root, its lookups cached."""
    from tfcollections.lint.analysis.modules import project_root

    return _resolver_of_root(project_root(folder))


@functools.cache
def _resolver_of_root(root: Path) -> Resolver:
    from tfcollections.lint.analysis.modules import Resolver

    return Resolver(root)


def _project(path: Path) -> Project:
    from tfcollections.lint.analysis.summaries import Project

    assert _worker_follow is not None
    return Project(path, _resolver(path.parent.resolve()), _worker_follow)


def _unreadable(path: str, error: OSError) -> Finding:
    return Finding(path, 1, 1, PARSE_ERROR, f"cannot read: {error.strerror or error}")


def _lint_misses(
    files: list[tuple[str, bytes]],
    codes: Sequence[str],
    jobs: int,
    keras: str,
    follow: Follow | None,
) -> list[Linted]:
    if not files:
        return []
    _init_worker(codes, keras, follow)  # loaded before forking: workers inherit the rules
    if jobs <= 1 or len(files) < 4 * jobs:
        return [_lint_one(file) for file in files]
    import multiprocessing  # only for a parallel run: its import costs a warm run's time
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, len(files) // (jobs * 8))
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(tuple(codes), keras, follow),
    ) as pool:
        return list(pool.map(_lint_one, files, chunksize=chunk))
