"""Findings cached per file content, so a warm run parses nothing.

Keyed by the hash of the file's bytes (and its path, when imports are followed) inside a store
keyed by the tool version and the selected rules (each rule's code, import path and package
version): change any of them and the old entries no longer apply. An entry also records the
project modules its findings were computed from (content key, size, mtime): it holds while
each of them is unchanged, which a matching size and mtime tell without reading it. One JSON
file per configuration, replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_FOLDER = ".tfc-lint-cache"
_MAX_ENTRIES = 100_000
_FORMAT = "rows with fixes"  # change it when the rows change

Rows = list[list]  # [Finding.as_row(), ...]
Dependencies = dict[str, tuple[str, int, int]]  # path -> (content key, size, mtime_ns)


def content_key(source: bytes) -> str:
    return hashlib.blake2b(source, digest_size=16).hexdigest()


class Cache:
    """A findings store for one configuration, read once and written once per run."""

    def __init__(self, folder: Path, configuration: str) -> None:
        configuration = f"{_FORMAT}\n{configuration}"
        digest = hashlib.blake2b(configuration.encode(), digest_size=8).hexdigest()
        self._path = folder / CACHE_FOLDER / f"findings-{digest}.json"
        self._entries: dict[str, dict] = {}
        self._dirty = False
        try:
            loaded = json.loads(self._path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, ValueError):
            pass  # no cache yet, or a damaged one: start afresh

    def get(self, key: str) -> Rows | None:
        """The findings stored for `key`, if every module they were computed from is as it
        was then."""
        entry = self._entries.get(key)
        if not isinstance(entry, dict) or not all(
            _unchanged(path, *recorded) for path, recorded in entry.get("modules", {}).items()
        ):
            return None
        return entry.get("findings")

    def put(self, key: str, rows: Rows, modules: Dependencies) -> None:
        self._entries[key] = {"findings": rows, "modules": modules}
        self._dirty = True

    def save(self) -> None:
        """Write the store if it changed; a read-only folder just means no cache."""
        if not self._dirty:
            return
        entries: dict[str, dict] = self._entries
        if len(entries) > _MAX_ENTRIES:
            entries = dict(list(entries.items())[-_MAX_ENTRIES:])
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            (self._path.parent / ".gitignore").write_text("*\n", encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(entries, stream, separators=(",", ":"))
            os.replace(temporary, self._path)
        except OSError:
            pass


def _unchanged(path: str, key: str, size: int, mtime_ns: int) -> bool:
    try:
        status = os.stat(path)
        if status.st_size == size and status.st_mtime_ns == mtime_ns:
            return True
        with open(path, "rb") as stream:
            return content_key(stream.read()) == key
    except OSError:
        return False
