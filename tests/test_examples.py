"""The bundled examples are the README's demo: they must keep telling the truth."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_seed_trap_shows_the_trap_then_the_fix():
    out = _run("seed_trap.py")
    assert "trainable now: ['y']" in out
    assert "StaleTrainOpWarning" not in out and "will keep training" in out
    trapped = float(re.search(r"x = ([\d.]+) \(it moved", out).group(1))
    fixed = re.search(r"x = ([\d.]+), y = ([\d.]+) \(x frozen", out)
    assert trapped != 3.0
    assert float(fixed.group(1)) == 3.0 and float(fixed.group(2)) < 13.0


@pytest.mark.slow
def test_alternating_freeze_moves_one_variable_at_a_time_in_a_constant_graph():
    out = _run("alternating_freeze.py")
    rows = re.findall(r"frozen (\w)  x ([\d.]+)  y ([\d.]+)", out)
    assert len(rows) == 20
    for (_, x0, y0), (frozen, x1, y1) in zip(rows, rows[1:]):
        assert (x1 == x0) if frozen == "x" else (y1 == y0)
        assert (y1 != y0) if frozen == "x" else (x1 != x0)
    built, after = map(int, re.search(r"graph ops: (\d+) after building, (\d+)", out).groups())
    assert built == after


@pytest.mark.slow
def test_keras_freeze_shows_the_trap_then_the_fix():
    out = _run("keras_freeze.py")
    assert "the trap: backbone.trainable = False, backbone moved: True" in out
    assert "the fix: epochs 0-1 with backbone frozen, backbone moved: False" in out
    assert "from epoch 2 unfrozen (no recompile), backbone moved: True" in out


@pytest.mark.slow
def test_keras2_freeze_shows_the_trap_then_the_fix_with_both_optimizer_families():
    out = _run("keras2_freeze.py")
    assert "the trap: backbone.trainable = False, backbone moved: True" in out
    for family in ("DynamicOptimizer", "LegacyDynamicOptimizer"):
        assert (
            f"the fix with {family}: epochs 0-1 frozen, backbone moved: False; "
            "from epoch 2 unfrozen, moved: True"
        ) in out


def test_tfc_lint_finds_each_bundled_trap(capsys):
    from tfcollections.lint.cli import main

    assert main(["--no-cache", str(EXAMPLES)]) == 1
    lines = capsys.readouterr().out.splitlines()
    found = [line.split(" ")[:2] for line in lines[:-1]]
    # Ruff's hint under the findings: both TFC004 fixes compile again, which is unsafe
    assert lines[-1] == (
        "No fixes available (2 hidden fixes can be enabled with the `--unsafe-fixes` option)."
    )
    names = [(Path(location.split(":")[0]).name, code) for location, code in found]
    assert names == [
        ("keras2_freeze.py", "TFC004"),  # trainable = False after compile(), under Keras 2
        ("keras_freeze.py", "TFC004"),  # get_layer("backbone").trainable = False after fit()
        ("seed_trap.py", "TFC001"),
        ("trap_graph.py", "TFC001"),
    ]


@pytest.mark.slow
def test_cluster_examples_start_their_workers_and_report_what_they_hold():
    tf1 = _run("cluster_tf1.py", "--sync", "--steps", "12")
    assert "after 12 steps (sync, 1 ps, 2 workers):" in tf1
    assert "schedule: {0: ['a'], 4: ['b'], 8: []}" in tf1 and "frozen now: nothing" in tf1
    keras = _run("cluster_keras.py", "--keras", "2", "--epochs", "2")
    assert "Keras 2, 2 workers, 2 epochs:" in keras
    assert "both workers hold the same weights: True" in keras
