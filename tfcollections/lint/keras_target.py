"""Which Keras a file trains with: Keras 2 snapshots `trainable` at `compile()`, Keras 3 at the
first training call after it, so the Keras rules need the major version to be right.

`auto` decides per file from its imports and what is installed, read through
`importlib.metadata` and the environment only: nothing is imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from importlib import metadata

SETTINGS = ("auto", "2", "3")
"""The values of `[tool.tfc-lint] keras` and `--keras`."""

_TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly")


def keras_major(setting: str, imported: Iterable[str], uses_tf_keras: bool) -> int:
    """The Keras major version a file is linted for.

    `setting` "2" or "3" wins. With "auto": a file importing `tf_keras` is Keras 2; one importing
    `keras` gets the installed `keras` distribution's major version (3 when none is installed);
    `tf.keras` (`uses_tf_keras`) is Keras 3 with TensorFlow 2.16 or newer and
    `TF_USE_LEGACY_KERAS` unset, else Keras 2; a file that shows no Keras is linted for Keras 3.
    """
    if setting != "auto":
        return int(setting)
    roots = {dotted.split(".", 1)[0] for dotted in imported}
    if "tf_keras" in roots:
        return 2
    if "keras" in roots:
        return installed_keras_major()
    if uses_tf_keras:
        return tf_keras_major()
    return 3


def api_major(setting: str, dotted: str) -> int | None:
    """The Keras an API name belongs to: `tf_keras.*` is 2; `keras.*` the installed `keras`
    and `tensorflow.keras.*` what `tf.keras` is (or, for both, the setting when it is not
    "auto"); None for TensorFlow's own API."""
    root = dotted.split(".", 1)[0]
    if root == "tf_keras":
        return 2
    if root != "keras" and ".keras." not in f"{dotted}.":
        return None
    if setting != "auto":
        return int(setting)
    return installed_keras_major() if root == "keras" else tf_keras_major()


@functools.cache
def installed_keras_major() -> int:
    """The major version of the installed `keras` distribution; 3 when there is none."""
    return _major(_version("keras")) or 3


@functools.cache
def tf_keras_major() -> int:
    """What `tf.keras` is: Keras 2 before TensorFlow 2.16 or with TF_USE_LEGACY_KERAS set."""
    if os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in {"1", "true", "yes"}:
        return 2
    for distribution in _TF_DISTRIBUTIONS:
        version = _version(distribution)
        if version:
            major, minor = (_number(part) for part in (version.split(".") + ["0"])[:2])
            return 2 if (major, minor) < (2, 16) else 3
    return 3


def environment() -> str:
    """What `auto` depends on besides the file, for the findings cache key."""
    return f"keras{installed_keras_major()} tf.keras{tf_keras_major()}"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _major(version: str | None) -> int | None:
    return _number(version.split(".")[0]) if version else None


def _number(text: str) -> int:
    digits = "".join(character for character in text if character.isdigit())
    return int(digits) if digits else 0
