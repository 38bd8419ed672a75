"""The seed's trap as a graph-building script, for `tfcollections dump` and `audit`.

x is removed from TRAINABLE_VARIABLES after minimize() built the train op, so the collection
says y alone is trainable while the train op still updates x. Try:
    tfcollections dump examples/trap_graph.py --members
    tfcollections audit examples/trap_graph.py      # exit code 1: x is updated, not trainable
"""

import tensorflow as tf

x = tf.compat.v1.Variable(3.0, name="x")
y = tf.compat.v1.Variable(13.0, name="y")
loss = tf.abs(y - x, name="loss")
train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(loss)
tf.compat.v1.add_to_collection("losses", tf.nn.l2_loss(y, name="l2_y"))
tf.compat.v1.summary.scalar("loss", loss)

trainables = tf.compat.v1.get_collection_ref(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
del trainables[trainables.index(x)]  # the trap: the train op still updates x
