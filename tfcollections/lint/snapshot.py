"""What a run needs to know of the installed rules and of each project's Keras, remembered
between runs: most commits touch no file that can hold a finding, and such a run should end
before importing a rule, LibCST or `importlib.metadata`.

The snapshot holds each registered rule's code, entry point, package version and pre-check
word groups, and, per project root, the Keras `auto` decided and the declaration files it read
(path, size, mtime). It is keyed by the tool's version, the interpreter and the mtime of every
folder on `sys.path` (installing or removing a package changes its folder), and a root's
decision holds while its declaration files and TF_USE_LEGACY_KERAS are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tfcollections import __version__
from tfcollections.lint.cache import CACHE_FOLDER
from tfcollections.lint.keras_target import LEGACY_FLAG
from tfcollections.lint.precheck import Groups, passes


@dataclass(frozen=True)
class RuleFacts:
    """What the warm path needs of a rule without importing it."""

    entry: str  # "package.module:Class"
    version: str  # of the distribution that registers it
    precheck: Groups
    project_precheck: Groups
    follows: bool  # FOLLOWS_PROJECT
    source: tuple[str, int]  # the rule's module file and its mtime: an edited rule is re-read


class Snapshot:
    """The registered rules and the Keras decisions of the projects linted from one folder."""

    def __init__(self, rules: dict[str, RuleFacts], roots: dict[str, list[object]]) -> None:
        self.rules = rules
        self._roots = roots  # root -> [[[path, size, mtime], ...], legacy flag, environment]
        self._by_folder: dict[Path, str] = {}  # this run's answers: asked once a file
        self._dirty = False

    @classmethod
    def take(cls, folder: Path | None, codes: list[str] | tuple[str, ...] = ()) -> Snapshot:
        """The snapshot stored under `folder` (the cache's), or a new one (which imports the
        rules) saved there; `folder` None: a new one, not saved. A stored one that lacks one
        of `codes`, or whose rule modules changed since, is taken anew."""
        path = _path(folder) if folder is not None else None
        if path is not None:
            stored = _read(path)
            if stored is not None and set(codes) <= set(stored.rules) and stored._current():
                return stored
        snapshot = cls(_facts(), {})
        snapshot._dirty = True
        return snapshot

    def _current(self) -> bool:
        return all(_mtime(facts.source[0]) == facts.source[1] for facts in self.rules.values())

    def may_hold(self, codes: list[str], lowered: bytes, reached: frozenset[bytes]) -> bool:
        """Whether a file whose lower-cased bytes are `lowered` may hold a finding of one of
        `codes`, given the project patterns `reached` from its imports."""
        return any(
            passes(facts.precheck, facts.project_precheck, lowered, reached)
            for facts in (self.rules[code] for code in codes)
        )

    def reach_patterns(self, codes: list[str], lowered: bytes) -> frozenset[bytes]:
        """The project patterns worth looking for in the modules a file imports: those of the
        following rules the file's own words do not already decide."""
        return frozenset(
            pattern
            for facts in (self.rules[code] for code in codes)
            if facts.follows and not passes(facts.precheck, (), lowered)
            for group in facts.project_precheck
            for pattern in group
        )

    def keras_environment(self, folder: Path) -> str:
        """What `keras = "auto"` decides for files in `folder` (see `keras_target`), from the
        snapshot while the project's declarations are unchanged (checked once a run)."""
        if folder not in self._by_folder:
            self._by_folder[folder] = self._keras_environment(folder)
        return self._by_folder[folder]

    def _keras_environment(self, folder: Path) -> str:
        from tfcollections.lint.analysis.modules import project_root
        from tfcollections.lint.declarations import declaration_files

        root = project_root(folder)
        files = [_stat(path) for path in declaration_files(root)]
        legacy = os.environ.get(LEGACY_FLAG, "")
        stored = self._roots.get(str(root))
        if stored is not None and stored[0] == files and stored[1] == legacy:
            return str(stored[2])
        from tfcollections.lint.keras_target import environment

        decided = environment(folder)
        self._roots[str(root)] = [files, legacy, decided]
        self._dirty = True
        return decided

    def save(self, folder: Path | None) -> None:
        """Write the snapshot under `folder` if it changed; a read-only folder means none."""
        if folder is None or not self._dirty:
            return
        path = _path(folder)
        rules = {
            code: [
                f.entry,
                f.version,
                _text(f.precheck),
                _text(f.project_precheck),
                f.follows,
                list(f.source),
            ]
            for code, f in self.rules.items()
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump({"rules": rules, "roots": self._roots}, stream)
            os.replace(temporary, path)
        except OSError:
            pass


def _path(folder: Path) -> Path:
    """The snapshot's file: one per tool version, interpreter and installed packages."""
    stamp = [__version__, sys.executable]
    for entry in sys.path:
        try:
            stamp.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            stamp.append(entry)
    digest = hashlib.blake2b("\n".join(stamp).encode(), digest_size=8).hexdigest()
    return folder / CACHE_FOLDER / f"environment-{digest}.json"


def _read(path: Path) -> Snapshot | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        rules = {
            code: RuleFacts(entry, version, _bytes(pre), _bytes(pro), bool(follows), (file, mtime))
            for code, (entry, version, pre, pro, follows, (file, mtime)) in stored["rules"].items()
        }
        return Snapshot(rules, dict(stored["roots"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or damaged: take a new one


def _facts() -> dict[str, RuleFacts]:
    from tfcollections.lint.registry import load_selected, rule_entry_points

    entries = rule_entry_points()
    facts = {}
    for rule in load_selected(sorted(entries)):
        entry = entries[rule.code]
        version = entry.dist.version if entry.dist is not None else "?"
        file = sys.modules[rule.__module__].__file__ or ""
        facts[rule.code] = RuleFacts(
            entry.value, version, rule.PRECHECK, rule.PROJECT_PRECHECK, rule.FOLLOWS_PROJECT,
            (file, _mtime(file)),
        )  # fmt: skip
    return facts


def _mtime(file: str) -> int:
    try:
        return os.stat(file).st_mtime_ns
    except OSError:
        return -1


def _stat(path: Path) -> list[object]:
    try:
        status = path.stat()
    except OSError:  # gone since it was listed
        return [str(path), -1, -1]
    return [str(path), status.st_size, status.st_mtime_ns]


def _text(groups: Groups) -> list[list[str]]:
    return [[word.decode("latin-1") for word in group] for group in groups]


def _bytes(groups: list[list[str]]) -> Groups:
    return tuple(tuple(word.encode("latin-1") for word in group) for group in groups)
