"""Where each node sits in its scope's control flow, and the names bound there.

Updated by the engine before and after every node of the one traversal (before the rules see a
node, after they leave it), so every rule asks the same questions cheaply: "which loops and
which arm of a try hold this?", "what does this name stand for?". Whether one place can run
after another is the flow `analysis` package's question. No LibCST metadata providers: they cost
several times the parse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint import keras_target
from tfcollections.lint.analysis.summaries import Project, Summary

T = TypeVar("T")


@dataclass(frozen=True)
class Imported:
    """A name bound by an import to the dotted module or attribute it stands for."""

    dotted: str


Binding = Imported | cst.BaseExpression | None
"""What a name is bound to: an import, the expression last assigned to it, or unknown."""


@dataclass(frozen=True)
class Place:
    """A node's position in the flow of its scope: which scope, visit order, and the arms of
    the loops and try statements it sits in, outermost first."""

    scope: int
    order: int
    arms: tuple[tuple[int, str], ...]


def in_finally_of(change: Place, build: Place) -> bool:
    """True when `change` is in the `finally` of a try whose other arms hold `build`: the
    pattern that restores a collection after building with a temporary one."""
    build_arms = dict(build.arms)
    return any(
        arm == "finally" and build_arms.get(construct, "finally") != "finally"
        for construct, arm in change.arms
    )


def shared_loops(a: Place, b: Place) -> set[int]:
    """The loops (ids of their For/While nodes) whose body holds both places."""
    if a.scope != b.scope:
        return set()
    return {construct for construct, arm in a.arms if arm == "loop"} & {
        construct for construct, arm in b.arms if arm == "loop"
    }


class Flow:
    """The traversal state shared by every rule: scopes, bindings, loop and try arms; and what
    the rules share about the whole file: its imports, the Keras it is linted for, and
    analyses built once for several rules (`shared`)."""

    def __init__(
        self,
        source: bytes = b"",
        keras: str = "auto",
        path: Path | None = None,
        project: Project | None = None,
        reached: frozenset[bytes] = frozenset(),
    ) -> None:
        self._source = source
        self.path = path
        self.project = project
        self.reached = reached  # pre-check words found in the project modules it imports
        self._keras_setting = keras
        self._keras: keras_target.Decision | None = None
        self._imported: list[tuple[str, str]] = []  # (dotted, local name) of every import
        self._shared: dict[str, object] = {}
        self._order = 0
        self._scopes: list[tuple[int, dict[str, Binding]]] = []
        self._arms: list[tuple[int, str]] = []
        self._pending_arms: dict[int, tuple[int, str]] = {}
        self._entered_arms: set[int] = set()

    # -- engine hooks -------------------------------------------------------------------
    # Called on every node of every file: dispatch on the exact node type through dicts,
    # since LibCST node classes are ABCs and isinstance on them dominated the traversal.

    def before_visit(self, node: cst.CSTNode) -> None:
        self._order += 1
        if self._pending_arms:
            arm = self._pending_arms.pop(id(node), None)
            if arm is not None:
                self._arms.append(arm)
                self._entered_arms.add(id(node))
        handler = _ON_ENTER.get(type(node))
        if handler is not None:
            handler(self, node)

    def after_leave(self, node: cst.CSTNode) -> None:
        handler = _ON_LEAVE.get(type(node))
        if handler is not None:
            handler(self, node)
        if self._entered_arms and id(node) in self._entered_arms:
            self._entered_arms.discard(id(node))
            self._arms.pop()

    # -- questions rules ask ------------------------------------------------------------

    def place(self) -> Place:
        """The place of the node being visited."""
        return Place(self._scopes[-1][0], self._order, tuple(self._arms))

    def lookup(self, name: str, *, same_scope: bool = False) -> Binding:
        """What `name` is bound to, innermost scope first (only the current one if asked)."""
        scopes = self._scopes[-1:] if same_scope else reversed(self._scopes)
        for _, bindings in scopes:
            if name in bindings:
                return bindings[name]
        return None

    def resolve(self, expr: cst.BaseExpression, *, same_scope: bool = False) -> Binding:
        """Follow names through assignments (`col = tf.get_collection_ref(...)`)."""
        for _ in range(8):
            if not isinstance(expr, cst.Name):
                return expr
            bound = self.lookup(expr.value, same_scope=same_scope)
            if not isinstance(bound, cst.BaseExpression):
                return bound
            expr = bound
        return None

    def qualify(self, expr: cst.BaseExpression, _hops: int = 8) -> str | None:
        """The dotted name an expression stands for through imports and aliases, or None.
        Alias chains are followed a few hops only: `x = x.parent` must not loop."""
        if _hops <= 0:
            return None
        if isinstance(expr, cst.Attribute):
            base = self.qualify(expr.value, _hops)
            return f"{base}.{expr.attr.value}" if base else None
        if isinstance(expr, cst.Name):
            bound = self.resolve(expr)
            if isinstance(bound, Imported):
                return bound.dotted
            if isinstance(bound, cst.Attribute):
                return self.qualify(bound, _hops - 1)
        return None

    @property
    def keras_setting(self) -> str:
        return self._keras_setting

    def keras_major(self) -> int:
        """The Keras major version this file is linted for (see `keras_target`)."""
        return self.keras_decision().major

    def keras_decision(self) -> keras_target.Decision:
        """The Keras this file is linted for, and why."""
        if self._keras is None:
            self._keras = keras_target.keras_major(
                self._keras_setting,
                (dotted for dotted, _ in self._imported),
                self._uses_tf_keras(),
                self.path.parent if self.path else None,
            )
        return self._keras

    @property
    def source(self) -> bytes:
        """The file's bytes, for rules that decide from its text (graph-mode markers)."""
        return self._source

    def keras_of(self, dotted: str) -> int | None:
        """The Keras major version the API `dotted` belongs to (see `keras_target.api_major`)."""
        folder = self.path.parent if self.path else None
        return keras_target.api_major(self._keras_setting, dotted, folder)

    def imported_names(self) -> dict[str, str]:
        """Local name -> dotted module or attribute, for every import anywhere in the file."""
        return {local: dotted for dotted, local in self._imported}

    def summary(self, module: cst.Module) -> Summary:
        """The file as the flow analysis sees it (its definitions and imports), made once."""
        return self.shared("summary", lambda: Summary.of(module, self.path))

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """`build()` once a file, for analyses more than one rule reports from."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]  # type: ignore[return-value]

    def _uses_tf_keras(self) -> bool:
        tf_locals = set()
        for dotted, local in self._imported:
            if dotted.startswith(_TF_KERAS_MODULES):
                return True
            if dotted == tfnames.TENSORFLOW or dotted.startswith(f"{tfnames.TENSORFLOW}.compat."):
                tf_locals.add(local)
        return any(f"{local}.keras".encode() in self._source for local in tf_locals)

    def tf_name(self, expr: cst.BaseExpression) -> str | None:
        """`tf.compat.v1.get_collection_ref` -> `get_collection_ref`; None if not TensorFlow."""
        return tfnames.tf_api_name(self.qualify(expr))

    def tfc_name(self, expr: cst.BaseExpression) -> str | None:
        """`tfc.remove` -> `remove` when `tfc` is tfcollections; None otherwise."""
        return tfnames.tfc_api_name(self.qualify(expr))

    def is_object(self, expr: cst.BaseExpression) -> bool:
        """True when `expr` is a value (a local, an attribute of one, a call result), not an
        imported module or one of its attributes: `sess`, `self.graph`, `tf.Session()`."""
        return self.qualify(expr) is None

    def is_tf_or_object(self, expr: cst.BaseExpression) -> bool:
        """A receiver that may carry TF methods: TensorFlow itself or a value, never another
        module (a module called `tf` that is not TensorFlow is not TensorFlow)."""
        dotted = self.qualify(expr)
        return dotted is None or tfnames.tf_api_name(dotted) is not None

    # -- bookkeeping --------------------------------------------------------------------

    def _enter_scope(self, node: cst.CSTNode) -> None:
        self._scopes.append((id(node), {}))
        if type(node) in (cst.FunctionDef, cst.Lambda):
            self._bind_parameters(node.params)

    def _leave_scope(self, node: cst.CSTNode) -> None:
        if type(node) in (cst.FunctionDef, cst.ClassDef) and len(self._scopes) > 1:
            self._scopes[-2][1][node.name.value] = None
        self._scopes.pop()

    def _expect_arms(self, node: cst.CSTNode, arms: list[tuple[cst.CSTNode | None, str]]) -> None:
        for child, arm in arms:
            if child is not None:
                self._pending_arms[id(child)] = (id(node), arm)

    def _enter_try(self, node: cst.Try | cst.TryStar) -> None:
        arms = [(node.body, "try"), (node.orelse, "try-else"), (node.finalbody, "finally")]
        arms += [(handler, f"except{i}") for i, handler in enumerate(node.handlers)]
        self._expect_arms(node, arms)

    def _enter_loop(self, node: cst.For | cst.While) -> None:
        self._expect_arms(node, [(node.body, "loop"), (node.orelse, "loop-else")])

    def _leave_assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value)

    def _leave_ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value)

    def _leave_for(self, node: cst.For | cst.CompFor) -> None:
        self._bind_target(node.target, None)

    def _leave_with_item(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, None)

    def _bind(self, name: str, value: Binding) -> None:
        self._scopes[-1][1][name] = value

    def _bind_target(self, target: cst.BaseExpression, value: Binding) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None)

    def _bind_parameters(self, params: cst.Parameters) -> None:
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        for param in every:
            self._bind(param.name.value, None)

    def _bind_import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, Imported(dotted))
                self._imported.append((dotted, alias.asname.name.value))
            else:
                root = dotted.split(".")[0]
                self._bind(root, Imported(root))
                self._imported.append((dotted, root))

    def _bind_import_from(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = _dotted(node.module)
        for alias in node.names:
            name = _dotted(alias.name)
            local = alias.asname.name.value if alias.asname is not None else name
            if isinstance(local, str):
                self._bind(local, Imported(f"{module}.{name}"))
                self._imported.append((f"{module}.{name}", local))


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return node.value if isinstance(node, cst.Name) else ""


_TF_KERAS_MODULES = ("tensorflow.keras", "tensorflow.python.keras", "tensorflow.compat.v1.keras")

_ON_ENTER = {
    cst.Module: Flow._enter_scope,
    cst.FunctionDef: Flow._enter_scope,
    cst.Lambda: Flow._enter_scope,
    cst.ClassDef: Flow._enter_scope,
    cst.Try: Flow._enter_try,
    cst.TryStar: Flow._enter_try,
    cst.For: Flow._enter_loop,
    cst.While: Flow._enter_loop,
    cst.Import: Flow._bind_import,
    cst.ImportFrom: Flow._bind_import_from,
}
_ON_LEAVE = {
    cst.Module: Flow._leave_scope,
    cst.FunctionDef: Flow._leave_scope,
    cst.Lambda: Flow._leave_scope,
    cst.ClassDef: Flow._leave_scope,
    cst.Assign: Flow._leave_assign,
    cst.AnnAssign: Flow._leave_ann_assign,
    cst.For: Flow._leave_for,
    cst.CompFor: Flow._leave_for,
    cst.WithItem: Flow._leave_with_item,
}
