"""TensorFlow's protobuf message classes, without importing TensorFlow.

`import tensorflow.core.protobuf.meta_graph_pb2` runs TensorFlow's package `__init__` (seconds).
The descriptors those `_pb2` modules register are plain bytes in their source, so we read them
from the installed files (located with `find_spec`, which runs nothing), add them with their
dependencies to a private descriptor pool, and build the classes with protobuf alone.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tfcollections.errors import TensorFlowMissingError

# DataType enum names that do not lower-case to the numpy-style name TF prints.
_DTYPE_NAMES = {
    "DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_HALF": "float16",
    "DT_FLOAT_REF": "float32_ref", "DT_DOUBLE_REF": "float64_ref", "DT_HALF_REF": "float16_ref",
}  # fmt: skip


def dtype(message: Any, field: str) -> str | None:
    """The DataType in `message.field` by the name TensorFlow prints (`DT_FLOAT` -> `float32`,
    `DT_INT64` -> `int64`); None for DT_INVALID (not set) or a number TF does not know."""
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_number.get(getattr(message, field))
    if value is None or value.name == "DT_INVALID":
        return None
    return _DTYPE_NAMES.get(value.name, value.name.removeprefix("DT_").lower())


def dims(shape: Any) -> list | None:
    """A TensorShapeProto as a list, None for an unknown rank or dimension."""
    if shape.unknown_rank:
        return None
    return [dim.size if dim.size >= 0 else None for dim in shape.dim]


def message(full_name: str) -> Any:
    """The class of the TF message `full_name`, e.g. "tensorflow.MetaGraphDef"."""
    pool = _pool()
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))


_FILES = (
    "tensorflow/core/protobuf/meta_graph.proto",
    "tensorflow/core/protobuf/saved_model.proto",
    "tensorflow/core/framework/variable.proto",
    "tensorflow/python/training/checkpoint_state.proto",
)


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        raise TensorFlowMissingError(
            "reading saved graphs needs TensorFlow's protocol definitions: install it with "
            "`pip install tfcollections[tf]` (it is not imported, only read)"
        )
    site = Path(list(spec.submodule_search_locations)[0]).parent
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    for name in _FILES:
        _add(pool, name, site, added)
    return pool


def _add(pool: descriptor_pool.DescriptorPool, name: str, site: Path, added: set[str]) -> None:
    if name in added:
        return
    added.add(name)
    file_proto = descriptor_pb2.FileDescriptorProto()
    if name.startswith("google/protobuf/"):
        module = importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2")
        module.DESCRIPTOR.CopyToProto(file_proto)
    else:
        file_proto.ParseFromString(_serialized(site / name.replace(".proto", "_pb2.py")))
    for dependency in file_proto.dependency:
        _add(pool, dependency, site, added)
    pool.Add(file_proto)


def _serialized(pb2_path: Path) -> bytes:
    """The bytes a generated `_pb2` module passes to `AddSerializedFile`."""
    tree = ast.parse(pb2_path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
            and node.args
        ):
            return ast.literal_eval(node.args[0])
    raise TensorFlowMissingError(f"{pb2_path}: no serialized descriptor found")
