"""Which Keras a file is linted for: `auto` per file from its imports and what is installed,
`--keras` / `[tool.tfc-lint] keras` to say it; and the dataflow's limits never crash a file."""

import os
import subprocess
import sys

import pytest

from tfcollections.lint import keras_target
from tfcollections.lint.cli import main
from tfcollections.lint.engine import lint_source
from tfcollections.lint.registry import load_selected

KERAS_RULES = load_selected(["TFC004", "TFC005"])
# Ignored under Keras 2 (compile() took the set), honoured under Keras 3 (read at the first fit).
FREEZE_AFTER_COMPILE = """\
{imports}
model.compile(optimizer="adam", loss="mse")
base.trainable = False
model.fit(x, y)
"""


def _versions_found(imports: str, keras: str = "auto") -> set[str]:
    source = FREEZE_AFTER_COMPILE.format(imports=imports).encode()
    findings = lint_source(source, "train.py", KERAS_RULES, keras=keras)
    return {finding.message.split(",")[0] for finding in findings}


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """Pretend these distributions (name -> version) are the installed ones, in a folder whose
    project declares nothing."""
    versions: dict[str, str] = {}
    monkeypatch.setattr(keras_target, "_version", versions.get)
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    monkeypatch.chdir(tmp_path)
    keras_target.forget()
    yield versions
    keras_target.forget()


def test_auto_reads_each_files_imports(installed):
    installed.update({"keras": "3.15.1", "tensorflow-cpu": "2.21.0"})
    assert _versions_found("import tf_keras as keras") == {"under Keras 2"}
    assert _versions_found("from tf_keras import layers") == {"under Keras 2"}
    assert _versions_found("import keras") == set()
    assert _versions_found("import tensorflow as tf\nm = tf.keras.Model") == set()
    assert _versions_found("import os") == set()  # unknown: Keras 3


def test_auto_follows_the_installed_keras_and_tensorflow(installed):
    installed.update({"keras": "2.15.0", "tensorflow": "2.15.1"})
    assert _versions_found("import keras") == {"under Keras 2"}
    assert _versions_found("import tensorflow as tf\nm = tf.keras.Model") == {"under Keras 2"}
    assert _versions_found("from tensorflow.keras import layers") == {"under Keras 2"}
    installed.clear()  # neither installed: Keras 3
    assert _versions_found("import keras") == set()


def test_auto_honours_tf_use_legacy_keras(installed, monkeypatch):
    installed.update({"tensorflow": "2.21.0"})
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    assert _versions_found("import tensorflow as tf\nm = tf.keras.Model") == {"under Keras 2"}


def test_an_explicit_version_wins_over_the_imports():
    assert _versions_found("import keras", keras="2") == {"under Keras 2"}
    assert _versions_found("import tf_keras as keras", keras="3") == set()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(FREEZE_AFTER_COMPILE.format(imports="import keras"))
    return tmp_path


def test_keras_flag_config_and_cache(project, capsys):
    assert main(["train.py"]) == 0  # Keras 3 honours it
    assert main(["--keras", "2", "train.py"]) == 1  # the cache is keyed by the setting
    out = capsys.readouterr().out
    assert out.startswith("train.py:3:1: TFC004 under Keras 2, model read its trainable set")
    (project / "pyproject.toml").write_text("[tool.tfc-lint]\nkeras = 2\n")
    assert main(["train.py"]) == 1
    assert main(["--keras", "auto", "train.py"]) == 0


@pytest.mark.parametrize("value", ['"4"', "true", "[2]", '"keras2"'])
def test_a_bad_keras_setting_is_a_one_line_usage_error(project, capsys, value):
    (project / "pyproject.toml").write_text(f"[tool.tfc-lint]\nkeras = {value}\n")
    assert main(["--no-cache", "train.py"]) == 2
    err = capsys.readouterr().err
    assert 'keras must be "auto", 2 or 3' in err and "pyproject.toml" in err
    assert len(err.splitlines()) == 1


def test_a_scope_with_too_many_paths_is_given_up_alone():
    branches = "".join(f"    if flag{i}:\n        layer{i}.trainable = False\n" for i in range(10))
    source = (
        "import keras\n"
        "def too_many():  # 2**10 paths: more than the analysis carries\n"
        "    model.compile(optimizer='adam', loss='mse')\n"
        "    model.fit(x, y)\n" + branches + "    model.fit(x, y)\n"
        "def fine():\n"
        "    model.compile(optimizer='adam', loss='mse')\n"
        "    model.fit(x, y)\n"
        "    base.trainable = False\n"
        "    model.fit(x, y)\n"
    )
    findings = lint_source(source.encode(), "many.py", KERAS_RULES, keras="3")
    assert [(finding.line, finding.code) for finding in findings] == [(29, "TFC004")]


def test_deeply_nested_code_in_a_keras_file_lints_cleanly():
    nested = "y = " + "(" * 1000 + "1" + ")" * 1000 + "\n"
    chain = "z = model" + ".parent" * 2000 + "\n"
    source = "import keras\nbase.trainable = False\nmodel.fit(x, y)\n" + nested + chain
    assert lint_source(source.encode(), "deep.py", KERAS_RULES) == []


def test_a_rule_whose_analysis_fails_gives_tfc000_and_the_others_still_report():
    class Broken(KERAS_RULES[0]):
        code = "TFC999"

        def finish(self) -> None:
            raise KeyError("boom")

    source = FREEZE_AFTER_COMPILE.format(imports="import keras").encode()
    findings = lint_source(source, "t.py", [Broken, *KERAS_RULES], keras="2")
    assert [(finding.code, finding.line) for finding in findings] == [
        ("TFC000", 1),
        ("TFC004", 3),
    ]
    assert "TFC999 failed on this file (KeyError('boom'))" in findings[0].message


@pytest.mark.slow
@pytest.mark.parametrize(("legacy", "major"), [("1", 2), (None, 3)])
def test_tf_keras_is_what_tensorflow_itself_gives(legacy, major):
    """`auto` for `tf.keras`, against what `tf.keras` is when TensorFlow is imported."""
    environment = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    if legacy:
        environment["TF_USE_LEGACY_KERAS"] = legacy
    probe = (
        "import tensorflow as tf; from pathlib import Path;"
        "from tfcollections.lint import keras_target;"
        "print(tf.keras.__name__.split('.')[0], keras_target.tf_keras(Path.cwd()).major)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr[-2000:]
    package, decided = result.stdout.split()
    assert package == ("tf_keras" if major == 2 else "keras")
    assert int(decided) == major
