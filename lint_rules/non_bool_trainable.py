"""TFC002 non-bool-trainable."""

from __future__ import annotations

import re

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint import patterns
from tfcollections.lint.fixes import NodeFix, Replace
from tfcollections.lint.rule import LintRule

_FACTORIES = b"(?:%s)" % b"|".join(
    re.escape(name.lower().encode()) for name in sorted(tfnames.TENSOR_FACTORIES)
)
_FACTORY_CALL = re.compile(rb"[\s\\(]*[\w.]*" + _FACTORIES + rb"\s*\(")
_DIRECT = re.compile(rb"\btrainable\s*=" + _FACTORY_CALL.pattern)
_BY_NAME = re.compile(rb"\btrainable\s*=[\s(]*([a-z_]\w*)\s*\)?\s*[,)\n]")
_CODE = cst.Module(body=[])
_LITERAL_FACTORIES = frozenset({"constant", "convert_to_tensor"})
_ASSIGNED = rb"\s*(?::[^=\n]*)?=(?!=)([^\n]*)\n?([^\n]*)"  # the rest of the line, the next


class NonBoolTrainable(LintRule):
    """`trainable=` receives a tensor or variable where the library rejects it or ignores it.

    What happens depends on the library and on graph or eager mode (checked on TensorFlow 2.21,
    Keras 3 and tf_keras 2.21):
    - Keras 3 layers raise `ValueError` ("Expected `trainable` to be a boolean") for any tensor
      or variable.
    - In graph mode (the file opens a `Session`, makes a `placeholder`, enters a graph or calls
      `disable_v2_behavior()`/`disable_eager_execution()`), `tf.Variable`, `get_variable` and
      Keras 2 layers raise `OperatorNotAllowedInGraphError` for a tensor; a *variable* as the
      flag is taken as True after `disable_v2_behavior()`: the variable always trains (the
      seed's trap).
    - Keras 2 (tf_keras) layers keep a variable flag, and `fit()` raises when it traces the
      step.
    Eager TensorFlow reads an eager tensor's value once and does what the code says:
    `tf.Variable(x, trainable=tf.constant(False))` is not watched by a GradientTape, and a tf_keras
    layer built with `trainable=tf.constant(False)` does not train; neither is a finding. Plain
    names of unknown origin (`trainable=is_training`), bool expressions, and calls that do not
    resolve through imports to TensorFlow or Keras are not findings either. Pass a Python bool,
    and freeze at run time with `tfcollections.DynamicOptimizer`.
    """

    code = "TFC002"
    name = "non-bool-trainable"
    MESSAGE = (
        "trainable= receives a tensor in graph mode: TensorFlow raises "
        "OperatorNotAllowedInGraphError (a symbolic tensor is not a bool); pass a Python bool "
        "and freeze at run time with tfcollections.DynamicOptimizer"
    )
    MESSAGE_GRAPH_VARIABLE = (
        "trainable= receives a variable in graph mode: after disable_v2_behavior() TensorFlow "
        "takes it as True and this variable always trains (TF2 behaviour raises "
        "OperatorNotAllowedInGraphError); pass a Python bool and freeze at run time with "
        "tfcollections.DynamicOptimizer"
    )
    MESSAGE_KERAS3 = (
        "trainable= receives a tensor or variable: Keras 3 raises ValueError (it expects a "
        "bool); pass a Python bool and freeze at run time with "
        "tfcollections.keras.DynamicOptimizer"
    )
    MESSAGE_KERAS2_VARIABLE = (
        "trainable= receives a variable: Keras 2 keeps it and fit() raises "
        "OperatorNotAllowedInGraphError when it traces the training step; pass a Python bool "
        "and freeze at run time with tfcollections.keras.DynamicOptimizer"
    )

    KERAS = {
        2: "`tf_keras` layers keep a variable flag, and `fit()` raises when it traces the step; "
        "an eager tensor's value is read once (no finding).",
        3: "Keras 3 layers raise `ValueError` for any tensor or variable as `trainable=`.",
    }
    FIX = (
        "safe",
        "`tf.constant(True)` (or `False`, `tf.convert_to_tensor(...)`, with at most "
        "`dtype=tf.bool` and `name=`) written in the call becomes the literal bool. A variable, "
        "a placeholder or a name bound elsewhere is not fixed: it can hold another value.",
    )

    PRECHECK = ((b"trainable",),)  # what may_apply narrows

    @classmethod
    def may_apply(cls, lowered_source: bytes, reached: frozenset[bytes] = frozenset()) -> bool:
        """Most `trainable=` in real code pass a literal or a parameter: parse only when one
        receives a factory call, or a name that an assignment binds to a factory call, maybe
        through other names. (The file alone decides: `reached` is not used.)"""
        if _DIRECT.search(lowered_source):
            return True
        names = set(_BY_NAME.findall(lowered_source)) - {b"true", b"false", b"none"}
        seen: set[bytes] = set()
        while names:
            name = names.pop()
            seen.add(name)
            assignment = rb"(?m)^[ \t]*" + re.escape(name) + _ASSIGNED
            for value, next_line in re.findall(assignment, lowered_source):
                if _FACTORY_CALL.match(value + b"\n" + next_line):
                    return True
                if re.fullmatch(rb"[a-z_]\w*", value.strip()):
                    names |= {value.strip()} - seen
        return False

    VALID = [
        """
import tensorflow as tf
def build(x, trainable):
    return tf.Variable(x, trainable=trainable)
w = tf.Variable(1.0, trainable=is_training)
v = tf.Variable(1.0, trainable=not frozen and stage > 1)
u = tf.Variable(1.0, trainable=True)
""",
        # A name bound to a tensor in another scope, or rebound to a bool.
        """
import tensorflow as tf
flag = tf.Variable(False)
def make():
    return tf.Variable(1.0, trainable=flag)
flag = True
w = tf.Variable(1.0, trainable=flag)
""",
        # A module called `tf` that is not TensorFlow.
        """
import mytools as tf
w = make(1.0, trainable=tf.constant(True))
""",
        # A field called `trainable` of the user's own named tuple, or of their own function:
        # only TensorFlow's and Keras's `trainable=` is read once as a bool.
        """
import collections
import tensorflow as tf
Spec = collections.namedtuple("Spec", ["shape", "trainable"])
spec = Spec(shape=[3], trainable=tf.constant(True))
def make(value, trainable):
    return value, trainable
pair = make(1.0, trainable=tf.constant(True))
""",
        # Eager TensorFlow and tf_keras read an eager tensor's value: the code does what it says.
        """
import tensorflow as tf
import tf_keras
frozen = tf.constant(False)
w = tf.Variable(1.0, trainable=frozen)
layer = tf_keras.layers.Dense(3, trainable=tf.constant(False))
""",
    ]

    INVALID = [
        # The seed's first attempt, in a TF1 session script.
        """
import tensorflow as tf
trainable = tf.Variable(False, dtype=tf.bool)
loss = tf.Variable(3.0, dtype=tf.float32, trainable=trainable)  # <- TFC002
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
""",
        """
import tensorflow.compat.v1 as tf
from tensorflow.compat.v1 import placeholder_with_default
a = tf.get_variable("a", [], trainable=tf.placeholder(tf.bool))  # <- TFC002
b = tf.Variable(
    1.0,
    trainable=placeholder_with_default(True, []),  # <- TFC002
)
flag = tf.constant(True)
c = tf.keras.layers.Dense(3, trainable=flag)  # <- TFC002
alias = flag
d = tf.Variable(2.0, trainable=(alias))  # <- TFC002
e: tf.Tensor = tf.convert_to_tensor(False)
f = tf.Variable(3.0, trainable=e)  # <- TFC002
""",
        # Keras 3 rejects any tensor; tf_keras fails at fit() on a variable flag.
        """
import keras
import tf_keras
import tensorflow as tf
flag = tf.constant(False)
a = keras.layers.Dense(3, trainable=flag)  # <- TFC002
b = tf_keras.layers.Dense(3, trainable=tf.Variable(False))  # <- TFC002
""",
    ]

    FIXED = [
        # A bool written as a constant tensor is that bool (safe); a variable is not.
        (
            """
import keras
import tensorflow as tf
a = keras.layers.Dense(3, trainable=tf.constant(False))  # frozen head
b = keras.layers.Dense(3, trainable=tf.constant(True, dtype=tf.bool))
""",
            """
import keras
import tensorflow as tf
a = keras.layers.Dense(3, trainable=False)  # frozen head
b = keras.layers.Dense(3, trainable=True)
""",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            keyword = arg.keyword
            if keyword is None or keyword.value != "trainable":
                continue
            factory = patterns.tensor_factory(self.flow, arg.value)
            callee = self.flow.qualify(node.func)
            if factory is not None and tfnames.is_tf_or_keras(callee):
                message = self._what_happens(callee, factory)
                if message is not None:
                    self.report(arg, message, self._fix(arg.value, factory))

    def _fix(self, value: cst.BaseExpression, factory: str) -> NodeFix | None:
        """`tf.constant(True)` written in the call is exactly `True`: a tensor that can hold
        nothing else (not a variable, not a feedable placeholder, not a name used elsewhere)."""
        if factory not in _LITERAL_FACTORIES or not isinstance(value, cst.Call):
            return None
        positional = [arg for arg in value.args if arg.keyword is None]
        keywords = {arg.keyword.value: arg.value for arg in value.args if arg.keyword is not None}
        if len(positional) != 1 or positional[0].star or not set(keywords) <= {"dtype", "name"}:
            return None
        dtype = keywords.get("dtype")
        if dtype is not None and not _CODE.code_for_node(dtype).strip("'\"").endswith("bool"):
            return None
        literal = positional[0].value
        if not (isinstance(literal, cst.Name) and literal.value in ("True", "False")):
            return None
        written = _CODE.code_for_node(value)
        change = Replace(value, literal.value)
        return NodeFix(f"Replace `{written}` with `{literal.value}`", True, (change,))

    def _what_happens(self, callee: str, factory: str) -> str | None:
        """The message for `callee(trainable=<factory>(...))`, or None where the library does
        what the code says (eager tensors)."""
        keras = self.flow.keras_of(callee)
        variable = factory in tfnames.VARIABLE_FACTORIES
        graph = factory in tfnames.GRAPH_ONLY_FACTORIES or self._graph_mode()
        if keras == 3:
            return self.MESSAGE_KERAS3
        if graph:
            return self.MESSAGE_GRAPH_VARIABLE if variable and keras is None else self.MESSAGE
        if keras == 2 and variable:
            return self.MESSAGE_KERAS2_VARIABLE
        return None

    def _graph_mode(self) -> bool:
        return self.flow.shared("graph_mode", lambda: bool(_GRAPH_MODE.search(self.flow.source)))


_GRAPH_MODE = re.compile(
    rb"\b(?:Session|InteractiveSession|MonitoredTrainingSession|placeholder|as_default"
    rb"|disable_v2_behavior|disable_eager_execution)\b"
)
