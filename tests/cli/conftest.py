"""Real saved graphs, built once per test session with TensorFlow itself."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SCRIPT = """\
import tensorflow as tf

print("building the graph")  # must not reach stdout: JSON stays clean
x = tf.compat.v1.Variable(3.0, name="x")
y = tf.compat.v1.Variable(13.0, name="y")
loss = tf.abs(y - x, name="loss")
tf.compat.v1.add_to_collection("losses", tf.nn.l2_loss(x, name="l2"))
tf.compat.v1.add_to_collection("notes", {"lr": 0.01})
train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss)


def build():
    tf.compat.v1.Variable(1.0, name="from_function")
"""


def build_seed_trap(tf):
    """The seed's trap: x removed from TRAINABLE_VARIABLES after minimize, plus a custom losses
    collection and a summary; returns (graph, x, y)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.Variable(3.0, name="x")
        y = tf.compat.v1.Variable(13.0, name="y")
        loss = tf.abs(y - x, name="loss")
        tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss)
        tf.compat.v1.add_to_collection("losses", tf.nn.l2_loss(y, name="l2_y"))
        tf.compat.v1.summary.scalar("loss", loss)
        col = tf.compat.v1.get_collection_ref(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        del col[0]  # x: the seed's `del col[col.index(x)]`
    return graph, x, y


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """Paths of the seed trap saved every way TF saves a graph."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("saved")
    graph, _, _ = build_seed_trap(tf)
    paths = {}
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        session.run(tf.compat.v1.global_variables_initializer())
        paths["meta"] = root / "trap.meta"
        tf.compat.v1.train.export_meta_graph(str(paths["meta"]), graph=graph)
        paths["pbtxt"] = root / "trap.pbtxt"
        tf.compat.v1.train.export_meta_graph(str(paths["pbtxt"]), graph=graph, as_text=True)
        paths["checkpoint"] = root / "ckpt"
        tf.compat.v1.train.Saver().save(session, str(paths["checkpoint"] / "model"))
        paths["saved_model"] = root / "sm"
        builder = tf.compat.v1.saved_model.Builder(str(paths["saved_model"]))
        builder.add_meta_graph_and_variables(session, ["serve"])
        builder.add_meta_graph(["serve", "gpu"])
        builder.save()
    paths["script"] = root / "build_graph.py"
    paths["script"].write_text(SCRIPT)
    (root / "mymodels").mkdir()
    (root / "mymodels" / "__init__.py").write_text("")
    (root / "mymodels" / "nets.py").write_text(
        textwrap.dedent(
            """
            import tensorflow as tf

            def build():
                w = tf.compat.v1.Variable(1.0, name="w")
                tf.compat.v1.add_to_collection("losses", tf.square(w, name="sq"))
            """
        )
    )
    return {name: Path(path) for name, path in paths.items()} | {"root": root}
