"""`keras = "auto"` reads the Keras a project declares before what is installed: each file
format, includes, ranges that allow both Keras, conflicts, markers and declared variables."""

import textwrap

import pytest

from tfcollections.lint import keras_target
from tfcollections.lint.cli import main


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder (made current) where nothing is installed."""
    monkeypatch.setattr(keras_target, "_version", {}.get)
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    monkeypatch.chdir(tmp_path)
    keras_target.forget()
    yield tmp_path
    keras_target.forget()


def _write(folder, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text))


# (files, what tf.keras is and why, what `import keras` is and why)
CASES = {
    "pyproject dependencies": (
        {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["numpy", "tensorflow<2.16"]\n'},
        (2, "tensorflow<2.16 in pyproject.toml:3"),
        (2, "tensorflow<2.16 in pyproject.toml:3"),
    ),
    "optional dependencies, keras 2": (
        {"pyproject.toml": '[project]\nname = "p"\n[project.optional-dependencies]\n'
         'train = [\n  "keras<3",\n]\n'},
        (2, "keras<3 in pyproject.toml:5"),
        (2, "keras<3 in pyproject.toml:5"),
    ),
    "a range allowing both falls through": (
        {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["tensorflow>=2.10"]\n'},
        (3, "no TensorFlow declared or installed"),
        (3, "none declared or installed"),
    ),
    "poetry tilde": (
        {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.10"\ntensorflow = "~2.15"\n'},
        (2, "tensorflow>=2.15,<2.16 in pyproject.toml:3"),
        (2, "tensorflow>=2.15,<2.16 in pyproject.toml:3"),
    ),
    "poetry caret allows both": (
        {"pyproject.toml": '[tool.poetry.group.ml.dependencies]\n'
         'tensorflow = {version = "^2.15"}\n'},
        (3, "no TensorFlow declared or installed"),
        (3, "none declared or installed"),
    ),
    "poetry.lock pins below": (
        {"poetry.lock": '[[package]]\nname = "numpy"\nversion = "1.26.0"\n\n'
         '[[package]]\nname = "tensorflow"\nversion = "2.15.1"\n'},
        (2, "tensorflow==2.15.1 in poetry.lock:6"),
        (2, "tensorflow==2.15.1 in poetry.lock:6"),
    ),
    "a lock file narrows a range": (
        {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["tensorflow>=2.10"]\n',
         "uv.lock": '[[package]]\nname = "tensorflow"\nversion = "2.17.0"\n'},
        (3, "tensorflow>=2.10 in pyproject.toml:3 and tensorflow==2.17.0 in uv.lock:2"),
        (3, "tensorflow>=2.10 in pyproject.toml:3 and tensorflow==2.17.0 in uv.lock:2"),
    ),
    "pdm dev dependencies: tf-keras": (
        {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["tensorflow>=2.16"]\n'
         '[tool.pdm.dev-dependencies]\ntest = ["tf-keras~=2.16"]\n'},
        (2, "tf-keras~=2.16 in pyproject.toml:5"),
        (3, "tensorflow>=2.16 in pyproject.toml:3"),
    ),
    "dependency groups": (
        {"pyproject.toml": '[dependency-groups]\ndev = ["keras>=3.2"]\n'},
        (3, "no TensorFlow declared or installed"),  # keras 3 says nothing of tf.keras
        (3, "keras>=3.2 in pyproject.toml:2"),
    ),
    "requirements with -r": (
        {"requirements.txt": "# training\n-r requirements/base.txt\npillow\n",
         "requirements/base.txt": "numpy\ntensorflow-cpu==2.15.0  # pinned\n"},
        (2, "tensorflow-cpu==2.15.0 in base.txt:2"),
        (2, "tensorflow-cpu==2.15.0 in base.txt:2"),
    ),
    "requirements-dev and a false marker": (
        {"requirements-dev.txt": 'tensorflow<2.16; python_version < "3"\nkeras==3.6.0\n'},
        (3, "no TensorFlow declared or installed"),
        (3, "keras==3.6.0 in requirements-dev.txt:2"),
    ),
    "conflicting declarations fall through": (
        {"requirements.txt": "tensorflow<2.16\n", "constraints.txt": "tensorflow>=2.16\n"},
        (3, "no TensorFlow declared or installed"),
        (3, "none declared or installed"),
    ),
    "setup.cfg": (
        {"setup.cfg": "[options]\ninstall_requires =\n    numpy\n    keras<3\n"},
        (2, "keras<3 in setup.cfg:4"),
        (2, "keras<3 in setup.cfg:4"),
    ),
    "setup.py, read not run": (
        {"setup.py": 'import sys\nsys.exit("never run")\nfrom setuptools import setup\n'
         'setup(name="p", install_requires=["tensorflow~=2.14.0"])\n'},
        (2, "tensorflow~=2.14.0 in setup.py:4"),
        (2, "tensorflow~=2.14.0 in setup.py:4"),
    ),
    "environment.yml conda and pip": (
        {"environment.yml": "name: p\ndependencies:\n  - python=3.10\n  - tensorflow=2.15\n"
         "  - pip:\n    - keras>=3\n"},
        (2, "tensorflow==2.15.* in environment.yml:4"),
        (3, "keras>=3 in environment.yml:6"),
    ),
    "Pipfile": (
        {"Pipfile": '[packages]\nnumpy = "*"\ntensorflow = {version = "==2.13.0"}\n'},
        (2, "tensorflow==2.13.0 in Pipfile:3"),
        (2, "tensorflow==2.13.0 in Pipfile:3"),
    ),
    "Pipfile.lock": (
        {"Pipfile.lock": '{"default": {"tensorflow": {"version": "==2.18.0"}}, "develop": {}}'},
        (3, "tensorflow==2.18.0 in Pipfile.lock default"),
        (3, "tensorflow==2.18.0 in Pipfile.lock default"),
    ),
    "[tool.tfc-lint] env": (
        {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["tensorflow>=2.16"]\n'
         '[tool.tfc-lint]\nenv = {TF_USE_LEGACY_KERAS = "1"}\n'},
        (2, "TF_USE_LEGACY_KERAS=1 in pyproject.toml:5"),
        (3, "tensorflow>=2.16 in pyproject.toml:3"),
    ),
    ".env": (
        {".env": "# local\nexport TF_USE_LEGACY_KERAS=true\n"},
        (2, "TF_USE_LEGACY_KERAS=true in .env:2"),
        (3, "none declared or installed"),
    ),
    "environment.yml variables": (
        {"environment.yml": "dependencies: [tensorflow]\nvariables:\n  TF_USE_LEGACY_KERAS: 1\n"},
        (2, "TF_USE_LEGACY_KERAS=1 in environment.yml:3"),
        (3, "none declared or installed"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_the_declared_keras_and_why(project, case):
    files, tf_keras, package = CASES[case]
    _write(project, files)
    for decision, (major, reason) in [
        (keras_target.tf_keras(project), tf_keras),
        (keras_target.package_keras(project), package),
    ]:
        assert (decision.major, decision.reason.split(": ", 1)[1]) == (major, reason)


def test_declarations_come_before_what_is_installed(project, monkeypatch):
    monkeypatch.setattr(keras_target, "_version", {"tensorflow": "2.21.0", "keras": "3.15"}.get)
    assert keras_target.tf_keras(project).major == 3  # installed, nothing declared
    _write(project, {"requirements.txt": "tensorflow==2.15.1\n"})
    keras_target.forget()
    assert keras_target.tf_keras(project).major == 2
    assert keras_target.package_keras(project).major == 2


def test_the_legacy_flag_here_beats_a_declared_new_tensorflow_but_not_an_old_one(
    project, monkeypatch
):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    _write(project, {"requirements.txt": "tensorflow>=2.16\n"})
    assert (
        keras_target.tf_keras(project).reason
        == "tf.keras: TF_USE_LEGACY_KERAS set in the environment"
    )
    _write(project, {"requirements.txt": "tensorflow<2.16\n"})
    keras_target.forget()
    assert (
        keras_target.tf_keras(project).reason == "tf.keras: tensorflow<2.16 in requirements.txt:1"
    )


def test_unreadable_declarations_declare_nothing(project):
    _write(project, {
        "pyproject.toml": "[project\n", "environment.yml": "a: [b\n", "setup.py": "def (:\n",
        "Pipfile.lock": "{", "requirements.txt": "-r missing.txt\n-e .\nhttps://x/y.whl\n=bad\n",
    })  # fmt: skip
    assert keras_target.tf_keras(project).reason == "tf.keras: no TensorFlow declared or installed"


SCRIPTS = {
    "gan_tf.py": "import tensorflow as tf\nd = tf.keras.Sequential()\n",
    "gan_keras.py": "import keras\n",
    "gan_tf_keras.py": "import tf_keras as keras\n",
    "other.py": "import os\n",
}


def test_show_settings_says_which_keras_each_file_gets_and_why(project, capsys):
    _write(project, {**SCRIPTS, "requirements.txt": "numpy\n\ntensorflow<2.16\n"})
    _write(project, {"pyproject.toml": '[tool.tfc-lint]\nignore = ["TFC003"]\n'})
    assert main(["--show-settings", *SCRIPTS]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"settings: {project / 'pyproject.toml'}"
    assert "  ignore: TFC003" in out
    assert out[-4:] == [  # sorted, as linted
        "gan_keras.py: Keras 2 (keras: tensorflow<2.16 in requirements.txt:3)",
        "gan_tf.py: Keras 2 (tf.keras: tensorflow<2.16 in requirements.txt:3)",
        "gan_tf_keras.py: Keras 2 (it imports tf_keras)",
        "other.py: Keras 3 (it shows no Keras)",
    ]
    assert main(["--show-settings", "--keras", "3", "gan_tf.py"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1] == "gan_tf.py: Keras 3 (keras = 3 in the settings)"
    )


def test_show_settings_without_files_says_what_each_keras_is_here(project, capsys):
    _write(project, {"setup.cfg": "[options]\ninstall_requires = tf-keras\n"})
    assert main(["--show-settings"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "keras: Keras 3 (none declared or installed)",
        "tf.keras: Keras 2 (tf-keras in setup.cfg:2)",
    ]


def test_the_findings_follow_the_declarations_and_the_cache_sees_them_change(project, capsys):
    script = (
        "import tensorflow as tf\nmodel = tf.keras.Sequential([base])\n"
        "model.compile(optimizer='adam', loss='mse')\nbase.trainable = False\nmodel.fit(x, y)\n"
    )
    _write(project, {"train.py": script})
    assert main(["train.py"]) == 0  # Keras 3: the freeze holds at the fit
    _write(project, {"requirements.txt": "tensorflow==2.15.1\n"})
    assert main(["train.py"]) == 1  # Keras 2: compile() took the set; not the cached answer
    assert "under Keras 2" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["[1]", "{A = [1]}", "{A = true}"])
def test_a_bad_env_is_a_one_line_usage_error(project, capsys, value):
    _write(project, {"pyproject.toml": f"[tool.tfc-lint]\nenv = {value}\n", "a.py": ""})
    assert main(["--no-cache", "a.py"]) == 2
    err = capsys.readouterr().err
    assert "env must be a table" in err and "pyproject.toml" in err and len(err.splitlines()) == 1
