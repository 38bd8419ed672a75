"""`--fix`, `--unsafe-fixes` and `--diff` as Ruff means them; fixes in JSON and SARIF; where a
fix is not offered; files written safely."""

import json
import os
import stat
import textwrap

import pytest

from tfcollections.lint.cli import main

GAN = textwrap.dedent("""\
    import keras
    import tensorflow as tf
    head = keras.layers.Dense(1, trainable=tf.constant(True))
    d.compile(optimizer="adam", loss="mse")
    d.trainable = False
    gan = keras.Model(z, d(g(z)))
    gan.compile(optimizer="adam", loss="mse")
    for step in range(10):
        d.train_on_batch(real, ones)  # the discriminator
        gan.train_on_batch(noise, ones)
""")
SAFE_FIXED = GAN.replace("trainable=tf.constant(True)", "trainable=True")
ALL_FIXED = SAFE_FIXED.replace(
    "    d.train_on_batch", "    d.trainable = True\n    d.train_on_batch"
).replace("    gan.train_on_batch", "    d.trainable = False\n    gan.train_on_batch")


@pytest.fixture
def gan(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "gan.py"
    path.write_text(GAN)
    return path


def _run(capsys, *args):
    code = main(["--no-cache", "--keras", "3", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_findings_say_which_fix_applies(gan, capsys):
    code, out, _ = _run(capsys, "gan.py")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("gan.py:3:30: TFC002 [*] trainable= receives a tensor")
    assert lines[1].startswith("gan.py:9:5: TFC005 under Keras 3, d is frozen")  # unsafe
    assert lines[2:] == [
        "[*] 1 fixable with the `--fix` option (1 hidden fix can be enabled with the "
        "`--unsafe-fixes` option)."
    ]
    code, out, _ = _run(capsys, "--unsafe-fixes", "gan.py")
    assert "TFC005 [*]" in out and out.splitlines()[-1] == "[*] 2 fixable with the `--fix` option."


def test_fix_applies_the_safe_fixes_and_reports_what_remains(gan, capsys):
    code, out, _ = _run(capsys, "--fix", "gan.py")
    assert gan.read_text() == SAFE_FIXED
    assert code == 1
    assert out.splitlines()[0].startswith("gan.py:9:5: TFC005 under Keras 3")
    assert out.splitlines()[1:] == [
        "Found 2 findings (1 fixed, 1 remaining).",
        "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option).",
    ]


def test_unsafe_fixes_fix_the_rest_and_the_result_lints_clean(gan, capsys):
    assert _run(capsys, "--fix", "--unsafe-fixes", "gan.py") == (
        0,
        "Found 2 findings (2 fixed, 0 remaining).\n",
        "",
    )
    assert gan.read_text() == ALL_FIXED
    assert _run(capsys, "gan.py") == (0, "", "")


def test_diff_shows_the_fixes_and_writes_nothing(gan, capsys):
    code, out, err = _run(capsys, "--diff", "--unsafe-fixes", "gan.py")
    assert code == 1 and gan.read_text() == GAN
    assert out.splitlines()[:3] == ["--- gan.py", "+++ gan.py", "@@ -1,10 +1,12 @@"]
    assert "-head = keras.layers.Dense(1, trainable=tf.constant(True))" in out.splitlines()
    assert "+    d.trainable = True" in out.splitlines()
    assert err == "Would fix 2 findings.\n"
    gan.write_text(ALL_FIXED)
    assert _run(capsys, "--diff", "gan.py") == (0, "", "")


def test_json_and_sarif_carry_the_edit_and_the_rules_page(gan, capsys):
    _, out, _ = _run(capsys, "--format", "json", "gan.py")
    tfc002, tfc005 = json.loads(out)
    assert tfc002["fix"] == {
        "applicability": "safe",
        "message": "Replace `tf.constant(True)` with `True`",
        "edits": [
            {"content": "True", "location": {"row": 3, "column": 40},
             "end_location": {"row": 3, "column": 57}},
        ],
    }  # fmt: skip
    assert tfc005["fix"]["applicability"] == "unsafe"
    assert [edit["content"] for edit in tfc005["fix"]["edits"]] == [
        "    d.trainable = True\n",
        "    d.trainable = False\n",
    ]
    assert tfc005["url"] == "https://tfcollections.readthedocs.io/en/latest/rules/tfc005/"
    _, out, _ = _run(capsys, "--format", "sarif", "gan.py")
    run = json.loads(out)["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["TFC002"]["helpUri"].endswith("/rules/tfc002/")
    replacement = run["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement == {
        "deletedRegion": {"startLine": 3, "startColumn": 40, "endLine": 3, "endColumn": 57},
        "insertedContent": {"text": "True"},
    }


def test_the_config_can_ask_for_fixes(gan, capsys):
    (gan.parent / "pyproject.toml").write_text("[tool.tfc-lint]\nfix = true\nunsafe-fixes = true\n")
    assert _run(capsys, "gan.py")[0] == 0
    assert gan.read_text() == ALL_FIXED


def test_ignored_findings_are_not_fixed(gan, capsys):
    (gan.parent / "pyproject.toml").write_text(
        '[tool.tfc-lint]\nper-file-ignores = {"gan.py" = ["TFC005"]}\n'
    )
    assert _run(capsys, "--fix", "--unsafe-fixes", "gan.py")[0] == 0
    assert gan.read_text() == SAFE_FIXED


def test_line_endings_and_permissions_are_kept(gan, capsys):
    gan.write_bytes(GAN.replace("\n", "\r\n").encode())
    gan.chmod(0o754)
    _run(capsys, "--fix", "--unsafe-fixes", "gan.py")
    assert gan.read_bytes() == ALL_FIXED.replace("\n", "\r\n").encode()
    assert stat.S_IMODE(gan.stat().st_mode) == 0o754


def test_a_file_that_cannot_be_written_is_a_one_line_error_and_stays(gan, capsys, monkeypatch):
    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    code, _, err = _run(capsys, "--fix", "gan.py")
    assert code == 2
    assert err == "tfc-lint: error: gan.py: cannot write the fix: Permission denied\n"
    assert gan.read_text() == GAN
    assert [path.name for path in gan.parent.iterdir()] == ["gan.py"]  # no temporary left


NO_FIX = {
    # A shared optimizer object: compiling again with it is not what compile() did first.
    "TFC004 shared optimizer": """\
        import keras
        opt = keras.optimizers.Adam()
        model.compile(optimizer=opt, loss="mse")
        model.fit(x, y)
        base.trainable = False
        model.fit(x, y)
    """,
    # compile() is part of an expression, not a statement that can be repeated.
    "TFC004 compile in an expression": """\
        import keras
        history = model.compile(optimizer="adam", loss="mse") or model.fit(x, y)
        base.trainable = False
        model.fit(x, y)
    """,
    # A local name of another function means something else where the toggle is.
    "TFC004 another scope": """\
        import keras
        def build(model, lr):
            model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
        build(model, 0.1)
        model.fit(x, y)
        base.trainable = False
        model.fit(x, y)
    """,
    # No other model's training call after d's: nothing says what d must be for it.
    "TFC005 no combined model": """\
        import keras
        d.compile(optimizer="adam", loss="mse")
        d.trainable = False
        for step in range(10):
            d.train_on_batch(real, ones)
    """,
    # A variable flag is not a literal bool: fixing it would change what it is.
    "TFC002 a variable": """\
        import keras
        import tensorflow as tf
        layer = keras.layers.Dense(1, trainable=tf.Variable(True))
    """,
}


@pytest.mark.parametrize("case", NO_FIX)
def test_no_fix_where_the_inserted_code_would_mean_something_else(tmp_path, capsys, case):
    path = tmp_path / "t.py"
    path.write_text(textwrap.dedent(NO_FIX[case]))
    code, out, _ = _run(capsys, "--format", "json", str(path))
    findings = json.loads(out)
    assert code == 1 and [f["code"] for f in findings] == [case.split()[0]]
    assert findings[0]["fix"] is None


@pytest.mark.parametrize(("key", "value"), [("fix", '"yes"'), ("unsafe-fixes", "1")])
def test_a_bad_fix_setting_is_a_one_line_usage_error(gan, capsys, key, value):
    (gan.parent / "pyproject.toml").write_text(f"[tool.tfc-lint]\n{key} = {value}\n")
    code, _, err = _run(capsys, "gan.py")
    assert code == 2 and f"{key} must be true or false" in err and "pyproject.toml" in err
    assert len(err.splitlines()) == 1 and gan.read_text() == GAN
