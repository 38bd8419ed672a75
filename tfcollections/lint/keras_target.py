"""Which Keras a file trains with: Keras 2 snapshots `trainable` at `compile()`, Keras 3 at the
first training call after it, so the Keras rules need the major version to be right.

`auto` decides per file from its imports; what `import keras` and `tf.keras` are comes first
from what the file's project declares (`declarations`), then from what is installed (read
through `importlib.metadata`, nothing imported), then Keras 3. Each decision says why.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TF_DISTRIBUTIONS = (
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tensorflow-intel",
    "tensorflow-aarch64", "tf-nightly",
)  # fmt: skip
LEGACY_FLAG = "TF_USE_LEGACY_KERAS"
_TRUE = {"1", "true", "yes"}


@dataclass(frozen=True)
class Decision:
    """A Keras major version and why ("tensorflow<2.16 in requirements.txt:3")."""

    major: int
    reason: str


def keras_major(
    setting: str,
    imported: Iterable[str],
    uses_tf_keras: bool,
    folder: Path | None = None,
) -> Decision:
    """The Keras a file in `folder` (default: the current one) is linted for.

    `setting` "2" or "3" wins. With "auto": a file importing `tf_keras` is Keras 2; one
    importing `keras` gets what `keras` is in its project (`package_keras`), `tf.keras`
    (`uses_tf_keras`) what `tf.keras` is (`tf_keras`); a file that shows no Keras is Keras 3.
    """
    if setting != "auto":
        return Decision(int(setting), f"keras = {setting} in the settings")
    roots = {dotted.split(".", 1)[0] for dotted in imported}
    folder = folder or Path.cwd()
    if "tf_keras" in roots:
        return Decision(2, "it imports tf_keras")
    if "keras" in roots:
        return package_keras(folder)
    if uses_tf_keras:
        return tf_keras(folder)
    return Decision(3, "it shows no Keras")


def api_major(setting: str, dotted: str, folder: Path | None = None) -> int | None:
    """The Keras an API name belongs to: `tf_keras.*` is 2; `keras.*` what `keras` is and
    `tensorflow.keras.*` what `tf.keras` is (or, for both, the setting when it is not
    "auto"); None for TensorFlow's own API."""
    root = dotted.split(".", 1)[0]
    if root == "tf_keras":
        return 2
    if root != "keras" and ".keras." not in f"{dotted}.":
        return None
    if setting != "auto":
        return int(setting)
    decide = package_keras if root == "keras" else tf_keras
    return decide(folder or Path.cwd()).major


def package_keras(folder: Path) -> Decision:
    """What `import keras` is for a file in `folder`: declared `keras<3`/`>=3`, else declared
    `tensorflow<2.16`/`>=2.16` (each pulls in its Keras), else the installed `keras`, else 3."""
    declared = _declared(_project_root(folder))
    for decision in (declared.keras, declared.tensorflow):
        if decision is not None:
            return Decision(decision.major, f"keras: {decision.reason}")
    version = _version("keras")
    if version:
        return Decision(_major(version) or 3, f"keras: {version} installed")
    return Decision(3, "keras: none declared or installed")


def tf_keras(folder: Path) -> Decision:
    """What `tf.keras` is for a file in `folder`: Keras 2 when the project declares
    TF_USE_LEGACY_KERAS, `tf-keras`, `tensorflow<2.16` or `keras<3`; else Keras 2 when
    TF_USE_LEGACY_KERAS is set here; Keras 3 when the project declares `tensorflow>=2.16`;
    else what the installed TensorFlow gives, then 3."""
    declared = _declared(_project_root(folder))
    keras2 = declared.keras if declared.keras and declared.keras.major == 2 else None
    tensorflow = declared.tensorflow
    tf2 = tensorflow if tensorflow and tensorflow.major == 2 else None
    for decision in (declared.legacy, tf2, keras2):
        if decision is not None:
            return Decision(decision.major, f"tf.keras: {decision.reason}")
    if _true(os.environ.get(LEGACY_FLAG, "")):  # TensorFlow 2.16 or newer gives Keras 2 then
        return Decision(2, f"tf.keras: {LEGACY_FLAG} set in the environment")
    if tensorflow is not None:
        return Decision(tensorflow.major, f"tf.keras: {tensorflow.reason}")
    for distribution in TF_DISTRIBUTIONS:
        version = _version(distribution)
        if version:
            major = 2 if _below(version, (2, 16)) else 3
            return Decision(major, f"tf.keras: {distribution} {version} installed")
    return Decision(3, "tf.keras: no TensorFlow declared or installed")


def environment(folder: Path) -> str:
    """What `auto` decides for files in `folder`, for the findings cache key."""
    return f"{package_keras(folder).reason} / {tf_keras(folder).reason}"


@dataclass(frozen=True)
class _Declared:
    keras: Decision | None  # from a keras requirement
    tensorflow: Decision | None  # from TensorFlow requirements
    legacy: Decision | None  # tf.keras only: TF_USE_LEGACY_KERAS or tf-keras declared


@functools.cache
def _declared(root: Path) -> _Declared:
    """The project's declarations, read once a run (see `forget`)."""
    from tfcollections.lint import declarations

    requirements = declarations.requirements(root)
    flags = [v for v in declarations.variables(root) if v.name == LEGACY_FLAG]
    legacy = next(
        (Decision(2, f"{LEGACY_FLAG}={v.value} in {v.where}") for v in flags if _true(v.value)),
        None,
    )
    tf_keras_declared = [r for r in requirements if r.name == "tf-keras"]
    if legacy is None and tf_keras_declared:
        first = tf_keras_declared[0]
        legacy = Decision(2, f"{first} in {first.where}")
    tensorflow = [r for r in requirements if r.name in TF_DISTRIBUTIONS]
    keras = [r for r in requirements if r.name == "keras"]
    return _Declared(
        keras=_one_side(keras, (3, 0), [(2, m) for m in range(20)] + [(3, m) for m in range(30)]),
        tensorflow=_one_side(tensorflow, (2, 16), [(1, 15)] + [(2, m) for m in range(40)]),
        legacy=legacy,
    )


def _one_side(requirements: list, boundary: tuple[int, int], grid: list) -> Decision | None:
    """Keras 2 when every version the requirements allow together is below `boundary`, Keras 3
    when none is; None when they allow both (or nothing: they conflict)."""
    from packaging.specifiers import SpecifierSet

    constraining = [r for r in requirements if r.specifier]
    if not constraining:
        return None
    specifiers = [SpecifierSet(r.specifier) for r in constraining]
    candidates = {f"{a}.{b}.{p}" for a, b in grid for p in range(12)}
    candidates |= {s.version for spec in specifiers for s in spec if s.version[0].isdigit()}
    allowed = [v for v in candidates if all(s.contains(v, prereleases=True) for s in specifiers)]
    sides = {_below(version, boundary) for version in allowed}
    if len(sides) != 1:
        return None
    reason = " and ".join(f"{r} in {r.where}" for r in constraining)
    return Decision(2 if sides.pop() else 3, reason)


def forget() -> None:
    """Read the declarations again (they may have changed since the last run)."""
    _declared.cache_clear()
    _project_root.cache_clear()


@functools.cache
def _project_root(folder: Path) -> Path:
    from tfcollections.lint.analysis.modules import project_root

    return project_root(folder.resolve())


def _true(value: str) -> bool:
    return value.strip().lower() in _TRUE


@functools.cache
def _version(distribution: str) -> str | None:
    from importlib import metadata  # only when a decision needs it: its import is slow

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _below(version: str, boundary: tuple[int, int]) -> bool:
    parts = [_number(part) for part in (version.split(".") + ["0"])[:2]]
    return (parts[0], parts[1]) < boundary


def _major(version: str | None) -> int | None:
    return _number(version.split(".")[0]) if version else None


def _number(text: str) -> int:
    digits = ""
    for character in text:
        if not character.isdigit():
            break
        digits += character
    return int(digits) if digits else 0
