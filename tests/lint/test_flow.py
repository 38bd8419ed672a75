"""The shared flow and name resolution, on the cases the rule examples do not spell out."""

import libcst as cst

from tfcollections.lint.flow import Flow


def _names_at_end(source: str) -> tuple[Flow, dict[str, cst.BaseExpression]]:
    """Run a Flow over `source`; return it (still in module scope) with the last statement's
    expression."""
    module = cst.parse_module(source)
    flow = Flow()
    seen = {}

    class Grab(cst.BatchableCSTVisitor):
        def visit_Expr(self, node: cst.Expr) -> None:
            seen["last"] = node.value
            seen["qualified"] = flow.qualify(node.value)

    cst.visit_batched(
        module, [Grab()], before_visit=flow.before_visit, after_leave=flow.after_leave
    )
    return flow, seen


def test_self_referential_alias_does_not_loop():
    _, seen = _names_at_end("import os\nx = x.parent\nx = x.parent\nx\n")
    assert seen["qualified"] is None


def test_import_forms_resolve_to_dotted_names():
    cases = {
        "import tensorflow as tf\ntf.compat.v1.Variable\n": "tensorflow.compat.v1.Variable",
        "import tensorflow.compat.v1 as tf\ntf.Variable\n": "tensorflow.compat.v1.Variable",
        "from tensorflow.compat import v1 as tf\ntf.Variable\n": "tensorflow.compat.v1.Variable",
        "from tensorflow.compat.v1 import GraphKeys as G\nG.X\n": (
            "tensorflow.compat.v1.GraphKeys.X"
        ),
        "import tensorflow\ntensorflow.gradients\n": "tensorflow.gradients",
        "import tensorflow as tf\nK = tf.GraphKeys\nK.X\n": "tensorflow.GraphKeys.X",
        "from . import tf\ntf.gradients\n": None,
        "tf.gradients\n": None,
    }
    for source, expected in cases.items():
        assert _names_at_end(source)[1]["qualified"] == expected, source
