"""get / ref / add / remove / discard / clear / keys over a TF graph's collections.

Values are matched by identity or by name, never with `==`: under TF2 behaviour `Tensor.__eq__`
is element-wise, so `list.index(tensor)` (the seed's `del col[col.index(x)]`) is unsafe.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable
from typing import Any

from tfcollections import graphkeys as _keys
from tfcollections._tf import tf
from tfcollections.errors import EagerModeError, NotInCollectionError, StaleTrainOpWarning
from tfcollections.tfnames import is_optimizer_update

_EAGER_HINT = (
    "graph collections do not exist in eager mode: build inside `with tf.Graph().as_default():`, "
    "pass graph=..., or call tf.compat.v1.disable_eager_execution() first"
)

_DYNAMIC_HINT = "use tfcollections.DynamicOptimizer to freeze and unfreeze variables at run time"


def resolve_graph(graph: Any = None) -> Any:
    """Return `graph`, or the default graph; raise EagerModeError when only eager mode is there."""
    if graph is not None:
        return graph
    tf_ = tf()
    if tf_.executing_eagerly():
        raise EagerModeError(_EAGER_HINT)
    return tf_.compat.v1.get_default_graph()


def get(key: str, scope: str | None = None, *, graph: Any = None) -> list[Any]:
    """A copy of the collection `key` (only names under `scope` when given)."""
    return list(resolve_graph(graph).get_collection(key, scope))


def ref(key: str, *, graph: Any = None) -> list[Any]:
    """The live list behind collection `key`: changing it changes the graph's collection."""
    live: list[Any] = resolve_graph(graph).get_collection_ref(key)
    return live


def keys(*, graph: Any = None) -> list[str]:
    """The keys of every collection the graph holds, sorted."""
    return sorted(str(key) for key in resolve_graph(graph).get_all_collection_keys())


def add(key: str | Iterable[str], *values: Any, graph: Any = None) -> None:
    """Append `values` to collection `key` (or to each of a list of keys).

    Warns StaleTrainOpWarning when a variable joins TRAINABLE_VARIABLES after a train op was
    built: that op will not train it.
    """
    graph = resolve_graph(graph)
    key_list = [key] if isinstance(key, str) else list(key)
    if _keys.TRAINABLE_VARIABLES in key_list and values and _train_ops_built(graph):
        names = ", ".join(_display_name(value) for value in values)
        warnings.warn(
            f"{names} added to {_keys.TRAINABLE_VARIABLES!r} after a train op was built: "
            f"the built train op is unaffected and will not train it; {_DYNAMIC_HINT}",
            StaleTrainOpWarning,
            stacklevel=2,
        )
    for one_key in key_list:
        collection = graph.get_collection_ref(one_key)
        collection.extend(values)


def remove(key: str, value: Any, *, graph: Any = None) -> None:
    """Remove the first member of `key` that is `value` (or is named `value`, "x" or "x:0").

    Raises NotInCollectionError naming the key and value when nothing matches.
    """
    if not _remove_first(key, value, resolve_graph(graph)):
        raise NotInCollectionError(f"{_display_name(value)!r} is not in collection {key!r}")


def discard(key: str, value: Any, *, graph: Any = None) -> bool:
    """Like `remove`, but return False instead of raising when nothing matches."""
    return _remove_first(key, value, resolve_graph(graph))


def clear(key: str, *, graph: Any = None) -> list[Any]:
    """Empty collection `key` and return what it held."""
    graph = resolve_graph(graph)
    collection = graph.get_collection_ref(key)
    removed = list(collection)
    if key == _keys.TRAINABLE_VARIABLES:
        _warn_if_still_trained(removed, graph, stacklevel=3)
    del collection[:]
    return removed


def _matches(member: Any, value: Any) -> bool:
    """True when `member` is `value`, or `value` is a string naming it ("x" or "x:0")."""
    if member is value:
        return True
    if not isinstance(value, str):
        return False
    name = getattr(member, "name", None)
    return name is not None and (name == value or name == f"{value}:0")


def _remove_first(key: str, value: Any, graph: Any) -> bool:
    collection = graph.get_collection_ref(key)
    for index, member in enumerate(collection):
        if _matches(member, value):
            if key == _keys.TRAINABLE_VARIABLES:
                _warn_if_still_trained([member], graph, stacklevel=4)
            del collection[index]
            return True
    return False


def note_train_op_writes(graph: Any, variables: Iterable[Any]) -> None:
    """Record that a train op updates `variables` even where no Apply* kernel shows it (Adam's
    sparse path uses scatter ops; a tf.cond built as a function hides its kernels), so that
    removing them from TRAINABLE_VARIABLES warns as for a plain train op."""
    _hidden_writes.setdefault(graph, set()).update(variable.op.name for variable in variables)


_hidden_writes: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def _warn_if_still_trained(variables: list[Any], graph: Any, *, stacklevel: int) -> None:
    written = _variables_written_by_train_ops(graph)
    names = [
        _display_name(variable)
        for variable in variables
        if getattr(variable, "op", None) is not None and variable.op.name in written
    ]
    if names:
        warnings.warn(
            f"{', '.join(names)} removed from {_keys.TRAINABLE_VARIABLES!r}, but a train op built "
            f"earlier writes to it: the built train op is unaffected and it will keep training; "
            f"{_DYNAMIC_HINT}",
            StaleTrainOpWarning,
            stacklevel=stacklevel + 1,
        )


def _variables_written_by_train_ops(graph: Any) -> set[str]:
    """Names of the variable ops that an optimizer kernel in `graph` updates (its input 0)."""
    written = {
        op.inputs[0].op.name
        for op in graph.get_operations()
        if is_optimizer_update(op.type) and op.inputs
    }
    return written | _hidden_writes.get(graph, set())


def _train_ops_built(graph: Any) -> bool:
    if graph.get_collection(_keys.TRAIN_OP) or _hidden_writes.get(graph):
        return True
    return any(is_optimizer_update(op.type) for op in graph.get_operations())


def _display_name(value: Any) -> str:
    return value if isinstance(value, str) else getattr(value, "name", repr(value))
