"""`[tool.tfc-lint]` in the nearest pyproject.toml, validated; command-line flags win."""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tfcollections.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KERAS_SETTINGS = ("auto", "2", "3")
"""The values of `[tool.tfc-lint] keras` and `--keras`."""
_KEYS = {
    "select", "ignore", "exclude", "per-file-ignores", "keras",
    "follow-imports", "follow-depth", "follow-modules", "env", "fix", "unsafe-fixes",
}  # fmt: skip


@dataclass(frozen=True)
class Follow:
    """How far the analyses read the project's other modules: module hops from the linted
    file, and modules read per linted file (the limits keep a pre-commit run fast)."""

    depth: int = 2
    modules: int = 24


@dataclass(frozen=True)
class Config:
    """What to lint and report. `select`/`ignore` are code prefixes; globs are relative to
    `root`, the folder of the pyproject.toml they came from (else the current folder)."""

    root: Path
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keras: str = "auto"
    follow: Follow | None = Follow()
    fix: bool = False
    unsafe_fixes: bool = False
    env: dict[str, str] = field(default_factory=dict)
    """Variables the project's runs set (TF_USE_LEGACY_KERAS), read by `keras = "auto"`."""
    source: Path | None = None

    def selects(self, code: str) -> bool:
        chosen = not self.select or code.startswith(self.select)
        return chosen and not code.startswith(self.ignore)

    def ignored_in(self, path: Path) -> tuple[str, ...]:
        """Code prefixes that per-file-ignores turns off for `path`."""
        relative = _relative(path, self.root)
        return tuple(
            code
            for pattern, codes in self.per_file_ignores.items()
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern)
            for code in codes
        )

    def excludes(self, path: Path) -> bool:
        relative = _relative(path, self.root)
        return any(
            fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(path.name, pattern)
            for pattern in self.exclude
        )


def load_config(start: Path, known_codes: set[str]) -> Config:
    """The config of the nearest pyproject.toml at or above `start` (defaults when none has a
    `[tool.tfc-lint]` table). Raises UsageError naming the file for unknown keys or codes."""
    root = config_root(start)
    candidate = root / "pyproject.toml"
    return _parse(candidate, known_codes) if candidate.is_file() else Config(root=start)


def config_root(start: Path) -> Path:
    """The folder of the nearest pyproject.toml at or above `start`, else `start`: where the
    configuration and the cache live."""
    for folder in [start, *start.parents]:
        if (folder / "pyproject.toml").is_file():
            return folder
    return start


def check_codes(codes: tuple[str, ...], known_codes: set[str], where: str) -> tuple[str, ...]:
    """`codes`, upper-cased; UsageError for one that is a prefix of no known code."""
    upper = tuple(code.strip().upper() for code in codes if code.strip())
    for code in upper:
        if not any(known.startswith(code) for known in known_codes):
            raise UsageError(f"{where}: unknown rule code {code!r}")
    return upper


def _parse(path: Path, known_codes: set[str]) -> Config:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path}: cannot read the configuration: {error}") from None
    table = document.get("tool", {}).get("tfc-lint", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.tfc-lint] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise UsageError(f"{path}: unknown [tool.tfc-lint] key(s): {', '.join(unknown)}")
    where = f"{path} [tool.tfc-lint]"
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise UsageError(f"{where}: per-file-ignores must be a table of glob = [codes]")
    return Config(
        root=path.parent,
        select=check_codes(_strings(table, "select", where), known_codes, where),
        ignore=check_codes(_strings(table, "ignore", where), known_codes, where),
        exclude=_strings(table, "exclude", where),
        per_file_ignores={
            pattern: check_codes(_strings(per_file, pattern, where), known_codes, where)
            for pattern in per_file
        },
        keras=_keras(table.get("keras", "auto"), where),
        follow=_follow(table, where),
        fix=_bool(table, "fix", where),
        unsafe_fixes=_bool(table, "unsafe-fixes", where),
        env=_env(table.get("env", {}), where),
        source=path,
    )


def _follow(table: dict, where: str) -> Follow | None:
    """`follow-imports = true|false`, `follow-depth`, `follow-modules` (positive integers)."""
    enabled = table.get("follow-imports", True)
    if not isinstance(enabled, bool):
        raise UsageError(f"{where}: follow-imports must be true or false, not {enabled!r}")
    limits = {}
    for key, default in (("follow-depth", Follow.depth), ("follow-modules", Follow.modules)):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{where}: {key} must be a positive integer, not {value!r}")
        limits[key.split("-")[1]] = value
    return Follow(**limits) if enabled else None


def _keras(value: object, where: str) -> str:
    """`keras = "auto"`, `2`, `3` (an integer or a string)."""
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if isinstance(value, bool) or text not in KERAS_SETTINGS:
        raise UsageError(f'{where}: keras must be "auto", 2 or 3, not {value!r}')
    return text


def _bool(table: dict, key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _env(value: object, where: str) -> dict[str, str]:
    """`env = {NAME = "value"}`: what the project's training runs set in their environment."""
    if not isinstance(value, dict) or not all(
        isinstance(item, (str, int)) and not isinstance(item, bool) for item in value.values()
    ):
        raise UsageError(f'{where}: env must be a table of NAME = "value"')
    return {name: str(item) for name, item in value.items()}


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
