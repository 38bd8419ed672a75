"""TFC002 non-bool-trainable."""

from __future__ import annotations

import re

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint import patterns
from tfcollections.lint.rule import LintRule

_FACTORIES = b"(?:%s)" % b"|".join(
    re.escape(name.lower().encode()) for name in sorted(tfnames.TENSOR_FACTORIES)
)
_FACTORY_CALL = re.compile(rb"[\s\\(]*[\w.]*" + _FACTORIES + rb"\s*\(")
_DIRECT = re.compile(rb"\btrainable\s*=" + _FACTORY_CALL.pattern)
_BY_NAME = re.compile(rb"\btrainable\s*=[\s(]*([a-z_]\w*)\s*\)?\s*[,)\n]")
_ASSIGNED = rb"\s*(?::[^=\n]*)?=(?!=)([^\n]*)\n?([^\n]*)"  # the rest of the line, the next


class NonBoolTrainable(LintRule):
    """`trainable=` receives a tensor or variable: trainable is a Python bool, read once.

    `tf.Variable(..., trainable=flag)` adds the variable to TRAINABLE_VARIABLES when it is
    created, and the attribute is read-only afterwards. A boolean tensor or variable as `flag`
    raises under TF2 behaviour and is silently taken as True after `disable_v2_behavior()`: the
    variable always trains. Plain names of unknown origin (`trainable=is_training`), bool
    expressions, and calls that do not resolve through imports to TensorFlow or Keras (a
    named tuple's `trainable` field, the user's own function) are not findings. Pass a Python
    bool, and freeze at run time with `tfcollections.DynamicOptimizer`.
    """

    code = "TFC002"
    name = "non-bool-trainable"
    MESSAGE = (
        "trainable= receives a tensor or variable: trainable is a Python bool read once when the "
        "variable is created (TF2 raises, TF1 trains it anyway); pass a bool and freeze at run "
        "time with tfcollections.DynamicOptimizer"
    )

    @classmethod
    def may_apply(cls, lowered_source: bytes) -> bool:
        """Most `trainable=` in real code pass a literal or a parameter: parse only when one
        receives a factory call, or a name that an assignment binds to a factory call, maybe
        through other names."""
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
    ]

    INVALID = [
        # The seed's first attempt.
        """
import tensorflow as tf
trainable = tf.Variable(False, dtype=tf.bool)
loss = tf.Variable(3.0, dtype=tf.float32, trainable=trainable)  # <- TFC002
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
        # Keras 3 and Keras 2 (tf_keras) layers.
        """
import keras
import tf_keras
import tensorflow as tf
flag = tf.constant(False)
a = keras.layers.Dense(3, trainable=flag)  # <- TFC002
b = tf_keras.layers.Dense(3, trainable=flag)  # <- TFC002
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            keyword = arg.keyword
            if keyword is None or keyword.value != "trainable":
                continue
            if patterns.makes_tensor(self.flow, arg.value) and tfnames.is_tf_or_keras(
                self.flow.qualify(node.func)
            ):
                self.report(arg)
