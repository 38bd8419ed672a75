"""tfcollections.keras.DynamicOptimizer under MultiWorkerMirroredStrategy: 2 worker processes
on free localhost ports (`examples/cluster_keras.py`); tf_keras trains with `fit`, Keras 3 with
a custom loop (its `fit` does not run under this strategy). Every process is killed when a
test ends, passes or fails."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_together

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE = EXAMPLES / "cluster_keras.py"
sys.path.insert(0, str(EXAMPLES))
from local_cluster import free_ports  # noqa: E402

pytestmark = pytest.mark.slow
ENVIRONMENT = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _epochs(output: str) -> list[dict]:
    """The weights each epoch ended with, as float32 arrays."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [
        {k: np.asarray(v, "float32") for k, v in line.items() if k != "epoch"} for line in lines
    ]


def _cluster(*options: str, timeout: float = 120) -> list[list[dict]]:
    ports = ",".join(map(str, free_ports(2)))
    base = [sys.executable, str(EXAMPLE), "--ports", ports, *options]
    runs = run_together(
        {task: [*base, "--task", str(task)] for task in (0, 1)}, timeout=timeout, env=ENVIRONMENT
    )
    for run in runs.values():
        assert run.returncode == 0, run.stderr[-3000:]
    return [_epochs(runs[task].stdout) for task in (0, 1)]


def _single(*options: str) -> list[dict]:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "--single", *options],
        capture_output=True, text=True, env=ENVIRONMENT, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return _epochs(run.stdout)


def _assert_close(left: dict, right: dict, epoch: int) -> None:
    assert left.keys() == right.keys()
    for name in left:
        np.testing.assert_allclose(
            left[name], right[name], rtol=1e-5, atol=1e-6, err_msg=f"{name} after epoch {epoch}"
        )


@pytest.mark.parametrize("keras", ["2", "3"], ids=["tf_keras-fit", "keras3-custom-loop"])
def test_two_workers_match_one_process_and_the_frozen_layer_stays_bit_for_bit(keras):
    """After each epoch both workers hold the same weights, the weights of one process
    training with the same global batch; `a`, frozen for epochs 0-1 by the schedule, ends
    them exactly as it started (the start is what one process holds: the same seed)."""
    epochs = 4
    workers = _cluster("--keras", keras, "--epochs", str(epochs))
    alone = _single("--keras", keras, "--epochs", str(epochs))
    assert len(workers[0]) == len(workers[1]) == len(alone) == epochs
    for epoch in range(epochs):
        for name in workers[0][epoch]:
            assert np.array_equal(workers[0][epoch][name], workers[1][epoch][name]), name
        _assert_close(workers[0][epoch], alone[epoch], epoch)
    start = _start(keras)
    frozen = [name for name in workers[0][0] if "/a/" in f"/{name}"]
    assert frozen and all(np.array_equal(workers[0][1][name], start[name]) for name in frozen)
    assert not all(np.array_equal(workers[0][3][name], start[name]) for name in frozen)


def _start(keras: str) -> dict:
    """The weights the example's model starts with."""
    probe = (
        f"import sys; sys.path.insert(0, {str(EXAMPLES)!r}); import json;"
        f"import {'tf_keras as keras' if keras == '2' else 'keras'};"
        "from cluster_keras import make_model, weights;"
        "print(json.dumps(weights(make_model(keras))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=ENVIRONMENT
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return {k: np.asarray(v, "float32") for k, v in json.loads(run.stdout).items()}


def test_keras3_fit_still_fails_under_multi_worker_mirrored_strategy():
    """keras-team/keras#20585: when Keras 3's own fit runs under this strategy, this test
    fails, and the custom loop of examples/cluster_keras.py is no longer needed."""
    probe = """
import json, os, sys
os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": sys.argv[1].split(",")},
                                      "task": {"type": "worker", "index": int(sys.argv[2])}})
import numpy as np, tensorflow as tf, keras
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
x = np.ones((32, 3), "float32")
model.fit(tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(16), epochs=1, verbose=0)
"""
    hosts = ",".join(f"localhost:{port}" for port in free_ports(2))
    runs = run_together(
        {task: [sys.executable, "-c", probe, hosts, str(task)] for task in (0, 1)},
        timeout=120,
        env=ENVIRONMENT,
    )
    for run in runs.values():
        assert run.returncode != 0, "Keras 3 fit now runs under MultiWorkerMirroredStrategy"
        assert "PerReplica" in run.stderr


def test_a_worker_killed_mid_epoch_resumes_with_backup_and_restore(tmp_path):
    """tf_keras fit with BackupAndRestore: SIGKILL one worker during epoch 2 (the other one
    then fails), start both again on the same backup folder: training resumes at epoch 2,
    with the weights, the optimizer's state and the freeze flags of epoch 1's end (the
    schedule froze `a` at epoch 0 and says nothing at epoch 2: only the restored flags keep
    it frozen), and ends with the weights of an uninterrupted run."""
    epochs = 6
    options = ["--keras", "2", "--epochs", str(epochs), "--backup", str(tmp_path)]
    ports = ",".join(map(str, free_ports(2)))
    base = [sys.executable, str(EXAMPLE), "--ports", ports, *options]
    workers = [
        subprocess.Popen(
            [*base, "--task", str(task), "--slow"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=ENVIRONMENT,
        )  # fmt: skip
        for task in (0, 1)
    ]
    try:
        seen = [workers[1].stdout.readline() for _ in range(2)]  # epochs 0 and 1 done
        assert all(line.startswith('{"epoch"') for line in seen), seen
        workers[1].send_signal(signal.SIGKILL)  # during epoch 2 (each batch sleeps)
        workers[0].wait(timeout=120)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert workers[0].returncode != 0  # the job failed
    resumed = _cluster(*options)
    alone = _single(*options[:4])
    assert [len(run) for run in resumed] == [epochs - 2, epochs - 2]  # from epoch 2 on
    for offset, epoch in enumerate(range(2, epochs)):
        _assert_close(resumed[0][offset], alone[epoch], epoch)
        _assert_close(resumed[1][offset], alone[epoch], epoch)
