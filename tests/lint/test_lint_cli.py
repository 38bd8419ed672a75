"""tfc-lint end to end: discovery, formats, config, noqa, cache, exit codes, bad input."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfcollections.lint.cli import main

TRAP = """\
import tensorflow as tf
train_op = opt.minimize(loss)
col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
col.remove(x)
"""
LOOP = """\
for step in range(1000):
    sess.run(opt.minimize(loss))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with one finding per file in a.py and b.py, made the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(TRAP)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "b.py").write_text(LOOP)
    (tmp_path / "clean.py").write_text("import os\n")
    return tmp_path


def _run(capsys, *args):
    code = main(["--no-cache", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_output_is_sorted_path_line_col_code_message(project, capsys):
    code, out, err = _run(capsys)
    lines = out.splitlines()
    assert code == 1 and err == ""
    assert lines[0].startswith("a.py:4:1: TFC001 TRAINABLE_VARIABLES changed")
    assert lines[1].startswith(f"{os.path.join('pkg', 'b.py')}:2:14: TFC003 train op built")
    assert len(lines) == 2


def test_no_findings_exits_zero_and_exit_zero_flag(project, capsys):
    assert _run(capsys, "clean.py") == (0, "", "")
    code, out, _ = _run(capsys, "--exit-zero")
    assert code == 0 and "TFC001" in out


def test_json_format(project, capsys):
    code, out, _ = _run(capsys, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data[0] == {
        "path": "a.py",
        "line": 4,
        "column": 1,
        "code": "TFC001",
        "message": data[0]["message"],
        "url": "https://tfcollections.readthedocs.io/en/latest/rules/tfc001/",
        "fix": None,
    }
    assert [item["code"] for item in data] == ["TFC001", "TFC003"]


def test_github_format(project, capsys):
    _, out, _ = _run(capsys, "--format", "github", "a.py")
    assert out.startswith("::error file=a.py,line=4,col=1,title=TFC001::TRAINABLE_VARIABLES")


def test_sarif_format(project, capsys):
    _, out, _ = _run(capsys, "--format", "sarif")
    run = json.loads(out)["runs"][0]
    assert json.loads(out)["version"] == "2.1.0"
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} >= {"TFC000", "TFC004"}
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert run["results"][0]["ruleId"] == "TFC001" and region == {"startLine": 4, "startColumn": 1}


def test_select_and_ignore_by_prefix(project, capsys):
    _, out, _ = _run(capsys, "--select", "TFC003")
    assert "TFC003" in out and "TFC001" not in out
    _, out, _ = _run(capsys, "--ignore", "TFC001,TFC003")
    assert out == ""
    _, out, _ = _run(capsys, "--select", "TFC00", "--ignore", "TFC003")
    assert "TFC001" in out and "TFC003" not in out


def test_statistics(project, capsys):
    _, out, _ = _run(capsys, "--statistics")
    assert any(
        line.split() == ["1", "TFC001", "trainable-after-train-op"] for line in out.splitlines()
    )


def test_config_in_pyproject_and_flags_win(project, capsys):
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.tfc-lint]
            ignore = ["TFC003"]
            exclude = ["skipped"]
            per-file-ignores = { "a.py" = ["TFC001"] }
            """
        )
    )
    (project / "skipped").mkdir()
    (project / "skipped" / "c.py").write_text(TRAP)
    assert _run(capsys) == (0, "", "")
    _, out, _ = _run(capsys, "--ignore", "TFC002")  # the flag replaces the configured ignore
    assert "TFC003" in out and "TFC001" not in out and "skipped" not in out


def test_config_found_from_a_subfolder(project, capsys, monkeypatch):
    (project / "pyproject.toml").write_text('[tool.tfc-lint]\nselect = ["TFC001"]\n')
    monkeypatch.chdir(project / "pkg")
    assert _run(capsys, ".", "../a.py")[1].splitlines()[0].startswith("../a.py:4:1: TFC001")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ('[tool.tfc-lint]\nselct = ["TFC001"]\n', "unknown [tool.tfc-lint] key(s): selct"),
        ('[tool.tfc-lint]\nselect = ["TFX9"]\n', "unknown rule code 'TFX9'"),
        ('[tool.tfc-lint]\nselect = "TFC001"\n', "select must be a list of strings"),
        ("[tool.tfc-lint\n", "cannot read the configuration"),
    ],
)
def test_bad_config_is_a_one_line_usage_error(project, capsys, config, expected):
    (project / "pyproject.toml").write_text(config)
    code, out, err = _run(capsys)
    assert code == 2 and out == ""
    assert expected in err and "pyproject.toml" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--select", "NOPE1"], "--select: unknown rule code 'NOPE1'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["missing.py"], "missing.py: no such file or directory"),
    ],
)
def test_bad_command_line_is_a_one_line_usage_error(project, capsys, args, expected):
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("tfc-lint: error:") and expected in err and len(err.splitlines()) == 1


def test_noqa_comments(project, capsys):
    (project / "n.py").write_text(
        textwrap.dedent(
            """\
            import tensorflow as tf
            op = opt.minimize(loss)
            col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
            col.remove(a)  # noqa
            col.remove(b)  # noqa: TFC003, TFC001
            col.remove(c)  # noqa: TFC003
            col.remove(d)  # NOQA:TFC001
            """
        )
    )
    _, out, _ = _run(capsys, "n.py")
    assert [line.split(":")[1] for line in out.splitlines()] == ["6"]
    (project / "n.py").write_text("# tfc-lint: noqa\n" + TRAP)
    assert _run(capsys, "n.py") == (0, "", "")


def test_unparsable_files_get_tfc000_and_the_others_are_still_linted(project, capsys):
    (project / "py2.py").write_text(
        'import tensorflow as tf\nprint "minimize trainable_variables"\n'
    )
    (project / "py2_unrelated.py").write_text('print "no keyword here"\n')  # pre-check: not parsed
    (project / "nul.py").write_bytes(b"x = 1\0\n")
    (project / "latin.py").write_bytes(b"# minimize trainable_variables\nx = '\xff'\n")
    (project / "gone.py").symlink_to(project / "nowhere.py")
    _, out, _ = _run(capsys)
    by_file = {line.split(":")[0]: line for line in out.splitlines()}
    assert by_file["py2.py"].startswith("py2.py:2:1: TFC000 cannot parse: Missing parentheses")
    assert by_file["nul.py"] == "nul.py:1:1: TFC000 cannot parse: the file contains NUL bytes"
    assert by_file["latin.py"].startswith("latin.py:2:")
    assert "can't decode byte 0xff" in by_file["latin.py"]
    assert "py2_unrelated.py" not in by_file
    assert by_file["gone.py"] == "gone.py:1:1: TFC000 cannot read: No such file or directory"
    assert "a.py" in by_file  # the good files are still linted


def test_discovery_skips_vcs_venvs_and_build_folders(project, capsys):
    for folder in (".git", "build", "node_modules", "env_with_cfg", "x.egg-info"):
        (project / folder).mkdir()
        (project / folder / "t.py").write_text(TRAP)
    (project / "env_with_cfg" / "pyvenv.cfg").write_text("home = /usr\n")
    (project / "stub.pyi").write_text(TRAP)
    _, out, _ = _run(capsys)
    files = {line.split(":")[0] for line in out.splitlines()}
    assert files == {"a.py", os.path.join("pkg", "b.py"), "stub.pyi"}


def test_cache_gives_the_same_findings_and_notices_changes(project, capsys):
    assert main([]) == 1
    first = capsys.readouterr().out
    assert list((project / ".tfc-lint-cache").glob("findings-*.json"))
    assert main([]) == 1 and capsys.readouterr().out == first
    (project / "a.py").write_text("import os\n")
    assert main([]) == 1
    assert "a.py" not in capsys.readouterr().out


def test_no_cache_writes_nothing(project, capsys):
    _run(capsys)
    assert not (project / ".tfc-lint-cache").exists()


def test_parallel_jobs_give_the_same_findings_as_one(project, capsys):
    for index in range(40):
        (project / f"m{index}.py").write_text(TRAP if index % 3 else LOOP)
    serial = _run(capsys, "--jobs", "1")
    parallel = _run(capsys, "--jobs", "2")
    assert serial == parallel and serial[1].count("\n") == 42


def test_list_rules_and_version(capsys):
    assert main(["--list-rules"]) == 0
    out = capsys.readouterr().out
    for code in ("TFC000", "TFC001", "TFC002", "TFC003", "TFC004"):
        assert code in out
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("tfc-lint 0.")


def test_console_script_never_imports_tensorflow(project):
    script = Path(sys.executable).parent / "tfc-lint"
    (project / "k.py").write_text(  # deciding which Keras `auto` means imports nothing either
        "import tensorflow as tf\nimport tf_keras\nm = tf.keras.Model()\nm.trainable = False\n"
        "m.compile()\nm.fit(x, y)\n"
    )
    probe = (
        "import sys, runpy; sys.argv = ['tfc-lint', '--no-cache', '.'];"
        "from tfcollections.lint.cli import main; code = main();"
        "roots = {m.split('.')[0] for m in sys.modules};"
        "assert not roots & {'tensorflow', 'keras', 'tf_keras', 'h5py'}, roots;"
        "sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    real = subprocess.run([str(script), "--no-cache", "a.py"], capture_output=True, text=True)
    assert real.returncode == 1 and real.stdout.startswith("a.py:4:1: TFC001")


def _imported_by_a_run(folder: Path, *args: str) -> tuple[int, set[str]]:
    probe = (
        "import sys; from tfcollections.lint.cli import main; code = main(sys.argv[1:]);"
        "print(' '.join(sorted(sys.modules))); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=folder, capture_output=True, text=True
    )
    return result.returncode, set(result.stdout.splitlines()[-1].split())


def test_a_run_with_nothing_to_find_or_all_cached_loads_no_rule_libcst_or_metadata(project):
    """The hook's common case: what the rules need to know is in the environment snapshot
    and the findings cache, so neither LibCST, a rule, importlib.metadata nor packaging is
    loaded (benchmarks/lint_speed.py --hook measures what it saves)."""
    heavy = {"libcst", "importlib.metadata", "packaging", "tabulate", "lint_rules", "yaml"}
    (project / "requirements.txt").write_text("tensorflow<2.16\n")
    code, cold = _imported_by_a_run(project, "clean.py", "a.py")  # takes the snapshot
    assert code == 1 and {"libcst", "importlib.metadata", "lint_rules"} <= cold
    for args, expected in ((["clean.py"], 0), (["a.py", "clean.py"], 1)):
        code, modules = _imported_by_a_run(project, *args)
        roots = {name.split(".")[0] for name in modules} | (modules & {"importlib.metadata"})
        assert code == expected and not roots & heavy, roots & heavy


def test_pre_commit_hook_definition_and_no_tensorflow_in_core_dependencies():
    import tomllib

    root = Path(__file__).parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    core = [requirement.split(">")[0].split("=")[0] for requirement in project["dependencies"]]
    assert not {"tensorflow", "tensorflow-cpu", "keras"} & set(core)  # the hook installs these
    assert project["scripts"]["tfc-lint"] == "tfcollections.lint.cli:main"
    hooks = (root / ".pre-commit-hooks.yaml").read_text()
    for line in ("id: tfc-lint", "entry: tfc-lint", "language: python",
                 "types_or: [python, pyi]", "require_serial: true"):  # fmt: skip
        assert line in hooks


def test_rule_prints_the_rules_page_from_the_rule_class(capsys):
    from lint_rules.keras_model_trains_frozen import KerasModelTrainsFrozen as rule

    assert main(["rule", "tfc005"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("# TFC005 keras-model-trains-frozen\n\n" + rule.summary())
    assert f"| 2 | {rule.KERAS[2]} |" in page and f"| 3 | {rule.KERAS[3]} |" in page
    assert f"## Fix (unsafe)\n\n{rule.FIX[1]}" in page
    for example in (*rule.VALID, *rule.INVALID, *rule.FIXED[0]):
        assert textwrap.dedent(example).strip() in page
    assert page.rstrip().endswith("<https://tfcollections.readthedocs.io/en/latest/rules/tfc005/>")


def test_rule_all_and_json(capsys):
    assert main(["rule", "--all"]) == 0
    pages = capsys.readouterr().out
    assert [line[2:8] for line in pages.splitlines() if line.startswith("# TFC")] == [
        "TFC001", "TFC002", "TFC003", "TFC004", "TFC005",
    ]  # fmt: skip
    assert main(["rule", "TFC002", "--output-format", "json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert (described["code"], described["name"], described["fix"]) == (
        "TFC002", "non-bool-trainable", "safe",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["rule", "TFC999"], "rule: unknown rule code 'TFC999'"),
        (["rule", "TFC"], "rule: 'TFC' names several rules; give one code or --all"),
        (["rule"], "one of the arguments CODE --all is required"),
    ],
)
def test_rule_errors_are_one_line(capsys, args, error):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert error in err and len(err.splitlines()) == 1


def test_the_rules_pages_are_where_findings_point():
    """The documentation site is published at mkdocs.yml's site_url, and findings link to
    the pages it generates under rules/ (docs/gen_rule_pages.py)."""
    from tfcollections.lint.registry import DOCS_URL, rule_urls

    config = (Path(__file__).resolve().parents[2] / "mkdocs.yml").read_text()
    assert f"site_url: {DOCS_URL}\n" in config
    assert all(f"rules/{code.lower()}.md" in config for code in rule_urls())
    assert set(rule_urls()) == {"TFC001", "TFC002", "TFC003", "TFC004", "TFC005"}
