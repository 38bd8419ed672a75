"""Recognisers for the TensorFlow patterns the rules look for, on top of `Flow`.

Each answers one question about a node (is this call building a train op? is this expression
the TRAINABLE_VARIABLES collection?) through imports and aliases, so that the rules read as
their specifications.
"""

from __future__ import annotations

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint.flow import Flow


def method_name(call: cst.Call) -> str | None:
    """`x.minimize(...)` -> "minimize"; None for a call that is not a method call."""
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else None


def receiver(call: cst.Call) -> cst.BaseExpression | None:
    func = call.func
    return func.value if isinstance(func, cst.Attribute) else None


def calls_tf(flow: Flow, call: cst.Call, names: frozenset[str]) -> bool:
    """A call of one of the TF functions `names` (`tf.X`, `tf.compat.v1.X`, imported `X`) or of
    a method of that name on a value (a graph object); never of another module's `X`."""
    if flow.tf_name(call.func) in names:
        return True
    target = receiver(call)
    return method_name(call) in names and target is not None and flow.is_object(target)


def builds_train_op(flow: Flow, call: cst.Call) -> bool:
    """`opt.minimize(...)`, `opt.compute_gradients(...)`, `opt.apply_gradients(...)` on any
    optimizer value, or `tf.gradients(...)`."""
    if flow.tf_name(call.func) in tfnames.GRADIENT_FUNCTIONS:
        return True
    target = receiver(call)
    return (
        method_name(call) in tfnames.TRAIN_OP_METHODS
        and target is not None
        and flow.is_object(target)
    )


def runs_session(flow: Flow, call: cst.Call) -> bool:
    """`sess.run(...)`, `self.session.run(...)` (a run on a value, not a module function such
    as `subprocess.run` or `tf.compat.v1.app.run`), or `x.eval(...)` where it is TensorFlow's:
    given `session=` or `feed_dict=`, or on a name bound to a TensorFlow call. A bare
    `model.eval()` is another library's mode switch."""
    target = receiver(call)
    if target is None or not flow.is_object(target):
        return False
    name = method_name(call)
    if name in tfnames.SESSION_RUN_METHODS:
        return True
    if name not in tfnames.TENSOR_EVAL_METHODS:
        return False
    if any(arg.keyword is not None and arg.keyword.value in _EVAL_KEYWORDS for arg in call.args):
        return True
    bound = flow.resolve(target)
    return isinstance(bound, cst.Call) and flow.tf_name(bound.func) is not None


_EVAL_KEYWORDS = frozenset({"session", "feed_dict"})


def is_trainable_key(
    flow: Flow, expr: cst.BaseExpression, _inside: frozenset[int] = frozenset()
) -> bool:
    """The TRAINABLE_VARIABLES key however spelled: `tf.GraphKeys.TRAINABLE_VARIABLES`,
    `tf.compat.v1.GraphKeys...`, an imported `GraphKeys`, `tfc.TRAINABLE_VARIABLES`, the string
    "trainable_variables", or a name bound to one of those; for a list, any element. A list
    met again inside itself (`keys = [keys, ...]`) adds nothing: `_inside` stops the loop."""
    resolved = flow.resolve(expr)
    if isinstance(resolved, (cst.List, cst.Tuple)):
        if id(resolved) in _inside:
            return False
        inside = _inside | {id(resolved)}
        return any(is_trainable_key(flow, element.value, inside) for element in resolved.elements)
    if isinstance(resolved, cst.SimpleString):
        return resolved.evaluated_value == tfnames.TRAINABLE_KEY
    if isinstance(expr, (cst.Name, cst.Attribute)):
        dotted = flow.qualify(expr)
        return (
            tfnames.tf_api_name(dotted) in tfnames.TRAINABLE_KEY_NAMES
            or tfnames.tfc_api_name(dotted) in tfnames.TFC_TRAINABLE_KEY_NAMES
        )
    return False


def first_argument(call: cst.Call) -> cst.BaseExpression | None:
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[0].value if positional else None


def is_trainable_collection(flow: Flow, expr: cst.BaseExpression) -> bool:
    """The live TRAINABLE_VARIABLES list: `tf.get_collection_ref(KEY)` (also on a graph),
    `tfc.ref(KEY)`, or a name bound to one."""
    resolved = flow.resolve(expr)
    if not isinstance(resolved, cst.Call):
        return False
    key = first_argument(resolved)
    if key is None or not is_trainable_key(flow, key):
        return False
    return (
        calls_tf(flow, resolved, tfnames.COLLECTION_REF_FUNCTIONS)
        or flow.tfc_name(resolved.func) in tfnames.TFC_REF_FUNCTIONS
    )


def changes_trainables(flow: Flow, call: cst.Call) -> bool:
    """A call that changes TRAINABLE_VARIABLES: a list method on the live collection,
    `add_to_collection(s)` or `clear_collection` with the key, or `tfc.add/remove/discard/clear`
    with it."""
    target = receiver(call)
    if (
        method_name(call) in tfnames.LIST_MUTATORS
        and target is not None
        and is_trainable_collection(flow, target)
    ):
        return True
    key = first_argument(call)
    if key is None or not is_trainable_key(flow, key):
        return False
    return (
        calls_tf(flow, call, tfnames.COLLECTION_ADD_FUNCTIONS | tfnames.COLLECTION_CLEAR_FUNCTIONS)
        or flow.tfc_name(call.func) in tfnames.TFC_CHANGERS
    )


def tensor_factory(flow: Flow, expr: cst.BaseExpression) -> str | None:
    """The TF tensor or variable factory `expr` calls (`Variable`, `constant`, `placeholder`,
    `get_variable`, ... however imported), directly or through a name bound to the call in the
    current scope; None for anything else."""
    resolved = flow.resolve(expr, same_scope=True)
    if not isinstance(resolved, cst.Call):
        return None
    name = flow.tf_name(resolved.func)
    return name if name in tfnames.TENSOR_FACTORIES else None
