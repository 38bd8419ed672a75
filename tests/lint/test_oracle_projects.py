"""tfc-lint across modules against real Keras 2, Keras 3 and TF1: projects whose bug (or whose
correctness) is half in another module, linted by giving only the entry file, as pre-commit
does when only that file changed.

Each folder of `oracle_projects/` is a project whose `main.py` states its intent and marks (see
`oracle_marks`). `q*` projects run under `keras` and `tf_keras` (`oracle/run.py`: a training
call in another module is recorded at the line of `main.py` that led to it); `t*` projects
are TF1 programs that print which variables their train op moved.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_together
from oracle_marks import intended, marks, surprises

from tfcollections.lint.config import Follow
from tfcollections.lint.runner import lint_files

HERE = Path(__file__).parent
PROJECTS = sorted((HERE / "oracle_projects").glob("q[0-9]*"))
TF1_PROJECTS = sorted((HERE / "oracle_projects").glob("t[0-9]*"))
VERSIONS = ("2", "3")
CODES = ("TFC001", "TFC004", "TFC005")
ENVIRONMENT = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
FOLLOW = Follow()

pytestmark = pytest.mark.slow


def _lint(entry: Path, version: str, follow: Follow | None = FOLLOW) -> set[tuple[int, str]]:
    findings = lint_files([entry], CODES, jobs=1, cache_folder=None, keras=version, follow=follow)
    return {(finding.line, finding.code) for finding in findings}


@pytest.fixture(scope="module")
def observed() -> dict[str, dict[str, list]]:
    """What moved at each training call of each project, per Keras version."""
    runner = HERE / "oracle" / "run.py"
    commands = {
        version: [sys.executable, str(runner), version, *map(str, PROJECTS)] for version in VERSIONS
    }
    runs = run_together(commands, timeout=600, env=ENVIRONMENT, cwd=HERE / "oracle")
    results = {}
    for version, run in runs.items():
        assert run.returncode == 0, run.stderr[-3000:]
        results[version] = json.loads(run.stdout)
    return results


def test_the_projects_cover_the_layouts_the_issue_names():
    assert len(PROJECTS) + len(TF1_PROJECTS) >= 8
    names = " ".join(project.name for project in [*PROJECTS, *TF1_PROJECTS])
    for layout in ("builder", "helper", "relative", "src_layout", "stdlib", "class", "init"):
        assert layout in names
    assert (HERE / "oracle_projects" / "q05_src_layout" / "src").is_dir()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda version: f"keras{version}")
@pytest.mark.parametrize("project", PROJECTS, ids=lambda project: project.name)
def test_findings_are_exactly_where_keras_differs_from_the_code(project, version, observed):
    entry = project / "main.py"
    found = surprises(observed[version][project.name], intended(entry))
    marked = marks(entry, version)
    assert bool(marked) == bool(found), (
        f"Keras {version}: the marks {sorted(marked)} do not match what Keras did: "
        f"(line, execution, moved, intended) {found}"
    )
    assert _lint(entry, version) == marked


@pytest.mark.parametrize("project", TF1_PROJECTS, ids=lambda project: project.name)
def test_tf1_findings_are_exactly_where_the_train_op_differs_from_the_code(project):
    entry = project / "main.py"
    run = subprocess.run(
        [sys.executable, str(entry)],
        cwd=project,
        env=ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    moved = set(json.loads(run.stdout.strip().splitlines()[-1]))
    ((_, executions),) = intended(entry).items()
    marked = marks(entry, "2")
    assert bool(marked) == (moved != executions[0]), f"moved {sorted(moved)}"
    for version in VERSIONS:
        assert _lint(entry, version) == marked


def test_following_the_project_changes_the_verdict_where_the_other_half_is_elsewhere():
    """Without imports followed, most projects are linted wrongly: misses and false alarms."""
    wrong = [
        project.name
        for project in [*PROJECTS, *TF1_PROJECTS]
        for version in VERSIONS
        if _lint(project / "main.py", version, follow=None) != marks(project / "main.py", version)
    ]
    assert len({name.split("_")[0] for name in wrong}) >= 6, wrong


def test_a_finding_names_the_module_and_line_of_its_other_half():
    messages = {
        finding.message
        for project in ("q01_builder_module", "q03_fit_helper", "q07_class_module")
        for finding in lint_files(
            [HERE / "oracle_projects" / project / "main.py"],
            CODES,
            jobs=1,
            cache_folder=None,
            keras="3",
            follow=FOLLOW,
        )
    }
    assert any(message.endswith("(frozen in gan_builder.py:11)") for message in messages)
    assert any(message.endswith("(via train_utils.py:6)") for message in messages)
    assert any("(frozen in utils.py:7) (via gan_model.py:18)" in message for message in messages)
