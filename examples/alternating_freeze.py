"""The seed's alternation with DynamicOptimizer: one train op, a graph that never grows.

x = 3, y = 31, loss = |x - y|, Adam(0.01), 100 steps; x is frozen on steps where i % 10 < 5
and y on the others. The graph is finalized after building, so any op added later would raise.
Run: python examples/alternating_freeze.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import tfcollections as tfc  # noqa: E402

tf.get_logger().setLevel("ERROR")
v1 = tf.compat.v1


def main() -> None:
    graph = tf.Graph()
    with graph.as_default():
        x = v1.Variable(3.0, name="x")
        y = v1.Variable(31.0, name="y")
        loss = tf.abs(x - y)
        optimizer = tfc.DynamicOptimizer(v1.train.AdamOptimizer(0.01))
        train_op = optimizer.minimize(loss)
        init = v1.global_variables_initializer()
    ops_built = len(graph.get_operations())
    graph.finalize()
    with v1.Session(graph=graph) as session:
        session.run(init)
        for step in range(100):
            optimizer.set_frozen(x if step % 10 < 5 else y, session=session)
            session.run(train_op)
            if step % 10 in (4, 9):
                xx, yy, lo = session.run([x, y, loss])
                frozen = optimizer.frozen(session=session)[0].op.name
                print(f"step {step:3d}  frozen {frozen}  x {xx:.4f}  y {yy:.4f}  loss {lo:.4f}")
    print(f"graph ops: {ops_built} after building, {len(graph.get_operations())} after 100 steps")


if __name__ == "__main__":
    main()
