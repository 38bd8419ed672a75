"""`tfcollections dump` against importing the graph into TensorFlow, on one 50,000-op file.

Generates a MetaGraphDef of 50,000+ ops (200 trained variables, a loss chain, summaries), then
times whole processes, medians of --repeat runs, same file, same run:
  baseline   python -c "import tensorflow; import_meta_graph(FILE); print the collections"
  dump       tfcollections dump FILE
  dump json  tfcollections dump FILE --members --format json
Usage: python benchmarks/dump_speed.py [--ops 50000] [--repeat 5]
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


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tfc-dump-bench-"))
    meta = folder / "big.meta"
    count = generate(meta, args.ops)
    cli = str(Path(sys.executable).parent / "tfcollections")
    commands = {
        "import_meta_graph (baseline)": [sys.executable, "-c", BASELINE, str(meta)],
        "tfcollections dump": [cli, "dump", str(meta)],
        "tfcollections dump --members --format json": [
            cli, "dump", str(meta), "--members", "--format", "json"
        ],
    }  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():  # interleaved: drift hits every row alike
            times[name].append(timed(command))
    base = statistics.median(times["import_meta_graph (baseline)"])
    print(f"{meta.name}: {count} ops, {meta.stat().st_size / 1e6:.1f} MB")
    rows = [
        (name, f"{statistics.median(values):.3f}", f"{statistics.median(values) / base:.3f}x")
        for name, values in times.items()
    ]
    print(tabulate(rows, headers=["whole process", f"median s of {args.repeat}", "vs baseline"]))
    meta.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
