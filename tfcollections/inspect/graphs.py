"""What a graph's collections hold, as plain records, from a saved MetaGraphDef or a live graph.

Both sources give the same records, so the CLI prints them alike. A saved file keeps only
node_list / bytes_list / int64_list / float_list / any_list collections; a live graph also has
Python objects, shown by repr with kind `python`. `trainable` is membership in
TRAINABLE_VARIABLES, as `tf.compat.v1.trainable_variables()` reports it after an import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from tfcollections import graphkeys
from tfcollections.inspect import protos
from tfcollections.inspect.objects import ObjectVariable, object_variables

VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})


@dataclass(frozen=True)
class Member:
    name: str
    op: str | None = None
    dtype: str | None = None
    shape: list | None = None
    trainable: bool | None = None


@dataclass(frozen=True)
class Collection:
    key: str
    kind: str
    members: list[Member]

    @property
    def name(self) -> str | None:
        """The GraphKeys attribute for a standard key, else None."""
        entry = graphkeys.GRAPH_KEYS.get(self.key)
        return entry.name if entry else None

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "count": len(self.members),
            "members": [asdict(member) for member in self.members],
        }


@dataclass
class GraphData:
    """One graph: its tags (SavedModel), collections, nodes for the audit, and, for a TF2
    SavedModel, the variables of its object graph."""

    tags: list[str] | None
    collections: list[Collection]
    nodes: list[Any] = field(default_factory=list)  # NodeDef-like: name, op, input, attr
    variables: list[ObjectVariable] = field(default_factory=list)

    def names_in(self, key: str) -> set[str]:
        for collection in self.collections:
            if collection.key == key:
                return {member.name for member in collection.members}
        return set()


def from_meta_graph(meta: Any, tags: list[str] | None, variable_def: type) -> GraphData:
    """Records of a parsed MetaGraphDef; `variable_def` decodes variable collections."""
    nodes = {node.name: node for node in meta.graph_def.node}
    raw = {key: meta.collection_def[key] for key in sorted(meta.collection_def)}
    trainable = _variable_names(raw.get(graphkeys.TRAINABLE_VARIABLES), variable_def)
    collections = []
    for key, definition in raw.items():
        kind = definition.WhichOneof("kind") or "node_list"
        values = list(getattr(definition, kind).value)
        if kind == "node_list":
            members = [_node_member(name, nodes, trainable) for name in values]
        elif kind == "bytes_list" and key in graphkeys.VARIABLE_KEYS:
            members = [
                _node_member(variable_def.FromString(value).variable_name, nodes, trainable)
                for value in values
            ]
        elif kind == "bytes_list":
            members = [Member(_bytes_name(value)) for value in values]
        elif kind == "any_list":
            members = [Member(value.type_url) for value in values]
        else:
            members = [Member(repr(value)) for value in values]
        collections.append(Collection(key, kind, members))
    return GraphData(tags, collections, list(meta.graph_def.node), object_variables(meta))


def from_live_graph(graph: Any) -> GraphData:
    """Records of a live tf.Graph, Python objects included."""
    trainable = {v.name for v in graph.get_collection(graphkeys.TRAINABLE_VARIABLES)}
    collections = []
    for key in sorted(graph.get_all_collection_keys(), key=str):
        values = graph.get_collection(key)
        members = [_live_member(value, trainable) for value in values]
        collections.append(Collection(str(key), _live_kind(key, values), members))
    return GraphData(None, collections, list(graph.as_graph_def().node))


def _variable_names(definition: Any, variable_def: type) -> set[str]:
    if definition is None or definition.WhichOneof("kind") != "bytes_list":
        return set()
    return {variable_def.FromString(v).variable_name for v in definition.bytes_list.value}


def _node_member(name: str, nodes: dict, trainable: set[str]) -> Member:
    op_name, _, index = name.partition(":")
    node = nodes.get(op_name.lstrip("^"))
    if node is None:
        return Member(name)
    is_variable = node.op in VARIABLE_OPS
    full = name if index or not is_variable else f"{name}:0"
    return Member(
        full,
        node.op,
        _dtype(node),
        _shape(node, int(index or 0)),
        (full in trainable) if is_variable else None,
    )


def _dtype(node: Any) -> str | None:
    for attribute in ("dtype", "T"):
        if attribute in node.attr and node.attr[attribute].WhichOneof("value") == "type":
            return protos.dtype(node.attr[attribute], "type")
    return None


def _shape(node: Any, index: int) -> list | None:
    if "shape" in node.attr and node.attr["shape"].WhichOneof("value") == "shape":
        return protos.dims(node.attr["shape"].shape)
    shapes = node.attr["_output_shapes"].list.shape if "_output_shapes" in node.attr else []
    return protos.dims(shapes[index]) if index < len(shapes) else None


def _bytes_name(value: bytes) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(value)} bytes>"
    return text if text.isprintable() else f"<{len(value)} bytes>"


def _live_member(value: Any, trainable: set[str]) -> Member:
    op = getattr(value, "op", None)
    if hasattr(value, "node_def") and hasattr(value, "type"):  # an Operation
        return Member(value.name, value.type)
    if op is None or not hasattr(value, "dtype"):
        return Member(repr(value))
    shape = value.shape
    dims = None if shape.rank is None else list(shape.as_list())
    is_variable = hasattr(value, "initializer")
    dtype = value.dtype.base_dtype.name if is_variable else value.dtype.name
    return Member(
        value.name, op.type, dtype, dims, (value.name in trainable) if is_variable else None
    )


def _live_kind(key: Any, values: Iterable[Any]) -> str:
    """The kind a saved file would give this collection, or `python` when it would drop it."""
    kinds = set()
    for value in values:
        if hasattr(value, "initializer") and hasattr(value, "to_proto"):
            kinds.add("bytes_list" if key in graphkeys.VARIABLE_KEYS else "node_list")
        elif hasattr(value, "graph") and hasattr(value, "name"):
            kinds.add("node_list")
        elif isinstance(value, bool):
            kinds.add("python")
        elif isinstance(value, int):
            kinds.add("int64_list")
        elif isinstance(value, float):
            kinds.add("float_list")
        elif isinstance(value, (bytes, str)):
            kinds.add("bytes_list")
        else:
            kinds.add("python")
    if len(kinds) == 1:
        return kinds.pop()
    return "python" if kinds else "node_list"
