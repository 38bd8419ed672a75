"""The standard graph-collection keys of `tf.compat.v1.GraphKeys` and what each one holds.

Pure Python on purpose: the linter, the CLI and the docs read this catalog without importing
TensorFlow. The strings are TensorFlow's own, so they can be passed anywhere TF takes a key.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "GRAPH_KEYS",
    "VARIABLE_KEYS",
    "GraphKey",
    "GLOBAL_VARIABLES",
    "TRAINABLE_VARIABLES",
    "LOCAL_VARIABLES",
    "MODEL_VARIABLES",
    "MOVING_AVERAGE_VARIABLES",
    "METRIC_VARIABLES",
    "CONCATENATED_VARIABLES",
    "TRAINABLE_RESOURCE_VARIABLES",
    "GLOBAL_STEP",
    "WEIGHTS",
    "BIASES",
    "ACTIVATIONS",
    "LOSSES",
    "REGULARIZATION_LOSSES",
    "SUMMARIES",
    "UPDATE_OPS",
    "TRAIN_OP",
    "QUEUE_RUNNERS",
    "SAVERS",
    "SAVEABLE_OBJECTS",
    "RESOURCES",
    "LOCAL_RESOURCES",
    "TABLE_INITIALIZERS",
    "ASSET_FILEPATHS",
    "INIT_OP",
    "LOCAL_INIT_OP",
    "READY_OP",
    "READY_FOR_LOCAL_INIT_OP",
    "SUMMARY_OP",
    "EVAL_STEP",
    "COND_CONTEXT",
    "WHILE_CONTEXT",
]


class GraphKey(NamedTuple):
    """One standard collection: its GraphKeys attribute name, key string and purpose."""

    name: str
    key: str
    holds_variables: bool
    description: str


GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"
LOCAL_VARIABLES = "local_variables"
MODEL_VARIABLES = "model_variables"
MOVING_AVERAGE_VARIABLES = "moving_average_variables"
METRIC_VARIABLES = "metric_variables"
CONCATENATED_VARIABLES = "concatenated_variables"
TRAINABLE_RESOURCE_VARIABLES = "trainable_resource_variables"
GLOBAL_STEP = "global_step"
WEIGHTS = "weights"
BIASES = "biases"
ACTIVATIONS = "activations"
LOSSES = "losses"
REGULARIZATION_LOSSES = "regularization_losses"
SUMMARIES = "summaries"
UPDATE_OPS = "update_ops"
TRAIN_OP = "train_op"
QUEUE_RUNNERS = "queue_runners"
SAVERS = "savers"
SAVEABLE_OBJECTS = "saveable_objects"
RESOURCES = "resources"
LOCAL_RESOURCES = "local_resources"
TABLE_INITIALIZERS = "table_initializer"
ASSET_FILEPATHS = "asset_filepaths"
INIT_OP = "init_op"
LOCAL_INIT_OP = "local_init_op"
READY_OP = "ready_op"
READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
SUMMARY_OP = "summary_op"
EVAL_STEP = "eval_step"
COND_CONTEXT = "cond_context"
WHILE_CONTEXT = "while_context"

_CATALOG = (
    GraphKey(
        "GLOBAL_VARIABLES",
        GLOBAL_VARIABLES,
        True,
        "Every global variable (alias VARIABLES); Saver saves and restores them and "
        "global_variables_initializer() initializes them.",
    ),
    GraphKey(
        "TRAINABLE_VARIABLES",
        TRAINABLE_VARIABLES,
        True,
        "Variables created with trainable=True; Optimizer.minimize() reads it once, when the "
        "train op is built, to choose what it updates.",
    ),
    GraphKey(
        "LOCAL_VARIABLES",
        LOCAL_VARIABLES,
        True,
        "Per-process variables that are not saved (metric counters, epoch counters); "
        "local_variables_initializer() initializes them.",
    ),
    GraphKey(
        "MODEL_VARIABLES",
        MODEL_VARIABLES,
        True,
        "Variables that make up the model for inference (layer weights), as opposed to "
        "training bookkeeping; model_variables() reads it.",
    ),
    GraphKey(
        "MOVING_AVERAGE_VARIABLES",
        MOVING_AVERAGE_VARIABLES,
        True,
        "Variables for which ExponentialMovingAverage keeps shadow copies; "
        "moving_average_variables() reads it.",
    ),
    GraphKey(
        "METRIC_VARIABLES",
        METRIC_VARIABLES,
        True,
        "Local variables created by tf.compat.v1.metrics to accumulate streaming metrics.",
    ),
    GraphKey(
        "CONCATENATED_VARIABLES",
        CONCATENATED_VARIABLES,
        True,
        "Partitioned variables concatenated into one tensor for reading.",
    ),
    GraphKey(
        "TRAINABLE_RESOURCE_VARIABLES",
        TRAINABLE_RESOURCE_VARIABLES,
        True,
        "Trainable resource variables created by legacy layers; kept for compatibility.",
    ),
    GraphKey(
        "GLOBAL_STEP",
        GLOBAL_STEP,
        True,
        "The single global-step counter variable; train ops built with global_step= "
        "increment it and hooks and summaries read it.",
    ),
    GraphKey(
        "WEIGHTS",
        WEIGHTS,
        False,
        "Weight tensors registered by tf.contrib-style layers, read by regularizers.",
    ),
    GraphKey("BIASES", BIASES, False, "Bias tensors registered by tf.contrib-style layers."),
    GraphKey(
        "ACTIVATIONS",
        ACTIVATIONS,
        False,
        "Activation tensors registered by layers for summaries and debugging.",
    ),
    GraphKey(
        "LOSSES",
        LOSSES,
        False,
        "Loss tensors added with tf.compat.v1.losses (and the seed's custom 'losses'); "
        "get_total_loss() sums them.",
    ),
    GraphKey(
        "REGULARIZATION_LOSSES",
        REGULARIZATION_LOSSES,
        False,
        "Regularization terms added by variable regularizers; "
        "get_regularization_loss() sums them and get_total_loss() adds them.",
    ),
    GraphKey(
        "SUMMARIES",
        SUMMARIES,
        False,
        "Summary ops created by tf.compat.v1.summary.*; merge_all() merges them for TensorBoard.",
    ),
    GraphKey(
        "UPDATE_OPS",
        UPDATE_OPS,
        False,
        "Ops to run with every train step, such as batch-norm moving statistics; train "
        "loops add them as control dependencies of the train op.",
    ),
    GraphKey(
        "TRAIN_OP",
        TRAIN_OP,
        False,
        "Train ops; Optimizer.apply_gradients() appends every op it builds.",
    ),
    GraphKey(
        "QUEUE_RUNNERS",
        QUEUE_RUNNERS,
        False,
        "QueueRunner objects feeding input queues (not variables); "
        "start_queue_runners() starts them.",
    ),
    GraphKey(
        "SAVERS",
        SAVERS,
        False,
        "Saver objects; the Scaffold of a MonitoredSession uses the one found here.",
    ),
    GraphKey(
        "SAVEABLE_OBJECTS",
        SAVEABLE_OBJECTS,
        False,
        "Saveable objects that are not variables (such as lookup tables) for Saver.",
    ),
    GraphKey(
        "RESOURCES",
        RESOURCES,
        False,
        "Resource handles whose state lives outside variables; report_uninitialized_"
        "resources() checks them.",
    ),
    GraphKey(
        "LOCAL_RESOURCES",
        LOCAL_RESOURCES,
        False,
        "Per-process resources (such as iterators) initialized with local initializers.",
    ),
    GraphKey(
        "TABLE_INITIALIZERS",
        TABLE_INITIALIZERS,
        False,
        "Initializer ops of lookup tables; tables_initializer() groups them.",
    ),
    GraphKey(
        "ASSET_FILEPATHS",
        ASSET_FILEPATHS,
        False,
        "Tensors naming asset files (vocabularies) that SavedModel copies into assets/.",
    ),
    GraphKey("INIT_OP", INIT_OP, False, "The op a Scaffold runs to initialize global state."),
    GraphKey(
        "LOCAL_INIT_OP",
        LOCAL_INIT_OP,
        False,
        "The op a Scaffold runs to initialize local variables and tables.",
    ),
    GraphKey(
        "READY_OP",
        READY_OP,
        False,
        "The op a Scaffold runs to check that the model is initialized.",
    ),
    GraphKey(
        "READY_FOR_LOCAL_INIT_OP",
        READY_FOR_LOCAL_INIT_OP,
        False,
        "The op a Scaffold runs to check that local initialization may start.",
    ),
    GraphKey(
        "SUMMARY_OP",
        SUMMARY_OP,
        False,
        "The merged summary op a Scaffold writes at each summary step.",
    ),
    GraphKey(
        "EVAL_STEP",
        EVAL_STEP,
        False,
        "The evaluation-step counter used by tf.compat.v1 evaluation loops.",
    ),
    GraphKey(
        "COND_CONTEXT",
        COND_CONTEXT,
        False,
        "Control-flow v1 tf.cond contexts, kept so import_meta_graph can rebuild them.",
    ),
    GraphKey(
        "WHILE_CONTEXT",
        WHILE_CONTEXT,
        False,
        "Control-flow v1 while_loop contexts, kept so import_meta_graph can rebuild them.",
    ),
)

GRAPH_KEYS = MappingProxyType({entry.key: entry for entry in _CATALOG})
"""Key string -> GraphKey, for every public `tf.compat.v1.GraphKeys` key."""

VARIABLE_KEYS = frozenset(entry.key for entry in _CATALOG if entry.holds_variables)
