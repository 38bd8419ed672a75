"""What Keras does with `trainable` along each path of a file: the analysis behind TFC004 and
TFC005, run by the flow `analysis` interpreter over abstract objects.

A state holds, per path, the `trainable` writes in the order they ran (object, True/False/
unknown, the node that wrote it) and each model's phase: compiled and not read yet, read (with
the writes Keras read), or read and trained since. A write reaches the object and everything it
holds (Keras sets a model's layers with it), so an object's value is that of the latest write
to it or to anything holding it; never written, it is True. Keras 2 reads at `compile()` (and
at `load_model`, which compiles); Keras 3 at the first training call after `compile()`; a model
not compiled in the file is read at its first training call. At every training call, each
object the model may hold is compared with what Keras read:

- a value other than the one read, set by a toggle that no other model read (the Keras 2 GAN
  idiom freezes `d` for the combined model's compile()): the toggle is ignored (TFC004);
- the model, or all of its layers, frozen when it was read: it trains nothing (TFC005);
- Keras 3 only, at a model's first training call: a value other than at its own `compile()`,
  set by a toggle that another model compiled after it (the toggle's evident target): the model
  trains with the other model's set (TFC005, the WGAN-GP layout).

Unknown values never differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint.analysis.interpreter import Interpreter
from tfcollections.lint.analysis.objects import BUILT, FRESH, OPEN, Frame, Heap, under
from tfcollections.lint.analysis.summaries import Project, Remote, Summary
from tfcollections.lint.fixes import Tree
from tfcollections.lint.flow import Flow
from tfcollections.lint.rule import LintRule

_EMPTY = cst.Module(body=[])
_COMPILED, _READ, _TRAINED = "compiled", "read", "trained"  # trained: read, and trained since
_LOADERS = frozenset({"load_model"})
_FRESH_MAKERS = _LOADERS | {"Input"}

Value = bool | None
Writes = tuple[tuple[str, Value, int], ...]  # (object, value, id of the writing node), in order


@dataclass(frozen=True)
class _Model:
    phase: str
    read: Writes = ()  # what Keras read (phase read or trained)
    compiled: Writes = ()  # the writes at its latest compile()
    read_at: int = 0  # the node where Keras read them
    compiled_at: int = 0  # the node of its latest compile()


@dataclass(frozen=True)
class _State:
    writes: Writes = ()
    models: tuple[tuple[str, _Model], ...] = ()

    def model(self, key: str) -> _Model | None:
        return next((model for name, model in self.models if name == key), None)

    def with_model(self, key: str, model: _Model) -> _State:
        others = [entry for entry in self.models if entry[0] != key]
        return _State(self.writes, tuple(sorted([*others, (key, model)], key=lambda e: e[0])))


@dataclass(frozen=True)
class Ignored:
    """A toggle (`node`) that `model` (as written at its training call), which may contain the
    object, does not see."""

    node: cst.CSTNode | Remote
    model: str
    read_at: cst.CSTNode | Remote | None = None
    compiled_at: cst.CSTNode | Remote | None = None  # the model's compile() that took its set


@dataclass(frozen=True)
class Frozen:
    """A training call (`node`) of a model that Keras read while it was frozen (by `changes`,
    when another object's toggle froze it); or, when `target` is given, read after the toggles
    `changes` made for that other model."""

    node: cst.CSTNode | Remote
    model: str
    changes: tuple[str, ...] = ()
    target: str = ""
    cause: cst.CSTNode | Remote | None = None  # the write that froze it


@dataclass
class KerasFlow:
    """Findings of one file for one Keras major version (see the module docstring)."""

    keras: int
    ignored: dict[int, Ignored] = field(default_factory=dict)  # by node: the first scope's
    frozen: dict[int, Frozen] = field(default_factory=dict)
    _nodes: dict[int, cst.CSTNode] = field(default_factory=dict)
    _candidates: dict[int, tuple[str, str, int, int]] = field(default_factory=dict)  # toggle ->
    _read: dict[int, set[str]] = field(default_factory=dict)  # toggle -> models that read it
    _compiled: dict[int, set[str]] = field(default_factory=dict)  # toggle -> models compiled
    _frozen: dict[int, Frozen] = field(default_factory=dict)
    _inputs: set[str] = field(default_factory=set)  # Input tensors: shared, hold no weights
    _interpreter: Interpreter | None = None

    RELEVANT = frozenset(
        {b"model(", b"sequential(", b".trainable", b".compile(", b".fit(", b".train_on_batch("}
    )
    """Words without which a module's code builds, compiles, toggles and trains no model."""

    def run(self, scope: Summary, project: Project | None) -> None:
        self._interpreter = Interpreter(
            scope, self, makes=self._makes, project=project, relevant=self.RELEVANT
        )
        self._interpreter.run_all(_State(), self._scope_done)

    def when_read(self) -> str:
        """When this Keras reads a model's trainable set, for messages."""
        return "at compile()" if self.keras == 2 else "at its first training call after compile()"

    @property
    def _heap(self) -> Heap:
        assert self._interpreter is not None
        return self._interpreter.heap

    # -- the Analysis protocol ----------------------------------------------------------

    def call(self, state: _State, node: cst.Call, frame: Frame) -> Iterable[_State]:
        made = frame.allocation(node)
        if any(under(key, made) for key, _, _ in state.writes) or state.model(made):
            state = self._fresh(state, made)  # the same site allocates again (a loop)
        func = node.func
        if self._loads_compiled(node, frame):
            return (self._compile(state, made, frame.placed(node)),)
        if not isinstance(func, cst.Attribute) or self._is_module(func.value, frame):
            return (state,)
        model = frame.key(func.value)
        method = func.attr.value
        if model is None:
            return (state,)
        if method == "add":
            parts = {key for argument in node.args for key in frame.carried(argument.value)}
            self._heap.add(model, parts)
        elif method in tfnames.KERAS_COMPILE_METHODS:
            return (self._compile(state, model, frame.placed(node)),)
        elif method in tfnames.KERAS_TRAINING_METHODS:
            shown = _EMPTY.code_for_node(func.value)
            return (self._train(state, model, shown, frame.site(node, func.value)),)
        return (state,)

    def assign(
        self, state: _State, target: cst.BaseExpression, value: cst.BaseExpression | None,
        frame: Frame,
    ) -> Iterable[_State]:  # fmt: skip
        if value is None or not (
            isinstance(target, cst.Attribute) and target.attr.value == "trainable"
        ):
            return (state,)
        toggled = frame.key(target.value)
        if toggled is None:
            return (state,)
        where = frame.site(target, target.value, value)
        self._nodes[id(where)] = where
        writes = self._write(state.writes, toggled, frame.literal(value), id(where))
        return (_State(writes, state.models),)

    def _write(self, writes: Writes, key: str, value: Value, origin: int) -> Writes:
        """`writes` and then this one; the writes it covers no longer decide anything."""
        kept = tuple(entry for entry in writes if not self._heap.contains(key, entry[0]))
        return (*kept, (key, value, origin))

    def statement(
        self, state: _State, node: cst.BaseSmallStatement, frame: Frame
    ) -> Iterable[_State]:
        return (state,)

    def opaque(self, state: _State, node: cst.Call, frame: Frame) -> Iterable[_State]:
        """Every object the call was given, and everything it holds, that a write on this
        path set may now be trainable or not: unknown. (One never written is taken as
        trainable either way: nothing on the path contradicts the call having set it back.)"""
        if not state.writes:
            return (state,)
        given = [argument.value for argument in node.args]
        if isinstance(node.func, cst.Attribute):
            given.append(node.func.value)
        keys = {key for expr in given for key in frame.carried(expr)}
        heap, writes = self._heap, state.writes
        for written, value, _ in state.writes:
            reached = any(
                heap.contains(key, written) or heap.contains(written, key) for key in keys
            )
            if value is not None and reached:  # one origin for all: paths still merge
                writes = self._write(writes, written, None, 0)
        return (_State(writes, state.models),)

    # -- Keras semantics ----------------------------------------------------------------

    def _compile(self, state: _State, model: str, at: cst.CSTNode | Remote) -> _State:
        if self.keras == 2:
            return self._read_set(state, model, at, compiled=True)
        for key, _, origin in state.writes:
            if self._touches(model, key):
                self._compiled.setdefault(origin, set()).add(model)
        self._nodes[id(at)] = at
        return state.with_model(model, _Model(_COMPILED, (), state.writes, compiled_at=id(at)))

    def _train(self, state: _State, model: str, shown: str, call: cst.CSTNode) -> _State:
        """A training call of `model` (written `shown` there), reported at `call`."""
        before = state.model(model)
        phase = before.phase if before is not None else None
        if phase not in (_READ, _TRAINED):  # Keras 3 after compile(), or compiled elsewhere
            state = self._read_set(state, model, call)
        current = state.model(model)
        assert current is not None
        read = current.read
        if phase != _TRAINED:  # reported at the first training call, not at each one
            finding = self._frozen_when_read(model, shown, call, read)
            if finding is None and phase == _COMPILED:
                finding = self._read_for_another(model, shown, call, read, current.compiled)
            if finding is not None:
                self._nodes[id(call)] = call
                self._frozen.setdefault(id(call), finding)
        for key in dict.fromkeys(key for key, _, _ in (*state.writes, *read)):
            now, origin, _ = self._value(state.writes, key)  # a later write may cover it
            then = self._value(read, key)[0]
            if now is None or then is None or now == then or origin is None:
                continue
            if self._may_hold(model, key):
                where = (model, shown, current.read_at, current.compiled_at)
                self._candidates.setdefault(origin, where)
        trained = _Model(_TRAINED, read, current.compiled, current.read_at, current.compiled_at)
        return state.with_model(model, trained)

    def _frozen_when_read(
        self, model: str, shown: str, call: cst.CSTNode, read: Writes
    ) -> Frozen | None:
        for key in (model, f"{model}.layers[*]"):
            value, origin, written = self._value(read, key)
            if value is False:
                by = "" if written == model else f"{self._heap.shown(written)}.trainable = False"
                cause = self._nodes.get(origin) if origin is not None else None
                return Frozen(call, shown, (by,) if by else (), cause=cause)
        return None

    def _read_for_another(
        self, model: str, shown: str, call: cst.CSTNode, read: Writes, compiled: Writes
    ) -> Frozen | None:
        """Keras 3: toggles made after `model`'s compile() for another model compiled after
        them, read by `model`'s first training call."""
        changes, targets = [], []
        for key, _, _ in read:
            now, origin, _ = self._value(read, key)
            then = self._value(compiled, key)[0]
            if now is None or then is None or now == then or origin is None:
                continue
            others = self._compiled.get(origin, set()) - {model}
            if others and self._may_hold(model, key):
                changes.append(f"{self._heap.shown(key)}.trainable = {now}")
                targets.extend(self._heap.shown(other) for other in others)
        if not changes:
            return None
        return Frozen(call, shown, tuple(changes), sorted(set(targets))[0])

    def _read_set(
        self, state: _State, model: str, at: cst.CSTNode | Remote, *, compiled: bool = False
    ) -> _State:
        """Keras reads `model`'s set at `at` (a compile() when `compiled`)."""
        for key, _, origin in state.writes:
            if self._touches(model, key):
                self._read.setdefault(origin, set()).add(model)
        self._nodes[id(at)] = at
        before = state.model(model)
        writes = state.writes if compiled else before.compiled if before is not None else ()
        compiled_at = id(at) if compiled else before.compiled_at if before is not None else 0
        return state.with_model(model, _Model(_READ, state.writes, writes, id(at), compiled_at))

    def _value(self, writes: Writes, key: str) -> tuple[Value, int | None, str]:
        """`key`'s trainable flag after `writes`: the latest write to it or to what holds it
        (the value, the writing node, the object written); never written, True."""
        heap = self._heap
        for written, value, origin in reversed(writes):
            if written == key or heap.contains(written, key):
                return value, origin, written
        return True, None, key

    def _touches(self, model: str, key: str) -> bool:
        """A write to `key` surely reaches part of `model`: the model holds `key`, or `key`
        holds the model, its layers or something the model was built from (`backbone`, whose
        layers a model over `backbone.output` holds)."""
        heap = self._heap
        if heap.contains(model, key) or heap.contains(key, model):
            return True
        parts = (f"{model}.layers[*]", *(heap.reach(model) - self._inputs))
        return any(heap.contains(key, part) for part in parts)

    def _may_hold(self, model: str, key: str) -> bool:
        return self._touches(model, key) or self._heap.contains(model, key, surely=False)

    def _fresh(self, state: _State, made: str) -> _State:
        writes = tuple(entry for entry in state.writes if not under(entry[0], made))
        models = tuple(entry for entry in state.models if not under(entry[0], made))
        return _State(writes, models)

    def _scope_done(self, analysed: bool) -> None:
        if analysed:
            for origin, (model, shown, read_at, compiled_at) in self._candidates.items():
                if not self._read.get(origin, set()) - {model}:
                    nodes = self._nodes
                    found = Ignored(
                        nodes[origin], shown, nodes.get(read_at), nodes.get(compiled_at)
                    )
                    self.ignored.setdefault(origin, found)
            for call, finding in self._frozen.items():
                self.frozen.setdefault(call, finding)
        self._candidates, self._read, self._frozen, self._compiled = {}, {}, {}, {}

    # -- names --------------------------------------------------------------------------

    def _imported(self, expr: cst.BaseExpression, frame: Frame) -> str | None:
        """The dotted name `expr` stands for through an import of the file (`tf.keras.Model` ->
        `tensorflow.keras.Model`); None for a value, or a name the frame binds itself. (Flow's
        `qualify` answers this during the traversal; the dataflow runs after it.)"""
        dotted = _dotted(expr)
        if dotted is None or frame.scope is None:
            return None
        root, _, rest = dotted.partition(".")
        imported = frame.scope.dotted.get(root)
        if imported is None or root in frame.aliases or root in frame.locals:
            return None
        return f"{imported}.{rest}" if rest else imported

    def _is_module(self, expr: cst.BaseExpression, frame: Frame) -> bool:
        """`re.compile`, `tf.keras...`: a receiver that is an imported module, not a value."""
        return self._imported(expr, frame) is not None

    def _makes(self, call: cst.Call, frame: Frame) -> str:
        """What a call makes (see `objects.OPEN`): TensorFlow's and Keras's constructors
        (`Model`, `Sequential`, layers, applications) and calls of objects (`d(x)`) make what
        their arguments say; `load_model` and `Input` hold nothing of the caller's; another
        library's or module's code may hold anything."""
        dotted = self._imported(call.func, frame)
        if dotted is None:
            return BUILT
        if not tfnames.is_tf_or_keras(dotted):
            return OPEN
        if dotted.rsplit(".", 1)[-1] in _FRESH_MAKERS:
            if dotted.endswith("Input"):
                self._inputs.add(frame.allocation(call))
            return FRESH
        return BUILT

    def _loads_compiled(self, call: cst.Call, frame: Frame) -> bool:
        """`keras.models.load_model(path)` (compiled by the load unless `compile=False`)."""
        dotted = self._imported(call.func, frame)
        if not tfnames.is_tf_or_keras(dotted) or dotted.rsplit(".", 1)[-1] not in _LOADERS:
            return False
        return not any(
            argument.keyword is not None
            and argument.keyword.value == "compile"
            and frame.literal(argument.value) is False
            for argument in call.args
        )


class KerasFlowRule(LintRule):
    """A rule that reports from the file's `KerasFlow`: the analysis runs once a file, and only
    in a file that sets `.trainable`, or that imports a project module that does (the pre-check
    already asked for a training call)."""

    FOLLOWS_PROJECT = True
    PROJECT_PRECHECK = ((rb"\.trainable\s*=[^=]",), (rb"\.(?:fit|train_on_batch)\(",))

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
        toggles_elsewhere = not self.flow.reached.isdisjoint(self.PROJECT_PRECHECK[0])
        if self._module is not None and (self._toggles or toggles_elsewhere):
            self.report_from(analyse(self.flow, self._module))

    def report_from(self, analysis: KerasFlow) -> None:
        """Report this rule's findings of `analysis`."""
        raise NotImplementedError

    def tree(self) -> Tree:
        """The file's parents and statements, for fixes (worked out once for both rules)."""
        assert self._module is not None
        module = self._module
        return self.flow.shared("tree", lambda: Tree(module))


def analyse(flow: Flow, module: cst.Module) -> KerasFlow:
    """The file's Keras findings, computed once for all the rules that report them."""

    def build() -> KerasFlow:
        analysis = KerasFlow(flow.keras_major())
        analysis.run(flow.summary(module), flow.project)
        return analysis

    return flow.shared("keras_flow", build)


def _dotted(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = _dotted(expr.value)
        return f"{base}.{expr.attr.value}" if base else None
    return None
