"""Module resolution without importing anything: which project file an import names.

Python looks a script's imports up in the script's own folder first, then in the folders on
`sys.path`; a project's code runs with its root (and a `src/` layout) on that path. So a name
is first-party when it is found there: in the importing file's folder, the project root or
`root/src`; relative imports are resolved inside the importing file's package. Standard-library
names are never project files (a project's `math.py` does not capture `import math`), and
anything not found is another library's. An installed package is its own project, rooted at
its `site-packages`: the other distributions there are other libraries.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
_INSTALLED = ("site-packages", "dist-packages")
_STDLIB = frozenset(sys.stdlib_module_names)
_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(?P<dots>\.*)(?P<module>[\w.]*)[ \t]+import[ \t]+(?P<names>[^#\n;]+)"
    rb"|import[ \t]+(?P<plain>[^#\n;]+))",
    re.MULTILINE,
)


def project_root(start: Path) -> Path:
    """The folder of the nearest pyproject.toml / setup.py / setup.cfg at or above `start`
    (or the `site-packages` folder an installed package is in: it is on `sys.path`), else
    of the nearest repository root, else the current folder."""
    folders = [start, *start.parents]
    for folder in folders:
        if folder.name in _INSTALLED or any((folder / m).is_file() for m in _ROOT_MARKERS):
            return folder
    for folder in folders:
        if (folder / ".git").exists() or (folder / ".hg").exists():
            return folder
    return Path.cwd()


class Resolver:
    """Finds the files of first-party modules for the files of one project."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._found: dict[tuple[Path, str], Path | None] = {}
        self._paths: dict[Path, list[Path]] = {}
        self._packages: dict[Path, str | None] = {}

    def module(self, importer: Path, dotted: str, level: int = 0) -> Path | None:
        """The file of module `dotted` as `importer` imports it (`level` leading dots), or
        None when it is not a project file (standard library, another library, not found)."""
        if level:
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            return _module_file(base, dotted.split(".") if dotted else [])
        top = dotted.split(".", 1)[0]
        if not dotted or top in _STDLIB or not self._own(importer, top):
            return None
        for folder in self._search_path(importer):
            key = (folder, dotted)
            if key not in self._found:
                self._found[key] = _module_file(folder, dotted.split("."))
            found = self._found[key]
            if found is not None:
                return found
        return None

    def imported_files(self, importer: Path, source: bytes) -> Iterator[Path]:
        """The project files whose code `source` (the text of `importer`) may run: modules
        it imports a name from that it then calls or reads an attribute of (`build(...)`,
        `models.f`), read from its import statements without parsing; `from pkg import name`
        may name `pkg/name.py`. An import nothing uses (a package's re-exports) runs none."""
        for match in _IMPORT.finditer(source):
            if match.group("plain") is not None:
                for name, local in _names(match.group("plain")):
                    found = self.module(importer, name)
                    if found is not None and _used(local, source):
                        yield found
                continue
            used = [
                (name, local)
                for name, local in _names(match.group("names"))
                if _used(local, source)
            ]
            if not used:
                continue
            level = len(match.group("dots"))
            module = match.group("module").decode("ascii", "replace")
            found = self.module(importer, module, level)
            if found is not None:
                yield found
            if found is None or found.name == "__init__.py":
                prefix = f"{module}." if module else ""
                for name, _ in used:
                    inner = self.module(importer, prefix + name, level)
                    if inner is not None:
                        yield inner

    def _own(self, importer: Path, top: str) -> bool:
        """In `site-packages` the project is the importer's own package: the other installed
        distributions are other libraries."""
        if self.root.name not in _INSTALLED:
            return True
        folder = importer.parent
        if folder not in self._packages:
            try:
                self._packages[folder] = folder.resolve().relative_to(self.root).parts[0]
            except (ValueError, IndexError):
                self._packages[folder] = None
        own = self._packages[folder]
        return own is None or own == top

    def _search_path(self, importer: Path) -> list[Path]:
        folder = importer.parent
        found = self._paths.get(folder)
        if found is None:
            folders = [folder.resolve(), self.root, self.root / "src"]
            found = self._paths[folder] = list(dict.fromkeys(folders))
        return found


def _module_file(folder: Path, parts: list[str]) -> Path | None:
    if not parts:
        init = folder / "__init__.py"
        return init if init.is_file() else None
    base = os.path.join(folder, *parts)
    for candidate in (f"{base}.py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def _names(text: bytes) -> list[tuple[str, str]]:
    """`a.b as c, d` -> [("a.b", "c"), ("d", "d")]; `(x, y)` too; `import a.b` binds `a`."""
    cleaned = text.replace(b"(", b" ").replace(b")", b" ").replace(b"\\", b" ")
    names = []
    for part in cleaned.decode("ascii", "replace").split(","):
        words = part.split()
        if words and words[0] != "*":
            local = words[2] if len(words) == 3 and words[1] == "as" else words[0].split(".")[0]
            names.append((words[0], local))
    return names


def _used(local: str, source: bytes) -> bool:
    """`local` is called or has an attribute read somewhere in `source` (`f(`, `m.`): plain
    substring search, a superset of the uses (fast: every file of a project is scanned)."""
    name = local.encode()
    return name + b"(" in source or name + b"." in source
