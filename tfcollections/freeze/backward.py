"""Which backward-pass ops a frozen set makes useless, for DynamicOptimizer's gates.

`tf.gradients` builds the gradients of every candidate; freezing only the updates would still
pay the whole backward pass (3x the ideal step with a frozen conv backbone). Each op built by
`compute_gradients` is needed by the candidates whose gradients it feeds: its *need*. When every
variable in an op's need is frozen, the op does nothing useful. `plan` finds, for each need, the
first ops that have it (the others inherit deadness from them through their inputs) so that one
control edge from a gate per such op skips the whole group. Conservative by construction: an op
feeding anything outside the gradients (a summary, a fetched tensor built on the backward ops),
an op inside a v1 `tf.cond`/`tf.while_loop` context, a Merge, or a stateful op is always needed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

_READS = frozenset({"ReadVariableOp", "ResourceGather", "ResourceGatherNd", "VariableShape"})
_ALWAYS = None  # the need of an op that must run whatever is frozen


class Window(NamedTuple):
    """The ops `compute_gradients` built in `graph`: for each call, the op ids after `first`
    up to `last` (`spans`, in call order)."""

    graph: Any
    spans: tuple[tuple[int, int], ...]

    def holds(self, op: Any) -> bool:
        return any(first < op._id <= last for first, last in self.spans)


def last_id(graph: Any) -> int:
    """The id of the newest op in `graph` (0 when empty): ops built later have larger ids.
    It scans the graph's id map: call it a fixed number of times per train op, not per op."""
    return max(graph._nodes_by_id, default=0)


class Plan(NamedTuple):
    """What to change in the backward pass: `gate` maps each op to gate to its need (the
    candidate indices whose gradients need it: it may be skipped when all are frozen); `untie`
    maps each `tf.gradients` tuple NoOp to the control inputs it keeps."""

    gate: dict
    untie: dict


def plan(gradients: list[tuple[int, Any]], window: Window | None, loosen_ties: bool) -> Plan:
    """Which ops of the backward pass to gate, and which gradient ties to loosen.

    `gradients` pairs each candidate's index with its gradient (a tensor or IndexedSlices).
    The ops considered are those `window` holds (what `compute_gradients` built, including
    the parts no gradient uses) and what the gradients depend on that came after it began
    (a user's per-gradient clipping); none when `window` is None or of another graph. Only
    ops `window` holds are gated: an op of the user's that only frozen gradients need (a
    learning-rate factor, a second loss built between two calls) may be fetched on its own.

    With `gate_gradients=GATE_OP` (minimize's default) TF ties the gradients of each op's
    inputs with a NoOp, so a conv layer's input gradient would wait for its filter gradient
    and the other way round. With `loosen_ties` (resource variables, whose reads are immutable
    snapshots) a tie only orders pure computations, and it is loosened where its members have
    different needs, so that each can be skipped on its own (TF's graph optimizer drops the
    same ties from a `minimize(var_list=...)` graph, which this is measured against). Ref
    variables are updated in place: there the tie keeps a layer's input gradient reading the
    weights before their update, so it stays, and passes its need on to all its members.
    """
    producers: dict[Any, set[int]] = {}
    for index, gradient in gradients:
        for tensor in _tensors(gradient):
            producers.setdefault(tensor.op, set()).add(index)
    if window is None or not producers or window.graph is not next(iter(producers)).graph:
        return Plan({}, {})
    built = window.graph._nodes_by_id
    region = _ancestors_after(producers, window.spans[0][0])
    for first, last in window.spans:
        region.update(built[i] for i in range(first + 1, last + 1) if i in built)
    need: dict[Any, frozenset[int] | None] = {}
    ties = _is_tie if loosen_ties else lambda op, need: False
    for op in sorted(region, key=lambda op: op._id, reverse=True):  # consumers first
        need[op] = _need(op, region, need, producers.get(op, ()), ties)
    untie = {
        tie: [p for p in tie.control_inputs if _covers(need[p], need[tie])]
        for tie in region
        if ties(tie, need)
    }
    untie = {tie: kept for tie, kept in untie.items() if len(kept) < len(tie.control_inputs)}
    gate: dict[Any, frozenset[int]] = {}
    dead_with: dict[Any, frozenset[int]] = {}  # op -> the need whose gate also kills it
    for op in sorted(region, key=lambda op: op._id):  # producers first
        own = need[op]
        if not own:  # always needed, or by nothing (TF prunes what nothing fetches)
            continue
        parents = inputs_of(op, untie.get(op, op.control_inputs))
        if any(dead_with.get(parent) == own for parent in parents):
            dead_with[op] = own
        elif window.holds(op):
            gate[op] = own
            dead_with[op] = own
    return Plan(gate, untie)


def inputs_of(op: Any, controls: Any = None) -> list:
    """The ops `op` waits on: its data inputs' ops, then its control inputs (or `controls`)."""
    return [tensor.op for tensor in op.inputs] + list(
        op.control_inputs if controls is None else controls
    )


def changes_state(op: Any) -> bool:
    """Stateful kernels other than variable reads (TF marks reads stateful), and kernels that
    write through a ref input (Assign, ScatterAdd, ApplyAdam on ref variables)."""
    if op.type in _READS:
        return False
    return op.op_def.is_stateful or any(arg.is_ref for arg in op.op_def.input_arg)


def _need(op: Any, region: set, need: dict, own: Any, is_tie: Any) -> frozenset[int] | None:
    """The candidates whose gradients need `op`, from its consumers' needs (already known:
    consumers are newer than their inputs, except across loop back edges, which are inside a
    control-flow context and so always needed). A tie (`is_tie`) does not pass its need on:
    `plan` keeps only the tie's inputs that are needed at least as widely as the tie itself."""
    if op._control_flow_context is not None or op.type == "Merge" or changes_state(op):
        return _ALWAYS
    result = set(own)
    consumers = [c for tensor in op.outputs for c in tensor.consumers()] + op._control_outputs
    for consumer in consumers:
        if consumer not in region or consumer._id < op._id:
            return _ALWAYS
        consumer_need = need[consumer]
        if consumer_need is _ALWAYS:
            return _ALWAYS
        if not is_tie(consumer, need):
            result |= consumer_need
    return frozenset(result)


def _is_tie(op: Any, need: dict) -> bool:
    """A NoOp that only orders other backward ops (tf.gradients' `tuple`), and is skippable."""
    return op.type == "NoOp" and not op.outputs and need.get(op) is not _ALWAYS


def _covers(wider: frozenset[int] | None, narrower: frozenset[int] | None) -> bool:
    """True when an op needed by `wider` runs whenever one needed by `narrower` must."""
    return wider is _ALWAYS or (narrower is not _ALWAYS and wider >= narrower)


def detached(updates: list[tuple[Any, Any]], window: Window | None) -> list[Any]:
    """The gradients of `updates` that this step's backward pass does not make: those
    SyncReplicasOptimizer's chief takes from its accumulators, while the flags for the next
    step may still change. The flags must be read after them (read before, they are stale);
    a gradient made from the backward pass must not wait, or gating it would be a cycle."""
    tensors = [tensor for gradient, _ in updates for tensor in _tensors(gradient)]
    if window is None:
        return tensors
    return [tensor for tensor in tensors if not _made_in(tensor.op, window)]


def _made_in(op: Any, window: Window) -> bool:
    """Whether `op` is, or depends on, an op of `window` (stops at the first one found)."""
    start = window.spans[0][0]
    seen, stack = set(), [op]
    while stack:
        op = stack.pop()
        if window.holds(op):
            return True
        seen.add(op)
        stack.extend(p for p in inputs_of(op) if p._id > start and p not in seen)
    return False


def _ancestors_after(ops: Any, first_excluded: int) -> set:
    """`ops` and every op they depend on (data or control) created after `first_excluded`."""
    found: set = set()
    stack = [op for op in ops if op._id > first_excluded]
    while stack:
        op = stack.pop()
        if op in found:
            continue
        found.add(op)
        parents = inputs_of(op)
        stack.extend(p for p in parents if p._id > first_excluded and p not in found)
    return found


def _tensors(gradient: Any) -> list:
    if hasattr(gradient, "indices"):  # IndexedSlices
        shape = gradient.dense_shape
        return [gradient.values, gradient.indices, *([] if shape is None else [shape])]
    return [gradient]
