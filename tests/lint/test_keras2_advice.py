"""tfc-lint's Keras 2 advice is true: each oracle program that is wrong under Keras 2, rewritten
by hand as its finding says ("freeze with tfcollections.keras.DynamicOptimizer", or, for a
model frozen before compile(), "set it trainable before compile()"), trains exactly what it
intends when run for real under tf_keras, and lints clean.

A rewrite is a list of (old, new) replacements, each applied once to the program's text.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from oracle_marks import intended as intended_calls
from test_oracle import ORACLE

from tfcollections.lint.engine import lint_source
from tfcollections.lint.registry import load_selected

pytestmark = pytest.mark.slow

DYN = "optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.SGD(), model=model)\n"
COMPILE = 'model.compile(optimizer="sgd"'
WITH_DYN = (COMPILE, DYN + "model.compile(optimizer=optimizer")
FREEZE = ("base.trainable = False", "optimizer.freeze(base)")
UNFREEZE = ("base.trainable = True", "optimizer.unfreeze(base)")
FREEZE_BEFORE_COMPILE = (
    "base.trainable = False\n" + COMPILE,
    DYN + "optimizer.freeze(base)\nmodel.compile(optimizer=optimizer",
)


def _gan(owner: str, model: str, frozen: str, indent: str = "") -> tuple[str, str]:
    """The combined model's optimizer freezes the discriminator for good: no toggles."""
    return (
        f'{model}.compile(optimizer="sgd"',
        f"{owner}optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.SGD())\n"
        f"{indent}{owner}optimizer.freeze({frozen})\n"
        f"{indent}{model}.compile(optimizer={owner}optimizer",
    )


REWRITES = {
    "p02_freeze_between_compile_and_first_fit.py": [WITH_DYN, FREEZE],
    "p03_unfreeze_without_recompile.py": [FREEZE_BEFORE_COMPILE, UNFREEZE],
    "p05_freeze_after_fit.py": [WITH_DYN, FREEZE],
    "p06_model_frozen_before_compile.py": [("model.trainable = False\n", "")],
    "p08_branch_unfreeze_after_fit.py": [FREEZE_BEFORE_COMPILE, UNFREEZE],
    "p10_recompile_in_one_arm.py": [FREEZE_BEFORE_COMPILE, UNFREEZE],
    "p11_loop_first_iteration_differs.py": [FREEZE_BEFORE_COMPILE, UNFREEZE],
    "p12_loop_restores_state.py": [WITH_DYN, FREEZE],
    "p14_gan_toggle_idiom.py": [
        _gan("gan_", "gan", "d"),
        ("    d.trainable = True\n", ""),
        ("    d.trainable = False  # K2: TFC004\n", ""),
    ],
    "p16_helper_toggle_idiom.py": [
        _gan("gan_", "gan", "d"),
        ("    make_trainable(d, True)\n", ""),
        ("    make_trainable(d, False)  # K2: TFC004\n", ""),
    ],
    "p20_class_toggle_idiom.py": [
        _gan("self.combined_", "self.combined", "self.discriminator", " " * 8),
        ("            self.discriminator.trainable = True\n", ""),
        ("            self.discriminator.trainable = False  # K2: TFC004\n", ""),
    ],
    "p23_functional_intermediate_names.py": [
        (
            'net.compile(optimizer="sgd"',
            DYN.replace("model=model", "model=net") + "net.compile(optimizer=optimizer",
        ),
        FREEZE,
    ],  # fmt: skip
    "p24_get_layer_after_fit.py": [
        WITH_DYN,
        ('model.get_layer("base").trainable = False', 'optimizer.freeze(model.get_layer("base"))'),
    ],
    "p25_layers_loop_after_fit.py": [
        WITH_DYN,
        (
            "for layer in model.layers[:-1]:\n    layer.trainable = False",
            "optimizer.freeze(model.layers[:-1])",
        ),
    ],
    "p28_try_finally_restore.py": [WITH_DYN, FREEZE, UNFREEZE],
    "p31_match_unfreeze.py": [FREEZE_BEFORE_COMPILE, UNFREEZE],
    "p32_init_calls_builders.py": [
        (
            '        self.model.compile(optimizer="sgd"',
            "        self.optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.SGD(), "
            "model=self.model)\n        self.model.compile(optimizer=self.optimizer",
        ),
        FREEZE[0:1] + ("self.optimizer.freeze(base)",),
    ],
    "p34_training_helper.py": [WITH_DYN, FREEZE],
    "p36_frozen_layers_loop_model.py": [
        ("for layer in model.layers:\n    layer.trainable = False\n", "")
    ],
    "p40_backbone_unfrozen_without_recompile.py": [
        ("backbone.trainable = False\n", ""),
        (COMPILE, DYN + "optimizer.freeze(backbone)\nmodel.compile(optimizer=optimizer"),
        ("backbone.trainable = True", "optimizer.unfreeze(backbone)"),
    ],
    "p46_feature_extractor_after_fit.py": [
        (
            'd.compile(optimizer="sgd"',
            DYN.replace("model=model", "model=d") + "d.compile(optimizer=optimizer",
        ),
        ("extractor.trainable = False", "optimizer.freeze(extractor)"),
    ],  # fmt: skip
    "p48_builder_toggle_idiom.py": [
        _gan("combined_", "combined", "discriminator", " " * 4),
        ("    disc.trainable = True\n", ""),
        ("    disc.trainable = False  # K2: TFC004\n", ""),
    ],
    "p50_load_model_then_freeze.py": [
        (
            "model.layers[0].trainable = False  # K2: TFC004\n",
            DYN
            + 'optimizer.freeze(model.layers[0])\nmodel.compile(optimizer=optimizer, loss="mse")\n',
        )
    ],
}


def _wrong_under_keras2() -> list[str]:
    return sorted(
        program.name
        for program in ORACLE.glob("p[0-9]*.py")
        if any("K2" in line.partition("#")[2] for line in program.read_text().splitlines())
    )


def test_every_program_wrong_under_keras2_has_a_rewrite():
    assert sorted(REWRITES) == _wrong_under_keras2()


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fixed")
    out = {}
    for name, replacements in REWRITES.items():
        text = (ORACLE / name).read_text()
        for old, new in replacements:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        text = text.replace("import keras\n", "import keras\n\nimport tfcollections as tfc\n", 1)
        (folder / name).write_text(text)
        out[name] = folder / name
    return out


@pytest.fixture(scope="module")
def observed(rewritten) -> dict[str, list]:
    result = subprocess.run(
        [sys.executable, str(ORACLE / "run.py"), "2", *map(str, rewritten.values())],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=next(iter(rewritten.values())).parent,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_the_rewrite_trains_what_it_intends_under_keras2_and_lints_clean(name, rewritten, observed):
    program = rewritten[name]
    intended = intended_calls(program)
    calls = observed[name]
    assert {line for line, _ in calls} == set(intended)
    executions: dict[int, int] = {}
    for line, moved in calls:
        index = executions[line] = executions.get(line, -1) + 1
        expected = intended[line][min(index, len(intended[line]) - 1)]
        assert set(moved) == expected, (line, index, moved, expected)
    rules = load_selected(["TFC004", "TFC005"])
    assert lint_source(program.read_bytes(), str(program), rules, keras="2") == []
