"""Keras 3: step time and freeze-switch cost of tfcollections.keras.DynamicOptimizer.

One run, one table, on a 10 x Dense(320) model (about 1.03M parameters, batch 64, Adam):
  plain          compiled with Adam, nothing frozen (the baseline)
  ideal k/10     the first k layers set trainable=False before compile (the best a static
                 model can do for that frozen set)
  dynamic k/10   DynamicOptimizer with the first k layers frozen through the optimizer
for k = 0, 5, 9 (0%, 50%, 90% of the layers), median step time over interleaved blocks of
fit() steps; then the cost of switching the frozen set: DynamicOptimizer.set_frozen(), against
setting trainable + compile() + the retrace (the first step's time over a normal step). Usage:
    python benchmarks/dynamic_keras.py [--steps 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

import tfcollections as tfc  # noqa: E402

WIDTH, LAYERS, BATCH = 320, 10, 64
RNG = np.random.default_rng(0)
X = RNG.normal(size=(BATCH * 8, WIDTH)).astype("float32")
Y = RNG.normal(size=(BATCH * 8, WIDTH)).astype("float32")


def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    layers = [keras.layers.Dense(WIDTH, activation="relu", name=f"d{i}") for i in range(LAYERS)]
    return keras.Sequential([keras.Input((WIDTH,)), *layers])


class StepTimes(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def plain() -> keras.Model:
    m = model()
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return m


def ideal(k: int) -> keras.Model:
    m = model()
    for layer in m.layers[:k]:
        layer.trainable = False
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return m


def dynamic(k: int) -> keras.Model:
    m = model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(1e-3))
    m.compile(optimizer=optimizer, loss="mse")
    optimizer.set_frozen(m.layers[:k])
    return m


def step_times(variants: dict, steps: int, repeat: int) -> dict[str, float]:
    timers = {name: StepTimes() for name in variants}
    for m in variants.values():
        m.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0)  # trace and warm up
    for round_number in range(repeat):
        names = list(variants)
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            variants[name].fit(X, Y, batch_size=BATCH, epochs=max(1, steps // 8), verbose=0,
                               callbacks=[timers[name]])  # fmt: skip
    return {name: statistics.median(timer.times) for name, timer in timers.items()}


def switch_costs(switches: int) -> tuple[float, float]:
    """Median seconds a switch of the frozen set costs before training runs at full speed
    again: DynamicOptimizer.set_frozen(), against trainable + compile() + the extra time of
    the first step after it (the retrace), over a normal step of the same model."""
    x, y = X[:BATCH], Y[:BATCH]
    m = model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(1e-3))
    m.compile(optimizer=optimizer, loss="mse")
    m.train_on_batch(x, y)
    dynamic_times = []
    for i in range(switches):
        start = time.perf_counter()
        optimizer.set_frozen(m.layers[: 5 if i % 2 else 9])
        dynamic_times.append(time.perf_counter() - start)
        m.train_on_batch(x, y)
    r = model()
    r.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    r.train_on_batch(x, y)
    normal, recompile_times = [], []
    for i in range(switches):
        start = time.perf_counter()
        r.train_on_batch(x, y)
        normal.append(time.perf_counter() - start)
        start = time.perf_counter()
        for index, layer in enumerate(r.layers):
            layer.trainable = index >= (5 if i % 2 else 9)
        r.compile(optimizer=r.optimizer, loss="mse")
        r.train_on_batch(x, y)
        recompile_times.append(time.perf_counter() - start)
    step = statistics.median(normal)
    return statistics.median(dynamic_times), statistics.median(recompile_times) - step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    variants = {"plain": plain()}
    for k in (0, 5, 9):
        if k:
            variants[f"ideal {k}/10"] = ideal(k)
        variants[f"dynamic {k}/10"] = dynamic(k)
    params = variants["plain"].count_params()
    medians = step_times(variants, args.steps, args.repeat)
    base = medians["plain"]
    rows = [(name, f"{m * 1e3:.3f}", f"{m / base:.3f}x") for name, m in medians.items()]
    print(f"{params} parameters, batch {BATCH}")
    print(tabulate(rows, headers=["fit step", "median ms", "vs plain"]))
    cheap, costly = switch_costs(20)
    print()
    print(tabulate(
        [("DynamicOptimizer.set_frozen", f"{cheap * 1e3:.3f}", "1x"),
         ("trainable + compile + retrace (first step - a step)", f"{costly * 1e3:.3f}",
          f"{costly / cheap:.0f}x")],
        headers=["freeze switch", "median ms", "vs dynamic"],
    ))  # fmt: skip


if __name__ == "__main__":
    main()
