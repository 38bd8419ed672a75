"""The pre-commit hook as pre-commit runs it: in an environment holding tfcollections alone
(no TensorFlow, no Keras), from the project's root, on the files of a commit. `keras = "auto"`
must take the project's Keras from what it declares."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
# Keras's mnist_acgan idiom through tf.keras: right under Keras 2 (d's compile() took its set
# while trainable), a TFC005 under Keras 3 (d is frozen at its first train_on_batch).
GAN = textwrap.dedent("""\
    import tensorflow as tf
    g = tf.keras.Sequential([tf.keras.layers.Dense(4)])
    d = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    d.compile(optimizer="sgd", loss="mse")
    d.trainable = False
    z = tf.keras.Input((2,))
    gan = tf.keras.Model(z, d(g(z)))
    gan.compile(optimizer="sgd", loss="mse")
    for _ in range(2):
        d.train_on_batch(real, ones)
        gan.train_on_batch(noise, ones)
""")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hook(tmp_path_factory):
    """`tfc-lint` installed the way pre-commit installs a python hook: a new virtual
    environment and `pip install` of the hook's repository, nothing else."""
    folder = tmp_path_factory.mktemp("hook-env")
    repository = folder / "repo"  # pip builds in the source tree: a copy keeps ours clean
    skipped = shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "docs", "tests")
    shutil.copytree(REPOSITORY, repository, ignore=skipped)
    environment = folder / "py_env"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True, timeout=120)
    python = environment / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", str(repository)]
    subprocess.run(install, check=True, timeout=300, capture_output=True)
    missing = "import importlib.util as u; print(u.find_spec('tensorflow'), u.find_spec('keras'))"
    assert subprocess.check_output([str(python), "-c", missing], text=True).split() == [
        "None",
        "None",
    ]
    return environment / "bin" / "tfc-lint"


def _commit(hook: Path, root: Path, files: dict[str, str], *args: str):
    for name, text in files.items():
        (root / name).write_text(text)
    environment = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    return subprocess.run(
        [str(hook), *args, "gan.py"], cwd=root, capture_output=True, text=True, env=environment
    )


@pytest.mark.parametrize(
    ("declared", "major", "why"),
    [
        ({"requirements.txt": "tensorflow<2.16\n"}, 2, "tensorflow<2.16 in requirements.txt:1"),
        ({"pyproject.toml": '[project]\nname = "p"\ndependencies = ["tensorflow==2.15.1"]\n'},
         2, "tensorflow==2.15.1 in pyproject.toml:3"),
        ({"environment.yml": "dependencies:\n  - pip:\n    - tf-keras\n"},
         2, "tf-keras in environment.yml:3"),
        ({".env": "TF_USE_LEGACY_KERAS=1\n"}, 2, "TF_USE_LEGACY_KERAS=1 in .env:1"),
        ({"requirements.txt": "tensorflow>=2.16\n"}, 3, "tensorflow>=2.16 in requirements.txt:1"),
        ({}, 3, "no TensorFlow declared or installed"),
    ],
)  # fmt: skip
def test_the_hook_lints_for_the_keras_the_project_declares(hook, tmp_path, declared, major, why):
    (tmp_path / ".git").mkdir()  # a repository root, as pre-commit's
    settings = _commit(hook, tmp_path, {"gan.py": GAN, **declared}, "--show-settings")
    assert settings.returncode == 0, settings.stderr
    assert settings.stdout.splitlines()[-1] == f"gan.py: Keras {major} (tf.keras: {why})"
    linted = _commit(hook, tmp_path, {})
    assert linted.stderr == ""
    if major == 2:
        assert (linted.returncode, linted.stdout) == (0, "")
    else:
        assert linted.returncode == 1
        assert linted.stdout.startswith("gan.py:10:5: TFC005 under Keras 3, d is frozen")


def test_the_installed_package_is_typed(hook):
    """py.typed ships, so type checkers read the annotations of the installed package."""
    probe = "import importlib.resources as r; print(r.files('tfcollections') / 'py.typed')"
    marker = subprocess.check_output([str(hook.parent / "python"), "-c", probe], text=True)
    assert Path(marker.strip()).is_file()
