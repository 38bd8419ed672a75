"""Lint many files: read and hash each once, answer from the cache, parse the rest in parallel.

Rule codes come from the entry-point names, so a warm run imports neither LibCST nor a rule.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import EntryPoint
from pathlib import Path

from tfcollections import __version__
from tfcollections.lint.cache import Cache, content_key
from tfcollections.lint.finding import PARSE_ERROR, Finding
from tfcollections.lint.registry import load_selected, rule_entry_points


def lint_files(
    files: Sequence[Path],
    codes: Sequence[str],
    *,
    jobs: int,
    cache_folder: Path | None,
    keras: str = "auto",
) -> list[Finding]:
    """Findings of the rules `codes` (plus TFC000) in `files`, sorted; `keras` is the Keras
    version setting ("auto", "2", "3")."""
    entries = rule_entry_points()
    cache = Cache(cache_folder, _fingerprint(codes, entries, keras)) if cache_folder else None
    findings: list[Finding] = []
    misses: list[tuple[str, str, bytes]] = []
    for path in files:
        shown = os.path.normpath(path)
        try:
            source = path.read_bytes()
        except OSError as error:
            findings.append(_unreadable(shown, error))
            continue
        key = content_key(source)
        cached = cache.get(key) if cache else None
        if cached is None:
            misses.append((shown, key, source))
        else:
            findings.extend(Finding(shown, *row) for row in cached)
    linted = _lint_misses([(shown, source) for shown, _, source in misses], codes, jobs, keras)
    for (_, key, _), found in zip(misses, linted):
        findings.extend(found)
        if cache:
            cache.put(key, [[f.line, f.column, f.code, f.message] for f in found])
    if cache:
        cache.save()
    return sorted(findings)


def _fingerprint(codes: Sequence[str], entries: dict[str, EntryPoint], keras: str) -> str:
    if keras == "auto":  # what auto decides with also depends on what is installed
        from tfcollections.lint.keras_target import environment

        keras = f"auto ({environment()})"
    parts = [f"tfc-lint {__version__}", f"keras {keras}"]
    for code in sorted(codes):
        entry = entries[code]
        dist = entry.dist.version if entry.dist is not None else "?"
        parts.append(f"{code}={entry.value}@{dist}")
    return "\n".join(parts)


_worker_rules: list = []
_worker_keras = "auto"


def _init_worker(codes: Sequence[str], keras: str) -> None:
    global _worker_rules, _worker_keras
    _worker_rules = load_selected(codes)
    _worker_keras = keras


def _lint_one(path_and_source: tuple[str, bytes]) -> list[Finding]:
    """Lint bytes already read (and hashed) by the parent: one read a file, no race."""
    from tfcollections.lint.engine import lint_source

    path, source = path_and_source
    return lint_source(source, path, _worker_rules, keras=_worker_keras)


def _unreadable(path: str, error: OSError) -> Finding:
    return Finding(path, 1, 1, PARSE_ERROR, f"cannot read: {error.strerror or error}")


def _lint_misses(
    files: list[tuple[str, bytes]], codes: Sequence[str], jobs: int, keras: str
) -> list[list[Finding]]:
    if not files:
        return []
    _init_worker(codes, keras)  # loaded before forking, so workers inherit the parsed rules
    if jobs <= 1 or len(files) < 4 * jobs:
        return [_lint_one(file) for file in files]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, len(files) // (jobs * 8))
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(tuple(codes), keras),
    ) as pool:
        return list(pool.map(_lint_one, files, chunksize=chunk))
