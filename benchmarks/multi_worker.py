"""Step time of 2 local workers: the plain optimizer, DynamicOptimizer with nothing frozen, and
with half the layers frozen against the same model built with those layers left out of
training. Two engines: TF1 between-graph replication (1 parameter server, 2 asynchronous
workers, `MonitoredTrainingSession`) and tf_keras `fit` under MultiWorkerMirroredStrategy.

Each variant is a fresh cluster of processes on free localhost ports; every worker times its
steps after a warm-up and reports their median; a variant's figure is the median over both
workers and --rounds rounds (variants interleaved round by round). Ratios against the baseline
of the same run. Usage:
    python benchmarks/multi_worker.py [--rounds N] [--steps N] [--engine tf1|keras|both]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from local_cluster import free_ports, running  # noqa: E402

WIDTH, LAYERS, BATCH, WARMUP = 512, 6, 64, 20
VARIANTS = ("plain", "dynamic, nothing frozen", "dynamic, half frozen", "half left out")


def tf1_worker(variant: str, task: int, ports: list[str], steps: int) -> list[float]:
    import numpy as np
    import tensorflow as tf

    import tfcollections as tfc

    v1 = tf.compat.v1
    cluster = tf.train.ClusterSpec(
        {"ps": [f"localhost:{ports[0]}"], "worker": [f"localhost:{p}" for p in ports[1:]]}
    )
    server = tf.distribute.Server(cluster, job_name="worker", task_index=task)
    v1.disable_eager_execution()
    setter = v1.train.replica_device_setter(
        cluster=cluster, worker_device=f"/job:worker/task:{task}"
    )
    with v1.device(setter):
        x = v1.placeholder(tf.float32, [BATCH, WIDTH])
        h, weights = x, []
        for layer in range(LAYERS):
            w = v1.get_variable(f"w{layer}", [WIDTH, WIDTH])
            weights.append(w)
            h = tf.nn.relu(h @ w)
        loss = tf.reduce_mean(tf.square(h))
        step = v1.train.get_or_create_global_step()
        adam = v1.train.AdamOptimizer(1e-4)
        frozen = weights[: LAYERS // 2]
        if variant == "plain":
            train = adam.minimize(loss, global_step=step)
        elif variant == "half left out":
            train = adam.minimize(loss, global_step=step, var_list=weights[LAYERS // 2 :])
        else:
            dynamic = tfc.DynamicOptimizer(adam)
            train = dynamic.minimize(loss, global_step=step)
    feed = {x: np.random.default_rng(task).normal(size=(BATCH, WIDTH)).astype("float32")}
    times = []
    with v1.train.MonitoredTrainingSession(
        master=server.target, is_chief=task == 0, log_step_count_steps=0,
        save_checkpoint_secs=None, save_summaries_steps=None, save_summaries_secs=None,
        config=v1.ConfigProto(device_filters=["/job:ps", f"/job:worker/task:{task}"]),
    ) as session:  # fmt: skip
        if variant == "dynamic, half frozen":
            session.run_step_fn(
                lambda step_context: dynamic.set_frozen(frozen, session=step_context.session)
            )
        print("ready", flush=True)
        for _ in range(WARMUP + steps):
            start = time.perf_counter()
            session.run(train, feed)
            times.append(time.perf_counter() - start)
    return times[WARMUP:]


def keras_worker(variant: str, task: int, ports: list[str], steps: int) -> list[float]:
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
         "task": {"type": "worker", "index": task}}
    )  # fmt: skip
    import numpy as np
    import tensorflow as tf
    import tf_keras

    import tfcollections as tfc

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = tf_keras.Sequential(
            [tf_keras.Input((WIDTH,))]
            + [tf_keras.layers.Dense(WIDTH, activation="relu") for _ in range(LAYERS)]
        )
        frozen = model.layers[: LAYERS // 2]
        optimizer = tf_keras.optimizers.Adam(1e-4)
        if variant.startswith("dynamic"):
            optimizer = tfc.keras.DynamicOptimizer(optimizer, model=model)
        if variant == "half left out":
            for layer in frozen:
                layer.trainable = False
        model.compile(optimizer=optimizer, loss="mse")
        if variant == "dynamic, half frozen":
            optimizer.set_frozen(frozen)
    x = np.random.default_rng(0).normal(size=(BATCH * (WARMUP + steps), WIDTH)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, x)).batch(BATCH)

    from step_times import StepTimes

    timer = StepTimes()
    model.fit(dataset, epochs=1, verbose=0, callbacks=[timer])
    return timer.times[WARMUP:]


def run_cluster(engine: str, variant: str, steps: int) -> list[float]:
    """One fresh cluster; the median step time of each worker."""
    tf1 = engine == "tf1"
    ports = [str(port) for port in free_ports(3 if tf1 else 2)]
    command = [sys.executable, __file__, "--role", engine, "--variant", variant,
               "--ports", ",".join(ports), "--steps", str(steps)]  # fmt: skip
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    workers = [[*command, "--task", str(task)] for task in range(2)]
    commands = [[sys.executable, "-c", _PS, ",".join(ports)], *workers] if tf1 else workers
    ready = 1 if tf1 else None  # the chief, before the other worker
    with running(commands, ready=ready, stderr=subprocess.DEVNULL, env=environment) as started:
        outputs = [worker.communicate(timeout=600)[0] for worker in started[len(started) - 2 :]]
    return [json.loads(output.splitlines()[-1]) for output in outputs]


_PS = """
import sys, tensorflow as tf
ports = sys.argv[1].split(",")
cluster = tf.train.ClusterSpec({"ps": [f"localhost:{ports[0]}"],
                                "worker": [f"localhost:{p}" for p in ports[1:]]})
tf.distribute.Server(cluster, job_name="ps", task_index=0).join()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--engine", choices=("tf1", "keras", "both"), default="both")
    parser.add_argument("--role", choices=("tf1", "keras"), help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--task", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        worker = tf1_worker if args.role == "tf1" else keras_worker
        times = worker(args.variant, args.task, args.ports.split(","), args.steps)
        print(json.dumps(statistics.median(times)), flush=True)
        return
    from tabulate import tabulate

    engines = ("tf1", "keras") if args.engine == "both" else (args.engine,)
    for engine in engines:
        medians: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        for _ in range(args.rounds):
            for variant in VARIANTS:
                medians[variant].extend(run_cluster(engine, variant, args.steps))
        step = {variant: statistics.median(values) for variant, values in medians.items()}
        rows = [
            ("plain optimizer", step["plain"], "1.000x", ""),
            ("DynamicOptimizer, nothing frozen", step["dynamic, nothing frozen"],
             f"{step['dynamic, nothing frozen'] / step['plain']:.3f}x", "vs plain <= 1.05x"),
            ("half the layers left out of training", step["half left out"], "", ""),
            ("DynamicOptimizer, those layers frozen", step["dynamic, half frozen"],
             f"{step['dynamic, half frozen'] / step['half left out']:.3f}x",
             "vs left out <= 1.10x"),
        ]  # fmt: skip
        title = {"tf1": "TF1, 1 ps + 2 async workers", "keras": "tf_keras fit, MultiWorkerMirrored"}
        print(f"{title[engine]}: {LAYERS} dense layers of {WIDTH}, batch {BATCH}, "
              f"{args.steps} steps a worker, {args.rounds} rounds")  # fmt: skip
        print(tabulate(
            [(name, f"{seconds * 1000:.2f}", f"{2 / seconds:.1f}", ratio, target)
             for name, seconds, ratio, target in rows],
            headers=["variant", "median ms/step", "steps/s (2 workers)", "ratio", "target"],
        ))  # fmt: skip
        print()


if __name__ == "__main__":
    main()
