"""The graph-mode contract harness: DynamicOptimizer against the per-pattern reference.

The reference is the seed's first variant: one `minimize(var_list=candidates - F)` per frozen
set F, built from one optimizer instance before initialisation. Both runs start from the same
values; after every step the two must hold the same bytes in every variable, slot and
optimizer-global variable. Run as a script (`python dynamic_contract.py v1`) it checks the same
contract with ref variables and control flow v1, which need a process of their own.
"""

from __future__ import annotations

import sys

import numpy as np
import tensorflow as tf

import tfcollections as tfc

OPTIMIZERS = {
    "GradientDescent": lambda: tf.compat.v1.train.GradientDescentOptimizer(0.1),
    "Momentum": lambda: tf.compat.v1.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    "Adam": lambda: tf.compat.v1.train.AdamOptimizer(0.01),
    "Adagrad": lambda: tf.compat.v1.train.AdagradOptimizer(0.1),
    "RMSProp": lambda: tf.compat.v1.train.RMSPropOptimizer(0.01, momentum=0.5),
    "Adadelta": lambda: tf.compat.v1.train.AdadeltaOptimizer(1.0),
    "Ftrl": lambda: tf.compat.v1.train.FtrlOptimizer(0.1, l1_regularization_strength=0.01),
}

_RNG = np.random.default_rng(7)
_INIT = {  # in layer order: a prefix is a frozen lower backbone
    "conv/kernel": _RNG.normal(scale=0.3, size=(3, 3, 2, 4)).astype(np.float32),
    "conv/bias": np.zeros(4, np.float32),
    "enc/w": _RNG.normal(size=(4, 8)).astype(np.float32),
    "enc/b": np.zeros(8, np.float32),
    "head/w": _RNG.normal(size=(8, 1)).astype(np.float32),
    "emb": _RNG.normal(size=(10, 4)).astype(np.float32),
    "unused": np.ones(3, np.float32),
}
_IMAGES = _RNG.normal(size=(16, 5, 5, 2)).astype(np.float32)
_IDS = np.array([1, 3, 1, 7, 3, 3], np.int32)  # duplicate ids: summed sparse updates


def build_model() -> tuple[list, tf.Tensor]:
    """A conv layer, dense layers, an embedding with a sparse (IndexedSlices) gradient, and a
    variable whose gradient is None; returns (candidates, loss)."""
    variables = [tf.compat.v1.Variable(value, name=name) for name, value in _INIT.items()]
    conv_k, conv_b, enc_w, enc_b, head_w, emb, _unused = variables
    features = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(_IMAGES, conv_k, 1, "SAME"), conv_b))
    hidden = tf.tanh(tf.matmul(tf.reduce_mean(features, [1, 2]), enc_w) + enc_b)
    rows = tf.nn.embedding_lookup(emb, _IDS)
    loss = tf.reduce_mean(tf.square(tf.matmul(hidden, head_w))) + tf.reduce_sum(
        tf.square(rows - 0.5)
    )
    return variables, loss


def build_loop_model() -> tuple[list, tf.Tensor]:
    """The conv layer, then a dense layer applied three times in a `tf.while_loop` and a
    `tf.cond` on the data: backward ops inside control flow (v2 `While`/`If` ops, or v1
    contexts after `disable_v2_behavior()`) beside gated ones outside it."""
    names = ["conv/kernel", "conv/bias", "enc/w", "enc/b"]
    variables = [tf.compat.v1.Variable(_INIT[name], name=name) for name in names]
    conv_k, conv_b, enc_w, enc_b = variables
    features = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(_IMAGES, conv_k, 1, "SAME"), conv_b))
    pooled = tf.reduce_mean(features, [1, 2])

    def body(i, hidden):
        return i + 1, tf.tanh(tf.matmul(hidden, enc_w[:, :4]) + enc_b[:4])

    _, hidden = tf.compat.v1.while_loop(lambda i, _: i < 3, body, [0, pooled])
    hidden = tf.cond(tf.reduce_sum(pooled) > 0, lambda: hidden * 2.0, lambda: hidden - 1.0)
    return variables, tf.reduce_mean(tf.square(hidden))


MODELS = {"layers": build_model, "loops": build_loop_model}


def random_schedule(steps: int, n_variables: int, seed: int) -> list[frozenset[int]]:
    """Frozen index sets drawn from a handful of patterns: none, all, frozen prefixes (the
    conv layer; conv and encoder) and random sets."""
    rng = np.random.default_rng(seed)
    patterns = [
        frozenset(),
        frozenset(range(n_variables)),
        frozenset(range(2)),
        frozenset(range(4)),
    ]
    patterns += [
        frozenset(np.flatnonzero(rng.random(n_variables) < 0.5).tolist()) for _ in range(6)
    ]
    return [patterns[i] for i in rng.integers(0, len(patterns), size=steps)]


def snapshot(session, optimizer, variables, global_step) -> dict[str, bytes]:
    tracked = [*variables, *optimizer.variables(), global_step]
    values = session.run(tracked)
    return {v.op.name: np.asarray(value).tobytes() for v, value in zip(tracked, values)}


def run_dynamic(make_optimizer, schedule, build=build_model) -> tuple[list[dict], list]:
    graph = tf.Graph()
    with graph.as_default():
        variables, loss = build()
        global_step = tf.compat.v1.train.get_or_create_global_step()
        dynamic = tfc.DynamicOptimizer(make_optimizer())
        train_op = dynamic.minimize(loss, global_step=global_step)
        init = tf.compat.v1.global_variables_initializer()
        graph.finalize()
        states = []
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            for frozen in schedule:
                dynamic.set_frozen([variables[i] for i in sorted(frozen)], session=session)
                session.run(train_op)
                states.append(snapshot(session, dynamic.optimizer, variables, global_step))
        return states, [v.op.name for v in variables]


def run_reference(make_optimizer, schedule, build=build_model) -> list[dict]:
    graph = tf.Graph()
    with graph.as_default():
        variables, loss = build()
        global_step = tf.compat.v1.train.get_or_create_global_step()
        optimizer = make_optimizer()
        with_gradient = {
            i
            for i, (g, _) in enumerate(optimizer.compute_gradients(loss, variables))
            if g is not None
        }
        train_ops = {}
        for frozen in sorted(set(schedule), key=sorted):
            var_list = [v for i, v in enumerate(variables) if i not in frozen]
            if with_gradient - frozen:
                train_ops[frozen] = optimizer.minimize(loss, global_step, var_list=var_list)
            else:  # TF refuses to build it; the documented outcome: only the step counts
                train_ops[frozen] = global_step.assign_add(1)
        init = tf.compat.v1.global_variables_initializer()
        states = []
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            for frozen in schedule:
                session.run(train_ops[frozen])
                states.append(snapshot(session, optimizer, variables, global_step))
        return states


def check_contract(name: str, steps: int = 60, seed: int = 0, model: str = "layers") -> None:
    """Raise AssertionError at the first step where dynamic and reference differ."""
    make_optimizer, build = OPTIMIZERS[name], MODELS[model]
    with tf.Graph().as_default():
        n_variables = len(build()[0])
    schedule = random_schedule(steps, n_variables, seed)
    dynamic_states, names = run_dynamic(make_optimizer, schedule, build)
    reference_states = run_reference(make_optimizer, schedule, build)
    previous = None
    for step, (mine, theirs, frozen) in enumerate(zip(dynamic_states, reference_states, schedule)):
        assert mine.keys() == theirs.keys(), (name, sorted(mine), sorted(theirs))
        differing = sorted(key for key in mine if mine[key] != theirs[key])
        assert not differing, f"{name} step {step}: {differing} differ from the reference"
        if previous is not None:
            for index in frozen:
                moved = [
                    key
                    for key in mine
                    if (key == names[index] or key.startswith(names[index] + "/"))
                    and mine[key] != previous[key]
                ]
                assert not moved, f"{name} step {step}: frozen {moved} moved"
        previous = mine
    assert len(set(map(len, schedule))) > 2  # the schedule really mixed patterns


if __name__ == "__main__":
    if sys.argv[1:] == ["v1"]:
        tf.compat.v1.disable_v2_behavior()
    for optimizer_name in OPTIMIZERS:
        check_contract(optimizer_name)
        print("ok", optimizer_name)
    for optimizer_name in ("Adam", "Momentum"):
        check_contract(optimizer_name, steps=30, model="loops")
        print("ok", optimizer_name, "loops")
