"""tfc-lint against plain LibCST parsing, on the same files, in one run.

Rows: `libcst.parse_module` of every file (in one process, the floor any LibCST linter pays
without a pre-check), `tfc-lint` cold (empty cache, whole process) and `tfc-lint` warm (cache
filled, whole process), imports followed (the default; an installed package's project is its
`site-packages`). With --project N the corpus is a generated project of N modules (GAN and
fine-tuning scripts over a package of builders, freeze helpers and utilities), and one more
table compares linting one changed script with the rest of the cache warm against linting
that script alone (imports not followed, no cache). With --hook, what a pre-commit run costs
(whole process, one file): a file that cannot hold a finding, a GAN script answered from the
cache, the same script cold, against `ruff check` on the same file; --hook-env installs
tfcollections the way pre-commit does (a new virtual environment, `pip install` of this
repository, no TensorFlow) instead of using this interpreter's. Medians of --repeat runs;
ratios against the baseline of the same run. Usage:
    python benchmarks/lint_speed.py CORPUS_DIR [--repeat N] [--jobs N]
    python benchmarks/lint_speed.py --project 500 [--repeat N] [--jobs N]
    python benchmarks/lint_speed.py --hook [--hook-env] [--repeat N]
e.g. CORPUS_DIR = the installed `tensorflow` package (about 1,900 files).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import libcst
from tabulate import tabulate

from tfcollections.lint.config import Config
from tfcollections.lint.discovery import discover
from tfcollections.lint.finding import PARSE_ERROR


def parse_all(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with contextlib.suppress(Exception):  # the floor counts failing files too
            libcst.parse_module(path.read_bytes())
    return time.perf_counter() - start


def tfc_lint(corpus: Path, workdir: Path, jobs: int, *options: str) -> tuple[float, str]:
    command = [str(Path(sys.executable).parent / "tfc-lint"), "--exit-zero", f"--jobs={jobs}"]
    start = time.perf_counter()
    result = subprocess.run(
        [*command, *options, str(corpus)], cwd=workdir, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"tfc-lint failed: {result.stderr.strip()}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?")
    parser.add_argument("--project", type=int, metavar="N", help="lint a generated project")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--hook", action="store_true", help="the pre-commit hook's latency")
    parser.add_argument("--hook-env", action="store_true", help="in a pre-commit-like env")
    args = parser.parse_args()
    if args.hook:
        hook_latency(args)
        return
    if (args.corpus is None) == (args.project is None):
        parser.error("give a CORPUS_DIR, --project N or --hook")
    workdir = Path(tempfile.mkdtemp(prefix="tfc-lint-bench-"))
    corpus = generate_project(workdir / "project", args.project) if args.project else None
    corpus = corpus or args.corpus.resolve()
    files = discover([str(corpus)], Config(root=corpus))
    lines = sum(path.read_bytes().count(b"\n") for path in files)
    floor, cold, warm = [], [], []
    findings = ""
    for _ in range(args.repeat):
        floor.append(parse_all(files))
        shutil.rmtree(workdir / ".tfc-lint-cache", ignore_errors=True)
        seconds, findings = tfc_lint(corpus, workdir, args.jobs)
        cold.append(seconds)
        warm.append(tfc_lint(corpus, workdir, args.jobs)[0])
    changed = one_changed_file(corpus, workdir, args) if args.project else None
    shutil.rmtree(workdir, ignore_errors=True)
    base = statistics.median(floor)
    rows = [
        ("libcst.parse_module, every file", base),
        (f"tfc-lint cold (--jobs {args.jobs})", statistics.median(cold)),
        ("tfc-lint warm (cache)", statistics.median(warm)),
    ]
    print(f"{len(files)} files, {lines} lines")
    print(f"{findings.count(chr(10))} findings ({findings.count(PARSE_ERROR)} TFC000)")
    print(_table(rows, args.repeat, "vs parse-all"))
    if changed is not None:
        print()
        print(_table(changed, args.repeat, "vs alone"))


def _table(rows: list[tuple[str, float]], repeat: int, versus: str) -> str:
    base = rows[0][1]
    return tabulate(
        [(name, f"{seconds:.3f}", f"{seconds / base:.3f}x") for name, seconds in rows],
        headers=["run", f"median s of {repeat}", versus],
    )


def one_changed_file(project: Path, workdir: Path, args: argparse.Namespace) -> list:
    """Linting one changed entry script, the cache warm for the rest (as a pre-commit hook
    does when only it changed), against linting that script alone."""
    script = project / "scripts" / "train_0.py"
    original = script.read_text()
    alone, changed = [], []
    tfc_lint(project, workdir, args.jobs)  # the cache is warm for every file
    for round_ in range(args.repeat):
        alone.append(tfc_lint(script, workdir, 1, "--no-follow-imports", "--no-cache")[0])
        script.write_text(f"{original}\n# edit {round_}\n")
        changed.append(tfc_lint(script, workdir, 1)[0])
    script.write_text(original)
    return [
        ("train_0.py alone (imports not followed, no cache)", statistics.median(alone)),
        ("train_0.py changed, imports followed, cache warm", statistics.median(changed)),
    ]


HOOK_TARGETS = {"nothing to find": 0.08, "GAN script, cached": 0.12}


def hook_latency(args: argparse.Namespace) -> None:
    """One file per run, as a commit gives it to the hook; the environment snapshot and the
    findings cache warm (as after the first commit), except for the cold row."""
    workdir = Path(tempfile.mkdtemp(prefix="tfc-lint-hook-"))
    project = workdir / "project"
    (project / ".git").mkdir(parents=True)
    (project / "requirements.txt").write_text("tensorflow<2.16\n")
    (project / "utils.py").write_text("import os\n\n\ndef here():\n    return os.getcwd()\n")
    gan = Path(__file__).resolve().parents[1] / "tests/lint/oracle/p13_gan_acgan_idiom.py"
    (project / "gan.py").write_bytes(gan.read_bytes())
    bin_folder = _hook_environment(workdir) if args.hook_env else Path(sys.executable).parent
    tfc_lint, ruff = str(bin_folder / "tfc-lint"), shutil.which("ruff") or "ruff"
    commands = {
        "ruff check utils.py (yardstick)": [ruff, "check", "--no-cache", "utils.py"],
        "nothing to find": [tfc_lint, "utils.py"],
        "GAN script, cached": [tfc_lint, "gan.py"],
        "GAN script, cold (--no-cache)": [tfc_lint, "--no-cache", "gan.py"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # warm the snapshot, the cache and the OS's file cache
        subprocess.run(command, cwd=project, capture_output=True)
    for _ in range(args.repeat):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=project, capture_output=True)
            times[name].append(time.perf_counter() - start)
    shutil.rmtree(workdir, ignore_errors=True)
    yardstick = statistics.median(times["ruff check utils.py (yardstick)"])
    rows = []
    for name, seconds in times.items():
        median = statistics.median(seconds)
        target = HOOK_TARGETS.get(name)
        verdict = f"<= {target} s: {'met' if median <= target else 'MISSED'}" if target else ""
        rows.append((name, f"{median:.3f}", f"{median / yardstick:.1f}x", verdict))
    where = "a pre-commit-like environment" if args.hook_env else sys.executable
    print(f"tfc-lint as a pre-commit hook, one file a run, in {where}")
    print(tabulate(rows, headers=["run", f"median s of {args.repeat}", "vs ruff", "target"]))


def _hook_environment(workdir: Path) -> Path:
    """A new virtual environment with tfcollections installed from a copy of this repository,
    as pre-commit installs a python hook (no TensorFlow, no Keras)."""
    repository = workdir / "repository"
    ignored = shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "docs", "tests")
    shutil.copytree(Path(__file__).resolve().parents[1], repository, ignore=ignored)
    environment = workdir / "py_env"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(repository)], check=True, capture_output=True)
    return environment / "bin"


def generate_project(root: Path, modules: int) -> Path:
    """A project of `modules` files, in groups of 20 as a real code base has them: a training
    script in `scripts/` (a GAN and a fine-tuning), and in the `src/app` package a module of
    Keras builders, one of freeze helpers, and 17 modules of data, metrics and utilities
    (about 150 lines each) that the scripts and builders import."""
    package = root / "src" / "app"
    package.mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\n')
    (package / "__init__.py").write_text("")
    groups = max(1, modules // 20)
    for i in range(groups):
        (package / f"models_{i}.py").write_text(_MODELS.format(i=i))
        (package / f"freeze_{i}.py").write_text(_FREEZE.format(i=i))
        transforms = "".join(_TRANSFORM.format(n=n) for n in range(24))
        (package / f"data_{i}.py").write_text(_DATA.format(i=i) + transforms)
        for kind in range(16):
            (package / f"utils_{i}_{kind}.py").write_text(_UTILS.format(i=i) + transforms)
        (root / "scripts" / f"train_{i}.py").write_text(
            _TRAIN.format(i=i, j=(i + 1) % groups, k=(i + 2) % groups)
        )
    return root


_MODELS = '''"""Builders of group {i}."""

import keras

from app.freeze_{i} import set_trainable


def build_gan(latent=2, features=4):
    g = keras.Sequential([keras.Input((latent,)), keras.layers.Dense(features, name="g")])
    d = keras.Sequential([keras.Input((features,)), keras.layers.Dense(1, name="d")])
    d.compile(optimizer="adam", loss="binary_crossentropy")
    set_trainable(d, False)
    z = keras.Input((latent,))
    gan = keras.Model(z, d(g(z)))
    gan.compile(optimizer="adam", loss="binary_crossentropy")
    return g, d, gan


def classifier(classes=3):
    inputs = keras.Input((8,))
    base = keras.layers.Dense(16, activation="relu", name="base")
    head = keras.layers.Dense(classes, activation="softmax", name="head")
    model = keras.Model(inputs, head(base(inputs)))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model, base
'''
_FREEZE = '''"""Freezing helpers of group {i}."""


def set_trainable(model, flag):
    model.trainable = flag
    for layer in model.layers:
        layer.trainable = flag


def freeze_all_but_last(model):
    for layer in model.layers[:-1]:
        layer.trainable = False
'''
_DATA = '''"""Data of group {i}."""

import numpy as np

from app.utils_{i}_0 import normalise


def batches(count, size=32, features=4):
    rng = np.random.default_rng({i})
    for _ in range(count):
        yield normalise(rng.normal(size=(size, features)).astype("float32"))


def labels(size=32, value=1.0):
    return np.full((size, 1), value, "float32")
'''
_TRANSFORM = """

def transform_{n}(x):
    y = x * {n} + 1
    return y / (abs(y).max() + 1e-9)
"""
_UTILS = '''"""Utilities of group {i}."""

import math

import numpy as np


def normalise(x):
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


def cosine_schedule(step, total, base=0.01):
    return base * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))


def moving_average(values, window=5):
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")
'''
_TRAIN = '''"""Trains the GAN of group {i} and fine-tunes a classifier."""

import numpy as np

from app import data_{i}, models_{i}
from app.freeze_{j} import freeze_all_but_last
from app.utils_{k}_1 import cosine_schedule

g, d, gan = models_{i}.build_gan()
for step, real in enumerate(data_{i}.batches(10)):
    noise = np.random.normal(size=(32, 2)).astype("float32")
    d.train_on_batch(real, data_{i}.labels())
    gan.train_on_batch(noise, data_{i}.labels())
    print(step, cosine_schedule(step, 10))

model, base = models_{i}.classifier()
freeze_all_but_last(model)
model.fit(np.zeros((32, 8)), np.zeros((32,)), verbose=0)
'''


if __name__ == "__main__":
    main()
