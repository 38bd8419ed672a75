"""What the TensorFlow and Keras APIs are called, for code that reads code or graphs.

Pure Python, shared by the lint rules (which see source text) and the runtime (which sees op
types), so that "what builds a train op" and "what is the trainable key" are decided once.
"""

from __future__ import annotations

TENSORFLOW = "tensorflow"
TFCOLLECTIONS = "tfcollections"

# Prefixes that all name the same TF1 API: tf.X, tf.compat.v1.X, tf.compat.v2.X.
_TF_PREFIXES = ("tensorflow.compat.v1.", "tensorflow.compat.v2.", "tensorflow.")

TRAIN_OP_METHODS = frozenset({"minimize", "compute_gradients", "apply_gradients"})
"""Optimizer methods that read the trainable set and build (part of) a train op."""

GRADIENT_FUNCTIONS = frozenset({"gradients"})
"""TF functions (tf.gradients) that fix the variables they differentiate when called."""

TRAINABLE_KEY = "trainable_variables"
TRAINABLE_KEY_NAMES = frozenset({"GraphKeys.TRAINABLE_VARIABLES"})
"""How the trainable key is spelled under a TF module (tf.GraphKeys..., tf.compat.v1...)."""

TFC_TRAINABLE_KEY_NAMES = frozenset({"TRAINABLE_VARIABLES", "graphkeys.TRAINABLE_VARIABLES"})

COLLECTION_REF_FUNCTIONS = frozenset({"get_collection_ref"})
COLLECTION_ADD_FUNCTIONS = frozenset({"add_to_collection", "add_to_collections"})
COLLECTION_CLEAR_FUNCTIONS = frozenset({"clear_collection"})
LIST_MUTATORS = frozenset({"remove", "pop", "clear", "append", "extend", "insert"})
TFC_CHANGERS = frozenset({"add", "remove", "discard", "clear"})
TFC_REF_FUNCTIONS = frozenset({"ref"})

TENSOR_FACTORIES = frozenset(
    {
        "Variable",
        "constant",
        "placeholder",
        "placeholder_with_default",
        "get_variable",
        "convert_to_tensor",
        "cast",
    }
)
"""TF functions whose result is a tensor or variable, never a Python bool."""
VARIABLE_FACTORIES = frozenset({"Variable", "get_variable"})
GRAPH_ONLY_FACTORIES = frozenset({"placeholder", "placeholder_with_default"})

SESSION_RUN_METHODS = frozenset({"run"})
TENSOR_EVAL_METHODS = frozenset({"eval"})

KERAS_COMPILE_METHODS = frozenset({"compile"})
KERAS_TRAINING_METHODS = frozenset({"fit", "train_on_batch", "fit_generator"})


_TF_OR_KERAS_ROOTS = frozenset({TENSORFLOW, "keras", "tf_keras"})


def is_tf_or_keras(dotted: str | None) -> bool:
    """True for a dotted name under `tensorflow`, `keras` or `tf_keras` (Keras 2)."""
    return dotted is not None and dotted.split(".", 1)[0] in _TF_OR_KERAS_ROOTS


def tf_api_name(dotted: str | None) -> str | None:
    """`tensorflow.compat.v1.train.AdamOptimizer` -> `train.AdamOptimizer`; None if not TF."""
    if dotted is None:
        return None
    if dotted == TENSORFLOW:
        return ""
    for prefix in _TF_PREFIXES:
        if dotted.startswith(prefix):
            return dotted[len(prefix) :]
    return None


def tfc_api_name(dotted: str | None) -> str | None:
    """`tfcollections.remove` -> `remove`; None if not tfcollections."""
    prefix = TFCOLLECTIONS + "."
    if dotted is not None and dotted.startswith(prefix):
        return dotted[len(prefix) :]
    return None


def is_optimizer_update(op_type: str) -> bool:
    """Optimizer kernels: ApplyAdam, ResourceApplyAdam, ResourceSparseApplyAdagrad, ...

    Plain assigns (global_step, beta powers, moving averages) are not train-op updates.
    """
    return op_type.removeprefix("Resource").removeprefix("Sparse").startswith("Apply")
