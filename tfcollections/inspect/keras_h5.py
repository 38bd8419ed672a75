"""What a Keras 2 HDF5 model file (`model.save("m.h5")`) says about training, read with h5py
and without TensorFlow or Keras.

The file's root attributes hold the model's config (`model_config`: the same JSON as a `.keras`
archive's config.json) and its compile config (`training_config`, with the optimizer);
`model_weights/<layer>` holds each top-level layer's weights, named in its `weight_names`
attribute (a nested model's group holds all of its layers' weights, each named
`<layer>/<weight>:0`); `optimizer_weights` holds the optimizer's variables, a tfcollections
DynamicOptimizer's frozen flags among them (its bool variables). The result is a
`KerasArchive`, so `dump` and `audit` show an HDF5 file as they show a `.keras` archive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tfcollections.errors import InspectError
from tfcollections.inspect.keras_archive import ArchiveLayer, KerasArchive, leaf, match_flags

SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: Path) -> bool:
    """An HDF5 file, by its signature (`.h5`, `.hdf5`, or any other name)."""
    try:
        with path.open("rb") as file:
            return file.read(len(SIGNATURE)) == SIGNATURE
    except OSError:
        return False


def read(path: Path) -> KerasArchive:
    """The Keras model saved at `path`. Raises InspectError naming the file and what is wrong
    with it: not readable, not a Keras model file, h5py missing."""
    try:
        import h5py
    except ImportError:
        raise InspectError(
            f"{path}: an HDF5 file; reading it needs h5py (pip install h5py)"
        ) from None
    try:
        with h5py.File(path, "r") as h5:
            return _read(path, h5)
    except OSError as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InspectError(f"{path}: not a readable HDF5 file ({message})") from None


def _read(path: Path, h5: Any) -> KerasArchive:
    if "model_config" not in h5.attrs:
        weights_only = (
            "layer_names" in h5.attrs or "layers" in h5 or "_layer_checkpoint_dependencies" in h5
        )
        what = "Keras weights only, from save_weights" if weights_only else "no model"
        raise InspectError(
            f"{path}: an HDF5 file without a Keras model config ({what}); the CLI reads "
            "model.save('m.h5') files, .keras archives, SavedModel and checkpoint folders, "
            "meta graphs and scripts"
        )
    config = _json(path, h5.attrs["model_config"], "model_config")
    training = _json(path, h5.attrs.get("training_config") or "{}", "training_config")
    if not isinstance(config, dict) or "class_name" not in config:
        raise InspectError(f"{path}: its model_config does not describe a Keras model")
    optimizer = (training or {}).get("optimizer_config") or None
    found = KerasArchive(
        source=str(path),
        keras_version=_text(h5.attrs.get("keras_version")),
        model_class=config["class_name"],
        model_name=config.get("config", {}).get("name"),
        layers=[],
        optimizer=optimizer,
    )
    weights = h5.get("model_weights")
    _walk(config, weights, "", None, True, found.layers)
    if found.dynamic:
        _flags(h5, found)
    return found


def _walk(
    model: dict,
    weights: Any,
    prefix: str,
    group: Any,
    enclosing: bool,
    out: list[ArchiveLayer],
) -> None:
    """The leaf layers of `model`'s config with their weights: a top-level layer's from its own
    group, a nested one's from its top-level model's group, by name."""
    for layer in model.get("config", {}).get("layers", []):
        class_name = layer.get("class_name", "?")
        config = layer.get("config", {})
        name = config.get("name") or layer.get("name") or class_name
        trainable = bool(config.get("trainable", True))
        own_group = group if group is not None else _get(weights, name)
        if class_name == "InputLayer":
            continue
        if "layers" in config:  # a nested model: its layers' weights are in its group
            _walk(layer, weights, f"{prefix}{name}/", own_group, enclosing and trainable, out)
            continue
        shapes = _shapes(own_group, name if group is not None else None)
        out.append(leaf(f"{prefix}{name}", class_name, trainable, enclosing, shapes))


def _shapes(group: Any, layer: str | None) -> list[list[int]]:
    """The shapes of the weights `group` names (those of `layer` when it is nested)."""
    if group is None:
        return []
    names = [_text(name) for name in group.attrs.get("weight_names", [])]
    if layer is not None:
        names = [name for name in names if name.split("/")[0] == layer]
    return [list(group[name].shape) for name in names if name in group]


def _flags(h5: Any, found: KerasArchive) -> None:
    group = h5.get("optimizer_weights")
    if group is None:
        found.note = "the file holds no optimizer weights (saved before training?)"
        return
    names = [_text(name) for name in group.attrs.get("weight_names", [])]
    match_flags(found, [group[name][()] for name in names if name in group])


def _get(group: Any, name: str) -> Any:
    return None if group is None or name not in group else group[name]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json(path: Path, value: Any, name: str) -> Any:
    try:
        return json.loads(_text(value) or "null")
    except ValueError as error:
        raise InspectError(f"{path}: its {name} is not valid JSON ({error})") from None
