"""TFC003 train-op-in-loop."""

from __future__ import annotations

import libcst as cst

from tfcollections.lint import patterns
from tfcollections.lint.flow import Place, share_loop
from tfcollections.lint.rule import LintRule


class TrainOpInLoop(LintRule):
    """A train op built inside a loop that runs a session: the graph grows every step.

    `minimize()`, `apply_gradients()`, `compute_gradients()` and `tf.gradients()` add ops to
    the graph each time they are called. Called in the loop that runs `sess.run(...)` (the
    seed's second variant: filter the gradients, then `apply_gradients` every step), the graph
    grows on every step and every step gets slower. Build the train op once, before the loop;
    to change what trains per step use `tfcollections.DynamicOptimizer`.
    """

    code = "TFC003"
    name = "train-op-in-loop"
    MESSAGE = (
        "train op built inside a loop that runs a session: every iteration adds ops to the graph "
        "and each step gets slower; build it once before the loop and change what trains with "
        "tfcollections.DynamicOptimizer"
    )
    PRECHECK = ((b"minimize", b"gradients"), (b".run", b".eval"))

    VALID = [
        """
import tensorflow as tf
train_op = opt.minimize(loss)
with tf.Session() as sess:
    for step in range(100):
        sess.run(train_op)
""",
        # TF2 custom loop: no session, apply_gradients in a loop is how it is done.
        """
for x, y in dataset:
    with tf.GradientTape() as tape:
        loss = compute(x, y)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), vs))
""",
        # Building several train ops in a loop, then running them in another loop.
        """
ops = [opt.minimize(loss, var_list=vs) for vs in groups]
for vs in groups:
    ops.append(opt.minimize(loss, var_list=vs))
for step in range(100):
    sess.run(ops[step % len(ops)])
""",
        # `subprocess.run` is not a session.
        """
import subprocess
for config in configs:
    train_op = opt.minimize(loss)
    subprocess.run(["echo", config])
""",
    ]

    INVALID = [
        # The seed's second variant.
        """
for i in range(100):
    exclude = {x if i % 10 < 5 else y}
    kept = [(g, v) for g, v in grads_and_vars if v not in exclude]
    op = optimizer.apply_gradients(kept)  # <- TFC003
    sess.run(op)
""",
        """
import tensorflow as tf
while not done:
    for batch in batches:
        grads = tf.gradients(loss, params)  # <- TFC003
        train = self.optimizer.minimize(  # <- TFC003
            loss
        )
    loss_value = loss.eval()
""",
    ]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self._builds: list[tuple[cst.Call, Place]] = []
        self._runs: list[Place] = []

    def visit_Call(self, node: cst.Call) -> None:
        if patterns.builds_train_op(self.flow, node):
            self._builds.append((node, self.flow.place()))
        elif patterns.runs_session(self.flow, node):
            self._runs.append(self.flow.place())

    def finish(self) -> None:
        for node, build in self._builds:
            if any(share_loop(build, run) for run in self._runs):
                self.report(node)
