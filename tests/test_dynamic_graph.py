import collections
import warnings
from pathlib import Path

import dynamic_contract
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_python

import tfcollections as tfc


@pytest.mark.parametrize("name", sorted(dynamic_contract.OPTIMIZERS))
def test_contract_bit_for_bit_against_per_pattern_reference(name):
    dynamic_contract.check_contract(
        name, steps=60, seed=sorted(dynamic_contract.OPTIMIZERS).index(name)
    )


@pytest.mark.parametrize("name", ["Adam", "Momentum"])
def test_contract_with_backward_inside_while_loop_and_cond(name):
    dynamic_contract.check_contract(name, steps=30, model="loops")


@pytest.mark.slow
def test_contract_with_ref_variables_and_control_flow_v1():
    script = Path(dynamic_contract.__file__)
    result = run_python(
        f"import runpy, sys; sys.argv = ['contract', 'v1']; runpy.run_path({str(script)!r}, "
        "run_name='__main__')",
        cwd=str(script.parent),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = [w for n in dynamic_contract.OPTIMIZERS for w in ("ok", n)]
    expected += ["ok", "Adam", "loops", "ok", "Momentum", "loops"]
    assert result.stdout.split() == expected


def _seed_setup(optimizer=None):
    x = tf.compat.v1.Variable(3.0, name="x")
    y = tf.compat.v1.Variable(31.0, name="y")
    global_step = tf.compat.v1.train.get_or_create_global_step()
    dynamic = tfc.DynamicOptimizer(optimizer or tf.compat.v1.train.AdamOptimizer(0.01))
    train_op = dynamic.minimize(tf.abs(x - y), global_step=global_step)
    return x, y, global_step, dynamic, train_op


def _session(graph):
    session = tf.compat.v1.Session(graph=graph)
    session.run(tf.compat.v1.global_variables_initializer())
    return session


def test_graph_never_grows_whatever_is_called(graph):
    x, y, _, dynamic, train_op = _seed_setup()
    session = _session(graph)
    ops_before = len(graph.get_operations())
    graph.finalize()  # any op added from here on raises
    for step in range(100):
        frozen = x if step % 10 < 5 else y
        dynamic.freeze("y", session=session)
        dynamic.unfreeze([y], session=session)
        dynamic.set_frozen(frozen, session=session)
        assert dynamic.frozen(session=session) == [frozen]
        session.run(train_op, feed_dict=dynamic.feed(frozen=[y]))
        session.run(train_op)
    assert len(graph.get_operations()) == ops_before


def test_seed_alternation_trains_only_the_unfrozen(graph):
    x, y, _, dynamic, train_op = _seed_setup()
    with _session(graph) as session:
        for step in range(100):
            frozen = x if step % 10 < 5 else y
            dynamic.set_frozen(frozen, session=session)
            before = session.run({"x": x, "y": y})
            session.run(train_op)
            after = session.run({"x": x, "y": y})
            still, moved = ("x", "y") if frozen is x else ("y", "x")
            assert after[still] == before[still] and after[moved] != before[moved]
        assert session.run(tf.abs(x - y)) < 28.0 - 0.5


def test_everything_frozen_changes_nothing_but_global_step(graph):
    x, y, global_step, dynamic, train_op = _seed_setup()
    with _session(graph) as session:
        session.run(train_op)
        dynamic.freeze([x, y], session=session)
        state = [*dynamic.optimizer.variables(), x, y]
        before = session.run(state)
        session.run(train_op)
        assert [np.asarray(v).tobytes() for v in session.run(state)] == [
            np.asarray(v).tobytes() for v in before
        ]
        assert session.run(global_step) == 2


def test_feed_freezes_for_one_step_without_touching_masks(graph):
    x, y, _, dynamic, train_op = _seed_setup()
    with _session(graph) as session:
        dynamic.freeze(x, session=session)
        y0 = session.run(y)
        x0 = session.run(x)
        session.run(train_op, feed_dict=dynamic.feed(frozen=[y]))
        assert session.run(y) == y0 and session.run(x) != x0
        assert dynamic.frozen(session=session) == [x]


def test_freeze_unfreeze_accumulate_and_set_frozen_replaces(graph):
    with tf.compat.v1.variable_scope("disc"):
        d1 = tf.compat.v1.Variable(1.0, name="w")
        d2 = tf.compat.v1.Variable(1.0, name="b")
    with tf.compat.v1.variable_scope("gen"):
        g1 = tf.compat.v1.Variable(1.0, name="w")
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1))
    dynamic.minimize(d1 * d2 * g1)
    with _session(graph) as session, session.as_default():
        dynamic.freeze("disc/*")
        assert dynamic.frozen() == [d1, d2]
        dynamic.freeze("gen")
        dynamic.unfreeze("disc/b:0")
        assert dynamic.frozen() == [d1, g1]
        dynamic.set_frozen("w")  # a plain name matches a segment: both w's
        assert dynamic.frozen() == [d1, g1]
        dynamic.set_frozen([])
        assert dynamic.frozen() == []
        assert dynamic.candidates == [d1, d2, g1]


def test_slots_exist_before_initialisation_so_any_pattern_runs(graph):
    x, y, _, dynamic, train_op = _seed_setup()
    slot_names = {v.op.name for v in dynamic.optimizer.variables()}
    assert {"x/Adam", "x/Adam_1", "y/Adam", "y/Adam_1", "beta1_power"} <= slot_names
    with _session(graph) as session:
        for pattern in ([x], [y], [], [x, y]):
            dynamic.set_frozen(pattern, session=session)
            session.run(train_op)


def test_checkpoint_restores_the_frozen_set(graph, tmp_path):
    x, y, _, dynamic, train_op = _seed_setup()
    saver = tf.compat.v1.train.Saver()
    with _session(graph) as session:
        dynamic.freeze(y, session=session)
        path = saver.save(session, str(tmp_path / "model"))
    with tf.compat.v1.Session(graph=graph) as session:
        saver.restore(session, path)
        assert dynamic.frozen(session=session) == [y]
        y0 = session.run(y)
        session.run(train_op)
        assert session.run(y) == y0


def test_the_flags_are_one_non_trainable_graph_variable(graph):
    """One bool per candidate, in one vector: a step reads it once (on a cluster, one
    transfer from the parameter server), and a Saver checkpoint holds it."""
    _seed_setup()
    flags = [v for v in tf.compat.v1.global_variables() if "/frozen/" in v.op.name]
    assert len(flags) == 1 and flags[0].dtype == tf.bool and flags[0].shape == (2,)
    assert not set(flags) & set(tf.compat.v1.trainable_variables())


def test_unknown_target_lists_close_names(graph):
    tf.compat.v1.Variable(1.0, name="dense/kernel")
    w = tf.compat.v1.Variable(1.0, name="dense/bias")
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1))
    dynamic.minimize(tf.reduce_sum(tf.compat.v1.trainable_variables()))
    with pytest.raises(tfc.UnknownTargetError, match="'dense/kernl'.*close names: dense/kernel"):
        dynamic.feed(frozen="dense/kernl")
    outsider = tf.compat.v1.Variable(1.0, name="outsider")
    with pytest.raises(tfc.UnknownTargetError, match="'outsider'"):
        dynamic.feed(frozen=[w, outsider])
    assert issubclass(tfc.UnknownTargetError, tfc.TfCollectionsError)


def test_none_gradients_are_skipped_and_all_none_refused(graph):
    x = tf.compat.v1.Variable(1.0, name="x")
    unused = tf.compat.v1.Variable(1.0, name="unused")
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.AdamOptimizer(0.1))
    train_op = dynamic.minimize(x * 2.0)
    assert dynamic.candidates == [x, unused]
    with _session(graph) as session:
        dynamic.freeze(x, session=session)  # only the None-gradient variable is left
        beta = session.run(dynamic.optimizer.variables())
        session.run(train_op)
        assert session.run(dynamic.optimizer.variables()) == beta
    other = tfc.DynamicOptimizer(tf.compat.v1.train.AdamOptimizer(0.1))
    with pytest.raises(ValueError, match="No gradients provided"):
        other.minimize(tf.constant(1.0) * 2.0, var_list=[unused])


def test_misuse_raises_package_errors(graph):
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1))
    with pytest.raises(tfc.TrainOpStateError, match="no train op yet"):
        dynamic.freeze("x")
    x = tf.compat.v1.Variable(1.0, name="x")
    dynamic.minimize(x * 2.0)
    with pytest.raises(tfc.TrainOpStateError, match="no session"):
        dynamic.frozen()
    with pytest.raises(tfc.TrainOpStateError, match="already built"):
        dynamic.minimize(x * 3.0)
    with pytest.raises(tfc.TfCollectionsError, match="tf.compat.v1.train.Optimizer"):
        tfc.DynamicOptimizer("adam")


def test_train_op_is_registered_and_removal_warns(graph):
    x, _, _, _, train_op = _seed_setup()
    assert train_op in tf.compat.v1.get_collection(tfc.TRAIN_OP)
    with pytest.warns(tfc.StaleTrainOpWarning):
        tfc.remove(tfc.TRAINABLE_VARIABLES, x)


def test_apply_gradients_with_explicit_gradients(graph):
    x = tf.compat.v1.Variable(1.0, name="x")
    y = tf.compat.v1.Variable(1.0, name="y")
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(1.0))
    gs = tf.compat.v1.train.get_or_create_global_step()
    train_op = dynamic.apply_gradients(dynamic.compute_gradients(x + 2 * y), global_step=gs)
    with _session(graph) as session:
        dynamic.freeze("y", session=session)
        session.run(train_op)
        assert session.run([x, y, gs]) == [0.0, 1.0, 1]


def test_no_warnings_when_wrapping(graph):
    with warnings.catch_warnings():
        warnings.simplefilter("error", tfc.StaleTrainOpWarning)
        _seed_setup()


def _conv_model():
    """Three conv layers and a dense head; variables in layer order (kernel, bias, ...)."""
    rng = np.random.default_rng(0)
    hidden = tf.constant(rng.normal(size=(4, 8, 8, 3)).astype(np.float32))
    variables = []
    for index in range(3):
        shape = (3, 3, hidden.shape[-1], 4)
        kernel = tf.compat.v1.Variable(
            rng.normal(scale=0.2, size=shape).astype(np.float32), name=f"conv{index}/kernel"
        )
        bias = tf.compat.v1.Variable(np.zeros(4, np.float32), name=f"conv{index}/bias")
        variables += [kernel, bias]
        hidden = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(hidden, kernel, 1, "SAME"), bias))
    head = tf.compat.v1.Variable(rng.normal(size=(4, 1)).astype(np.float32), name="head/kernel")
    loss = tf.reduce_mean(tf.square(tf.matmul(tf.reduce_mean(hidden, [1, 2]), head)))
    return [*variables, head], loss


def _executed(session, fetch, feed_dict=None) -> list:
    """The ops TF's executor ran for one step: an op on a dead branch is not recorded."""
    metadata = tf.compat.v1.RunMetadata()
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    session.run(fetch, feed_dict, options=options, run_metadata=metadata)
    graph = session.graph
    names = {node.node_name for dev in metadata.step_stats.dev_stats for node in dev.node_stats}
    return [op for op in graph.get_operations() if op.name in names]


def _conv_backprops(ops) -> list[str]:
    """'conv<layer> filter|input' for each conv gradient kernel among `ops`."""
    layer = {"Conv2D": 0, "Conv2D_1": 1, "Conv2D_2": 2}
    return sorted(
        f"conv{layer[op.name.split('/')[1][: -len('_grad')]]} {op.type[len('Conv2DBackprop') :]}"
        for op in ops
        if op.type.startswith("Conv2DBackprop")
    )


def test_frozen_layers_backward_kernels_do_not_run_until_unfrozen(graph):
    variables, loss = _conv_model()
    global_step = tf.compat.v1.train.get_or_create_global_step()
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.AdamOptimizer(0.01))
    train_op = dynamic.minimize(loss, global_step=global_step)
    with _session(graph) as session:
        everything = _conv_backprops(_executed(session, train_op))
        # conv0's input gradient (of the images) is needed by nothing and never runs.
        assert everything == [
            "conv0 Filter",
            "conv1 Filter",
            "conv1 Input",
            "conv2 Filter",
            "conv2 Input",
        ]
        dynamic.set_frozen(variables[:4], session=session)  # conv0 and conv1: a frozen prefix
        # conv2's input gradient only feeds the frozen layers below it.
        assert _conv_backprops(_executed(session, train_op)) == ["conv2 Filter"]
        dynamic.set_frozen(variables[2:4], session=session)  # conv1 alone, in the middle
        assert _conv_backprops(_executed(session, train_op)) == [
            "conv0 Filter",
            "conv1 Input",
            "conv2 Filter",
            "conv2 Input",
        ]
        executed = _executed(session, train_op, dynamic.feed(frozen=variables))
        assert _conv_backprops(executed) == []
        assert not [op for op in executed if op.type.startswith("ResourceApply")]
        dynamic.set_frozen([], session=session)
        assert _conv_backprops(_executed(session, train_op)) == everything
        assert session.run(global_step) == 5


_COMPUTE = {"Conv2DBackpropFilter", "Conv2DBackpropInput", "BiasAddGrad", "ReluGrad", "MatMul"}


def _compute_kernels(ops) -> collections.Counter:
    return collections.Counter(op.type for op in ops if op.type in _COMPUTE)


@pytest.mark.parametrize(
    "frozen", [(), (0, 1), (0, 1, 2, 3), (2, 3), (0, 2, 4), (0, 1, 2, 3, 4, 5)]
)
def test_backward_runs_the_kernels_of_minimize_over_the_unfrozen(graph, frozen):
    """The oracle: `minimize(var_list=unfrozen)` as TF builds and prunes it."""
    variables, loss = _conv_model()
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1))
    train_op = dynamic.minimize(loss)
    with _session(graph) as session:
        dynamic.set_frozen([variables[i] for i in frozen], session=session)
        mine = _compute_kernels(_executed(session, train_op))
    ideal_graph = tf.Graph()
    with ideal_graph.as_default():
        variables, loss = _conv_model()
        unfrozen = [v for i, v in enumerate(variables) if i not in frozen]
        ideal_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, var_list=unfrozen
        )
        with _session(ideal_graph) as session:
            ideal = _compute_kernels(_executed(session, ideal_op))
    assert mine == ideal
    assert mine["Conv2DBackpropFilter"] == 3 - len({i // 2 for i in frozen if i % 2 == 0})


class _EscapingOptimizer(tf.compat.v1.train.GradientDescentOptimizer):
    """Changes its variable under `control_dependencies(None)`: outside any gate."""

    def _resource_apply_dense(self, grad, handle):
        with tf.control_dependencies(None):
            escaped = handle.assign_add(tf.zeros(handle.shape))
        return tf.group(escaped, super()._resource_apply_dense(grad, handle))


def test_a_state_change_that_escapes_the_gate_is_refused(graph):
    x = tf.compat.v1.Variable(1.0, name="x")
    dynamic = tfc.DynamicOptimizer(_EscapingOptimizer(0.1))
    with pytest.raises(tfc.TfCollectionsError, match="changes state outside"):
        dynamic.minimize(x * 2.0)


def test_gradients_used_outside_the_update_are_still_computed_when_frozen(graph):
    """A summary of a gradient (or a global-norm clip) consumes it outside the update: the
    work it needs runs whatever is frozen, and fetching it works."""
    variables, loss = _conv_model()
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1))
    grads_and_vars = dynamic.compute_gradients(loss)
    watched = tf.norm(grads_and_vars[0][0])  # conv0's kernel gradient, seen by a "summary"
    clipped, _ = tf.clip_by_global_norm([g for g, _ in grads_and_vars], 1.0)
    train_op = dynamic.apply_gradients(zip(clipped, variables))
    with _session(graph) as session:
        dynamic.set_frozen(variables[:6], session=session)  # the whole backbone
        kernel = session.run(variables[0])
        norm, _ = session.run([watched, train_op])
        assert norm > 0
        assert np.array_equal(kernel, session.run(variables[0]))
        # the global norm needs every gradient: nothing can be skipped
        assert _conv_backprops(_executed(session, train_op)) == [
            "conv0 Filter",
            "conv1 Filter",
            "conv1 Input",
            "conv2 Filter",
            "conv2 Input",
        ]


def test_ops_built_between_compute_and_apply_can_be_fetched_while_frozen(graph):
    """Only what compute_gradients built is gated: a factor of the user's that scales the
    gradients is not, so fetching it works with everything frozen."""
    variables, loss = _conv_model()
    dynamic = tfc.DynamicOptimizer(tf.compat.v1.train.GradientDescentOptimizer(0.1))
    grads_and_vars = dynamic.compute_gradients(loss)
    factor = tf.sqrt(tf.reduce_mean(tf.square(variables[-1])))  # only frozen gradients use it
    train_op = dynamic.apply_gradients([(g * factor, v) for g, v in grads_and_vars])
    with _session(graph) as session:
        dynamic.set_frozen(variables, session=session)
        value, _ = session.run([factor, train_op])
        assert value > 0
        assert _conv_backprops(_executed(session, train_op)) == []  # still skipped


def test_with_the_variables_on_another_device_feed_and_flags_still_decide_each_step():
    """Variables on one device and the step on another (as under replica_device_setter): the
    updates' gates are built beside the flags, the backward's where it runs; a step's feed
    and the flags reach both."""
    result = run_python(
        """
        import numpy as np, tensorflow as tf, tfcollections as tfc
        v1 = tf.compat.v1
        v1.disable_eager_execution()
        def setter(op):  # what replica_device_setter does, on two local devices
            return "/cpu:1" if op.type in ("VarHandleOp", "VariableV2") else "/cpu:0"
        with v1.device(setter):
            x = v1.get_variable("x", initializer=3.0)
            y = v1.get_variable("y", initializer=31.0)
            dynamic = tfc.DynamicOptimizer(v1.train.AdamOptimizer(0.1))
            train = dynamic.minimize(tf.abs(x - y))
        assert dynamic._frozen_at_flags is not dynamic._frozen_now  # two reads: two devices
        config = v1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=False)
        with v1.Session(config=config) as session:
            session.run(v1.global_variables_initializer())
            session.run(train, dynamic.feed(frozen=[x]))
            assert session.run(x) == 3.0 and session.run(y) != 31.0
            dynamic.freeze(y, session=session)
            before = session.run([x, y])
            session.run(train)
            after = session.run([x, y])
            assert after[0] != before[0] and after[1] == before[1]
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
