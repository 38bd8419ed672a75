"""Turn a TARGET into graphs: a MetaGraphDef file, a SavedModel folder, a checkpoint folder, a
Python script or `package.module:function`; or into a Keras model file (a `.keras` archive, a
Keras 2 HDF5 file). Saved files are parsed as protobufs, zips and HDF5 only (no TensorFlow or
Keras import); scripts run in a fresh tf.Graph with their prints sent to stderr."""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import message as protobuf_message
from google.protobuf import text_format

from tfcollections.errors import InspectError
from tfcollections.inspect import keras_archive, keras_h5, protos
from tfcollections.inspect.graphs import GraphData, from_live_graph, from_meta_graph
from tfcollections.inspect.keras_archive import KerasArchive

_TEXT_SUFFIXES = (".pbtxt", ".meta.txt", ".txt")
_READABLE = (
    "MetaGraphDef files (.meta, .pbtxt), SavedModel and checkpoint folders, .keras archives, "
    "Keras HDF5 files (.h5), Python scripts and package.module:function"
)
_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass
class Loaded:
    """What a TARGET holds: graphs, or (a `.keras` archive) no graph and the archive."""

    source: str  # the file read: for a checkpoint folder, its meta graph file
    graphs: list[GraphData]
    archive: KerasArchive | None = None


def load(target: str, tag_set: str | None = None) -> Loaded:
    """The graphs of `target`; `tag_set` ("serve,gpu") picks one meta graph of a SavedModel.

    Raises InspectError with a one-line message naming the input.
    """
    path = Path(target)
    saved_model = _saved_model_file(path)
    if saved_model is not None:
        return _load_saved_model(saved_model, tag_set, target)
    if tag_set is not None and path.exists():
        raise InspectError(f"{target}: --tag-set applies to a SavedModel only")
    if path.is_dir():
        meta = _latest_checkpoint_meta(path)
        return Loaded(str(meta), [_meta_graph(meta)])
    if path.is_file():
        if keras_archive.is_archive(path):
            return Loaded(target, [], keras_archive.read(path))
        if keras_h5.is_hdf5(path):
            return Loaded(target, [], keras_h5.read(path))
        if path.suffix == ".py":
            return Loaded(target, [_run_script(target, lambda: _run_path(target))])
        return Loaded(target, [_meta_graph(path)])
    if _ENTRY_POINT.match(target):
        return Loaded(target, [_run_script(target, _function(target))])
    raise InspectError(f"{target}: no such file or directory")


def _saved_model_file(path: Path) -> Path | None:
    """`saved_model.pb(txt)` for a SavedModel folder or file, else None."""
    if path.is_file():
        return path if path.name in ("saved_model.pb", "saved_model.pbtxt") else None
    if path.is_dir():
        for name in ("saved_model.pb", "saved_model.pbtxt"):
            if (path / name).is_file():
                return path / name
    return None


def _latest_checkpoint_meta(folder: Path) -> Path:
    """The meta graph of the latest checkpoint that `folder/checkpoint` names."""
    state = folder / "checkpoint"
    if not state.is_file():
        raise InspectError(
            f"{folder}: not a SavedModel (no saved_model.pb) or checkpoint folder "
            "(no checkpoint file)"
        )
    checkpoint_state = protos.message("tensorflow.CheckpointState")()
    _parse(state, checkpoint_state, text=True)
    prefix = checkpoint_state.model_checkpoint_path
    if not prefix:
        raise InspectError(f"{state}: names no model_checkpoint_path")
    base = Path(prefix) if os.path.isabs(prefix) else state.parent / prefix
    meta = Path(f"{base}.meta")
    if meta.is_file():
        return meta
    if Path(f"{base}.index").is_file():
        raise InspectError(
            f"{folder}: a TF2 object-based checkpoint ({base.name}.index, no {meta.name}): it "
            "keeps variable values, not a graph or collections; dump the SavedModel "
            "(tf.saved_model.save, model.export) or the script that builds the model instead"
        )
    raise InspectError(f"{state}: the latest checkpoint has no meta graph ({meta.name})")


def _load_saved_model(path: Path, tag_set: str | None, source: str) -> Loaded:
    saved_model = protos.message("tensorflow.SavedModel")()
    _parse(path, saved_model, text=path.suffix == ".pbtxt")
    variable_def = protos.message("tensorflow.VariableDef")
    graphs = [
        from_meta_graph(meta, list(meta.meta_info_def.tags), variable_def)
        for meta in saved_model.meta_graphs
    ]
    if tag_set is not None:
        wanted = {tag.strip() for tag in tag_set.split(",") if tag.strip()}
        graphs = [graph for graph in graphs if set(graph.tags or []) == wanted]
        if not graphs:
            raise InspectError(f"{source}: no meta graph with tag set {tag_set!r}")
    return Loaded(source, graphs)


def _meta_graph(path: Path) -> GraphData:
    meta = protos.message("tensorflow.MetaGraphDef")()
    try:
        _parse(path, meta, text=path.name.endswith(_TEXT_SUFFIXES))
    except InspectError as error:
        raise InspectError(f"{error}; the CLI reads {_READABLE}") from None
    if not meta.HasField("graph_def") and not meta.collection_def:
        raise InspectError(f"{path}: not a MetaGraphDef (no graph and no collections)")
    return from_meta_graph(meta, None, protos.message("tensorflow.VariableDef"))


def _parse(path: Path, message: Any, *, text: bool) -> None:
    kind = message.DESCRIPTOR.name
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InspectError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        if text:
            text_format.Parse(data.decode("utf-8"), message)
        else:
            message.ParseFromString(data)
    except (text_format.ParseError, protobuf_message.DecodeError, UnicodeDecodeError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InspectError(f"{path}: not a valid {kind} ({detail})") from None


def _run_path(target: str) -> None:
    """Run a script as `python script.py` would: `__main__`, its own argv, its folder on path."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [target]
    sys.path.insert(0, str(Path(target).resolve().parent))
    try:
        runpy.run_path(target, run_name="__main__")
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def _function(target: str):
    module_name, function_name = target.split(":")

    def call() -> None:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        finally:
            sys.path.remove(os.getcwd())
        getattr(module, function_name)()

    return call


def _run_script(target: str, run: Any) -> GraphData:
    from tfcollections._tf import tf

    tf_ = tf()
    graph = tf_.Graph()
    try:
        with graph.as_default(), contextlib.redirect_stdout(sys.stderr):
            run()
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise InspectError(f"{target}: the script exited with status {stop.code}") from None
    except Exception as error:  # the user's script: any failure is reported, not raised
        raise InspectError(f"{target}: the script raised {type(error).__name__}: {error}") from None
    return from_live_graph(graph)
