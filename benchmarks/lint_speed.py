"""tfc-lint against plain LibCST parsing, on the same files, in one run.

Rows: `libcst.parse_module` of every file (in one process, the floor any LibCST linter pays
without a pre-check), `tfc-lint` cold (empty cache, whole process) and `tfc-lint` warm (cache
filled, whole process). Medians of --repeat runs; ratios against parse-all. Usage:
    python benchmarks/lint_speed.py CORPUS_DIR [--repeat N] [--jobs N]
e.g. CORPUS_DIR = the installed `tensorflow` package (about 1,850 files).
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
from tfcollections.lint.registry import load_selected, rule_entry_points


def parse_all(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with contextlib.suppress(Exception):  # the floor counts failing files too
            libcst.parse_module(path.read_bytes())
    return time.perf_counter() - start


def tfc_lint(corpus: Path, workdir: Path, jobs: int) -> tuple[float, str]:
    command = [str(Path(sys.executable).parent / "tfc-lint"), "--exit-zero", f"--jobs={jobs}"]
    start = time.perf_counter()
    result = subprocess.run([*command, str(corpus)], cwd=workdir, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"tfc-lint failed: {result.stderr.strip()}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    files = discover([str(corpus)], Config(root=corpus))
    rules = load_selected(sorted(rule_entry_points()))
    parsed = sum(any(rule.may_apply(path.read_bytes().lower()) for rule in rules) for path in files)
    lines = sum(path.read_bytes().count(b"\n") for path in files)
    workdir = Path(tempfile.mkdtemp(prefix="tfc-lint-bench-"))
    floor, cold, warm = [], [], []
    findings = ""
    for _ in range(args.repeat):
        floor.append(parse_all(files))
        shutil.rmtree(workdir / ".tfc-lint-cache", ignore_errors=True)
        seconds, findings = tfc_lint(corpus, workdir, args.jobs)
        cold.append(seconds)
        warm.append(tfc_lint(corpus, workdir, args.jobs)[0])
    shutil.rmtree(workdir, ignore_errors=True)
    base = statistics.median(floor)
    rows = [
        ("libcst.parse_module, every file", base),
        (f"tfc-lint cold (--jobs {args.jobs})", statistics.median(cold)),
        ("tfc-lint warm (cache)", statistics.median(warm)),
    ]
    print(f"{len(files)} files, {lines} lines; {parsed} pass the text pre-check and are parsed")
    print(f"{findings.count(chr(10))} findings ({findings.count(PARSE_ERROR)} TFC000)")
    print(
        tabulate(
            [(name, f"{seconds:.3f}", f"{seconds / base:.3f}x") for name, seconds in rows],
            headers=["run", f"median s of {args.repeat}", "vs parse-all"],
        )
    )


if __name__ == "__main__":
    main()
