"""Graph growth and step time of the ways to freeze variables at run time in TF1 graph mode.

One run, one table: for the seed's toy problem (x, y, |x - y|, 1000 steps), a 10 x 256 MLP
(batch 64, 50 random freeze patterns, 4 steps each) and a conv backbone (6 conv layers and a
dense head, batch 32, 64x64, the backbone's first half or all of it frozen), the ops in the
graph before and after the training loop and the median step time of
  static-all     one minimize() over every variable (the baseline: it ignores freezing)
  ideal-subset   one minimize() per pattern, all built before initialisation
  seed-1-cache   the seed's first variant: cache minimize() per excluded set, built on demand
  seed-2-apply   the seed's second: cached gradients, apply_gradients() every step
  seed-3-assign  the seed's third: assign_sub(lr * grad) per variable (plain SGD: wrong for Adam)
  dynamic        tfcollections.DynamicOptimizer, set_frozen() when the pattern changes
at 0%, 50% and 90% of the variables frozen (the toy has two variables: 0% and the seed's
alternation, 50%; the conv backbone runs static-all, ideal-subset and dynamic only). Ratios are
against static-all and ideal-subset in the same run. Usage:
    python benchmarks/dynamic_graph.py [--quick] [--only VARIANTS] [--problems NAMES]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tabulate import tabulate  # noqa: E402

import tfcollections as tfc  # noqa: E402

v1 = tf.compat.v1
LEARNING_RATE = 0.01


def toy_problem():
    x = v1.Variable(3.0, name="x")
    y = v1.Variable(31.0, name="y")
    return [x, y], tf.abs(x - y)


def mlp_problem(layers: int = 10, width: int = 256, batch: int = 64):
    rng = np.random.default_rng(0)
    inputs = tf.constant(rng.normal(size=(batch, width)).astype(np.float32))
    variables, hidden = [], inputs
    for index in range(layers):
        w = v1.Variable(
            rng.normal(scale=width**-0.5, size=(width, width)).astype(np.float32),
            name=f"dense{index}/kernel",
        )
        b = v1.Variable(np.zeros(width, np.float32), name=f"dense{index}/bias")
        variables += [w, b]
        hidden = tf.nn.relu(tf.matmul(hidden, w) + b)
    return variables, tf.reduce_mean(tf.square(hidden - 1.0))


def conv_problem(channels=(32, 32, 64, 64, 128, 128), batch: int = 32, size: int = 64):
    """Six 3x3 conv layers (every second one strided), global average pooling, a dense head:
    the variables are in layer order, so a prefix of them is a frozen lower backbone."""
    rng = np.random.default_rng(0)
    hidden = tf.constant(rng.normal(size=(batch, size, size, 3)).astype(np.float32))
    variables = []
    for index, width in enumerate(channels):
        fan_in = 9 * hidden.shape[-1]
        w = v1.Variable(
            rng.normal(scale=fan_in**-0.5, size=(3, 3, hidden.shape[-1], width)).astype(np.float32),
            name=f"conv{index}/kernel",
        )
        b = v1.Variable(np.zeros(width, np.float32), name=f"conv{index}/bias")
        variables += [w, b]
        stride = 2 if index % 2 else 1
        hidden = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(hidden, w, stride, "SAME"), b))
    features = tf.reduce_mean(hidden, [1, 2])
    head = v1.Variable(
        rng.normal(scale=0.1, size=(channels[-1], 10)).astype(np.float32), name="head/kernel"
    )
    return [*variables, head], tf.reduce_mean(tf.square(tf.matmul(features, head)))


def toy_schedule(ratio: float, steps: int) -> list[frozenset[int]]:
    if ratio == 0:
        return [frozenset()] * steps
    return [frozenset({0} if i % 10 < 5 else {1}) for i in range(steps)]  # the seed's


def random_schedule(n_variables: int, ratio: float, patterns: int, repeat: int):
    rng = np.random.default_rng(int(ratio * 100))
    count = round(ratio * n_variables)
    drawn = [
        frozenset(rng.choice(n_variables, count, replace=False).tolist()) for _ in range(patterns)
    ]
    return [pattern for pattern in drawn for _ in range(repeat)]


def backbone_schedule(frozen_layers: int, steps: int) -> list[frozenset[int]]:
    """The first `frozen_layers` conv layers (kernel and bias each) frozen for every step."""
    return [frozenset(range(2 * frozen_layers))] * steps


def _adam():
    return v1.train.AdamOptimizer(LEARNING_RATE)


# Each variant builds what it needs before the loop and returns step(session, frozen_indices).


def static_all(variables, loss):
    train_op = _adam().minimize(loss)
    return lambda session, frozen: session.run(train_op)


def ideal_subset(variables, loss, schedule):
    optimizer = _adam()
    ops = {
        frozen: optimizer.minimize(
            loss, var_list=[v for i, v in enumerate(variables) if i not in frozen]
        )
        for frozen in set(schedule)
    }
    return lambda session, frozen: session.run(ops[frozen])


def seed_cache(variables, loss):
    optimizer, ops = _adam(), {}

    def train_op(frozen):
        if frozen not in ops:
            var_list = [v for i, v in enumerate(variables) if i not in frozen]
            ops[frozen] = optimizer.apply_gradients(optimizer.compute_gradients(loss, var_list))
        return ops[frozen]

    train_op(frozenset())  # the seed's warm-up call creates every slot before the initializer
    return lambda session, frozen: session.run(train_op(frozen))


def seed_apply(variables, loss):
    optimizer = _adam()
    grads_and_vars = optimizer.compute_gradients(loss, variables)
    optimizer.apply_gradients(grads_and_vars)  # the seed's warm-up call creates the slots

    def step(session, frozen):
        kept = [pair for i, pair in enumerate(grads_and_vars) if i not in frozen]
        session.run(optimizer.apply_gradients(kept))

    return step


def seed_assign(variables, loss):
    grads = tf.gradients(loss, variables)
    updates = [v1.assign_sub(v, LEARNING_RATE * g) for v, g in zip(variables, grads)]
    return lambda session, frozen: session.run(
        [u for i, u in enumerate(updates) if i not in frozen]
    )


def dynamic(variables, loss):
    optimizer = tfc.DynamicOptimizer(_adam())
    train_op = optimizer.minimize(loss)
    current = [None]

    def step(session, frozen):
        if frozen != current[0]:
            optimizer.set_frozen([variables[i] for i in sorted(frozen)], session=session)
            current[0] = frozen
        session.run(train_op)

    return step


VARIANTS = {
    "static-all": lambda variables, loss, schedule: static_all(variables, loss),
    "ideal-subset": ideal_subset,
    "seed-1-cache": lambda variables, loss, schedule: seed_cache(variables, loss),
    "seed-2-apply": lambda variables, loss, schedule: seed_apply(variables, loss),
    "seed-3-assign": lambda variables, loss, schedule: seed_assign(variables, loss),
    "dynamic": lambda variables, loss, schedule: dynamic(variables, loss),
}


def build(problem, variant, schedule):
    """A session and step function for `variant`, in a graph of its own, initialised."""
    graph = tf.Graph()
    with graph.as_default():
        variables, loss = problem()
        step = VARIANTS[variant](variables, loss, schedule)
        session = v1.Session(graph=graph)
        session.run(v1.global_variables_initializer())
    return graph, session, step


def measure(problem, schedule, variants, chunk: int) -> dict[str, tuple[int, int, float]]:
    """(ops before, ops after, median step seconds) per variant. The schedule runs in chunks of
    `chunk` steps, each variant in turn (order rotating), so that drift on a noisy machine slows
    every variant alike while caches stay warm within a chunk."""
    built = {variant: build(problem, variant, schedule) for variant in variants}
    ops_before = {variant: len(graph.get_operations()) for variant, (graph, _, _) in built.items()}
    times = {variant: [] for variant in variants}
    order = list(built.items())
    for number, first in enumerate(range(0, len(schedule), chunk)):
        shift = number % len(order)
        for variant, (graph, session, step) in order[shift:] + order[:shift]:
            with graph.as_default():  # seed-1 and seed-2 build ops inside the loop
                for frozen in schedule[first : first + chunk]:
                    start = time.perf_counter()
                    step(session, frozen)
                    times[variant].append(time.perf_counter() - start)
    results = {}
    for variant, (graph, session, _) in built.items():
        session.close()
        results[variant] = (
            ops_before[variant],
            len(graph.get_operations()),
            statistics.median(times[variant]),
        )
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, for a smoke run")
    parser.add_argument("--only", help="comma-separated variants (static-all is always run)")
    parser.add_argument("--problems", default="toy,mlp,conv", help="comma-separated problems")
    parser.add_argument("--steps-per-pattern", type=int, default=4, help="MLP steps a pattern")
    parser.add_argument("--conv-steps", type=int, default=40, help="conv steps a variant")
    args = parser.parse_args(argv)
    chosen = set(VARIANTS) if not args.only else {"static-all", *args.only.split(",")}
    toy_steps = 200 if args.quick else 1000
    patterns = 10 if args.quick else 50
    conv_steps = 10 if args.quick else args.conv_steps
    cases = [  # (problem name, label, problem, schedule, variants, steps a chunk)
        ("toy", "0%", toy_problem, toy_schedule(0.0, toy_steps), VARIANTS, 10),
        ("toy", "50%", toy_problem, toy_schedule(0.5, toy_steps), VARIANTS, 10),
    ]
    for ratio in (0.0, 0.5, 0.9):
        schedule = random_schedule(20, ratio, patterns, args.steps_per_pattern)
        cases.append(
            ("mlp", f"{ratio:.0%}", mlp_problem, schedule, VARIANTS, args.steps_per_pattern)
        )
    conv_variants = ("static-all", "ideal-subset", "dynamic")
    for label, layers in (("0%", 0), ("half backbone", 3), ("backbone", 6)):
        schedule = backbone_schedule(layers, conv_steps)
        cases.append(("conv", label, conv_problem, schedule, conv_variants, 2))
    rows = []
    for name, label, problem, schedule, variants, chunk in cases:
        if name not in args.problems.split(","):
            continue
        print(f"measuring {name} {label} ...", file=sys.stderr, flush=True)
        results = measure(problem, schedule, [v for v in variants if v in chosen], chunk)
        # static-all trains everything whatever the pattern: measured once per problem and
        # ratio so that every ratio in a row block shares one baseline from the same run.
        baseline = results["static-all"][2]
        ideal = results["ideal-subset"][2] if "ideal-subset" in results else float("nan")
        for variant, (before, after, median) in results.items():
            rows.append(
                [
                    name,
                    label,
                    variant,
                    before,
                    after,
                    after - before,
                    f"{median * 1e3:.3f}",
                    f"{median / baseline:.2f}x",
                    f"{median / ideal:.2f}x",
                ]
            )
    print(
        tabulate(
            rows,
            headers=[
                "problem",
                "frozen",
                "variant",
                "ops before",
                "ops after",
                "growth",
                "median step ms",
                "vs static-all",
                "vs ideal-subset",
            ],
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
