"""What a Keras 3 `.keras` archive says about training, read without TensorFlow or Keras.

The archive is a zip: `config.json` holds each layer's class and `trainable` flag and the
compiled optimizer's config; `model.weights.h5` holds the weights and the optimizer's variables,
among them `tfcollections.keras.DynamicOptimizer`'s frozen flags (read with h5py, a Keras
dependency, when it is installed). Keras stores a layer's weights under a path made of its
class name in snake case, numbered in order among its siblings (`layers/dense_1/vars/0`), not
under the layer's own name; the same walk over `config.json` finds them.

A weight counts as trainable, as in `model.trainable_weights`, when its layer and every model
around it are trainable and it is not a weight Keras never trains (BatchNormalization's moving
statistics, the statistics of Normalization layers). A layer that a DynamicOptimizer given the
model froze entirely is saved with `trainable: true` (so that the optimizer's state loads) and
counts as frozen, as it is once `attach(model)` runs after loading.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfcollections.errors import InspectError

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
_STATISTICS_LAYERS = {"Normalization"}  # every weight is a statistic: mean, variance, count
_DYNAMIC = ("DynamicOptimizer", "LegacyDynamicOptimizer")


FROZEN_BUT_TRAINABLE = "frozen-but-trainable"
TRAINABLE_OFF_NOT_FROZEN = "not-trainable-not-frozen"
PROBLEMS = {
    FROZEN_BUT_TRAINABLE: "the saved DynamicOptimizer keeps all its weights frozen but its "
    "trainable flag is on: Keras still computes their gradients and a BatchNormalization keeps "
    "updating its statistics (give the optimizer model= to keep the flags in step)",
    TRAINABLE_OFF_NOT_FROZEN: "its trainable flag is off but the saved DynamicOptimizer does not "
    "freeze it: Keras will not train it, whatever the optimizer's frozen set says",
}


@dataclass
class ArchiveLayer:
    path: str  # layer names from the outermost model in: "backbone/conv1"
    class_name: str
    trainable: bool  # its own flag
    effective: bool  # its flag and every enclosing model's: what Keras trains
    shapes: list[list[int]] | None = None  # its weights, None without the weights file
    trainable_kind: list[bool] = field(default_factory=list)  # per weight: may Keras train it
    frozen: list[bool] | None = None  # per trainable-kind weight, from a saved DynamicOptimizer

    @property
    def params(self) -> int | None:
        return None if self.shapes is None else sum(math.prod(shape) for shape in self.shapes)


@dataclass
class KerasArchive:
    source: str
    keras_version: str | None
    model_class: str
    model_name: str | None
    layers: list[ArchiveLayer]
    optimizer: dict | None  # {"class_name", "config", ...} as saved, None if not compiled
    flags: list[bool] | None = None  # DynamicOptimizer's frozen flags, in candidate order
    missing: str | None = None  # what was needed to read the weights and is not installed
    note: str | None = None  # why the frozen flags could not be matched to weights

    @property
    def dynamic(self) -> bool:
        """Saved with a tfcollections DynamicOptimizer (Keras 3, or Keras 2 of either family;
        tf_keras writes the registered name, `tfcollections>...`)."""
        name = (self.optimizer or {}).get("class_name") or ""
        return name.removeprefix("tfcollections>") in _DYNAMIC

    @property
    def frozen_known(self) -> bool:
        """A DynamicOptimizer was saved and its frozen flags were read and matched."""
        return self.dynamic and not self.note and not self.missing

    @property
    def attached(self) -> bool:
        """Saved by a DynamicOptimizer given the model: layers it froze were saved with the
        trainable flag they were built with, and `attach(model)` after loading freezes them."""
        return self.dynamic and bool((self.optimizer.get("config") or {}).get("attached"))

    def params(self) -> tuple[int, int] | None:
        """(trainable, non-trainable) parameter counts, None without the weights."""
        if self.missing or any(layer.shapes is None for layer in self.layers):
            return None
        trainable = sum(
            math.prod(shape)
            for layer in self.layers
            if layer.effective
            for shape, kind in zip(layer.shapes or [], layer.trainable_kind)
            if kind
        )
        total = sum(layer.params or 0 for layer in self.layers)
        return trainable, total - trainable

    def frozen_weights(self) -> list[tuple[str, int, list[int]]]:
        """(layer path, weight index, shape) of every weight the saved optimizer keeps frozen."""
        frozen = []
        for layer in self.layers:
            kinds = [index for index, kind in enumerate(layer.trainable_kind) if kind]
            for index, flag in zip(kinds, layer.frozen or []):
                if flag:
                    frozen.append((layer.path, index, (layer.shapes or [])[index]))
        return frozen

    def problems(self) -> list[tuple[str, str]]:
        """(layer path, problem) where a layer's trainable flag disagrees with the frozen set
        of the saved DynamicOptimizer; [] when there is none to compare with."""
        if not self.frozen_known:
            return []
        found = []
        for layer in self.layers:
            if not layer.frozen:
                continue
            if all(layer.frozen) and layer.effective:
                found.append((layer.path, FROZEN_BUT_TRAINABLE))
            elif not any(layer.frozen) and not layer.effective:
                found.append((layer.path, TRAINABLE_OFF_NOT_FROZEN))
        return found

    def as_json(self) -> dict:
        params = self.params()
        optimizer = self.optimizer or {}
        return {
            "keras_version": self.keras_version,
            "model": {
                "class": self.model_class,
                "name": self.model_name,
                "trainable_params": params[0] if params else None,
                "non_trainable_params": params[1] if params else None,
            },
            "layers": [
                {
                    "path": layer.path,
                    "class": layer.class_name,
                    "trainable": layer.trainable,
                    "weights": None if layer.shapes is None else len(layer.shapes),
                    "params": layer.params,
                    "frozen": None if layer.frozen is None else sum(layer.frozen),
                }
                for layer in self.layers
            ],
            "optimizer": {
                "class": optimizer.get("class_name"),
                "config": optimizer.get("config"),
                "dynamic": self.dynamic,
                "attached": self.attached,
                "frozen": None
                if not self.frozen_known
                else [
                    {"layer": path, "index": index, "shape": shape}
                    for path, index, shape in self.frozen_weights()
                ],
            }
            if self.optimizer
            else None,
            "missing": self.missing,
        }


def is_archive(path: Path) -> bool:
    return path.suffix == ".keras"


def read(path: Path) -> KerasArchive:
    """The archive at `path`. Raises InspectError naming the file and what is wrong with it."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if CONFIG not in names:
                raise InspectError(f"{path}: not a Keras archive: it has no {CONFIG}")
            config = _json(path, archive.read(CONFIG), CONFIG)
            metadata = archive.read("metadata.json") if "metadata.json" in names else b"{}"
            weights = archive.read(WEIGHTS) if WEIGHTS in names else None
    except zipfile.BadZipFile as error:
        raise InspectError(
            f"{path}: not a .keras archive (not a valid zip file: {error})"
        ) from None
    except (zlib.error, EOFError) as error:
        raise InspectError(f"{path}: a damaged .keras archive ({error})") from None
    except OSError as error:
        raise InspectError(f"{path}: cannot read: {error.strerror or error}") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise InspectError(f"{path}: {CONFIG} does not describe a Keras model")
    found = KerasArchive(
        source=str(path),
        keras_version=_json(path, metadata, "metadata.json").get("keras_version"),
        model_class=config["class_name"],
        model_name=config.get("config", {}).get("name"),
        layers=[],
        optimizer=(config.get("compile_config") or {}).get("optimizer") or None,
    )
    if isinstance(found.optimizer, str):  # compiled with optimizer="adam"
        found.optimizer = {"class_name": found.optimizer, "config": None}
    h5 = None if weights is None else _open_weights(path, weights, found)
    _walk(config, h5, "", True, found.layers)
    if h5 is not None and found.dynamic:
        _read_flags(h5, found)
    return found


def _json(path: Path, data: bytes, name: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InspectError(f"{path}: {name} is not valid JSON ({error})") from None


def _open_weights(path: Path, data: bytes, found: KerasArchive) -> Any:
    try:
        import h5py
    except ImportError:
        found.missing = "h5py"
        return None
    try:
        return h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InspectError(f"{path}: {WEIGHTS} is not a valid HDF5 file ({message})") from None


def _walk(model: dict, h5: Any, prefix: str, enclosing: bool, out: list[ArchiveLayer]) -> None:
    """The leaf layers of `model`'s config, each matched to its weights in `h5` (a group)."""
    used: dict[str, int] = {}
    for layer in model.get("config", {}).get("layers", []):
        class_name = layer.get("class_name", "?")
        config = layer.get("config", {})
        name = config.get("name") or layer.get("name") or class_name
        trainable = bool(config.get("trainable", True))
        stored = _stored_name(class_name, used)
        group = _child(h5, "layers", stored)
        if class_name == "InputLayer":  # no weights, nothing to train
            continue
        if "layers" in config:  # a nested model
            _walk(layer, group, f"{prefix}{name}/", enclosing and trainable, out)
            continue
        shapes = None if h5 is None else _shapes(_child(group, "vars"))
        out.append(leaf(f"{prefix}{name}", class_name, trainable, enclosing, shapes))


def leaf(
    path: str, class_name: str, trainable: bool, enclosing: bool, shapes: list | None
) -> ArchiveLayer:
    """A layer with weights, trained when it and every model around it are trainable."""
    kind = _trainable_kind(class_name, len(shapes or []))
    return ArchiveLayer(path, class_name, trainable, enclosing and trainable, shapes, kind)


def _stored_name(class_name: str, used: dict[str, int]) -> str:
    """The group name Keras saves a layer under: its class in snake case, `_N` after the first."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _child(group: Any, *names: str) -> Any:
    for name in names:
        if group is None or name not in group:
            return None
        group = group[name]
    return group


def _shapes(group: Any) -> list[list[int]]:
    if group is None:
        return []
    return [list(group[key].shape) for key in sorted(group, key=_index)]


def _index(key: str) -> int:
    return int(key) if key.isdigit() else 1 << 30


def _kind(value: Any) -> str | None:
    """numpy's dtype kind of an h5py value: "b" for the bool flags."""
    dtype = getattr(value, "dtype", None)
    return None if dtype is None else dtype.kind


def _trainable_kind(class_name: str, count: int) -> list[bool]:
    """Per weight of a layer of `class_name`: may Keras train it (not a statistic)."""
    if class_name in _STATISTICS_LAYERS:
        return [False] * count
    if class_name == "BatchNormalization":  # [gamma], [beta], moving_mean, moving_variance
        return [True] * max(count - 2, 0) + [False] * min(count, 2)
    return [True] * count


def _read_flags(h5: Any, found: KerasArchive) -> None:
    """DynamicOptimizer saves its step counter, learning rate and one bool flag per candidate
    (the model's trainable weights when it was built, in order): the flags are its bool
    variables. Matched to the trainable-kind weights of every layer, frozen or not."""
    group = _child(h5, "optimizer", "vars")
    if group is None:
        found.note = "the archive holds no optimizer variables (saved before training?)"
        return
    match_flags(found, [group[key][()] for key in sorted(group, key=_index)])


def match_flags(found: KerasArchive, values: list) -> None:
    """Give each layer its frozen flags: the bool values among the optimizer variables, one per
    candidate (the model's trainable weights when the optimizer was built, in order)."""
    found.flags = [bool(value) for value in values if _kind(value) == "b"]
    candidates = sum(sum(layer.trainable_kind) for layer in found.layers)
    if len(found.flags) != candidates:
        found.note = (
            f"its {len(found.flags)} frozen flags do not match the model's {candidates} "
            "trainable weights: the frozen set cannot be named"
        )
        return
    flags = iter(found.flags)
    for layer in found.layers:
        layer.frozen = [next(flags) for kind in layer.trainable_kind if kind]
        if found.attached and layer.frozen and all(layer.frozen):
            layer.effective = False  # attach(model) freezes it, as before the save
