"""`tfcollections dump` against loading the artifact with TensorFlow or Keras, same files.

1. A generated MetaGraphDef of 50,000+ ops (200 trained variables, a loss chain, summaries):
     baseline   python -c "import tensorflow; import_meta_graph(FILE); print the collections"
     dump       tfcollections dump FILE
     dump json  tfcollections dump FILE --members --format json
2. A `.keras` archive of a ~2M-parameter MLP (BatchNormalization, a DynamicOptimizer over Adam
   with the first layer frozen, trained one step):
     baseline   python -c "import keras; tfcollections.keras; load_model(FILE); print counts"
     dump       tfcollections dump FILE   (and --format json, and audit)
Whole processes, interleaved, medians of --repeat runs.
Usage: python benchmarks/dump_speed.py [--ops 50000] [--params 2000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

BASELINE = """
import sys
import tensorflow as tf
graph = tf.Graph()
with graph.as_default():
    tf.compat.v1.train.import_meta_graph(sys.argv[1])
for key in graph.get_all_collection_keys():
    print(key, len(graph.get_collection(key)))
"""


def generate(path: Path, ops: int) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.Variable(float(i), name=f"w{i}") for i in range(200)]
        total = tf.add_n(variables)
        tf.compat.v1.train.AdamOptimizer(0.01).minimize(tf.square(total))
        while len(graph.get_operations()) < ops:
            total = total * 1.0001 + 0.5
            tf.compat.v1.add_to_collection("losses", total)
        tf.compat.v1.summary.scalar("total", total)
        tf.compat.v1.train.export_meta_graph(str(path), graph=graph)
        return len(graph.get_operations())


LOAD_MODEL = """
import sys
import keras
import tfcollections
tfcollections.keras  # registers DynamicOptimizer with Keras, for load_model
model = keras.models.load_model(sys.argv[1])
print(len(model.layers), model.count_params(), len(model.trainable_weights))
"""


def generate_archive(path: Path, params: int) -> int:
    """An MLP of about `params` parameters saved as `.keras` with a DynamicOptimizer."""
    import keras
    import numpy as np

    import tfcollections as tfc

    width = int((params / 3) ** 0.5)
    layers = [keras.Input((width,))]
    for index in range(3):
        layers += [
            keras.layers.Dense(width, name=f"dense{index}"),
            keras.layers.BatchNormalization(),
        ]
    model = keras.Sequential([*layers, keras.layers.Dense(1, name="head")])
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(1e-3), model=model)
    optimizer.freeze(model.get_layer("dense0"))
    model.compile(optimizer=optimizer, loss="mse")
    data = np.ones((32, width), "float32")
    model.fit(data, data[:, :1], epochs=1, verbose=0)
    model.save(path)
    return model.count_params()


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], repeat: int) -> str:
    """A table of medians, each row against the first (the baseline)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():  # interleaved: drift hits every row alike
            times[name].append(timed(command))
    base = statistics.median(next(iter(times.values())))
    rows = [
        (name, f"{statistics.median(values):.3f}", f"{statistics.median(values) / base:.3f}x")
        for name, values in times.items()
    ]
    return tabulate(rows, headers=["whole process", f"median s of {repeat}", "vs baseline"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=50_000)
    parser.add_argument("--params", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tfc-dump-bench-"))
    meta, archive = folder / "big.meta", folder / "big.keras"
    count = generate(meta, args.ops)
    params = generate_archive(archive, args.params)
    cli = str(Path(sys.executable).parent / "tfcollections")
    print(f"{meta.name}: {count} ops, {meta.stat().st_size / 1e6:.1f} MB")
    print(measure({
        "import_meta_graph (baseline)": [sys.executable, "-c", BASELINE, str(meta)],
        "tfcollections dump": [cli, "dump", str(meta)],
        "tfcollections dump --members --format json": [
            cli, "dump", str(meta), "--members", "--format", "json"
        ],
    }, args.repeat))  # fmt: skip
    print(f"\n{archive.name}: {params:,} parameters, {archive.stat().st_size / 1e6:.1f} MB")
    print(measure({
        "keras.models.load_model (baseline)": [sys.executable, "-c", LOAD_MODEL, str(archive)],
        "tfcollections dump": [cli, "dump", str(archive)],
        "tfcollections dump --format json": [cli, "dump", str(archive), "--format", "json"],
        "tfcollections audit": [cli, "audit", str(archive)],
    }, args.repeat))  # fmt: skip
    for path in (meta, archive):
        path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
