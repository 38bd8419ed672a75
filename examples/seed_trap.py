"""The seed's trap, then the same job done right.

The trap: `minimize()` read TRAINABLE_VARIABLES when it built the train op, so removing x from
that collection afterwards changes nothing: x keeps training. tfcollections warns when you do it
(StaleTrainOpWarning), and DynamicOptimizer freezes x for real, with Adam's state intact.
Run: python examples/seed_trap.py
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

import tfcollections as tfc  # noqa: E402

tf.get_logger().setLevel("ERROR")
v1 = tf.compat.v1


def the_trap() -> None:
    with tf.Graph().as_default():
        x = v1.Variable(3.0, name="x")
        y = v1.Variable(13.0, name="y")
        train_op = v1.train.AdamOptimizer(0.01).minimize(tf.abs(y - x))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tfc.remove(tfc.TRAINABLE_VARIABLES, x)  # the seed's `del col[col.index(x)]`
        print("trainable now:", [v.op.name for v in tfc.get(tfc.TRAINABLE_VARIABLES)])
        print("warning:", caught[0].message if caught else "none")
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for _ in range(100):
                session.run(train_op)
            print(f"after 100 steps x = {session.run(x):.2f} (it moved: the trap)")


def done_right() -> None:
    with tf.Graph().as_default():
        x = v1.Variable(3.0, name="x")
        y = v1.Variable(13.0, name="y")
        optimizer = tfc.DynamicOptimizer(v1.train.AdamOptimizer(0.01))
        train_op = optimizer.minimize(tf.abs(y - x))
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            optimizer.freeze(x, session=session)
            for _ in range(100):
                session.run(train_op)
            print(
                f"after 100 steps x = {session.run(x):.2f}, y = {session.run(y):.2f} "
                "(x frozen for real, y trained by Adam)"
            )


if __name__ == "__main__":
    print("== the trap: remove x from TRAINABLE_VARIABLES after minimize()")
    the_trap()
    print("== done right: tfcollections.DynamicOptimizer")
    done_right()
