"""DynamicOptimizer for `tf.compat.v1.train` optimizers: freeze and unfreeze at run time.

The train op is built once, for every candidate variable, with each variable's update inside a
`tf.cond` on its own scalar bool mask; the optimizer's once-per-step work (`_finish`: Adam's beta
powers) sits in a `tf.cond` on "anything unfrozen". A step with frozen set F therefore runs
exactly the kernels that `apply_gradients` built for `candidates - F` would run, on the same
slots, and frozen variables and their slots are not touched. Masks are graph variables (saved by
`Saver`) set by one op built in advance, so the graph never grows after the train op is built.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tfcollections import collections as _collections
from tfcollections._tf import tf
from tfcollections.errors import TfCollectionsError, TrainOpStateError
from tfcollections.freeze import targets as _targets


class DynamicOptimizer:
    """Wrap a `tf.compat.v1.train.Optimizer` so variables can be frozen between steps.

    Build the train op with `minimize` or `apply_gradients` as with the wrapped optimizer, then
    call `freeze` / `unfreeze` / `set_frozen` between `session.run` calls, or feed
    `feed(frozen=...)` for one step. Everything frozen: no variable, slot or beta power moves,
    `global_step` still increments.
    """

    def __init__(self, optimizer: Any, name: str = "DynamicOptimizer") -> None:
        if not isinstance(optimizer, tf().compat.v1.train.Optimizer):
            raise TfCollectionsError(
                f"DynamicOptimizer wraps a tf.compat.v1.train.Optimizer, got "
                f"{type(optimizer).__name__}; for a Keras optimizer use tfcollections.dynamic()"
            )
        self._optimizer = optimizer
        self._name = name
        self._candidates: list = []
        self._train_op: Any = None

    @property
    def optimizer(self) -> Any:
        """The wrapped optimizer (its slots and hyper-parameters are the real state)."""
        return self._optimizer

    @property
    def candidates(self) -> list:
        """The variables the train op can update, fixed when it was built."""
        return list(self._candidates)

    def compute_gradients(self, loss: Any, var_list: Any = None, **kwargs: Any) -> list:
        """The wrapped optimizer's `compute_gradients`, unchanged."""
        return self._optimizer.compute_gradients(loss, var_list=var_list, **kwargs)

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
        with tf_.init_scope():
            optimizer._create_slots([variable for _, variable in updates])
        with tf_.name_scope(name or optimizer.get_name()) as scope, _switch_merge_conds(tf_):
            self._build_masks(candidates, tf_)
            optimizer._prepare()
            frozen_now = dict(zip(map(id, candidates), self._frozen_now))
            update_masks = [frozen_now[id(variable)] for _, variable in updates]
            update_ops = [
                self._masked_update(gradient, variable, frozen, tf_)
                for (gradient, variable), frozen in zip(updates, update_masks)
            ]
            # "Nothing to update" counts only variables that have a gradient, as TF's own
            # apply_gradients would refuse a var_list whose gradients are all None.
            all_frozen = tf_.reduce_all(tf_.stack(update_masks))
            with tf_.control_dependencies(update_ops), tf_.name_scope("finish"):
                finish = _unless(
                    all_frozen, all_frozen, lambda live: optimizer._finish([live], "update"), tf_
                )
            train_op = self._count_step(finish, global_step, scope, tf_)
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

    def frozen(self, *, session: Any = None) -> list:
        """The frozen candidates, in candidate order, as stored in the graph."""
        values = _session(self, session).run(self._frozen_stored)
        return [variable for variable, flag in zip(self._candidates, values) if flag]

    def feed(self, frozen: Any = ()) -> dict:
        """A feed_dict freezing exactly `frozen` for one `session.run`; the masks stay as set."""
        return dict(zip(self._frozen_now, _targets_mask(self, frozen)))

    def _build_masks(self, candidates: list, tf_: Any) -> None:
        with tf_.name_scope("frozen"):
            masks = [
                tf_.compat.v1.Variable(False, trainable=False, name=variable.op.name)
                for variable in candidates
            ]
            # Each step reads the masks; the reads are what `feed()` overrides for one step.
            self._frozen_now = [mask.read_value() for mask in masks]
            self._frozen_stored = tf_.stack(self._frozen_now)
            self._touch = tf_.compat.v1.placeholder(tf_.bool, [len(masks)], name="touch")
            self._value = tf_.compat.v1.placeholder(tf_.bool, [len(masks)], name="value")
            merged = tf_.unstack(tf_.where(self._touch, self._value, self._frozen_stored))
            self._set_masks = tf_.group(
                *(mask.assign(flag) for mask, flag in zip(masks, merged)), name="set"
            )

    def _masked_update(self, gradient: Any, variable: Any, frozen: Any, tf_: Any) -> Any:
        processor = _processor(variable)
        graph = tf_.compat.v1.get_default_graph()
        with tf_.name_scope("update_" + variable.op.name), graph.colocate_with(variable):
            return _unless(
                frozen, gradient, lambda live: processor.update_op(self._optimizer, live), tf_
            )

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
            self._set_masks, feed_dict={self._touch: touch, self._value: values}
        )


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


@contextlib.contextmanager
def _switch_merge_conds(tf_: Any) -> Iterator[None]:
    """Build `tf.cond` as Switch/Merge (control flow v1) in a plain graph, as TF1 did.

    Under TF2 behaviour `tf.cond` builds an `If` op whose per-step cost we measured at up to
    1.4x the whole step of the seed's toy problem; Switch/Merge costs a few percent. Inside a
    function graph TF insists on `If`, so the switch is left alone there.
    """
    from tensorflow.python.ops import control_flow_util

    if tf_.compat.v1.get_default_graph().building_function:
        yield
        return
    saved = control_flow_util.ENABLE_CONTROL_FLOW_V2
    control_flow_util.ENABLE_CONTROL_FLOW_V2 = False
    try:
        yield
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved


def _unless(frozen: Any, gated: Any, build: Callable[[Any], Any], tf_: Any) -> Any:
    """`build(gated)`, run only when the scalar bool `frozen` is False; a tensor to wait on.

    Fast path: route `gated` (a gradient, or the predicate itself) through one Switch and build
    on its live output; when frozen that output is dead, so every op fed by it is skipped, and a
    Merge gives the train op something alive to wait on. It is kept only if every state change
    that `build` made is fed by the Switch; otherwise (Adam's sparse path scales its moments
    before it reads the gradient) the work is rebuilt inside a `tf.cond`, which switches every
    input, and the unused draft stays in the graph, never run.
    """
    live_output, when_frozen = tf_.raw_ops.Switch(data=_values(gated, tf_), pred=frozen)
    # A control edge straight from a Switch carries no deadness (one of its outputs is always
    # dead): an Identity pivot does, for control and data edges alike.
    pivot = tf_.identity(live_output)
    live = (
        tf_.IndexedSlices(pivot, gated.indices, gated.dense_shape)
        if _is_sparse(gated, tf_)
        else pivot
    )
    result = build(live)
    if not _all_state_changes_need(result, pivot.op):
        return tf_.cond(frozen, tf_.no_op, lambda: tf_.group(build(gated)), name="unless_frozen")
    # A Merge waits for its control inputs, dead or alive, then forwards its live data input.
    with tf_.control_dependencies([result]):
        return tf_.raw_ops.Merge(inputs=[pivot, when_frozen]).output


def _all_state_changes_need(update: Any, gate: Any) -> bool:
    """True when every stateful op built after `gate` on the way to `update` depends on it.

    An op with a dead input (data or control) does not run, so such ops are skipped whenever
    the gate's live output is dead. Ops older than the gate are not the update's own.
    """
    first_new = gate._id
    depends: dict[Any, bool] = {gate: True}
    stack = [update if hasattr(update, "control_inputs") else update.op]
    while stack:
        op = stack[-1]
        if op in depends:
            stack.pop()
            continue
        parents = [tensor.op for tensor in op.inputs] + list(op.control_inputs)
        pending = [p for p in parents if p._id >= first_new and p not in depends]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        depends[op] = any(depends.get(parent, False) for parent in parents)
    return all(flag or not _changes_state(op) for op, flag in depends.items())


_READS = frozenset({"ReadVariableOp", "ResourceGather", "ResourceGatherNd", "VariableShape"})


def _changes_state(op: Any) -> bool:
    """Stateful kernels other than variable reads (TF marks reads stateful), and kernels that
    write through a ref input (Assign, ScatterAdd, ApplyAdam on ref variables)."""
    if op.type in _READS:
        return False
    return op.op_def.is_stateful or any(arg.is_ref for arg in op.op_def.input_arg)


def _values(gradient: Any, tf_: Any) -> Any:
    return gradient.values if _is_sparse(gradient, tf_) else gradient


def _is_sparse(gradient: Any, tf_: Any) -> bool:
    return isinstance(gradient, tf_.IndexedSlices)


def _processor(variable: Any) -> Any:
    """TF's per-variable update builder (dense, resource and sparse paths), as minimize uses."""
    from tensorflow.python.training import optimizer as tf_optimizer

    return tf_optimizer._get_processor(variable)
