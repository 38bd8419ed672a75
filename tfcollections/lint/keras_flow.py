"""What Keras does with `trainable` along each path of a file: the analysis behind TFC004 and
TFC005, run by the `dataflow` interpreter.

A state holds, per path, each toggled object's `trainable` value (True, False or unknown, and the
line that set it) and each model's phase: compiled and not read yet, read (with the values Keras
read), or read and trained since. Keras 2 reads at `compile()`; Keras 3 at the first training
call after `compile()` (a model trained without a `compile()` in the file is read at its first
training call). At every training call, each object the model may contain is compared with what
Keras read:

- a value other than the one read, set by a toggle that no other model known to contain the
  object read (the Keras 2 GAN idiom freezes `d` for the combined model's compile()): the
  toggle is ignored (TFC004);
- the model itself frozen when it was read: it trains nothing (TFC005).

Values never set count as True (Keras layers start trainable); unknown values never differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint.dataflow import Frame, Interpreter
from tfcollections.lint.flow import Flow
from tfcollections.lint.rule import LintRule

_EMPTY = cst.Module(body=[])
_COMPILED, _READ, _TRAINED = "compiled", "read", "trained"  # trained: read, and trained since
_MODEL_CLASSES = frozenset({"Model", "Sequential"})
_LAYER_CONTAINERS = ("layers", "submodules", "_layers")

Value = bool | None
Values = tuple[tuple[str, Value, int], ...]  # (object key, value, id of the setting node)


@dataclass(frozen=True)
class _State:
    values: Values = ()
    models: tuple[tuple[str, str, Values], ...] = ()  # (model key, phase, values read)


@dataclass(frozen=True)
class Ignored:
    """A toggle (`node`) that `model` (as written at its training call), which may contain the
    object, does not see."""

    node: cst.CSTNode
    model: str


@dataclass(frozen=True)
class Frozen:
    """A training call (`node`) of a model that Keras read while it was frozen."""

    node: cst.CSTNode
    model: str


@dataclass
class KerasFlow:
    """Findings of one file for one Keras major version (see the module docstring)."""

    keras: int
    imports: dict[str, str]
    ignored: dict[int, Ignored] = field(default_factory=dict)  # by node: the first scope's
    frozen: dict[int, Frozen] = field(default_factory=dict)
    _nodes: dict[int, cst.CSTNode] = field(default_factory=dict)
    _mentions: dict[str, set[str]] = field(default_factory=dict)
    _built_by_keras: set[str] = field(default_factory=set)
    _candidates: dict[int, tuple[str, str]] = field(default_factory=dict)  # toggle -> model
    _read: dict[int, set[str]] = field(default_factory=dict)  # toggle -> models that read it
    _frozen: dict[int, str] = field(default_factory=dict)

    def run(self, module: cst.Module) -> None:
        Interpreter(module, self).run_all(_State(), self._scope_done)

    def when_read(self) -> str:
        """When this Keras reads a model's trainable set, for messages."""
        return "at compile()" if self.keras == 2 else "at its first training call after compile()"

    # -- the Analysis protocol ----------------------------------------------------------

    def call(self, state: _State, node: cst.Call, frame: Frame) -> Iterable[_State]:
        func = node.func
        if not isinstance(func, cst.Attribute) or self._is_module(func.value, frame):
            return (state,)
        model = frame.key(func.value)
        method = func.attr.value
        if model is None:
            return (state,)
        if method == "add":
            for argument in node.args:
                self._mentions.setdefault(model, set()).update(_mentioned(argument.value, frame))
            return (state,)
        if method in tfnames.KERAS_COMPILE_METHODS:
            return (self._compile(state, model),)
        if method in tfnames.KERAS_TRAINING_METHODS:
            shown = _EMPTY.code_for_node(func.value)
            return (self._train(state, model, shown, frame.site(node, func.value)),)
        return (state,)

    def assign(
        self, state: _State, target: cst.BaseExpression, value: cst.BaseExpression | None,
        frame: Frame,
    ) -> Iterable[_State]:  # fmt: skip
        if value is None:
            return (state,)
        if isinstance(target, cst.Attribute) and target.attr.value == "trainable":
            toggled = frame.key(target.value)
            if toggled is None:
                return (state,)
            where = frame.site(target, target.value, value)
            self._nodes[id(where)] = where
            values = dict(_as_dict(state.values))
            values[toggled] = (frame.literal(value), id(where))
            return (_State(_as_tuple(values), state.models),)
        key = frame.key(target)
        if key is not None:
            self._mentions.setdefault(key, set()).update(_mentioned(value, frame))
            if isinstance(value, cst.Call) and self._builds_model(value, frame):
                self._built_by_keras.add(key)
        return (state,)

    def rename(self, state: _State, old: str, new: str) -> _State:
        for key in [key for key in self._mentions if _under(key, old)]:
            self._mentions.setdefault(new + key[len(old) :], set()).update(self._mentions[key])
        for key in [key for key in self._built_by_keras if _under(key, old)]:
            self._built_by_keras.add(new + key[len(old) :])

        def moved(key: str) -> str:
            return new + key[len(old) :] if _under(key, old) else key

        def moved_values(values: Values) -> Values:
            return tuple(sorted((moved(key), value, origin) for key, value, origin in values))

        models = tuple(
            sorted((moved(model), phase, moved_values(read)) for model, phase, read in state.models)
        )
        return _State(moved_values(state.values), models)

    def statement(
        self, state: _State, node: cst.BaseSmallStatement, frame: Frame
    ) -> Iterable[_State]:
        return (state,)

    # -- Keras semantics ----------------------------------------------------------------

    def _compile(self, state: _State, model: str) -> _State:
        if self.keras == 2:
            return self._read_set(state, model)
        return _with_model(state, model, _COMPILED, ())

    def _train(self, state: _State, model: str, shown: str, call: cst.CSTNode) -> _State:
        """A training call of `model` (written `shown` there), reported at `call`."""
        phase = dict((key, phase) for key, phase, _ in state.models).get(model)
        if phase not in (_READ, _TRAINED):  # Keras 3 after compile(), or compiled elsewhere
            state = self._read_set(state, model)
        read = dict(_as_dict(next(r for key, _, r in state.models if key == model)))
        if phase != _TRAINED and any(
            read.get(key, (True, 0))[0] is False for key in _whole_model(model)
        ):  # reported at the first training call that trains nothing, not at each one
            self._nodes[id(call)] = call
            self._frozen.setdefault(id(call), shown)
        for key, value, origin in state.values:
            if value is None or not self._contains(model, key):
                continue
            seen = read.get(key, (True, 0))[0]
            if seen is not None and seen != value:
                self._candidates.setdefault(origin, (model, shown))
        return _with_model(state, model, _TRAINED, _as_tuple(read))

    def _read_set(self, state: _State, model: str) -> _State:
        for key, _, origin in state.values:
            if self._contains(model, key, surely=True):
                self._read.setdefault(origin, set()).add(model)
        return _with_model(state, model, _READ, state.values)

    def _contains(self, model: str, key: str, *, surely: bool = False) -> bool:
        """May `model` hold the object `key`: it is the model or part of it by name, the
        model's defining expressions mention it, or the model was not built by Keras's Model or
        Sequential in this file (then nothing rules it out, unless `surely` is asked)."""
        if _under(key, model):
            return True
        if model not in self._built_by_keras:
            return not surely
        reachable, pending = set(), [model]
        while pending and len(reachable) < 512:
            for mentioned in self._mentions.get(pending.pop(), ()):
                if mentioned not in reachable:
                    reachable.add(mentioned)
                    pending.append(mentioned)
        return any(prefix in reachable for prefix in _prefixes(key))

    def _scope_done(self, analysed: bool) -> None:
        if analysed:
            for origin, (model, shown) in self._candidates.items():
                if not self._read.get(origin, set()) - {model}:
                    self.ignored.setdefault(origin, Ignored(self._nodes[origin], shown))
            for call, shown in self._frozen.items():
                self.frozen.setdefault(call, Frozen(self._nodes[call], shown))
        self._candidates, self._read, self._frozen = {}, {}, {}

    # -- names --------------------------------------------------------------------------

    def _imported(self, expr: cst.BaseExpression, frame: Frame) -> str | None:
        """The dotted name `expr` stands for through an import of the file (`tf.keras.Model` ->
        `tensorflow.keras.Model`); None for a value, or a name the frame binds itself. (Flow's
        `qualify` answers this during the traversal; the dataflow runs after it.)"""
        dotted = _dotted(expr)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        imported = self.imports.get(root)
        if imported is None or root in frame.aliases or root in frame.locals:
            return None
        return f"{imported}.{rest}" if rest else imported

    def _is_module(self, expr: cst.BaseExpression, frame: Frame) -> bool:
        """`re.compile`, `tf.keras...`: a receiver that is an imported module, not a value."""
        return self._imported(expr, frame) is not None

    def _builds_model(self, call: cst.Call, frame: Frame) -> bool:
        """`keras.Model(...)`, `Sequential([...])`, `tf.keras.models.Model(...)`."""
        full = self._imported(call.func, frame)
        return tfnames.is_tf_or_keras(full) and full.rsplit(".", 1)[-1] in _MODEL_CLASSES


class KerasFlowRule(LintRule):
    """A rule that reports from the file's `KerasFlow`: the analysis runs once a file, and only
    in a file that sets `.trainable` somewhere (the pre-check already asked for a training call)."""

    def __init__(self, flow: Flow) -> None:
        super().__init__(flow)
        self._module: cst.Module | None = None
        self._toggles = False

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self._toggles:
            self._toggles = any(
                isinstance(target.target, cst.Attribute) and target.target.attr.value == "trainable"
                for target in node.targets
            )

    def finish(self) -> None:
        if self._toggles and self._module is not None:
            self.report_from(analyse(self.flow, self._module))

    def report_from(self, analysis: KerasFlow) -> None:
        """Report this rule's findings of `analysis`."""
        raise NotImplementedError


def analyse(flow: Flow, module: cst.Module) -> KerasFlow:
    """The file's Keras findings, computed once for all the rules that report them."""

    def build() -> KerasFlow:
        analysis = KerasFlow(flow.keras_major(), flow.imported_names())
        analysis.run(module)
        return analysis

    return flow.shared("keras_flow", build)


def _whole_model(model: str) -> list[str]:
    return [model, *(f"{model}.{container}[*]" for container in _LAYER_CONTAINERS)]


def _with_model(state: _State, model: str, phase: str, read: Values) -> _State:
    models = [entry for entry in state.models if entry[0] != model]
    return _State(state.values, tuple(sorted([*models, (model, phase, read)])))


def _as_dict(values: Values) -> dict[str, tuple[Value, int]]:
    return {key: (value, origin) for key, value, origin in values}


def _as_tuple(values: dict[str, tuple[Value, int]]) -> Values:
    return tuple(sorted((key, value, origin) for key, (value, origin) in values.items()))


def _under(key: str, root: str) -> bool:
    return key == root or key.startswith((f"{root}.", f"{root}["))


def _prefixes(key: str) -> list[str]:
    cuts = [index for index, char in enumerate(key) if char in ".["]
    return [key, *(key[:index] for index in cuts)]


def _mentioned(expr: cst.CSTNode, frame: Frame) -> set[str]:
    """The keys of every name and attribute chain in `expr`: what a model built from it may
    contain (`Model(z, d(g(z)))` mentions z, d, g)."""
    found: set[str] = set()
    pending = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, (cst.Name, cst.Attribute)):
            key = frame.key(node)
            if key is not None:
                found.add(key)
        pending.extend(node.children)
    return found


def _dotted(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = _dotted(expr.value)
        return f"{base}.{expr.attr.value}" if base else None
    return None
