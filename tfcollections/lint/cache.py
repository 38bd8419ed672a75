"""Findings cached per file content, so a warm run parses nothing.

Keyed by the hash of the file's bytes inside a store keyed by the tool version and the
selected rules (each rule's code, import path and package version): change any of them and the
old entries no longer apply. One JSON file per configuration, replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_FOLDER = ".tfc-lint-cache"
_MAX_ENTRIES = 100_000

Entry = list[list]  # [[line, column, code, message], ...]


def content_key(source: bytes) -> str:
    return hashlib.blake2b(source, digest_size=16).hexdigest()


class Cache:
    """A findings store for one configuration, read once and written once per run."""

    def __init__(self, folder: Path, configuration: str) -> None:
        digest = hashlib.blake2b(configuration.encode(), digest_size=8).hexdigest()
        self._path = folder / CACHE_FOLDER / f"findings-{digest}.json"
        self._entries: dict[str, Entry] = {}
        self._dirty = False
        try:
            loaded = json.loads(self._path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, ValueError):
            pass  # no cache yet, or a damaged one: start afresh

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def put(self, key: str, entry: Entry) -> None:
        self._entries[key] = entry
        self._dirty = True

    def save(self) -> None:
        """Write the store if it changed; a read-only folder just means no cache."""
        if not self._dirty:
            return
        entries = self._entries
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
