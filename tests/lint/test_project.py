"""Following the project: module resolution, its limits and cycles, unknown effects, the
cache's module dependencies, and the settings that turn it on and off."""

import os
import textwrap
from pathlib import Path

import pytest

from tfcollections.errors import UsageError
from tfcollections.lint import runner
from tfcollections.lint.analysis.modules import Resolver, project_root
from tfcollections.lint.cli import main
from tfcollections.lint.config import Follow, load_config
from tfcollections.lint.runner import lint_files

CODES = ("TFC001", "TFC004", "TFC005")


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


FOLLOW = Follow()


def _lint(entry: Path, follow: Follow | None = FOLLOW, **options) -> list:
    return lint_files(
        [entry], CODES, jobs=1, cache_folder=None, keras="2", follow=follow, **options
    )


# A Keras 2 program whose freeze after compile() is ignored, unless the helper recompiles.
IGNORED_FREEZE = """
    import keras
    from {module} import {name}
    base = keras.layers.Dense(4)
    model = keras.Sequential([base, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    base.trainable = False
    {name}(model)
    model.fit(x, y)
"""
RECOMPILES = """
    def {name}(model):
        model.compile(optimizer="sgd", loss="mse")
"""


# -- module resolution ----------------------------------------------------------------------


def test_the_script_folder_comes_first_then_the_root_then_src(tmp_path):
    _write(
        tmp_path,
        {
            "pyproject.toml": "",
            "scripts/helpers.py": "",
            "helpers.py": "",
            "src/pkg/__init__.py": "",
            "src/pkg/models.py": "",
        },
    )
    resolver = Resolver(project_root(tmp_path / "scripts"))
    script = tmp_path / "scripts" / "train.py"
    assert resolver.module(script, "helpers") == tmp_path / "scripts" / "helpers.py"
    assert resolver.module(tmp_path / "main.py", "helpers") == tmp_path / "helpers.py"
    assert resolver.module(script, "pkg.models").resolve() == tmp_path / "src/pkg/models.py"
    assert resolver.module(script, "pkg").resolve() == tmp_path / "src/pkg/__init__.py"


def test_relative_imports_resolve_inside_the_package(tmp_path):
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "", "pkg/sub/b.py": ""})
    resolver = Resolver(tmp_path)
    inner = tmp_path / "pkg" / "sub" / "b.py"
    assert resolver.module(inner, "a", level=2) == tmp_path / "pkg" / "a.py"
    assert resolver.module(inner, "", level=2) == tmp_path / "pkg" / "__init__.py"
    assert resolver.module(inner, "missing", level=1) is None


def test_standard_library_and_other_libraries_are_never_project_files(tmp_path):
    _write(tmp_path, {"math.py": "", "random.py": ""})
    resolver = Resolver(tmp_path)
    main_file = tmp_path / "main.py"
    assert resolver.module(main_file, "math") is None
    assert resolver.module(main_file, "random") is None
    assert resolver.module(main_file, "numpy") is None


def test_the_project_root_is_the_nearest_marker_else_the_repository_else_here(
    tmp_path, monkeypatch
):
    _write(tmp_path, {"repo/lib/setup.cfg": "", "repo/lib/deep/x.py": "", "repo/app/y.py": ""})
    (tmp_path / "repo" / ".git").mkdir()
    assert project_root(tmp_path / "repo/lib/deep") == tmp_path / "repo/lib"
    assert project_root(tmp_path / "repo/app") == tmp_path / "repo"
    monkeypatch.chdir(tmp_path)
    assert project_root(tmp_path / "loose") == tmp_path
    site = tmp_path / "lib" / "site-packages" / "somepkg"
    site.mkdir(parents=True)
    assert project_root(site) == site.parent


def test_an_installed_package_is_its_own_project(tmp_path):
    site = tmp_path / "site-packages"
    _write(site, {"mine/__init__.py": "", "mine/a.py": "", "other/__init__.py": ""})
    resolver = Resolver(project_root(site / "mine"))
    assert resolver.module(site / "mine" / "a.py", "mine.a") == site / "mine" / "a.py"
    assert resolver.module(site / "mine" / "a.py", "other") is None


# -- what is followed, and what is not -------------------------------------------------------


def test_a_helper_that_recompiles_is_followed_and_a_missing_one_changes_nothing(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="helpers", name="refresh"),
            "helpers.py": RECOMPILES.format(name="refresh"),
        },
    )
    assert _lint(tmp_path / "train.py") == []
    assert [f.line for f in _lint(tmp_path / "train.py", follow=None)] == [6]


def test_a_project_module_named_like_the_standard_library_is_not_followed(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="json", name="loads"),
            "json.py": RECOMPILES.format(name="loads"),
        },
    )
    assert [f.line for f in _lint(tmp_path / "train.py")] == [6]


def test_a_package_reexport_and_a_relative_import_are_followed(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="tools", name="refresh"),
            "tools/__init__.py": "from .compiling import refresh\n",
            "tools/compiling.py": "from ._impl import recompile as refresh\n",
            "tools/_impl.py": RECOMPILES.format(name="recompile"),
        },
    )
    assert _lint(tmp_path / "train.py") == []


def test_a_call_that_cannot_be_followed_makes_what_it_was_given_unknown(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="helpers", name="refresh"),
            "helpers.py": "def refresh(model) -> None:\n    model.compile(  # cut short\n",
        },
    )
    assert _lint(tmp_path / "train.py") == []  # unknown never yields a finding


def test_past_the_depth_limit_calls_are_unknown_too(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="a", name="refresh"),
            "a.py": "from b import refresh_b\n\ndef refresh(m):\n    refresh_b(m)\n",
            "b.py": "def refresh_b(m):\n    print(m.trainable)\n",
        },
    )
    assert _lint(tmp_path / "train.py", follow=Follow(depth=2)) != []  # followed: still ignored
    assert _lint(tmp_path / "train.py", follow=Follow(depth=1)) == []  # b not read: unknown


def test_modules_that_import_each_other_are_followed_once(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="a", name="refresh"),
            "a.py": "import b\n\ndef refresh(m):\n    b.again(m)\n",
            "b.py": "import a\n\ndef again(m):\n    a.refresh(m)\n",
        },
    )
    assert [f.line for f in _lint(tmp_path / "train.py")] == [6]


def test_only_the_files_given_are_reported_on(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": "from helpers import fit_frozen\nfit_frozen(model)\n",
            "helpers.py": IGNORED_FREEZE.format(module="os", name="getcwd").replace(
                "getcwd(d)", "pass"
            ),
        },
    )
    assert {Path(f.path).name for f in _lint(tmp_path / "train.py")} <= {"train.py"}
    assert {Path(f.path).name for f in _lint(tmp_path / "helpers.py")} == {"helpers.py"}


# -- the cache keeps the modules a file's findings came from --------------------------------


def test_a_warm_run_reads_no_module_and_a_changed_helper_relints_its_users(tmp_path):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="helpers", name="refresh"),
            "other.py": "x = 1\n",
            "helpers.py": RECOMPILES.format(name="refresh"),
        },
    )
    files = [tmp_path / "train.py", tmp_path / "other.py"]
    linted = []
    original = runner._lint_misses

    def counting(misses, *args):
        linted.append(sorted(Path(path).name for path, _ in misses))
        return original(misses, *args)

    runner._lint_misses = counting
    try:
        options = {"jobs": 1, "cache_folder": tmp_path, "keras": "2", "follow": Follow()}
        assert lint_files(files, CODES, **options) == []
        assert lint_files(files, CODES, **options) == []
        (tmp_path / "helpers.py").write_text("def refresh(model):\n    pass\n")
        found = lint_files(files, CODES, **options)
        (tmp_path / "helpers.py").unlink()
        after_delete = lint_files(files, CODES, **options)
    finally:
        runner._lint_misses = original
    # other.py can hold no finding: answered from the pre-checks, never linted nor cached
    assert linted == [["train.py"], [], ["train.py"], ["train.py"]]
    assert [f.line for f in found] == [6]
    assert [f.line for f in after_delete] == [6]


# -- settings ---------------------------------------------------------------------------------


def test_follow_settings_come_from_the_config_and_bad_ones_name_the_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.tfc-lint]\nfollow-depth = 1\nfollow-modules = 5\n"
    )
    assert load_config(tmp_path, set()).follow == Follow(depth=1, modules=5)
    (tmp_path / "pyproject.toml").write_text("[tool.tfc-lint]\nfollow-imports = false\n")
    assert load_config(tmp_path, set()).follow is None
    for bad in ("follow-imports = 1", "follow-depth = 0", 'follow-modules = "9"'):
        (tmp_path / "pyproject.toml").write_text(f"[tool.tfc-lint]\n{bad}\n")
        with pytest.raises(UsageError, match="pyproject.toml"):
            load_config(tmp_path, set())


def test_the_command_line_turns_following_off(tmp_path, monkeypatch, capsys):
    _write(
        tmp_path,
        {
            "train.py": IGNORED_FREEZE.format(module="helpers", name="refresh"),
            "helpers.py": RECOMPILES.format(name="refresh"),
        },
    )
    monkeypatch.chdir(tmp_path)
    assert main(["--keras", "2", "--no-cache", "train.py"]) == 0
    assert main(["--keras", "2", "--no-cache", "--no-follow-imports", "train.py"]) == 1
    assert "train.py:6:1: TFC004" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "train.py")
