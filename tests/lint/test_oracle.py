"""tfc-lint against real Keras 2 and Keras 3: a finding exactly where Keras does not do what the
code says.

Each program in `oracle/` states its intent at each training call (`# trains: d, g`: the layers
that call should move; `a ; b` per execution, the last repeating) and where tfc-lint should
report under which Keras (`# K2 K3: TFC004`). The programs run for real under `keras` (3) and
`tf_keras` (2) and the layers that moved are recorded; under each version, the program has a
marked finding exactly when some call moved other layers than intended, and `tfc-lint --keras N`
reports exactly the marked lines.
"""

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_together
from oracle_marks import intended, marks, surprises

from tfcollections.lint.cli import main
from tfcollections.lint.engine import lint_source
from tfcollections.lint.registry import load_selected

ORACLE = Path(__file__).parent / "oracle"
PROGRAMS = sorted(ORACLE.glob("p[0-9]*.py"))
VERSIONS = ("2", "3")
RULES = load_selected(["TFC004", "TFC005"])

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def observed() -> dict[str, dict[str, list]]:
    """What moved at each training call, per Keras version (both run at once)."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    commands = {
        version: [sys.executable, str(ORACLE / "run.py"), version, *map(str, PROGRAMS)]
        for version in VERSIONS
    }
    runs = run_together(commands, timeout=900, env=environment, cwd=ORACLE)
    results = {}
    for version, run in runs.items():
        assert run.returncode == 0, run.stderr[-3000:]
        results[version] = json.loads(run.stdout)
    return results


def test_there_are_at_least_30_programs_covering_both_versions_and_rules():
    assert len(PROGRAMS) >= 30
    marked = {mark for program in PROGRAMS for mark in marks(program, "2") | marks(program, "3")}
    assert {code for _, code in marked} == {"TFC004", "TFC005"}
    clean = [program for program in PROGRAMS if not marks(program, "2") | marks(program, "3")]
    assert len(clean) >= 10  # correct code, that must stay quiet


@pytest.mark.parametrize("version", VERSIONS, ids=lambda version: f"keras{version}")
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda program: program.stem)
def test_findings_are_exactly_where_keras_differs_from_the_code(program, version, observed):
    found = surprises(observed[version][program.name], intended(program))
    marked = marks(program, version)
    assert bool(marked) == bool(found), (
        f"Keras {version}: the program's marks {sorted(marked)} do not match what Keras did: "
        f"(line, execution, moved, intended) {found}"
    )
    findings = lint_source(program.read_bytes(), str(program), RULES, keras=version)
    assert {(finding.line, finding.code) for finding in findings} == marked
    assert all(f"under Keras {version}," in finding.message for finding in findings)


def test_under_keras_3_a_model_frozen_when_read_only_warns():
    """What TFC005 says of Keras 3: the call trains nothing, and says so only in a warning."""
    probe = """
import warnings
import keras
import numpy as np
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
d.compile(optimizer="sgd", loss="mse")
d.trainable = False
before = [w.numpy().copy() for w in d.weights]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    d.train_on_batch(np.ones((8, 4)), np.zeros((8, 1)))
assert all((old == w.numpy()).all() for old, w in zip(before, d.weights)), "it trained"
print(sorted({str(w.message) for w in caught}))
"""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "The model does not have any trainable weights." in result.stdout


@pytest.fixture(scope="module")
def fixed(tmp_path_factory) -> dict[str, list[Path]]:
    """Per Keras version, every program with a fixable finding, copied and fixed by
    `tfc-lint --fix --unsafe-fixes --keras N`."""
    programs: dict[str, list[Path]] = {}
    for version in VERSIONS:
        folder = tmp_path_factory.mktemp(f"fixed-keras{version}")
        for program in PROGRAMS:
            findings = lint_source(program.read_bytes(), str(program), RULES, keras=version)
            if any(finding.fix for finding in findings):
                copy = folder / program.name
                copy.write_bytes(program.read_bytes())
                main(["--no-cache", "--fix", "--unsafe-fixes", "--keras", version, str(copy)])
                programs.setdefault(version, []).append(copy)
    return programs


@pytest.fixture(scope="module")
def observed_fixed(fixed) -> dict[str, dict[str, list]]:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    commands = {
        version: [sys.executable, str(ORACLE / "run.py"), version, *map(str, programs)]
        for version, programs in fixed.items()
    }
    runs = run_together(commands, timeout=900, env=environment, cwd=ORACLE)
    for run in runs.values():
        assert run.returncode == 0, run.stderr[-3000:]
    return {version: json.loads(run.stdout) for version, run in runs.items()}


def test_most_findings_have_a_fix(fixed):
    assert len(fixed["2"]) >= 15 and len(fixed["3"]) >= 20


@pytest.mark.parametrize("version", VERSIONS, ids=lambda version: f"keras{version}")
def test_fixed_programs_train_what_they_intend_and_lint_clean(version, fixed, observed_fixed):
    """The oracle's proof of the fixes: run for real under the Keras they target, every fixed
    program trains exactly what it intends; it lints clean; and it differs from the original
    only in inserted lines (indentation and comments as they were)."""
    for copy in fixed[version]:
        original = (ORACLE / copy.name).read_text().splitlines()
        now = copy.read_text().splitlines()
        operations = difflib.SequenceMatcher(a=original, b=now).get_opcodes()
        assert {operation for operation, *_ in operations} == {"equal", "insert"}, copy.name
        found = surprises(observed_fixed[version][copy.name], intended(copy))
        assert found == [], f"{copy.name} under Keras {version}, fixed:\n{copy.read_text()}"
        assert lint_source(copy.read_bytes(), str(copy), RULES, keras=version) == [], copy.name
