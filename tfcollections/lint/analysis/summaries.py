"""Modules as summaries: what the interpreter needs of each module of the project, read once.

A module's `Summary` is its face to the analysis: its top-level functions, classes (with their
methods) and module-level names, what its imports bind, and facts the rules compute on it once
(TFC001's train-op builds). A call into another module runs the callee's summarised definition
with the call's own arguments, as a call of a same-file function does, so what it does to them
is exact per argument: `freeze(d)` in `utils.py` freezes this `d`, `build(g, d)` in
`gan_builder.py` compiles this combined model while this `d` is trainable.

The `Project` loads the summaries a linted file reaches (each module parsed once a run),
within the configured limits, and records every module file it read: the findings of the
linted file depend on them, so the cache keeps them with its findings.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from tfcollections.lint.analysis.control_flow import assigned_names, statement_blocks
from tfcollections.lint.analysis.modules import Resolver
from tfcollections.lint.analysis.reach import ProjectText
from tfcollections.lint.config import Follow

T = TypeVar("T")
UNRESOLVED = "unresolved"
"""A first-party name the analysis cannot follow (past a limit, a module that does not parse,
a name the module makes at run time): what it does to its arguments is unknown."""
_PARSED_IN_PROCESS = 256


@dataclass(frozen=True)
class Import:
    """What an import binds a local name to: `import a.b` (`module` "a", `name` None),
    `import a.b as c` (`module` "a.b"), `from .a import b` (`level` 1, `name` "b")."""

    module: str
    level: int = 0
    name: str | None = None

    @property
    def dotted(self) -> str:
        """As `keras_flow` names imported things (`.a.b` for a relative import)."""
        base = "." * self.level + self.module
        if self.name is None:
            return base
        return f"{base}.{self.name}" if self.module else base + self.name


@dataclass(eq=False)
class ClassInfo:
    name: str
    methods: dict[str, cst.FunctionDef]
    summary: Summary


@dataclass(eq=False)
class Summary:
    """One module, as the interpreter sees it (see the module docstring). `path` is None for
    code linted without a file; `entry` marks the linted file itself."""

    module: cst.Module
    path: Path | None = None
    entry: bool = True
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    imports: dict[str, Import] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    facts: dict[str, object] = field(default_factory=dict)
    dotted: dict[str, str] = field(default_factory=dict)  # local name -> what it imports
    code: bytes | None = None  # another module's lower-case text without prose
    _lines: dict[cst.CSTNode, int] | None = None

    @classmethod
    def of(cls, module: cst.Module, path: Path | None = None, *, entry: bool = True) -> Summary:
        summary = cls(module, path, entry)
        for statement in module.body:
            if isinstance(statement, cst.FunctionDef):
                summary.functions[statement.name.value] = statement
            elif isinstance(statement, cst.ClassDef):
                methods = {
                    item.name.value: item
                    for item in statement.body.body
                    if isinstance(item, cst.FunctionDef)
                }
                summary.classes[statement.name.value] = ClassInfo(
                    statement.name.value, methods, summary
                )
        _read_imports(summary, module.body)
        summary.variables = assigned_names(module.body)
        summary.dotted = {local: imported.dotted for local, imported in summary.imports.items()}
        return summary

    def fact(self, key: str, build: Callable[[Summary], T]) -> T:
        """`build(self)` once per module, for what a rule computes on a whole module."""
        if key not in self.facts:
            self.facts[key] = build(self)
        return self.facts[key]  # type: ignore[return-value]

    def line_of(self, node: cst.CSTNode) -> int:
        """The line `node` starts on in this module, 0 when it is not this module's."""
        if self._lines is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._lines = {
                key: position.start.line
                for key, position in wrapper.resolve(PositionProvider).items()
            }
        return self._lines.get(node, 0)


Definition = tuple[cst.FunctionDef | ClassInfo, Summary]


@dataclass(frozen=True, eq=False)
class Remote:
    """A finding whose other half is in another module: reported at `entry`, the call in the
    linted file that leads to `node`, with `where` (`gan_builder.py:23`) in its message."""

    entry: cst.Call
    node: cst.CSTNode
    project: Project
    scope: Summary | None  # the module `node` is in, when known

    @property
    def where(self) -> str:
        return self.project.where(self.node, self.scope)


def elsewhere(node: cst.CSTNode | Remote | None, what: str) -> str:
    """` ({what} in gan_builder.py:23)` for a node of another module, else nothing: the other
    half of a finding, named in its message."""
    return f" ({what} in {node.where})" if isinstance(node, Remote) else ""


_parsed: OrderedDict[tuple[str, str], Summary | None] = OrderedDict()


def forget() -> None:
    """Start a run afresh: modules are parsed once a run (in each process); `reach.forget`
    does the same for their scans."""
    _parsed.clear()


class Project(ProjectText):
    """The modules one linted file reaches (see the module docstring)."""

    def __init__(self, entry: Path, resolver: Resolver, follow: Follow) -> None:
        super().__init__(entry, resolver, follow)
        self._summaries: list[Summary] = []
        self._remotes: dict[tuple[int, int], Remote] = {}
        self._relevance: dict[tuple[Path, frozenset[bytes], int], bool] = {}

    def summary(self, path: Path) -> Summary | None:
        """The module at `path`, parsed once per content in a run; None when it cannot be read
        or parsed, or is past the module limit."""
        source = self.source(path)
        if source is None:
            return None
        key = (str(path), self.read[str(path)][0])
        if key in _parsed:
            _parsed.move_to_end(key)
            summary = _parsed[key]
        else:
            try:
                summary = Summary.of(cst.parse_module(source), path, entry=False)
                summary.code = self.code(path)
            except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError, LookupError):
                summary = None
            _parsed[key] = summary
            if len(_parsed) > _PARSED_IN_PROCESS:
                _parsed.popitem(last=False)
        if summary is not None and summary not in self._summaries:
            self._summaries.append(summary)
        return summary

    def remote(self, entry: cst.Call, node: cst.CSTNode, scope: Summary | None) -> Remote:
        """One `Remote` per (entry, node): the analyses key what they found by identity."""
        key = (id(entry), id(node))
        found = self._remotes.get(key)
        if found is None:
            found = self._remotes[key] = Remote(entry, node, self, scope)
        return found

    def where(self, node: cst.CSTNode, scope: Summary | None = None) -> str:
        """`path:line` of a node of a module this project read (of `scope`, when known: the
        positions of a module cost about a parse)."""
        for summary in [scope] if scope is not None else self._summaries:
            line = summary.line_of(node)
            if line:
                return f"{self.shown(summary.path)}:{line}"
        return "another module"

    def callee(
        self, scope: Summary, func: cst.BaseExpression, hops: int, relevant: frozenset[bytes]
    ) -> Definition | str | None:
        """The project function or class a call of `func` in `scope` runs; UNRESOLVED for a
        first-party name that cannot be followed; None for anything else (the standard
        library, another library, a local value) and for a definition in a module that has
        none of the `relevant` words (it can do nothing the analysis sees: not parsed)."""
        parts = _dotted_parts(func)
        if not parts or scope.path is None:
            return None
        imported = scope.imports.get(parts[0])
        if imported is None:
            return None
        return self._follow(scope, imported, parts[1:], hops, relevant)

    def shown(self, path: Path | None) -> str:
        """A module's path as messages show it: from the linted file's folder, else from the
        project root."""
        if path is None:
            return "?"
        for base in (self.entry.parent, self.resolver.root):
            try:
                return path.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                continue
        return os.path.relpath(path, self.entry.parent)

    def _follow(
        self,
        scope: Summary,
        imported: Import,
        rest: list[str],
        hops: int,
        relevant: frozenset[bytes],
    ) -> Definition | str | None:
        assert scope.path is not None
        if imported.name is None:  # `import a.b` binds `a`; `import a.b as c` binds `a.b`
            module, names = imported.module, rest
        else:
            module, names = imported.module, [imported.name, *rest]
        return self._walk(scope.path, imported.level, module, names, hops, relevant)

    def _walk(
        self,
        importer: Path,
        level: int,
        module: str,
        names: list[str],
        hops: int,
        relevant: frozenset[bytes],
    ) -> Definition | str | None:
        found = self.resolver.module(importer, module, level) if (module or level) else None
        first_party = found is not None
        for index, name in enumerate(names):
            last = index == len(names) - 1
            if found is not None:
                if not self._may_matter(found, name, relevant):
                    return None
                summary = self.summary(found)
                if summary is None:
                    return UNRESOLVED
                defined = summary.functions.get(name) or summary.classes.get(name)
                if defined is not None:
                    return (defined, summary) if last else UNRESOLVED
                if name in summary.variables:
                    return None  # a module-level object: calling its methods runs its class
                if name in summary.imports:
                    if hops <= 0:
                        return UNRESOLVED
                    inner = summary.imports[name]
                    return self._follow(summary, inner, names[index + 1 :], hops - 1, relevant)
            module = f"{module}.{name}" if module else name
            found = self.resolver.module(importer, module, level)
            if found is None:
                return UNRESOLVED if first_party or level else None
            first_party = True
        return None

    def _may_matter(self, path: Path, name: str, relevant: frozenset[bytes]) -> bool:
        """Can `name` of the module at `path` do what the analysis sees? Not when neither the
        module nor the project modules it uses (to `follow.depth` hops) have one of the
        `relevant` words, and it defines `name` itself (a re-export is looked up)."""
        source = self.source(path)
        if source is None or self._relevant(path, relevant, self.follow.depth):
            return True  # (not read: then not summarised, unknown)
        defines = rb"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+%s\b" % name.encode()
        return re.search(defines, source, re.M) is None

    def _relevant(self, path: Path, relevant: frozenset[bytes], hops: int) -> bool:
        """Asked at every call into the project: worked out once per module and bound."""
        key = (path, relevant, hops)
        if key not in self._relevance:
            source, code = self.source(path), self.code(path)
            self._relevance[key] = (
                source is None
                or code is None
                or any(word in code for word in relevant)
                or hops > 0
                and any(
                    self._relevant(inner, relevant, hops - 1)
                    for inner in self._uses(path, source)
                    if inner != path
                )
            )
        return self._relevance[key]


def _dotted_parts(expr: cst.BaseExpression) -> list[str] | None:
    parts = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return parts[::-1]


def _read_imports(summary: Summary, statements: Sequence[cst.CSTNode]) -> None:
    """Fills a summary's imports (anywhere in the module), walking statements only: no
    expression holds an import."""
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import):
                    _read_import(summary, small)
                elif isinstance(small, cst.ImportFrom):
                    _read_import_from(summary, small)
        elif isinstance(statement, cst.BaseCompoundStatement):
            for block in statement_blocks(statement):
                _read_imports(summary, block)


def _read_import(summary: Summary, node: cst.Import) -> None:
    for alias in node.names:
        dotted = _code(alias.name)
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            summary.imports[alias.asname.name.value] = Import(dotted)
        else:
            root = dotted.split(".")[0]
            summary.imports[root] = Import(root)


def _read_import_from(summary: Summary, node: cst.ImportFrom) -> None:
    if isinstance(node.names, cst.ImportStar):
        return
    module = _code(node.module) if node.module is not None else ""
    for alias in node.names:
        local = alias.asname.name if alias.asname is not None else alias.name
        if isinstance(local, cst.Name):
            summary.imports[local.value] = Import(module, len(node.relative), _code(alias.name))


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
