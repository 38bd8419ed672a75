"""What a project says it runs on: the requirements and environment variables it declares.

pre-commit runs tfc-lint in an environment of its own, without the project's TensorFlow or
Keras, so what is installed there says nothing about the project. Its files do: pyproject.toml
(`[project]`, Poetry, PDM, uv, dependency groups), lock files (poetry.lock, pdm.lock, uv.lock,
Pipfile.lock), `requirements*.txt` with their `-r`/`-c` includes, setup.cfg, setup.py (read,
never run), environment.yml and Pipfile; variables from `[tool.tfc-lint] env`, `.env` and
environment.yml's `variables`. Each declaration keeps the file and line it came from, so a
decision can say why. Files that cannot be read or parsed declare nothing: a linter must not
fail on a project's packaging.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LOCK_FILES = ("poetry.lock", "pdm.lock", "uv.lock")


@dataclass(frozen=True)
class Requirement:
    """`name` (normalized: lower case, `-`) allows the versions of PEP 440 `specifier` (""
    allows any), as declared at `where` ("requirements.txt:3")."""

    name: str
    specifier: str
    where: str

    def __str__(self) -> str:
        return f"{self.name}{self.specifier}"


@dataclass(frozen=True)
class Variable:
    """An environment variable the project sets for its runs, and where."""

    name: str
    value: str
    where: str


def declaration_files(root: Path) -> list[Path]:
    """The files of `root` that may declare requirements or variables (whether or not they
    parse): what a cached decision depends on."""
    names = [
        "pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "Pipfile.lock", ".env",
        "environment.yml", "environment.yaml", *LOCK_FILES,
    ]  # fmt: skip
    found = [root / name for name in names if (root / name).is_file()]
    return found + _requirement_files(root)


def requirements(root: Path) -> list[Requirement]:
    """Every requirement declared in `root`'s files, lock files' exact versions included."""
    found: list[Requirement] = []
    for path in declaration_files(root):
        reader = _READERS.get(path.name) or (_requirements_txt if path.suffix == ".txt" else None)
        if reader is not None:
            found.extend(reader(path))
    return list(dict.fromkeys(found))


def variables(root: Path) -> list[Variable]:
    """The variables the project declares: `[tool.tfc-lint] env` in `root`'s pyproject.toml,
    `.env`, environment.yml `variables`."""
    document, text = _toml(root / "pyproject.toml")
    configured = _table(_table(_table(document.get("tool")).get("tfc-lint")).get("env"))
    found = [
        Variable(n, str(v), _where(root / "pyproject.toml", text, n)) for n, v in configured.items()
    ]
    found.extend(_dotenv(root / ".env"))
    for name in ("environment.yml", "environment.yaml"):
        found.extend(_conda_variables(root / name))
    return found


# -- requirement strings ------------------------------------------------------------------


def _parse(text: str, where: str) -> Requirement | None:
    """A PEP 508 requirement; None for what is not one (URLs, options, bad syntax) or whose
    environment marker is false here."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Pep508

    try:
        parsed = Pep508(text.strip())
    except InvalidRequirement:
        return None
    if parsed.marker is not None and not _marker_holds(parsed.marker):
        return None
    return Requirement(_normalized(parsed.name), str(parsed.specifier), where)


def _marker_holds(marker: object) -> bool:
    try:
        return bool(marker.evaluate())  # type: ignore[attr-defined]
    except Exception:  # an unknown marker variable: count the requirement
        return True


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pep508(lines: Iterable[str], path: Path, text: str) -> list[Requirement]:
    found = []
    for line in lines:
        if isinstance(line, str):
            parsed = _parse(line, _where(path, text, line))
            if parsed is not None:
                found.append(parsed)
    return found


def _where(path: Path, text: str, needle: str) -> str:
    """`file:line` of the first line of `text` holding `needle` (else the first holding its
    leading name): TOML and YAML readers give no positions."""
    name = re.match(r"\s*[A-Za-z0-9._-]*", needle)
    for candidate in (needle.strip(), name.group(0).strip() if name else ""):
        if candidate:
            for number, line in enumerate(text.splitlines(), 1):
                if candidate in line:
                    return f"{path.name}:{number}"
    return path.name


# -- the files ------------------------------------------------------------------------------


def _toml(path: Path) -> tuple[dict, str]:
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}, ""


def _pyproject(path: Path) -> list[Requirement]:
    document, text = _toml(path)
    project = _table(document.get("project"))
    lists = [project.get("dependencies"), *_table(project.get("optional-dependencies")).values()]
    lists += list(_table(document.get("dependency-groups")).values())
    tool = _table(document.get("tool"))
    lists += list(_table(_table(tool.get("pdm")).get("dev-dependencies")).values())
    uv = _table(tool.get("uv"))
    lists += [uv.get(key) for key in ("dev-dependencies", "constraint-dependencies")]
    found = [r for items in lists if isinstance(items, list) for r in _pep508(items, path, text)]
    poetry = _table(tool.get("poetry"))
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables += [_table(group).get("dependencies") for group in _table(poetry.get("group")).values()]
    for table in tables:
        for name, constraint in _table(table).items():
            found.extend(_poetry(name, constraint, path, text))
    return found


def _poetry(name: str, constraint: object, path: Path, text: str) -> Iterator[Requirement]:
    """Poetry's `name = "^2.15"`, `{version = "..."}` or a list of those."""
    for item in constraint if isinstance(constraint, list) else [constraint]:
        version = item.get("version") if isinstance(item, dict) else item
        if isinstance(version, str):
            specifier = _poetry_specifier(version)
            if specifier is not None:
                yield Requirement(_normalized(name), specifier, _where(path, text, name))


def _poetry_specifier(constraint: str) -> str | None:
    """Poetry's caret, tilde, wildcard and bare versions as PEP 440 (None: alternatives with
    `||`, which declare no single range)."""
    if "||" in constraint:
        return None
    parts = []
    for part in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", constraint.strip()):
        if part in ("", "*"):
            continue
        operator, version = re.match(r"([~^<>=!]*)\s*(.*)", part).groups()  # type: ignore[union-attr]
        numbers = [int(n) for n in re.findall(r"\d+", version)[:3]]
        if operator == "^" and numbers:
            first = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
            upper = [*numbers[:first], numbers[first] + 1]
            parts += [f">={version}", f"<{'.'.join(map(str, upper))}"]
        elif operator == "~" and numbers:
            upper = [numbers[0] + 1] if len(numbers) == 1 else [numbers[0], numbers[1] + 1]
            parts += [f">={version}", f"<{'.'.join(map(str, upper))}"]
        elif operator in ("", "="):
            parts.append(f"=={version}")
        else:
            parts.append(f"{operator}{version}")
    return ",".join(parts)


def _lock(path: Path) -> list[Requirement]:
    """poetry.lock, pdm.lock, uv.lock: `[[package]]` tables of exact versions."""
    document, text = _toml(path)
    found = []
    for package in document.get("package", []):
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            name, version = package["name"], package.get("version")
            if isinstance(version, str):
                where = _where(path, text, f'name = "{name}"')
                found.append(Requirement(_normalized(name), f"=={version}", where))
    return found


def _pipfile(path: Path) -> list[Requirement]:
    document, text = _toml(path)
    found = []
    for section in ("packages", "dev-packages"):
        for name, value in _table(document.get(section)).items():
            version = value.get("version", "*") if isinstance(value, dict) else value
            if isinstance(version, str):
                specifier = "" if version.strip() == "*" else version.strip()
                found.append(Requirement(_normalized(name), specifier, _where(path, text, name)))
    return found


def _pipfile_lock(path: Path) -> list[Requirement]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    found = []
    for section in ("default", "develop"):
        packages = document.get(section) if isinstance(document, dict) else None
        for name, value in _table(packages).items():
            version = value.get("version") if isinstance(value, dict) else None
            if isinstance(version, str):
                found.append(Requirement(_normalized(name), version, f"{path.name} {section}"))
    return found


def _requirements_txt(path: Path, seen: frozenset[Path] = frozenset()) -> list[Requirement]:
    """A pip requirements file, following `-r`/`-c` includes (each file once)."""
    if path.resolve() in seen:
        return []
    seen = seen | {path.resolve()}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    for number, line in _logical_lines(text):
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        include = re.match(r"(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)", line)
        if include:
            found.extend(_requirements_txt(path.parent / include.group(1), seen))
        elif line and not line.startswith("-"):
            parsed = _parse(line, f"{path.name}:{number}")
            if parsed is not None:
                found.append(parsed)
    return found


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines joined across trailing backslashes, with the number of their first line."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


def _setup_cfg(path: Path) -> list[Requirement]:
    parser = configparser.ConfigParser()
    try:
        text = path.read_text(encoding="utf-8")
        parser.read_string(text)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return []
    values = [parser.get("options", "install_requires", fallback="")]
    if parser.has_section("options.extras_require"):
        values += [value for _, value in parser.items("options.extras_require")]
    return _pep508([ln for v in values for ln in v.splitlines() if ln.strip()], path, text)


def _setup_py(path: Path) -> list[Requirement]:
    """`install_requires=[...]` and `extras_require={...}` written as literals (not run)."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []
    lines: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("install_requires", "extras_require"):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            groups = value.values() if isinstance(value, dict) else [value]
            lines += [line for group in groups if isinstance(group, list) for line in group]
    return _pep508(lines, path, text)


def _environment_yml(path: Path) -> list[Requirement]:
    """Conda dependencies (`tensorflow=2.15`, `keras>=3`) and their `pip:` list."""
    document, text = _yaml(path)
    found: list[Requirement] = []
    for item in document.get("dependencies") or []:
        if isinstance(item, dict):
            found.extend(_pep508(item.get("pip") or [], path, text))
        elif isinstance(item, str):
            conda = _conda(item, _where(path, text, item))
            if conda is not None:
                found.append(conda)
    return found


def _conda(spec: str, where: str) -> Requirement | None:
    """A conda match spec: `name`, `name=2.15` (2.15.*), `name==2.15.0`, `name >=2.10,<2.16`,
    `channel::name 2.15.*`."""
    match = re.match(r"\s*(?:[\w./-]+::)?([A-Za-z0-9._-]+)\s*(.*)", spec)
    if match is None:
        return None
    name, version = match.group(1), match.group(2).strip().split(" ")[0]
    if re.fullmatch(r"=?[\d.*]+", version):  # `=2.15` and `2.15` are fuzzy, `2.15.*`
        version = "==" + version.lstrip("=").rstrip(".*") + ".*"
    return _parse(f"{name}{version}", where)


def _yaml(path: Path) -> tuple[dict, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}, ""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}, ""
    return (document if isinstance(document, dict) else {}), text


def _conda_variables(path: Path) -> list[Variable]:
    if not path.is_file():
        return []
    document, text = _yaml(path)
    return [
        Variable(str(name), str(value), _where(path, text, f"{name}"))
        for name, value in _table(document.get("variables")).items()
    ]


def _dotenv(path: Path) -> list[Variable]:
    """`KEY=value` lines (`export`, quotes and comments allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*(.*)", line)
        if match:
            value = re.sub(r"\s+#.*", "", match.group(2)).strip().strip("'\"")
            found.append(Variable(match.group(1), value, f"{path.name}:{number}"))
    return found


def _requirement_files(root: Path) -> list[Path]:
    patterns = ("requirements*.txt", "constraints*.txt", "requirements/*.txt")
    return sorted({path for pattern in patterns for path in root.glob(pattern) if path.is_file()})


def _table(value: object) -> dict:
    return value if isinstance(value, dict) else {}


_READERS = {
    "pyproject.toml": _pyproject,
    "setup.cfg": _setup_cfg,
    "setup.py": _setup_py,
    "Pipfile": _pipfile,
    "Pipfile.lock": _pipfile_lock,
    "environment.yml": _environment_yml,
    "environment.yaml": _environment_yml,
    **dict.fromkeys(LOCK_FILES, _lock),
}
