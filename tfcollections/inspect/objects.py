"""The variables of a TF2 SavedModel, from its object graph: TF2 keeps no variable collections,
what is trainable lives in `MetaGraphDef.object_graph_def`.

Each variable is named by its object path from the root (`layer_with_weights-0/kernel`,
`variables/0`, `w`). It is trainable as the object graph says: listed under a
`trainable_variables` or `non_trainable_variables` list (Keras 3's `model.export()` lists a
frozen layer's weights under the latter, while each weight keeps `trainable: true`), else its
own `trainable` field.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from tfcollections.inspect import protos

_TRAINABLE_LISTS = {"trainable_variables": True, "non_trainable_variables": False}


@dataclass(frozen=True)
class ObjectVariable:
    path: str
    name: str
    dtype: str | None
    shape: list | None
    trainable: bool

    def as_json(self) -> dict:
        return asdict(self)


def object_variables(meta: Any) -> list[ObjectVariable]:
    """The variables of `meta`'s object graph, in object-graph order; [] when it has none."""
    if not meta.HasField("object_graph_def"):
        return []
    nodes = meta.object_graph_def.nodes
    paths = _paths(nodes)
    found, public_names = [], set()
    for node_id, node in enumerate(nodes):
        if node.WhichOneof("kind") != "variable" or node_id not in paths:
            continue
        variable = node.variable
        node_paths = paths[node_id]
        listed = [_TRAINABLE_LISTS[p.split("/")[-2]] for p in node_paths if _in_list(p)]
        trainable = listed[0] if listed else variable.trainable
        shown = min(node_paths, key=_preference)
        dtype, shape = protos.dtype(variable, "dtype"), protos.dims(variable.shape)
        found.append((shown, ObjectVariable(shown, variable.name, dtype, shape, bool(trainable))))
        if not _private(shown):
            public_names.add(variable.name)
    # A copy reachable only through private attributes (Keras's `_all_variables`) of a variable
    # listed publicly is the same weight twice.
    return [
        variable
        for shown, variable in found
        if not (_private(shown) and variable.name in public_names)
    ]


def _paths(nodes: Any) -> dict[int, list[str]]:
    """Every path from the root to each node (each node expanded once, breadth first)."""
    paths: dict[int, list[str]] = {0: [""]}
    queue = deque([0])
    expanded = {0}
    while queue:
        node_id = queue.popleft()
        prefix = paths[node_id][0]
        for child in nodes[node_id].children:
            path = f"{prefix}/{child.local_name}" if prefix else child.local_name
            paths.setdefault(child.node_id, []).append(path)
            if child.node_id not in expanded and child.node_id < len(nodes):
                expanded.add(child.node_id)
                queue.append(child.node_id)
    return paths


def _in_list(path: str) -> bool:
    parts = path.split("/")
    return len(parts) >= 2 and parts[-2] in _TRAINABLE_LISTS


def _private(path: str) -> bool:
    return any(part.startswith("_") for part in path.split("/"))


def _preference(path: str) -> tuple:
    """Named attributes (`dense/kernel`) over list positions (`variables/0`), public over
    private, the plain `variables` list over the (non_)trainable ones, then the shortest."""
    parts = path.split("/")
    return (_private(path), sum(part.isdigit() for part in parts), _in_list(path), len(parts), path)
