"""Freeze at run time under MultiWorkerMirroredStrategy: 2 workers, each its own process.

    python examples/cluster_keras.py [--keras 2|3] [--epochs N]

starts both workers on free localhost ports (TF_CONFIG) and prints what each holds. Keras 2
(tf_keras) trains with `fit`, `tfc.keras.DynamicOptimizer(..., model=model)` and a
`FreezeSchedule`: `a` frozen for the first half of the epochs. Keras 3's `fit` does not run
under this strategy (keras-team/keras#20585), so Keras 3 trains with a custom loop:
`strategy.run` of a step that applies the gradients of `opt.candidates`, the schedule applied
between epochs with `opt.set_frozen`. With `--task I --ports P,P` it is one worker (how the
launcher, and tests, start each process); `--backup DIR` adds Keras's `BackupAndRestore`,
`--slow` a pause after each batch (so that a test can kill a worker mid-epoch).
Each worker prints one JSON line a epoch: its weights.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from local_cluster import free_ports, running  # noqa: E402

WORKERS = 2
GLOBAL_BATCH = 16
BATCHES = 4  # a epoch


def data() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(GLOBAL_BATCH * BATCHES, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def schedule(epochs: int) -> dict[int, list[str]]:
    return {0: ["a"], epochs // 2: []}


def make_model(keras):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(1, name="b")]
    )
    rng = np.random.default_rng(1)  # the same start on every worker and in one process
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5 for w in model.weights])
    return model


def weights(model) -> dict:
    return {w.path if hasattr(w, "path") else w.name: w.numpy().tolist() for w in model.weights}


def train_keras2(strategy, epochs: int, backup: str | None, slow: bool = False) -> None:
    import tf_keras

    import tfcollections as tfc

    with strategy.scope():
        model = make_model(tf_keras)
        optimizer = tfc.keras.DynamicOptimizer(tf_keras.optimizers.Adam(0.05), model=model)
        model.compile(optimizer=optimizer, loss="mse")
    x, y = data()
    dataset = tf_data().Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)

    class Report(tfc.keras.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(json.dumps({"epoch": epoch, **weights(model)}), flush=True)

    class Slow(tfc.keras.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.25)

    callbacks = [tfc.keras.FreezeSchedule(optimizer, schedule(epochs)), Report()]
    callbacks += [Slow()] if slow else []
    if backup:
        callbacks.insert(0, tf_keras.callbacks.BackupAndRestore(backup))
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=callbacks)


def train_keras3(strategy, epochs: int) -> None:
    import keras
    import tensorflow as tf

    import tfcollections as tfc

    with strategy.scope():
        model = make_model(keras)
        optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.05))
        optimizer.build(model.trainable_variables)
    x, y = data()
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    )

    @tf.function
    def step(inputs, targets):
        def replica_step(inputs, targets):
            with tf.GradientTape() as tape:
                errors = tf.reduce_mean(tf.square(model(inputs) - targets), axis=-1)
                loss = tf.nn.compute_average_loss(errors, global_batch_size=GLOBAL_BATCH)
            variables = optimizer.candidates
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

        strategy.run(replica_step, args=(inputs, targets))

    planned = schedule(epochs)
    for epoch in range(epochs):
        if epoch in planned:
            optimizer.set_frozen([model.get_layer(name) for name in planned[epoch]])
        for inputs, targets in dataset:
            step(inputs, targets)
        print(json.dumps({"epoch": epoch, **weights(model)}), flush=True)


def tf_data():
    import tensorflow as tf

    return tf.data


def run_worker(args: argparse.Namespace) -> None:
    """One worker of the cluster; with `--single`, the same training in one process without
    a strategy (the reference the cluster must match)."""
    if not args.single:
        ports = args.ports.split(",")
        os.environ["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
             "task": {"type": "worker", "index": args.task}}
        )  # fmt: skip
    import tensorflow as tf

    strategy = (
        tf.distribute.get_strategy() if args.single else tf.distribute.MultiWorkerMirroredStrategy()
    )
    if args.keras == "2":
        train_keras2(strategy, args.epochs, args.backup, args.slow)
    else:
        train_keras3(strategy, args.epochs)


def launch(args: argparse.Namespace) -> None:
    ports = ",".join(map(str, free_ports(WORKERS)))
    command = [sys.executable, str(Path(__file__).resolve()), "--ports", ports,
               "--keras", args.keras, "--epochs", str(args.epochs)]  # fmt: skip
    commands = [[*command, "--task", str(task)] for task in range(WORKERS)]
    with running(commands, stderr=subprocess.DEVNULL) as workers:
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    finals = [json.loads(output.splitlines()[-1]) for output in outputs]
    print(f"Keras {args.keras}, {WORKERS} workers, {args.epochs} epochs:")
    print(f"  schedule: {schedule(args.epochs)}")
    print(f"  both workers hold the same weights: {finals[0] == finals[1]}")
    for name, value in finals[0].items():
        if name != "epoch":
            print(f"  {name} = {np.round(value, 3).tolist()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", choices=("2", "3"), default="2")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--task", type=int)
    parser.add_argument("--ports")
    parser.add_argument("--backup", help="BackupAndRestore's folder (Keras 2)")
    parser.add_argument("--single", action="store_true", help="one process, no strategy")
    parser.add_argument("--slow", action="store_true", help="sleep after each batch (Keras 2)")
    args = parser.parse_args()
    run_worker(args) if args.task is not None or args.single else launch(args)


if __name__ == "__main__":
    main()
