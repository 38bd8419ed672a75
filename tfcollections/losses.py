"""Loss collections: add losses and L2 terms to a collection, then sum them with one add_n.

The seed's pattern (`tf.add_to_collection("losses", l)` then `tf.add_n(tf.get_collection(...))`)
breaks on mixed float dtypes and on non-scalar losses with TF's own opaque errors; `total_loss`
casts to the most precise dtype and names the collection that holds the bad term.
"""

from __future__ import annotations

from typing import Any

from tfcollections import collections as _collections
from tfcollections import graphkeys as _keys
from tfcollections._tf import tf
from tfcollections.errors import EmptyCollectionError, LossTermError

# Rank of each float dtype for the sum; float16 with bfloat16 has no common 16-bit type.
_PRECISION = {"float16": 1, "bfloat16": 1, "float32": 2, "float64": 3}


def add_loss(loss: Any, *, key: str = _keys.LOSSES, graph: Any = None) -> Any:
    """Add `loss` to collection `key` (LOSSES by default) and return it."""
    _collections.add(key, loss, graph=graph)
    return loss


def add_l2(
    weights: Any, scale: float = 1.0, *, key: str = _keys.REGULARIZATION_LOSSES, graph: Any = None
) -> Any:
    """Add `scale * tf.nn.l2_loss(w)` to `key` for a variable or each of a list of them.

    Returns the added tensor, or a list of them when `weights` is a list or tuple.
    """
    graph = _collections.resolve_graph(graph)
    tf_ = tf()
    many = isinstance(weights, (list, tuple))
    added = []
    with graph.as_default():
        for weight in weights if many else [weights]:
            term = tf_.nn.l2_loss(weight)
            added.append(term if scale == 1.0 else tf_.cast(scale, term.dtype) * term)
    _collections.add(key, *added, graph=graph)
    return added if many else added[0]


def total_loss(
    key: str = _keys.LOSSES,
    *,
    regularization: bool = True,
    scope: str | None = None,
    name: str = "total_loss",
    graph: Any = None,
) -> Any:
    """`tf.add_n` of collection `key` (plus REGULARIZATION_LOSSES when `regularization`).

    Mixed float dtypes are cast to the most precise one (float16 with bfloat16 gives float32).
    Raises LossTermError for a non-scalar term and EmptyCollectionError when there is none.
    """
    graph = _collections.resolve_graph(graph)
    sources = [key]
    if regularization and key != _keys.REGULARIZATION_LOSSES:
        sources.append(_keys.REGULARIZATION_LOSSES)
    terms = [term for source in sources for term in graph.get_collection(source, scope)]
    where = " + ".join(repr(source) for source in sources)
    where += f" under scope {scope!r}" if scope else ""
    if not terms:
        raise EmptyCollectionError(f"no loss to sum: collection {where} is empty")
    for term in terms:
        if term.shape.rank not in (0, None):
            raise LossTermError(
                f"loss {term.name} in {where} has shape {term.shape}, not a scalar: "
                "reduce it (tf.reduce_mean / tf.reduce_sum) before adding it"
            )
    tf_ = tf()
    dtype = _common_dtype([term.dtype for term in terms], where, tf_)
    with graph.as_default():
        cast_terms = [term if term.dtype == dtype else tf_.cast(term, dtype) for term in terms]
        return tf_.add_n(cast_terms, name=name)


def _common_dtype(dtypes: list[Any], where: str, tf_: Any) -> Any:
    names = {dtype.base_dtype.name for dtype in dtypes}
    if names == {"float16", "bfloat16"}:
        return tf_.float32
    if len(names) == 1:
        return dtypes[0].base_dtype
    unknown = names - _PRECISION.keys()
    if unknown:
        raise LossTermError(f"cannot sum {where}: dtypes {sorted(names)} are not all floats")
    return tf_.as_dtype(max(names, key=_PRECISION.__getitem__))
