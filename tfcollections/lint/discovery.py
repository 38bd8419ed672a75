"""Which files to lint: `.py`/`.pyi` below the given paths, skipping VCS folders, virtual
environments, build output and configured excludes. Files named explicitly are always linted."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tfcollections.errors import UsageError
from tfcollections.lint.config import Config

SUFFIXES = (".py", ".pyi")
SKIPPED_FOLDERS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", "__pycache__", ".venv", "venv", ".tox", ".nox",
        "build", "dist", "node_modules", ".eggs", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".tfc-lint-cache", "site-packages",
    }
)  # fmt: skip


def discover(paths: Iterable[str], config: Config) -> list[Path]:
    """The files to lint, sorted and unique. Raises UsageError for a path that does not exist."""
    found: set[Path] = set()
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.update(_walk(path, config))
        elif path.exists() or path.is_symlink():
            found.add(path)
        else:
            raise UsageError(f"{name}: no such file or directory")
    return sorted(found)


def _walk(top: Path, config: Config) -> Iterable[Path]:
    for folder, subfolders, files in os.walk(top):
        here = Path(folder)
        subfolders[:] = sorted(
            name for name in subfolders if not _skipped_folder(here / name, config)
        )
        for name in files:
            path = here / name
            if name.endswith(SUFFIXES) and not config.excludes(path):
                yield path


def _skipped_folder(path: Path, config: Config) -> bool:
    name = path.name
    if name in SKIPPED_FOLDERS or name.endswith(".egg-info"):
        return True
    return (path / "pyvenv.cfg").exists() or config.excludes(path)
