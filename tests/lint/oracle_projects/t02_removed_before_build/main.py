"""Removes the embeddings from TRAINABLE_VARIABLES before the train op is built (in another
module): only w trains, as intended."""

import json

import tensorflow.compat.v1 as tf
from model import Model

tf.disable_v2_behavior()
model = Model()
trainables = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
trainables.remove(model.embeddings)  # intends: w
model.build_train_op()
with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    before = session.run([model.embeddings, model.w])
    session.run(model.train_op)
    after = session.run([model.embeddings, model.w])
moved = [name for name, a, b in zip(["embeddings", "w"], before, after) if (a != b).any()]
print(json.dumps(moved))
