"""Keras 3 or 2: step time and freeze-switch cost of tfcollections.keras.DynamicOptimizer.

One run, two models: a 10 x Dense(320) MLP (about 1.03M parameters, batch 64) and
keras.applications.MobileNetV2(weights=None) at 96x96 with a Dense head (batch 32), both
with Adam and the loss "mse". For each model and frozen fraction (the first 0%, half and all
of the MLP's first nine layers or of MobileNetV2's blocks):
  plain          compiled with Adam, nothing frozen (the baseline)
  ideal          those layers set trainable=False before compile (the best a static model
                 can do for that frozen set)
  dynamic        DynamicOptimizer(Adam, model=model) with those layers frozen
  optimizer only DynamicOptimizer(Adam) without the model (updates skipped, gradients still
                 computed): at the largest fraction only
median step time over interleaved blocks of fit() steps (40 MLP or 8 MobileNetV2 steps a
block and variant, 5 rounds). Then what a switch of the frozen set
costs until training runs at full speed again (the switch, plus how much longer the first step
after it takes than the next ones): set_frozen to a new pattern (Keras traces it), back to a
pattern seen before, and setting trainable + compile() (a retrace every time). `--keras 2`
runs the same with tf_keras (its models, applications and current Adam). Usage:
    python benchmarks/dynamic_keras.py [--keras 3|2] [--repeat 5] [--models mlp,mobilenet]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from step_times import StepTimes  # noqa: E402
from tabulate import tabulate  # noqa: E402

import tfcollections as tfc  # noqa: E402

RNG = np.random.default_rng(0)
K = keras  # the Keras measured: keras (3), or tf_keras (2) with --keras 2


class Problem:
    """A model maker, its data, and which layers each frozen fraction freezes."""

    def __init__(
        self, name: str, make: Callable, shape: tuple, outputs: int, batch: int, steps: int
    ):
        self.name, self.make, self.batch, self.steps = name, make, batch, steps
        self.x = RNG.normal(size=(batch * 4, *shape)).astype("float32")
        self.y = RNG.normal(size=(batch * 4, outputs)).astype("float32")

    def frozen(self, model: keras.Model, fraction: float) -> list:
        layers = self.backbone_layers(model)
        return layers[: round(fraction * len(layers))]

    def backbone_layers(self, model: keras.Model) -> list:
        raise NotImplementedError


class Mlp(Problem):
    def __init__(self) -> None:
        super().__init__("mlp 1.03M", self._make, (320,), 320, 64, steps=40)

    @staticmethod
    def _make() -> keras.Model:
        K.utils.set_random_seed(0)
        dense = [K.layers.Dense(320, activation="relu", name=f"d{i}") for i in range(10)]
        return K.Sequential([K.Input((320,)), *dense])

    def backbone_layers(self, model: keras.Model) -> list:
        return model.layers[:9]  # all but the last: "all" leaves a head to train


class MobileNet(Problem):
    def __init__(self) -> None:
        super().__init__("mobilenetv2 96x96", self._make, (96, 96, 3), 10, 32, steps=8)

    @staticmethod
    def _make() -> keras.Model:
        K.utils.set_random_seed(0)
        backbone = K.applications.MobileNetV2(
            input_shape=(96, 96, 3), include_top=False, weights=None, pooling="avg"
        )
        return K.Sequential([backbone, K.layers.Dense(10, name="head")])

    def frozen(self, model: keras.Model, fraction: float) -> list:
        """Whole blocks: the stem and blocks 0-8 for "half" (of 17), everything for "all"."""
        layers = self.backbone_layers(model)
        if fraction in (0.0, 1.0):
            return layers[: round(fraction * len(layers))]
        first_kept = next(i for i, layer in enumerate(layers) if layer.name.startswith("block_9_"))
        return layers[:first_kept]

    def backbone_layers(self, model: keras.Model) -> list:
        return model.layers[0].layers


FRACTIONS = {"0%": 0.0, "half": 0.5, "all": 1.0}


def plain(problem: Problem, fraction: float) -> keras.Model:
    model = problem.make()
    model.compile(optimizer=K.optimizers.Adam(1e-3), loss="mse")
    return model


def ideal(problem: Problem, fraction: float) -> keras.Model:
    model = problem.make()
    for layer in problem.frozen(model, fraction):
        layer.trainable = False
    model.compile(optimizer=K.optimizers.Adam(1e-3), loss="mse")
    return model


def dynamic(problem: Problem, fraction: float, attach: bool = True) -> keras.Model:
    model = problem.make()
    optimizer = tfc.keras.DynamicOptimizer(K.optimizers.Adam(1e-3), model=model if attach else None)
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.set_frozen(problem.frozen(model, fraction))
    return model


def step_times(problem: Problem, variants: dict, repeat: int) -> dict[str, float]:
    timers = {name: StepTimes() for name in variants}
    fit = {"batch_size": problem.batch, "verbose": 0}
    for model in variants.values():
        model.fit(problem.x, problem.y, epochs=1, **fit)  # trace and warm up
    epochs = max(1, problem.steps // (len(problem.x) // problem.batch))
    for round_number in range(repeat):
        names = list(variants)
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            variants[name].fit(problem.x, problem.y, epochs=epochs, callbacks=[timers[name]], **fit)
    return {name: statistics.median(timer.times) for name, timer in timers.items()}


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _switch_cost(switch: Callable[[], object], train: Callable[[], object]) -> float:
    """The switch itself, plus how much longer its first step takes than the next ones."""
    seconds = _timed(switch) + _timed(train)
    return seconds - statistics.median(_timed(train) for _ in range(3))


def switch_costs(problem: Problem, switches: int) -> dict[str, float]:
    """Median seconds a switch of the frozen set costs until full speed again."""
    x, y = problem.x[: problem.batch], problem.y[: problem.batch]
    model = problem.make()
    optimizer = tfc.keras.DynamicOptimizer(K.optimizers.Adam(1e-3), model=model)
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(x, y)
    patterns = [problem.frozen(model, fraction) for fraction in (1.0, 0.5)]

    def train() -> None:
        model.train_on_batch(x, y)

    new = [_switch_cost(lambda p=p: optimizer.set_frozen(p), train) for p in patterns]
    seen = [
        _switch_cost(lambda p=p: optimizer.set_frozen(p), train) for p in patterns * (switches // 2)
    ]
    reference = problem.make()
    reference.compile(optimizer=K.optimizers.Adam(1e-3), loss="mse")
    reference.train_on_batch(x, y)

    def recompile(fraction: float) -> None:
        frozen = {id(layer) for layer in problem.frozen(reference, fraction)}
        for layer in problem.backbone_layers(reference):
            layer.trainable = id(layer) not in frozen
        reference.compile(optimizer=reference.optimizer, loss="mse")

    recompiled = [
        _switch_cost(lambda f=f: recompile(f), lambda: reference.train_on_batch(x, y))
        for f in (1.0, 0.5) * (switches // 2)
    ]
    return {
        "set_frozen, a pattern seen before": statistics.median(seen),
        "set_frozen, a new pattern (one trace)": statistics.median(new),
        "trainable + compile + retrace": statistics.median(recompiled),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--models", default="mlp,mobilenet")
    parser.add_argument("--keras", choices=("3", "2"), default="3")
    args = parser.parse_args(argv)
    global K
    if args.keras == "2":
        import tf_keras

        K = tf_keras
    problems = {"mlp": Mlp, "mobilenet": MobileNet}
    for key in args.models.split(","):
        problem = problems[key]()
        print(f"measuring {problem.name} ...", file=sys.stderr, flush=True)
        variants = {"plain": plain(problem, 0.0)}
        for label, fraction in FRACTIONS.items():
            if fraction:
                variants[f"ideal {label}"] = ideal(problem, fraction)
            variants[f"dynamic {label}"] = dynamic(problem, fraction)
        variants["optimizer only all"] = dynamic(problem, 1.0, attach=False)
        medians = step_times(problem, variants, args.repeat)
        rows = []
        for name, median in medians.items():
            label = name.split()[-1]
            ideal_median = medians.get(f"ideal {label}", medians["plain"])
            rows.append(
                (
                    name,
                    f"{median * 1e3:.1f}",
                    f"{median / medians['plain']:.3f}x",
                    f"{median / ideal_median:.3f}x",
                )
            )
        params = variants["plain"].count_params()
        print(f"Keras {K.__version__}, {problem.name}: {params} parameters, batch {problem.batch}")
        print(tabulate(rows, headers=["fit step", "median ms", "vs plain", "vs ideal"]))
        costs = switch_costs(problem, 6)
        cheapest = costs["set_frozen, a pattern seen before"]
        print()
        print(
            tabulate(
                [
                    (name, f"{cost * 1e3:.1f}", f"{cost / cheapest:.1f}x")
                    for name, cost in costs.items()
                ],
                headers=["freeze switch (extra time)", "median ms", "vs seen pattern"],
            )
        )
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
