"""DynamicOptimizer for `tf.compat.v1.train` optimizers: freeze and unfreeze at run time.

The train op is built once, for every candidate variable. Each variable's update waits on a
gate that is dead while the variable's mask says frozen, so TF's executor skips it; the
optimizer's once-per-step work (`_finish`: Adam's beta powers) waits on "anything unfrozen".
The backward pass is gated the same way (see `freeze/backward.py`): an op that only frozen
variables' gradients need does not run. A step with frozen set F therefore runs the kernels
that `minimize(var_list=candidates - F)` would run, on the same slots, and frozen variables and
their slots are not touched. Masks are graph variables (saved by `Saver`) set by one op built in
advance, so the graph never grows after the train op is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any, NamedTuple

from tfcollections import collections as _collections
from tfcollections._tf import tf
from tfcollections.errors import TfCollectionsError, TrainOpStateError
from tfcollections.freeze import backward as _backward
from tfcollections.freeze import targets as _targets


class DynamicOptimizer:
    """Wrap a `tf.compat.v1.train.Optimizer` so variables can be frozen between steps.

    Build the train op with `minimize` or `apply_gradients` as with the wrapped optimizer, then
    call `freeze` / `unfreeze` / `set_frozen` between `session.run` calls, or feed
    `feed(frozen=...)` for one step. Everything frozen: no variable, slot or beta power moves,
    `global_step` still increments.
    """

    def __init__(self, optimizer: Any, name: str = "DynamicOptimizer") -> None:
        train = tf().compat.v1.train
        if not isinstance(optimizer, train.Optimizer):
            raise TfCollectionsError(
                f"DynamicOptimizer wraps a tf.compat.v1.train.Optimizer, got "
                f"{type(optimizer).__name__}; for a Keras optimizer use tfcollections.dynamic()"
            )
        if isinstance(optimizer, train.SyncReplicasOptimizer):
            raise TfCollectionsError(
                "DynamicOptimizer gates the updates of the optimizer it wraps, and "
                "SyncReplicasOptimizer makes none of its own: wrap the other way round, "
                "SyncReplicasOptimizer(DynamicOptimizer(optimizer), ...)"
            )
        self._optimizer = optimizer
        self._name = name
        self._candidates: list[Any] = []
        self._train_op: Any = None
        self._flags: Any = None  # one bool a candidate, built with the train op
        self._backward: _backward.Window | None = None

    @property
    def optimizer(self) -> Any:
        """The wrapped optimizer (its slots and hyper-parameters are the real state)."""
        return self._optimizer

    @property
    def candidates(self) -> list[Any]:
        """The variables the train op can update, fixed when it was built."""
        return list(self._candidates)

    def get_slot(self, var: Any, name: str) -> Any:
        """The wrapped optimizer's slot `name` of `var` (SyncReplicasOptimizer asks for it)."""
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self) -> list[str]:
        return list(self._optimizer.get_slot_names())

    def variables(self) -> list[Any]:
        """The wrapped optimizer's variables and the freeze flags (a vector, one a candidate)."""
        flags = [] if self._flags is None else [self._flags]
        return [*self._optimizer.variables(), *flags]

    def compute_gradients(self, loss: Any, var_list: Any = None, **kwargs: Any) -> list[Any]:
        """The wrapped optimizer's `compute_gradients`, unchanged.

        The ops it builds are remembered: `apply_gradients` gates those that only frozen
        variables' gradients need, so a frozen variable's backward work is skipped too.
        """
        graph = tf().compat.v1.get_default_graph()
        first = _backward.last_id(graph)
        grads_and_vars = self._optimizer.compute_gradients(loss, var_list=var_list, **kwargs)
        built = (first, _backward.last_id(graph))
        if self._backward is None or self._backward.graph is not graph:
            self._backward = _backward.Window(graph, (built,))
        else:  # a second call: both calls' ops, not what was built between them
            self._backward = self._backward._replace(spans=(*self._backward.spans, built))
        return list(grads_and_vars)

    def minimize(
        self,
        loss: Any,
        global_step: Any = None,
        var_list: Any = None,
        name: str | None = None,
        **gradient_kwargs: Any,
    ) -> Any:
        """`compute_gradients` + `apply_gradients`; candidates are `var_list` or the trainables.

        `gradient_kwargs` (gate_gradients, aggregation_method, grad_loss, ...) go to
        `compute_gradients` as in `Optimizer.minimize`.
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, **gradient_kwargs)
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def apply_gradients(
        self,
        grads_and_vars: Iterable[tuple[Any, Any]],
        global_step: Any = None,
        name: str | None = None,
    ) -> Any:
        """Build the one train op; every variable in `grads_and_vars` becomes a candidate.

        `None` gradients are skipped as TF skips them. Raises TrainOpStateError on a second call:
        wrap a second optimizer for a second train op.
        """
        if self._train_op is not None:
            raise TrainOpStateError(
                f"{self._name} already built its train op {self._train_op.name!r}: "
                "wrap another optimizer for another train op"
            )
        tf_ = tf()
        pairs = list(grads_and_vars)
        candidates = [variable for _, variable in pairs]
        if not candidates:
            raise ValueError("No variables provided.")
        updates = [
            (tf_.convert_to_tensor(g) if not _is_sparse(g, tf_) else g, v)
            for g, v in pairs
            if g is not None
        ]
        if not updates:
            raise ValueError(
                f"No gradients provided for any variable: {[v.name for v in candidates]}"
            )
        optimizer = self._optimizer
        index = {id(variable): i for i, variable in enumerate(candidates)}
        # Planned before the updates exist, so that only the gradients' own consumers count.
        skippable = _backward.plan(
            [(index[id(variable)], gradient) for gradient, variable in updates],
            self._backward,
            loosen_ties=all(_is_resource(variable) for _, variable in updates),
        )
        with tf_.init_scope():
            optimizer._create_slots([variable for _, variable in updates])
        with tf_.name_scope(name or optimizer.get_name()) as scope:
            self._build_flags(candidates, tf_, after=_backward.detached(updates, self._backward))
            backward = _Gates(self._frozen_now, tf_)
            for need in sorted({*skippable.gate.values()}, key=len):  # each on a smaller one
                backward.get(need)
            gates = backward
            graph = tf_.compat.v1.get_default_graph()
            if self._frozen_at_flags is not self._frozen_now:
                gates = _Gates(self._frozen_at_flags, tf_, place=self._flags)
            optimizer._prepare()
            older = _backward.last_id(graph)
            update_ops = [
                self._masked_update(gradient, variable, gates.get({index[id(variable)]}), tf_)
                for gradient, variable in updates
            ]
            # "Nothing to update" counts only variables that have a gradient, as TF's own
            # apply_gradients would refuse a var_list whose gradients are all None.
            anything = gates.get({index[id(variable)] for _, variable in updates})
            beside = graph.colocate_with(self._flags) if gates is not backward else nullcontext()
            with tf_.name_scope("finish"), beside:  # where the updates are: no round trips
                updated = _alive_after(update_ops, anything, tf_)
                with tf_.control_dependencies([updated]):
                    finished = _gated(
                        anything, lambda live: optimizer._finish([live], "update"), tf_
                    )
                    finish = _alive_after([finished], anything, tf_)
            _require_gated([*update_ops, finished], gates.open_ops(), older)
            train_op = self._count_step(finish, global_step, scope, tf_)
            for tie, kept in skippable.untie.items():
                tie._remove_all_control_inputs()
                tie._add_control_inputs(kept)
            for op, need in skippable.gate.items():
                op._add_control_input(backward.get(need).open.op)
        tf_.compat.v1.add_to_collection(tf_.compat.v1.GraphKeys.TRAIN_OP, train_op)
        _collections.note_train_op_writes(train_op.graph, candidates)
        self._candidates = candidates
        self._train_op = train_op
        return train_op

    def freeze(self, targets: Any, *, session: Any = None) -> None:
        """Freeze `targets` (variables, names, globs) from the next step on; others unchanged."""
        self._assign(_targets_mask(self, targets), True, session)

    def unfreeze(self, targets: Any, *, session: Any = None) -> None:
        """Make `targets` trainable again from the next step on; others unchanged."""
        self._assign(_targets_mask(self, targets), False, session)

    def set_frozen(self, targets: Any, *, session: Any = None) -> None:
        """Freeze exactly `targets`; every other candidate becomes trainable."""
        chosen = _targets_mask(self, targets)
        self._assign([True] * len(chosen), chosen, session)

    def frozen(self, *, session: Any = None) -> list[Any]:
        """The frozen candidates, in candidate order, as stored in the graph."""
        values = _session(self, session).run(self._frozen_stored)
        return [variable for variable, flag in zip(self._candidates, values) if flag]

    def feed(self, frozen: Any = ()) -> dict[Any, bool]:
        """A feed_dict freezing exactly `frozen` for one `session.run`; the masks stay as set."""
        chosen = _targets_mask(self, frozen)
        feed = dict(zip(self._frozen_now, chosen))
        feed.update(zip(self._frozen_at_flags, chosen))
        return feed

    def _build_flags(self, candidates: list[Any], tf_: Any, after: list[Any]) -> None:
        graph = tf_.compat.v1.get_default_graph()
        with tf_.name_scope("frozen"):
            # One vector of flags, in candidate order: a step reads it once (on a cluster,
            # one transfer from the parameter server however many candidates there are).
            flags = tf_.compat.v1.Variable(
                [False] * len(candidates), trainable=False, name="flags", dtype=tf_.bool
            )
            self._flags = flags
            # Each step reads the flags; the reads are what `feed()` overrides for one step.
            # The backward pass's gates read them where it runs; the updates' gates beside
            # the flags and the variables (on a cluster, the parameter server: the gate of
            # each update is then no message from the worker).
            self._frozen_now = tf_.unstack(flags.read_value(), num=len(candidates))
            self._frozen_at_flags = self._frozen_now
            if flags.device != self._frozen_now[0].op.device or after:
                with tf_.control_dependencies(after), graph.colocate_with(flags):
                    read = flags.read_value()
                    self._frozen_at_flags = tf_.unstack(read, num=len(candidates))
            self._frozen_stored = flags.read_value()
            self._touch = tf_.compat.v1.placeholder(tf_.bool, [len(candidates)], name="touch")
            self._value = tf_.compat.v1.placeholder(tf_.bool, [len(candidates)], name="value")
            merged = tf_.where(self._touch, self._value, self._frozen_stored)
            self._set_flags = flags.assign(merged, name="set").op

    def _masked_update(self, gradient: Any, variable: Any, gate: _Gate, tf_: Any) -> Any:
        processor = _processor(variable)
        graph = tf_.compat.v1.get_default_graph()
        with tf_.name_scope("update_" + variable.op.name), graph.colocate_with(variable):
            return _gated(gate, lambda _: processor.update_op(self._optimizer, gradient), tf_)

    def _count_step(self, finish: Any, global_step: Any, scope: str, tf_: Any) -> Any:
        name = scope.rstrip("/")
        if global_step is None:
            return tf_.group(finish, name=name)
        graph = tf_.compat.v1.get_default_graph()
        with tf_.control_dependencies([finish]), graph.colocate_with(global_step):
            return tf_.group(global_step.assign_add(1), name=name)

    def _assign(self, touch: list[bool], value: Any, session: Any) -> None:
        values = [value] * len(touch) if isinstance(value, bool) else value
        _session(self, session).run(
            self._set_flags, feed_dict={self._touch: touch, self._value: values}
        )


class FreezeScheduleHook:
    """A `SessionRunHook` that sets the frozen set by global step: `{0: ["encoder"], 1000: []}`
    freezes the encoder for steps 0-999 and unfreezes it from step 1000 on.

    Give it to the chief's `MonitoredTrainingSession` (`chief_only_hooks=`): the flags are
    graph variables (on the parameter servers under `replica_device_setter`), so every worker's
    next step reads what the chief set. At session creation it applies the entry in force at
    the current global step, so a job restored from a checkpoint resumes with its schedule.
    """

    def __init__(self, optimizer: DynamicOptimizer, schedule: dict[int, Any]) -> None:
        self._optimizer = optimizer
        self._schedule = sorted(schedule.items())
        self._applied: int | None = None
        self._global_step: Any = None

    def begin(self) -> None:
        self._global_step = tf().compat.v1.train.get_global_step()
        if self._global_step is None:
            raise TrainOpStateError("FreezeScheduleHook needs a global step in the graph")

    def after_create_session(self, session: Any, coord: Any) -> None:
        self._apply(int(session.run(self._global_step)), session)

    def before_run(self, run_context: Any) -> None:
        """Nothing to add to the step's run."""

    def after_run(self, run_context: Any, run_values: Any) -> None:
        # Read after the step: within a run, a fetch of the global step may see it before or
        # after the train op's increment.
        session = run_context.session
        self._apply(int(session.run(self._global_step)), session)

    def end(self, session: Any) -> None:
        """Nothing to do at the end: the flags are saved with the checkpoint."""

    def _apply(self, step: int, session: Any) -> None:
        due = [index for index, (start, _) in enumerate(self._schedule) if start <= step]
        if due and due[-1] != self._applied:
            self._optimizer.set_frozen(self._schedule[due[-1]][1], session=session)
            self._applied = due[-1]


def _targets_mask(optimizer: DynamicOptimizer, targets: Any) -> list[bool]:
    _require_train_op(optimizer)
    return _targets.select(targets, optimizer._candidates, lambda variable: variable.op.name)


def _require_train_op(optimizer: DynamicOptimizer) -> None:
    if optimizer._train_op is None:
        raise TrainOpStateError(
            f"{optimizer._name} has no train op yet: call minimize() or apply_gradients() first"
        )


def _session(optimizer: DynamicOptimizer, session: Any) -> Any:
    _require_train_op(optimizer)
    session = session or tf().compat.v1.get_default_session()
    if session is None:
        raise TrainOpStateError(
            "no session: pass session=sess or call inside `with sess.as_default():`"
        )
    return session


class _Gate(NamedTuple):
    """Two views of "is anything in this set unfrozen": `open` is alive only when something is,
    `shut` only when everything is frozen. An op with a dead input, data or control, does not
    run, and its outputs are dead in turn. `all_frozen` is the predicate both come from."""

    open: Any
    shut: Any
    all_frozen: Any


class _Gates:
    """One gate per set of candidate indices, built on first request and shared after. A set's
    "all frozen" is built on the largest set already built inside it: nested sets (the
    variables below each layer) cost one LogicalAnd each."""

    def __init__(self, frozen_now: list[Any], tf_: Any, place: Any = None) -> None:
        self._frozen_now = frozen_now
        self._tf = tf_
        self._place = place  # a variable to build the gates beside, or None: where built
        self._built: dict[frozenset[int], _Gate] = {}

    def open_ops(self) -> list[Any]:
        """The op of every gate's `open` view: what the gated ops depend on."""
        return [gate.open.op for gate in self._built.values()]

    def get(self, indices: Iterable[int]) -> _Gate:
        key = frozenset(indices)
        if key not in self._built:
            tf_ = self._tf
            graph = tf_.compat.v1.get_default_graph()
            place = graph.colocate_with(self._place) if self._place is not None else nullcontext()
            with tf_.name_scope("gate"), place:
                all_frozen = self._all_frozen_of(key)
                when_unfrozen, when_frozen = tf_.raw_ops.Switch(data=all_frozen, pred=all_frozen)
                # A control edge straight from a Switch carries no deadness (one of its outputs
                # is always dead): an Identity does, for control and data edges alike.
                self._built[key] = _Gate(tf_.identity(when_unfrozen), when_frozen, all_frozen)
        return self._built[key]

    def _all_frozen_of(self, key: frozenset[int]) -> Any:
        tf_ = self._tf
        inside = max((k for k in self._built if k < key), key=len, default=frozenset())
        reads = [self._frozen_now[i] for i in sorted(key - inside)]
        rest = reads[0] if len(reads) == 1 else tf_.reduce_all(tf_.stack(reads))
        return tf_.logical_and(self._built[inside].all_frozen, rest) if inside else rest


def _gated(gate: _Gate, build: Callable[[Any], Any], tf_: Any) -> Any:
    """`build(gate.open)` with every op it creates waiting on `gate.open`, so none of it runs
    when the gate is shut; returns what `build` returned (dead when the gate is shut)."""
    with tf_.control_dependencies([gate.open]):
        return build(gate.open)


def _require_gated(results: list[Any], gates: list[Any], older: int) -> None:
    """Raise TfCollectionsError if a state change built on the way to `results` after op id
    `older` does not depend on a gate (an optimizer that builds it under `init_scope` or
    `control_dependencies(None)`): it would run while frozen and touch a frozen variable.

    An op with a dead input (data or control) does not run, so an op that depends on a gate
    is skipped whenever that gate is shut.
    """
    depends: dict[Any, bool] = dict.fromkeys(gates, True)
    stack = [result if hasattr(result, "control_inputs") else result.op for result in results]
    while stack:
        op = stack[-1]
        if op in depends:
            stack.pop()
            continue
        parents = _backward.inputs_of(op)
        pending = [p for p in parents if p._id > older and p not in depends]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        depends[op] = any(depends.get(parent, False) for parent in parents)
        if not depends[op] and _backward.changes_state(op):
            raise TfCollectionsError(
                f"cannot freeze with {op.name!r}: the optimizer changes state outside the "
                "ops it builds per variable, so a frozen variable would not stay untouched"
            )


def _alive_after(ops: list[Any], gate: _Gate, tf_: Any) -> Any:
    """A tensor that is alive once every op in `ops` ran or was skipped: a Merge waits for its
    control inputs, dead or alive, then forwards its one live data input (exactly one of the
    gate's two views is alive). One Merge serves any number of gated updates."""
    with tf_.control_dependencies(ops):
        return tf_.raw_ops.Merge(inputs=[gate.open, gate.shut]).output


def _is_sparse(gradient: Any, tf_: Any) -> bool:
    return isinstance(gradient, tf_.IndexedSlices)


def _is_resource(variable: Any) -> bool:
    from tensorflow.python.ops import resource_variable_ops

    return bool(resource_variable_ops.is_resource_variable(variable))


def _processor(variable: Any) -> Any:
    """TF's per-variable update builder (dense, resource and sparse paths), as minimize uses."""
    from tensorflow.python.training import optimizer as tf_optimizer

    return tf_optimizer._get_processor(variable)
