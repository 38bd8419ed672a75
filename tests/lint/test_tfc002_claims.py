"""TFC002's messages against what TensorFlow 2.21, Keras 3 and tf_keras really do.

Each program passes a tensor or variable as `trainable=` and prints what the library did: the
exception it raised, or whether the variable trains. Each runs in its own process (TF1
behaviour is process-wide); the finding tfc-lint gives the same text must state exactly that
outcome, and there is no finding where the library does what the code says.
"""

import os
import sys

import pytest
from helpers import run_together

from lint_rules.non_bool_trainable import NonBoolTrainable as Rule
from tfcollections.lint.engine import lint_source

pytestmark = pytest.mark.slow

_REPORT = """
def report(make):
    try:
        print(make())
    except Exception as error:
        print(type(error).__name__)
"""

PROGRAMS = {
    "keras3_layer": (
        "import keras\nimport tensorflow as tf\n" + _REPORT + "report(lambda: keras.layers.Dense("
        "3, trainable=tf.constant(False)))\n",
        "ValueError",
        Rule.MESSAGE_KERAS3,
    ),
    "tf2_graph_tensor": (
        "import tensorflow as tf\n" + _REPORT + "with tf.Graph().as_default():\n"
        "    report(lambda: tf.Variable(1.0, trainable=tf.constant(False)))\n",
        "OperatorNotAllowedInGraphError",
        Rule.MESSAGE,
    ),
    "tf1_placeholder": (
        "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n"
        + _REPORT
        + 'report(lambda: tf.get_variable("a", [], trainable=tf.placeholder(tf.bool)))\n',
        "OperatorNotAllowedInGraphError",
        Rule.MESSAGE,
    ),
    "tf1_variable_flag": (
        "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n"
        + _REPORT
        + "flag = tf.Variable(False)\n"
        "v = tf.Variable(1.0, trainable=flag)\n"
        "report(lambda: 'trains' if v in tf.trainable_variables() else 'frozen')\n",
        "trains",
        Rule.MESSAGE_GRAPH_VARIABLE,
    ),
    "tf_keras_variable_flag": (
        "import numpy as np\nimport tensorflow as tf\nimport tf_keras\n" + _REPORT + "def fit():\n"
        "    layer = tf_keras.layers.Dense(1, trainable=tf.Variable(False))\n"
        "    model = tf_keras.Sequential([tf_keras.Input((2,)), layer])\n"
        '    model.compile("sgd", "mse")\n'
        "    return model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)\n"
        "report(fit)\n",
        "OperatorNotAllowedInGraphError",
        Rule.MESSAGE_KERAS2_VARIABLE,
    ),
    "eager_variable": (
        "import tensorflow as tf\n" + _REPORT + "def watched():\n"
        "    v = tf.Variable(1.0, trainable=tf.constant(False))\n"
        "    with tf.GradientTape() as tape:\n"
        "        y = v * 2.0\n"
        "    return 'trains' if tape.gradient(y, v) is not None else 'frozen'\n"
        "report(watched)\n",
        "frozen",
        None,
    ),
    "eager_tf_keras_layer": (
        "import numpy as np\nimport tensorflow as tf\nimport tf_keras\n" + _REPORT + "def fit():\n"
        "    layer = tf_keras.layers.Dense(1, trainable=tf.constant(False))\n"
        "    model = tf_keras.Sequential([tf_keras.Input((2,)), layer])\n"
        '    model.compile("sgd", "mse")\n'
        "    before = model.get_weights()[0].copy()\n"
        "    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)\n"
        "    return 'trains' if (model.get_weights()[0] != before).any() else 'frozen'\n"
        "report(fit)\n",
        "frozen",
        None,
    ),
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, str]:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    commands = {name: [sys.executable, "-c", source] for name, (source, _, _) in PROGRAMS.items()}
    results = {}
    for name, run in run_together(commands, timeout=300, env=environment).items():
        assert run.returncode == 0, run.stderr[-2000:]
        results[name] = run.stdout.strip().splitlines()[-1]
    return results


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_message_states_what_the_library_does(name, outcomes):
    source, outcome, message = PROGRAMS[name]
    assert outcomes[name] == outcome
    findings = lint_source(source.encode(), f"{name}.py", [Rule])
    assert [finding.message for finding in findings] == ([message] if message else [])
