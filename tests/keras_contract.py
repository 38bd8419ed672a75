"""The Keras contract harness: DynamicOptimizer against the wrapped optimizer applied to the
unfrozen variables' gradients only, bit for bit, in a custom tf.function loop; and, given the
model, in `train_on_batch` against Keras itself with the frozen layers `trainable = False`.

Every check runs on a *flavour*: Keras 3 (`keras`), Keras 2 (`tf_keras`) with its current
optimizers, and Keras 2 with its legacy OptimizerV2 ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
import tf_keras

import tfcollections as tfc


@dataclass(frozen=True)
class Flavour:
    name: str
    keras: Any  # the module: keras or tf_keras
    optimizers: dict[str, Callable[..., Any]]

    def __str__(self) -> str:
        return self.name


_K2 = tf_keras.optimizers
FLAVOURS = {
    "keras3": Flavour(
        "keras3",
        keras,
        {
            "SGD": lambda **kw: keras.optimizers.SGD(0.05, momentum=0.9, **kw),
            "Adam": lambda **kw: keras.optimizers.Adam(0.01, **kw),
            "AdamW": lambda **kw: keras.optimizers.AdamW(0.01, weight_decay=0.1, **kw),
            "RMSprop": lambda **kw: keras.optimizers.RMSprop(0.01, momentum=0.5, **kw),
            "Adagrad": lambda **kw: keras.optimizers.Adagrad(0.1, **kw),
        },
    ),
    "keras2": Flavour(
        "keras2",
        tf_keras,
        {
            "SGD": lambda **kw: _K2.SGD(0.05, momentum=0.9, **kw),
            "Adam": lambda **kw: _K2.Adam(0.01, **kw),
            "AdamW": lambda **kw: _K2.AdamW(0.01, weight_decay=0.1, **kw),
            "RMSprop": lambda **kw: _K2.RMSprop(0.01, momentum=0.5, **kw),
            "Adagrad": lambda **kw: _K2.Adagrad(0.1, **kw),
        },
    ),
    "keras2-legacy": Flavour(
        "keras2-legacy",
        tf_keras,
        {
            "SGD": lambda **kw: _K2.legacy.SGD(0.05, momentum=0.9, **kw),
            "Adam": lambda **kw: _K2.legacy.Adam(0.01, **kw),
            "RMSprop": lambda **kw: _K2.legacy.RMSprop(0.01, momentum=0.5, **kw),
            "Adagrad": lambda **kw: _K2.legacy.Adagrad(0.1, **kw),
            "Adamax": lambda **kw: _K2.legacy.Adamax(0.01, **kw),
        },
    ),
}
KERAS3 = FLAVOURS["keras3"]
OPTIMIZERS = KERAS3.optimizers
CASES = [(flavour, name) for flavour in FLAVOURS.values() for name in sorted(flavour.optimizers)]
"""(flavour, optimizer name): every optimizer of every flavour."""

_RNG = np.random.default_rng(3)
X = _RNG.normal(size=(16, 4)).astype("float32")
Y = _RNG.normal(size=(16, 1)).astype("float32")


def path(variable: Any) -> str:
    """Keras 3's variable path, or tf_keras's variable name."""
    return getattr(variable, "path", None) or variable.name


def build_model(flavour: Flavour = KERAS3) -> Any:
    k = flavour.keras
    k.utils.set_random_seed(0)
    return k.Sequential(
        [
            k.Input((4,)),
            k.layers.Dense(8, activation="tanh", name="base"),
            k.layers.Dense(8, activation="tanh", name="middle"),
            k.layers.Dense(1, name="head"),
        ]
    )


def build_for(optimizer: Any, variables: list) -> None:
    """Create every optimizer variable for `variables` now (legacy optimizers do it lazily)."""
    if isinstance(optimizer, _K2.legacy.Optimizer):
        optimizer._create_all_weights(variables)
    else:
        optimizer.build(variables)


def schedule(steps: int, n_variables: int, seed: int, all_frozen: bool = True):
    """Frozen index sets drawn from a few patterns: none, maybe all, and random halves."""
    rng = np.random.default_rng(seed)
    patterns = [frozenset()] + ([frozenset(range(n_variables))] if all_frozen else [])
    patterns += [
        frozenset(np.flatnonzero(rng.random(n_variables) < 0.5).tolist()) for _ in range(5)
    ]
    return [patterns[i] for i in rng.integers(0, len(patterns), size=steps)]


def _loss(model: Any) -> tf.Tensor:
    return tf.reduce_mean(tf.square(model(X) - Y))


def _state(model: Any, optimizer: Any) -> list[tuple[str, bytes]]:
    """(path, bytes) of every model and optimizer variable, in creation order (paths differ
    between two models only by their auto-numbered prefixes)."""
    variables = [*model.weights, *_optimizer_variables(optimizer)]
    return [(path(v), np.asarray(v.numpy()).tobytes()) for v in variables]


def _optimizer_variables(optimizer: Any) -> list:
    variables = optimizer.variables
    return variables() if callable(variables) else variables  # OptimizerV2: a method


def run_dynamic(flavour, make, steps, *, jit: bool = False, **options):
    model = build_model(flavour)
    inner = make(**options)
    optimizer = tfc.keras.DynamicOptimizer(inner)
    traces = []

    @tf.function(jit_compile=jit)
    def step():
        traces.append(1)
        with tf.GradientTape() as tape:
            loss = _loss(model)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

    build_for(optimizer, model.trainable_weights)
    states = []
    for frozen in steps:
        optimizer.set_frozen([model.trainable_weights[i] for i in sorted(frozen)])
        step()
        states.append(_state(model, inner))
    return states, len(traces)


def run_reference(flavour, make, steps, *, jit: bool = False, **options):
    """The wrapped optimizer alone, given only the unfrozen variables: one tf.function per
    pattern, compiled like the dynamic step (eager and graph kernels may round differently)."""
    model = build_model(flavour)
    optimizer = make(**options)
    build_for(optimizer, model.trainable_weights)
    functions = {}

    def make_step(frozen):
        variables = [v for i, v in enumerate(model.trainable_weights) if i not in frozen]

        @tf.function(jit_compile=jit)
        def step():
            if not variables:  # documented: nothing moves, the step still counts
                optimizer.iterations.assign_add(1)
                return
            with tf.GradientTape() as tape:
                loss = _loss(model)
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

        return step

    for frozen in steps:
        if frozen not in functions:
            functions[frozen] = make_step(frozen)
        functions[frozen]()
        yield _state(model, optimizer)


def _same_values(ours: bytes, theirs: bytes, *, exact: bool) -> bool:
    """Bit for bit; under XLA, which fuses each compiled step as a whole (the reference step
    is another graph, so it rounds differently and the two trajectories drift apart slowly),
    to 1e-4 relative. Frozen variables are checked bit for bit either way."""
    if exact or ours == theirs:
        return ours == theirs
    a, b = np.frombuffer(ours, np.float32), np.frombuffer(theirs, np.float32)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-6)


def _differing(state: list, expected: list, *, jit: bool) -> list[str]:
    """The paths whose values differ between two `_state`s (see `_same_values`)."""
    assert len(state) == len(expected)
    return [
        path
        for (path, ours), (_, theirs) in zip(state, expected)
        if not _same_values(ours, theirs, exact=not jit)
    ]


def _assert_frozen_untouched(before, after, frozen, name, index):
    """Frozen weights and their slots keep their exact bytes, jit or not (EMA averages and
    gradient accumulators are the optimizer's own, documented exceptions)."""
    weights = [path for path, _ in after][:6]
    for i in frozen:
        stem = weights[i].removesuffix(":0")
        stems = (stem, stem.replace("/", "_"))  # Keras 3 slots, and tf_keras's
        moved = [
            path
            for (path, old), (_, new) in zip(before, after)
            if (path == weights[i] or any(one in path for one in stems))
            and not path.endswith(("_average", "gradient_accumulator"))
            and old != new
        ]
        assert not moved, f"{name} step {index}: frozen {moved} moved"


def check_contract(
    name: str,
    steps: int = 30,
    seed: int = 0,
    *,
    flavour: Flavour = KERAS3,
    jit: bool = False,
    **options: Any,
) -> None:
    make = flavour.optimizers[name]
    # An all-frozen step has no reference (the wrapped optimizer cannot apply nothing) where
    # the optimizer also keeps state beyond the variables it is given: accumulators reset and
    # EMA averages move on every step, as documented; elsewhere it is "only the step counts".
    keeps_more = options.get("gradient_accumulation_steps") or options.get("use_ema")
    plan = schedule(steps, 6, seed, all_frozen=not keeps_more)
    mine, traces = run_dynamic(flavour, make, plan, jit=jit, **options)
    reference = run_reference(flavour, make, plan, jit=jit, **options)
    for index, (state, expected) in enumerate(zip(mine, reference)):
        differing = _differing(state, expected, jit=jit)
        assert not differing, f"{name} step {index}: {differing} differ"
        if index:
            _assert_frozen_untouched(mine[index - 1], state, plan[index], name, index)
    assert traces == 1, f"{name}: retraced {traces} times"


CONV_LAYERS = ("conv", "bn", "conv2", "head")
IMAGES = _RNG.normal(size=(16, 6, 6, 2)).astype("float32")
LAYER_PATTERNS = [
    (),
    ("conv",),
    ("conv", "bn"),
    ("conv", "bn", "conv2"),
    ("bn",),
    ("conv2", "head"),
    CONV_LAYERS,
]


def build_conv_model(flavour: Flavour = KERAS3) -> Any:
    """Conv, BatchNormalization, conv, a dense head: a small backbone and its head."""
    k = flavour.keras
    k.utils.set_random_seed(0)
    inputs = k.Input((6, 6, 2))
    hidden = k.layers.Conv2D(4, 3, name="conv")(inputs)
    hidden = k.layers.BatchNormalization(name="bn")(hidden)
    hidden = k.layers.Activation("relu")(hidden)
    hidden = k.layers.Conv2D(4, 3, name="conv2")(hidden)
    hidden = k.layers.GlobalAveragePooling2D()(hidden)
    return k.Model(inputs, k.layers.Dense(1, name="head")(hidden))


def layer_schedule(steps: int, seed: int) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    return [LAYER_PATTERNS[i] for i in rng.integers(0, len(LAYER_PATTERNS), size=steps)]


def count_traces(model: Any) -> list:
    """A list that grows by one each time Keras traces `model`'s train step."""
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)
        return step(data)

    model.train_step = counted
    return traces


def run_fit_dynamic(flavour, make, plan, *, jit: bool = False):
    model = build_conv_model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(make(), model=model)
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit)
    traces = count_traces(model)
    states = []
    for frozen in plan:
        optimizer.set_frozen([model.get_layer(name) for name in frozen])
        model.train_on_batch(IMAGES, Y)
        states.append(_state(model, optimizer.inner_optimizer))
    return states, len(traces)


def run_fit_reference(flavour, make, plan, *, jit: bool = False):
    """Keras itself: the frozen layers set `trainable = False` and the model recompiled
    (same optimizer object, built for every variable) whenever the frozen set changes."""
    model = build_conv_model(flavour)
    optimizer = make()
    build_for(optimizer, model.trainable_weights)
    current = None
    for frozen in plan:
        if frozen != current:
            for name in CONV_LAYERS:
                model.get_layer(name).trainable = name not in frozen
            model.compile(optimizer=optimizer, loss="mse", jit_compile=jit)
            current = frozen
        model.train_on_batch(IMAGES, Y)
        yield _state(model, optimizer)


def check_fit_contract(
    name: str, steps: int = 24, seed: int = 0, *, flavour: Flavour = KERAS3, jit: bool = False
) -> None:
    """Every weight (BatchNormalization's moving statistics included) and optimizer variable
    as Keras gives them with the frozen layers made non-trainable; one trace per pattern."""
    make = flavour.optimizers[name]
    plan = layer_schedule(steps, seed)
    mine, traces = run_fit_dynamic(flavour, make, plan, jit=jit)
    reference = run_fit_reference(flavour, make, plan, jit=jit)
    for index, (state, expected) in enumerate(zip(mine, reference)):
        differing = _differing(state, expected, jit=jit)
        assert not differing, f"{name} step {index} ({plan[index]} frozen): {differing} differ"
    assert traces == len(set(plan)), f"{name}: {traces} traces for {len(set(plan))} patterns"
