"""DynamicOptimizer on a TF1 cluster: 1 parameter server and 2 workers, each its own process on
free localhost ports (`examples/cluster_tf1.py`), between-graph replication with
`replica_device_setter` and `MonitoredTrainingSession`. Every process is killed when a test
ends, passes or fails."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import run_python

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cluster_tf1.py"
sys.path.insert(0, str(EXAMPLE.parent))
from local_cluster import free_ports  # noqa: E402

pytestmark = pytest.mark.slow
ENVIRONMENT = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


class Cluster:
    """The processes of one cluster; the chief is started (and ready) before worker 1, as the
    example's launcher does. `kill()` ends them all; the test's fixture always calls it."""

    def __init__(self, *options: str, ports: str | None = None, interactive: bool = False):
        self.ports = ports or ",".join(map(str, free_ports(3)))
        self.options = [*options, *(["--interactive"] if interactive else [])]
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, *roles: str) -> None:
        for role in roles:
            job, task = ("ps", "0") if role == "ps" else ("worker", role[-1])
            argv = [sys.executable, str(EXAMPLE), "--ports", self.ports, *self.options,
                    "--job", job, "--task", task]  # fmt: skip
            self.processes[role] = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, env=ENVIRONMENT,
            )  # fmt: skip
            if job == "worker":
                assert self.processes[role].stdout.readline().strip() == "ready", role

    def ask(self, role: str, command: str) -> dict:
        """An interactive worker's answer to one command."""
        process = self.processes[role]
        process.stdin.write(command + "\n")
        process.stdin.flush()
        return _arrays(json.loads(process.stdout.readline()))

    def result(self, timeout: float = 120) -> dict:
        """What the chief printed when it stopped."""
        out, _ = self.processes["worker0"].communicate(timeout=timeout)
        return _arrays(json.loads(out.splitlines()[-1]))

    def kill(self, *roles: str) -> None:
        for role in roles or list(self.processes):
            process = self.processes[role]
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()


@pytest.fixture
def clusters():
    started: list[Cluster] = []

    def make(*options: str, **kwargs) -> Cluster:
        started.append(Cluster(*options, **kwargs))
        return started[-1]

    yield make
    for cluster in started:
        cluster.kill()


def _arrays(state: dict) -> dict:
    return {k: (np.asarray(v, "float32") if isinstance(v, list) and k != "frozen" else v)
            for k, v in state.items()}  # fmt: skip


def single_process(steps: int, schedule: str) -> dict:
    """The same training in one process: each step's batch is both workers' batches, so its
    gradient is the mean of theirs, which is what SyncReplicasOptimizer applies."""
    result = run_python(
        f"""
        import json, sys
        sys.path.insert(0, {str(EXAMPLE.parent)!r})
        import numpy as np, tensorflow as tf
        from cluster_tf1 import batch, build, schedule, state
        tf.compat.v1.disable_eager_execution()
        model = build(sync=False)
        planned = schedule({steps}, {schedule!r})
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for step in range({steps}):
                if step in planned:
                    model["dynamic"].set_frozen(planned[step], session=session)
                pairs = [batch(step, task) for task in (0, 1)]
                feed = {{model["x"]: np.concatenate([x for x, _ in pairs]),
                         model["y"]: np.concatenate([y for _, y in pairs])}}
                session.run(model["train_op"], feed)
            print(json.dumps(state(model, session=session)))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return _arrays(json.loads(result.stdout.splitlines()[-1]))


VARIABLES = ("a", "b", "a/m", "a/v", "b/m", "b/v")


def test_sync_replicas_equal_one_process_and_frozen_state_stays_bit_for_bit(clusters, tmp_path):
    """SyncReplicasOptimizer(DynamicOptimizer(Adam)): each step applies the mean of both
    workers' gradients, as one process does with both batches; `a`, frozen by the chief's
    schedule from step 6, and its Adam slots keep their step-6 checkpoint values exactly."""
    schedule = "0:;6:a"
    cluster = clusters("--sync", "--steps", "12", "--schedule", schedule,
                       "--checkpoint", str(tmp_path), "--save-every", "6")  # fmt: skip
    cluster.start("ps", "worker0", "worker1")
    final = cluster.result()
    assert final["step"] == 12 and final["frozen"] == ["a"]
    alone = single_process(12, schedule)
    for name in VARIABLES:
        np.testing.assert_allclose(final[name], alone[name], rtol=1e-5, atol=1e-6, err_msg=name)
    import tensorflow as tf

    at_freeze = tf.train.load_checkpoint(str(tmp_path / "model.ckpt-6"))
    for name, stored in (("a", "a"), ("a/m", "a/Adam"), ("a/v", "a/Adam_1")):
        assert np.array_equal(final[name], at_freeze.get_tensor(stored)), name
    assert not np.array_equal(final["b"], at_freeze.get_tensor("b"))  # b trained on


def test_async_a_freeze_by_the_chief_holds_on_the_other_workers_next_step(clusters):
    """Asynchronous workers, stepped in an order the test chooses: the flags live on the
    parameter server, so the step worker 1 runs after the chief's freeze leaves `a` and its
    slots untouched, and the one after the chief's unfreeze moves it."""
    cluster = clusters("--steps", "1000", interactive=True)
    cluster.start("ps", "worker0", "worker1")
    for _ in range(3):
        cluster.ask("worker0", "step")
        cluster.ask("worker1", "step")
    frozen = cluster.ask("worker0", "freeze a")
    assert frozen["frozen"] == ["a"]
    stepped = cluster.ask("worker1", "step")
    assert stepped["frozen"] == ["a"] and stepped["step"] == frozen["step"] + 1
    for name in ("a", "a/m", "a/v"):
        assert np.array_equal(stepped[name], frozen[name]), name
    assert not np.array_equal(stepped["b"], frozen["b"])
    cluster.ask("worker0", "freeze ")
    moved = cluster.ask("worker1", "step")
    assert moved["frozen"] == [] and not np.array_equal(moved["a"], frozen["a"])


def test_a_worker_killed_mid_run_and_the_job_restarted_ends_as_if_nothing_happened(
    clusters, tmp_path
):
    """SIGKILL one worker while the cluster trains (sync, so each step is deterministic), stop
    the job, start it again on the same checkpoint folder: MonitoredTrainingSession restores
    the variables, Adam's slots, the global step and the freeze flags, and the job ends with
    the variables of the same training without the failure (one process, within float
    tolerance: the restored steps are recomputed from the same batches)."""
    schedule = "0:a;8:b;20:"
    options = ("--sync", "--steps", "24", "--schedule", schedule, "--checkpoint", str(tmp_path),
               "--save-every", "4")  # fmt: skip
    first = clusters(*options)
    first.start("ps", "worker0", "worker1")
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("model.ckpt-1[2-9].index")) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill("worker1")  # mid-run: the chief now waits for its gradients
    saved = sorted(int(path.name.split("-")[1].split(".")[0]) for path in tmp_path.glob("*.index"))
    assert 12 <= saved[-1] < 20, saved  # the chief stops within a step of the kill
    import tensorflow as tf

    flags = tf.train.load_checkpoint(str(tmp_path / f"model.ckpt-{saved[-1]}"))
    stored = flags.get_tensor("Adam/frozen/flags")  # one flag a candidate: a, b
    frozen = [name for name, flag in zip(("a", "b"), stored) if flag]
    assert frozen == ["b"]  # the frozen set is in the checkpoint (b, from step 8 to 20)
    first.kill()
    again = clusters(*options)
    again.start("ps", "worker0", "worker1")
    final = again.result()
    assert final["step"] == 24 and final["frozen"] == []
    alone = single_process(24, schedule)
    for name in VARIABLES:
        np.testing.assert_allclose(final[name], alone[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_after_a_kill_the_restored_job_keeps_the_freeze_made_before_it(clusters, tmp_path):
    """No schedule here: the chief freezes `a` by hand and steps (a checkpoint a step); worker
    1 is SIGKILLed, then the rest of the job. Started again on the checkpoint, the chief holds
    the frozen set, the variables and every Adam slot as they were, and worker 1's next step
    still leaves `a` untouched."""
    options = ("--steps", "1000", "--checkpoint", str(tmp_path), "--save-every", "1")
    first = clusters(*options, interactive=True)
    first.start("ps", "worker0", "worker1")
    for _ in range(2):
        first.ask("worker1", "step")
    first.ask("worker0", "freeze a")
    before = first.ask("worker0", "step")
    first.kill("worker1")
    first.kill()
    again = clusters(*options, interactive=True)
    again.start("ps", "worker0", "worker1")
    restored = again.ask("worker0", "state")
    assert restored["frozen"] == ["a"] and restored["step"] == before["step"]
    for name in VARIABLES:
        assert np.array_equal(restored[name], before[name]), name
    stepped = again.ask("worker1", "step")
    assert all(np.array_equal(stepped[name], before[name]) for name in ("a", "a/m", "a/v"))
    assert not np.array_equal(stepped["b"], before["b"])


def test_the_wrong_order_with_sync_replicas_is_a_clear_error():
    result = run_python(
        """
        import tensorflow as tf
        import tfcollections as tfc
        tf.compat.v1.disable_eager_execution()
        sync = tf.compat.v1.train.SyncReplicasOptimizer(
            tf.compat.v1.train.AdamOptimizer(0.1), replicas_to_aggregate=2)
        try:
            tfc.DynamicOptimizer(sync)
        except tfc.TfCollectionsError as error:
            print(error)
        """
    )
    assert "wrap the other way round, SyncReplicasOptimizer(DynamicOptimizer(optimizer)" in (
        result.stdout
    ), result.stderr[-2000:]
