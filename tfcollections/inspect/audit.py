"""Which variables the graph's train ops update, against what TRAINABLE_VARIABLES says.

An optimizer update is a `(Resource)(Sparse)Apply*` kernel; the variable it updates is its
first input, followed back through Identity/Switch/Enter (a `tf.cond` branch). Plain assigns
(global_step, Adam's beta powers, moving averages, batch-norm statistics) are not train-op
updates. Two problems are flagged: the seed's trap, "updated-not-trainable", and
"trainable-not-updated" (only in a graph that has any train op: an inference graph trains
nothing on purpose). A TF2 SavedModel's variables and their trainable flags come from its object
graph; its training step, if it saved one, lives in functions this walk does not enter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tfcollections import graphkeys
from tfcollections.inspect.graphs import VARIABLE_OPS, GraphData
from tfcollections.tfnames import is_optimizer_update

_PASS_THROUGH = frozenset({"Identity", "Switch", "RefSwitch", "Enter", "RefEnter", "RefIdentity"})

UPDATED_NOT_TRAINABLE = "updated-not-trainable"
TRAINABLE_NOT_UPDATED = "trainable-not-updated"


@dataclass
class VariableAudit:
    name: str
    global_: bool
    trainable: bool
    updated_by: list[str] = field(default_factory=list)
    path: str | None = None  # its object path, for a TF2 SavedModel's variables

    def as_json(self) -> dict:
        data = asdict(self)
        data["global"] = data.pop("global_")
        keys = ("name", "global", "trainable", "updated_by") + (("path",) if self.path else ())
        return {key: data[key] for key in keys}


@dataclass
class Audit:
    variables: list[VariableAudit]
    problems: list[tuple[str, str]]  # (variable, problem)
    train_op: bool = True  # False: the graph updates no variable, so there was nothing to check

    def as_json(self) -> dict:
        return {
            "train_op": self.train_op,
            "variables": [variable.as_json() for variable in self.variables],
            "problems": [{"variable": v, "problem": p} for v, p in self.problems],
        }


def audit(graph: GraphData) -> Audit:
    nodes = {node.name: node for node in graph.nodes}
    updated: dict[str, list[str]] = {}
    for node in graph.nodes:
        if is_optimizer_update(node.op) and node.input:
            variable = _source(node.input[0], nodes)
            if variable is not None:
                updated.setdefault(variable, []).append(node.name)
    global_names = graph.names_in(graphkeys.GLOBAL_VARIABLES)
    if graph.variables:  # a TF2 SavedModel: what is trainable is in its object graph
        variables = [
            VariableAudit(
                f"{variable.name}:0",
                f"{variable.name}:0" in global_names,
                variable.trainable,
                sorted(updated.get(variable.name, [])),
                variable.path,
            )
            for variable in graph.variables
        ]
    else:
        trainable_names = graph.names_in(graphkeys.TRAINABLE_VARIABLES)
        variables = [
            VariableAudit(
                f"{node.name}:0",
                f"{node.name}:0" in global_names,
                f"{node.name}:0" in trainable_names,
                sorted(updated.get(node.name, [])),
            )
            for node in graph.nodes
            if node.op in VARIABLE_OPS
        ]
    has_train_op = bool(updated)
    problems = []
    for variable in variables:
        if variable.updated_by and not variable.trainable:
            problems.append((variable.name, UPDATED_NOT_TRAINABLE))
        elif has_train_op and variable.trainable and not variable.updated_by:
            problems.append((variable.name, TRAINABLE_NOT_UPDATED))
    return Audit(variables, problems, has_train_op)


def _source(name: str, nodes: dict) -> str | None:
    """The variable op that input `name` comes from, through pass-through ops."""
    for _ in range(64):
        node = nodes.get(name.lstrip("^").split(":")[0])
        if node is None:
            return None
        if node.op in VARIABLE_OPS:
            return node.name
        if node.op not in _PASS_THROUGH or not node.input:
            return None
        name = node.input[0]
    return None
