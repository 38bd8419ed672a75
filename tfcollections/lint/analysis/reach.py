"""The project as text: what the pre-checks need of the modules a file imports, without
parsing anything (no LibCST here, so a run whose files cannot hold a finding never loads it).

`ProjectText` reads each module file once, records it as a dependency of the linted file's
findings, strips docstrings and comments, and finds which pre-check patterns the modules the
file reaches through its imports hold (`reachable_words`). `summaries.Project` builds on it.
"""

from __future__ import annotations

import re
from pathlib import Path

from tfcollections.lint.analysis.modules import Resolver
from tfcollections.lint.cache import content_key
from tfcollections.lint.config import Follow

Dependency = tuple[str, int, int]
"""A module file a linted file's findings depend on: its content key, size and mtime (ns)."""
_PROSE = re.compile(rb'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|#[^\n]*')


def without_prose(source: bytes) -> bytes:
    """`source` without docstrings and comments, told from code without parsing (near enough
    for a pre-check): a docstring's `model.fit(x)` runs nothing."""
    return _PROSE.sub(b"", source)


_Scan = tuple[frozenset[bytes], tuple[Path, ...]]  # words found, project files imported
_uses: dict[Path, tuple[Path, ...]] = {}
_scanned: dict[
    tuple[Path, frozenset[bytes]], tuple[Dependency, frozenset[bytes], tuple[Path, ...]]
] = {}


def forget() -> None:
    """Start a run afresh: modules are scanned once a run (in each process)."""
    _scanned.clear()
    _uses.clear()


class ProjectText:
    """The module files one linted file reaches, as text."""

    def __init__(self, entry: Path, resolver: Resolver, follow: Follow) -> None:
        self.entry = entry
        self.resolver = resolver
        self.follow = follow
        self.read: dict[str, Dependency] = {}  # every module file read, by path
        self._sources: dict[Path, bytes | None] = {}
        self._words: dict[frozenset[bytes], frozenset[bytes]] = {}
        self._code: dict[Path, bytes | None] = {}

    def source(self, path: Path) -> bytes | None:
        """A module file's bytes, read once and recorded as a dependency; None past the
        module limit or when it cannot be read."""
        if path in self._sources:
            return self._sources[path]
        source = None
        if len(self.read) < self.follow.modules:
            try:
                status = path.stat()  # before the read: a later change shows as a new stat
                source = path.read_bytes()
            except OSError:
                pass
            else:
                self.read[str(path)] = (content_key(source), status.st_size, status.st_mtime_ns)
        self._sources[path] = source
        return source

    def reachable_words(self, source: bytes, words: frozenset[bytes]) -> frozenset[bytes]:
        """Which of `words` (patterns, see `LintRule.PROJECT_PRECHECK`) the code of the project
        modules the entry file may reach through its imports (to `follow.depth` hops) holds:
        what the rules' pre-checks may also find there. Each module is scanned once a run
        (see `forget`)."""
        if words not in self._words:
            self._words[words] = self._scan_reachable(source, words)
        return self._words[words]

    def _scan_reachable(self, source: bytes, words: frozenset[bytes]) -> frozenset[bytes]:
        seen: set[Path] = {self.entry}
        found: set[bytes] = set()
        frontier = list(self.resolver.imported_files(self.entry, source))
        for _ in range(self.follow.depth):
            following = []
            for path in frontier:
                if path in seen:
                    continue
                seen.add(path)
                scanned = self._scan(path, words)
                if scanned is not None:
                    found |= scanned[0]
                    following.extend(scanned[1])
            frontier = following
        return frozenset(found)

    def _scan(self, path: Path, words: frozenset[bytes]) -> _Scan | None:
        key = (path, words)
        scanned = _scanned.get(key)
        if scanned is None:
            source, code = self.source(path), self.code(path)
            if source is None or code is None:
                return None
            found = frozenset(word for word in words if re.search(word, code))
            scanned = _scanned[key] = (self.read[str(path)], found, self._uses(path, source))
        elif str(path) in self.read or len(self.read) < self.follow.modules:
            self.read[str(path)] = scanned[0]
        else:
            return None
        return scanned[1], scanned[2]

    def code(self, path: Path) -> bytes | None:
        """A module's lower-case text without docstrings and comments (see `source`)."""
        if path not in self._code:
            source = self.source(path)
            self._code[path] = None if source is None else without_prose(source).lower()
        return self._code[path]

    def _uses(self, path: Path, source: bytes) -> tuple[Path, ...]:
        """The project modules a module uses (`Resolver.imported_files`), once a run."""
        found = _uses.get(path)
        if found is None:
            found = _uses[path] = tuple(self.resolver.imported_files(path, source))
        return found
