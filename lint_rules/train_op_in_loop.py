"""TFC003 train-op-in-loop."""

from __future__ import annotations

import libcst as cst

from tfcollections.lint import patterns
from tfcollections.lint.flow import Place, shared_loops
from tfcollections.lint.rule import LintRule


class TrainOpInLoop(LintRule):
    """A train op built inside a loop that runs a session: the graph grows every step.

    `minimize()`, `apply_gradients()`, `compute_gradients()` and `tf.gradients()` add ops to
    the graph each time they are called. Called in the loop that runs `sess.run(...)` (the
    seed's second variant: filter the gradients, then `apply_gradients` every step), the graph
    grows on every step and every step gets slower. Build the train op once, before the loop;
    to change what trains per step use `tfcollections.DynamicOptimizer`. Not findings: bounded
    sweeps (a loop over a literal list, tuple or set, or `range()` of at most 16 steps), loops
    whose every iteration builds in a fresh graph (`with tf.Graph().as_default():` or
    `reset_default_graph()` inside the loop, before the build: a `with` around the whole
    training loop is one graph that grows), `tf.function` bodies, and eager `GradientTape`
    loops; `.eval()` counts as a session run with `session=`/`feed_dict=` or on a name bound
    to a TensorFlow call.
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
        # Bounded sweeps in tests: a literal list, tuple or set, range() of at most 16.
        """
import tensorflow as tf
for make in [tf.train.AdamOptimizer, tf.train.GradientDescentOptimizer]:
    sess.run(make(0.1).minimize(loss))
for dtype in (tf.float16, tf.float32):
    sess.run(tf.gradients(loss, params))
for trial in range(2, 0x10):
    sess.run(opt.minimize(loss))
""",
        # Each iteration builds in a fresh graph.
        """
import tensorflow as tf
for config in configs:
    with tf.Graph().as_default():
        train_op = opt.minimize(loss)
        with tf.Session() as sess:
            sess.run(train_op)
for config in configs:
    graph = tf.Graph()
    with graph.as_default(), tf.Session() as sess:
        sess.run(opt.minimize(loss))
for config in configs:
    tf.compat.v1.reset_default_graph()
    train_op = opt.minimize(loss)
    sess.run(train_op)
""",
        # A tf.function body: `strategy.run` is no session, the loop is traced once.
        """
import tensorflow as tf
@tf.function(jit_compile=True)
def train_steps(iterator, steps):
    for _ in tf.range(steps):
        optimizer.apply_gradients(zip(grads_of(next(iterator)), variables))
        strategy.run(update_metrics, args=(steps,))
""",
        # Eager GradientTape loops; a library's `model.eval()` mode switch is no session.
        """
import tensorflow as tf
for x, y in dataset:
    model.eval()
    with tf.GradientTape() as tape:
        loss = loss_fn(model(x), y)
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    reporter.run(loss)
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
    loss_value = loss.eval(session=sess)
""",
        # A sweep of more than 16, a fresh graph built after the train op, and `.eval()` of a
        # TensorFlow tensor: each still grows one graph.
        """
import tensorflow as tf
for trial in range(100):
    sess.run(opt.minimize(loss))  # <- TFC003
for config in configs:
    train_op = opt.minimize(loss)  # <- TFC003
    tf.reset_default_graph()
    sess.run(train_op)
total = tf.reduce_sum(values)
for step in steps:
    op = opt.apply_gradients(pairs)  # <- TFC003
    print(total.eval())
""",
        # One fresh graph around the whole loop, and a bounded sweep inside an endless loop:
        # each session step adds to the same graph.
        """
import tensorflow as tf
graph = tf.Graph()
with graph.as_default(), tf.Session() as sess:
    while True:
        for i in range(len(cfg)):
            train_op = opt.minimize(losses[i])  # <- TFC003
        sess.run(train_op)
with tf.Graph().as_default():
    for step in range(1000):
        with tf.Session() as sess:
            sess.run(opt.minimize(loss))  # <- TFC003
""",
    ]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self._builds: list[tuple[cst.Call, Place, frozenset[int]]] = []
        self._runs: list[Place] = []
        self._resets: list[Place] = []
        self._bounded_loops: set[int] = set()
        self._taped_loops: set[int] = set()
        self._tf_functions: set[int] = set()
        # per enclosing `with` that enters a new graph: the loops around it, whose every
        # iteration builds in a graph of its own
        self._fresh_withs: list[frozenset[int]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if any(self._is_tf_function(decorator.decorator) for decorator in node.decorators):
            self._tf_functions.add(id(node))

    def visit_For(self, node: cst.For) -> None:
        if _bounded(node.iter):
            self._bounded_loops.add(id(node))

    def visit_With(self, node: cst.With) -> None:
        if any(self._makes_fresh_graph(item.item) for item in node.items):
            arms = self.flow.place().arms
            self._fresh_withs.append(frozenset(loop for loop, arm in arms if arm == "loop"))
        else:
            self._fresh_withs.append(frozenset())

    def leave_With(self, original_node: cst.With) -> None:
        self._fresh_withs.pop()

    def visit_Call(self, node: cst.Call) -> None:
        flow = self.flow
        if patterns.builds_train_op(flow, node):
            fresh_in = frozenset().union(*self._fresh_withs)
            self._builds.append((node, flow.place(), fresh_in))
        elif patterns.runs_session(flow, node):
            self._runs.append(flow.place())
        else:
            name = flow.tf_name(node.func)
            if name in _RESET_FUNCTIONS:
                self._resets.append(flow.place())
            elif name in _TAPE_CLASSES:
                arms = flow.place().arms
                self._taped_loops |= {construct for construct, arm in arms if arm == "loop"}

    def finish(self) -> None:
        for node, build, fresh_in in self._builds:
            if build.scope in self._tf_functions:
                continue
            if any(self._grows(build, run, fresh_in) for run in self._runs):
                self.report(node)

    def _grows(self, build: Place, run: Place, fresh_in: frozenset[int]) -> bool:
        """True when some loop holding both the build and the run adds to one graph on every
        iteration: unbounded, not an eager GradientTape loop, no fresh graph entered or reset
        inside it before the build (a `with g.as_default():` around the loop is one graph)."""
        for loop in shared_loops(build, run):
            if loop in self._bounded_loops or loop in self._taped_loops or loop in fresh_in:
                continue
            if any(loop in shared_loops(reset, build) and reset.order < build.order
                   for reset in self._resets):  # fmt: skip
                continue
            return True
        return False

    def _is_tf_function(self, decorator: cst.BaseExpression) -> bool:
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        return self.flow.tf_name(target) == "function"

    def _makes_fresh_graph(self, expr: cst.BaseExpression) -> bool:
        """`tf.Graph().as_default()`, or `g.as_default()` with `g` bound to `tf.Graph()`."""
        if not isinstance(expr, cst.Call) or patterns.method_name(expr) != "as_default":
            return False
        graph = self.flow.resolve(patterns.receiver(expr))
        return isinstance(graph, cst.Call) and self.flow.tf_name(graph.func) == "Graph"


_RESET_FUNCTIONS = frozenset({"reset_default_graph"})
_TAPE_CLASSES = frozenset({"GradientTape"})
_MOST_ITERATIONS = 16


def _bounded(iterable: cst.BaseExpression) -> bool:
    """A literal list, tuple or set, or `range()` of literals with at most 16 steps: a
    parameter sweep that builds a handful of graphs, not a training loop."""
    if isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
        return True
    if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name)):
        return False
    if iterable.func.value != "range" or not 1 <= len(iterable.args) <= 2:
        return False
    values = [arg.value for arg in iterable.args]
    if not all(isinstance(value, cst.Integer) for value in values):
        return False
    bounds = [value.evaluated_value for value in values]
    first, last = (0, bounds[0]) if len(bounds) == 1 else bounds
    return last - first <= _MOST_ITERATIONS
