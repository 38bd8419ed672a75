"""Freeze at run time on a TF1 cluster: 1 parameter server and 2 workers, each its own process.

    python examples/cluster_tf1.py [--sync] [--steps N] [--checkpoint DIR]

starts the three processes on free localhost ports and prints what the chief saw. Each worker
builds the graph under `replica_device_setter` (variables, Adam's slots and the freeze flags on
the parameter server) and trains with `MonitoredTrainingSession`; the chief applies a freeze
schedule by global step with `tfc.FreezeScheduleHook`: `a` frozen for the first third, `b`
for the second, nothing after. `--sync` aggregates both workers' gradients each step with
`SyncReplicasOptimizer(DynamicOptimizer(Adam))` (that order: the other is refused).

With `--job ps|worker --task I --ports P,P,P` it is one role of the cluster (how the launcher,
and tests, start each process); a worker given `--interactive` reads commands from stdin
(`step`, `freeze NAMES`, `state`, `quit`) and answers each with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from local_cluster import free_ports, running  # noqa: E402

import tfcollections as tfc  # noqa: E402

v1 = tf.compat.v1
WORKERS = 2
TARGET = np.array([[1.0], [-2.0], [0.5]], "float32")


def batch(step: int, task: int) -> tuple[np.ndarray, np.ndarray]:
    """The data of one worker's step: a function of the global step and the task only, so a
    restarted or a single-process run sees the same batches."""
    x = np.random.default_rng(step * WORKERS + task).normal(size=(8, 3)).astype("float32")
    return x, x @ TARGET


def schedule(steps: int, written: str | None = None) -> dict[int, list[str]]:
    """`--schedule "0:a;10:b;20:"` (step: frozen names); by default `a` frozen for the first
    third of the steps, `b` for the second, nothing for the last."""
    if written is None:
        return {0: ["a"], steps // 3: ["b"], 2 * steps // 3: []}
    entries = (entry.split(":") for entry in written.split(";") if entry)
    return {int(step): [name for name in names.split(",") if name] for step, names in entries}


def build(sync: bool, workers: int = WORKERS) -> dict:
    """The model, its train op and the dynamic optimizer (under whatever device setter is in
    force). `sync`: SyncReplicasOptimizer over `workers` replicas."""
    x = v1.placeholder(tf.float32, [None, 3], name="x")
    y = v1.placeholder(tf.float32, [None, 1], name="y")
    a = v1.get_variable("a", initializer=np.eye(3, dtype="float32") * 0.5)
    b = v1.get_variable("b", initializer=np.full((3, 1), 0.1, "float32"))
    loss = tf.reduce_mean(tf.square(x @ a @ b - y))
    global_step = v1.train.get_or_create_global_step()
    dynamic = tfc.DynamicOptimizer(v1.train.AdamOptimizer(0.05))
    optimizer = dynamic
    if sync:
        optimizer = v1.train.SyncReplicasOptimizer(
            dynamic, replicas_to_aggregate=workers, total_num_replicas=workers
        )
    train_op = optimizer.minimize(loss, global_step=global_step)
    return {"x": x, "y": y, "a": a, "b": b, "step": global_step, "train_op": train_op,
            "dynamic": dynamic, "optimizer": optimizer}  # fmt: skip


def state(model: dict, *, session) -> dict:
    """What the parameter server holds: variables, Adam's slots, the frozen set, the step."""
    dynamic = model["dynamic"]
    slots = {
        f"{variable.op.name}/{name}": dynamic.get_slot(variable, name)
        for variable in (model["a"], model["b"])
        for name in dynamic.get_slot_names()
    }
    values = session.run({"a": model["a"], "b": model["b"], "step": model["step"], **slots})
    values["frozen"] = [variable.op.name for variable in dynamic.frozen(session=session)]
    return {key: np.asarray(value).tolist() for key, value in values.items()}


def run_role(args: argparse.Namespace) -> None:
    ports = args.ports.split(",")
    cluster = tf.train.ClusterSpec(
        {"ps": [f"localhost:{ports[0]}"], "worker": [f"localhost:{p}" for p in ports[1:]]}
    )
    server = tf.distribute.Server(cluster, job_name=args.job, task_index=args.task)
    if args.job == "ps":
        server.join()
        return
    v1.disable_eager_execution()
    device = v1.train.replica_device_setter(
        cluster=cluster, worker_device=f"/job:worker/task:{args.task}"
    )
    with v1.device(device):
        model = build(args.sync, len(ports) - 1)
    chief = args.task == 0
    hooks = [v1.train.StopAtStepHook(last_step=args.steps)]
    if args.sync:
        # No initial tokens: each global step aggregates exactly one gradient of each worker.
        hooks.append(model["optimizer"].make_session_run_hook(chief, num_tokens=0))
    planned = schedule(args.steps, args.schedule)
    chief_hooks = [] if args.interactive else [tfc.FreezeScheduleHook(model["dynamic"], planned)]
    with v1.train.MonitoredTrainingSession(
        master=server.target,
        is_chief=chief,
        checkpoint_dir=args.checkpoint,
        hooks=hooks,
        chief_only_hooks=chief_hooks,
        save_checkpoint_steps=args.save_every if args.checkpoint else None,
        save_checkpoint_secs=None,
        save_summaries_steps=None,
        save_summaries_secs=None,
        log_step_count_steps=0,
        stop_grace_period_secs=1,  # sync: the other worker's token queue is left waiting
        config=v1.ConfigProto(device_filters=["/job:ps", f"/job:worker/task:{args.task}"]),
    ) as session:
        print("ready", flush=True)  # a worker started after this line needs no 30 s retry
        if args.interactive:
            serve(model, session, args.task)
            return
        while not session.should_stop():
            x, y = batch(int(raw(session, model["step"])), args.task)
            session.run(model["train_op"], {model["x"]: x, model["y"]: y})
        if chief:
            print(json.dumps(raw(session, partial(state, model))), flush=True)


def raw(session, what):
    """Run `what` (fetches, or a function taking `session=` the plain session) outside the
    hooks: reading the global step must not count as a step."""
    run = what if callable(what) else lambda session: session.run(what)
    return session.run_step_fn(lambda step_context: run(session=step_context.session))


def serve(model: dict, session, task: int) -> None:
    """The interactive worker: one JSON line per command, for tests that order the steps of
    several workers themselves."""
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "quit":
            return
        if command == "step":
            x, y = batch(int(raw(session, model["step"])), task)
            session.run(model["train_op"], {model["x"]: x, model["y"]: y})
        elif command == "freeze":
            frozen = argument.split(",") if argument else []
            raw(session, partial(model["dynamic"].set_frozen, frozen))
        print(json.dumps(raw(session, partial(state, model))), flush=True)


def launch(args: argparse.Namespace) -> None:
    """Start the parameter server and the workers, wait for the workers, stop everything."""
    ports = ",".join(map(str, free_ports(1 + WORKERS)))
    common = [sys.executable, str(Path(__file__).resolve()), "--ports", ports, *role_options(args)]
    roles = [("ps", 0)] + [("worker", task) for task in range(WORKERS)]
    commands = [[*common, "--job", job, "--task", str(task)] for job, task in roles]
    # TensorFlow's logs and shutdown noise are left out; the chief (index 1) starts first.
    with running(commands, ready=1, stderr=subprocess.DEVNULL) as processes:
        # the chief prints the result; with --sync the other worker waits for a next step
        output = processes[1].communicate(timeout=300)[0]
    final = json.loads(output.splitlines()[-1])
    mode = "sync" if args.sync else "async"
    print(f"after {final['step']} steps ({mode}, 1 ps, {WORKERS} workers):")
    print(f"  schedule: {schedule(args.steps, args.schedule)}")
    print(f"  frozen now: {final['frozen'] or 'nothing'}")
    print(f"  a = {np.round(final['a'], 3).tolist()}")
    print(f"  b = {np.round(final['b'], 3).tolist()}")


def role_options(args: argparse.Namespace) -> list[str]:
    """The options every process of the cluster is started with."""
    options = ["--steps", str(args.steps), "--save-every", str(args.save_every)]
    options += ["--sync"] if args.sync else []
    options += ["--checkpoint", args.checkpoint] if args.checkpoint else []
    options += ["--schedule", args.schedule] if args.schedule is not None else []
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync", action="store_true")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--checkpoint", help="MonitoredTrainingSession's checkpoint folder")
    parser.add_argument("--save-every", type=int, default=5, help="checkpoint every N steps")
    parser.add_argument("--schedule", help='the frozen set by step: "0:a;10:b;20:"')
    parser.add_argument("--job", choices=("ps", "worker"))
    parser.add_argument("--task", type=int, default=0)
    parser.add_argument("--ports")
    parser.add_argument("--interactive", action="store_true")
    args = parser.parse_args()
    try:
        schedule(args.steps, args.schedule)
    except ValueError:
        parser.error(f'--schedule: {args.schedule!r} is not "step:names;step:names"')
    run_role(args) if args.job else launch(args)


if __name__ == "__main__":
    main()
