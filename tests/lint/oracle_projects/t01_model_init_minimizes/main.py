"""Removes the embeddings from TRAINABLE_VARIABLES after the model's constructor (in another
module) built the train op: they keep training."""

import json

import tensorflow.compat.v1 as tf
from model import Model

tf.disable_v2_behavior()
model = Model()
trainables = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
trainables.remove(model.embeddings)  # intends: w | TFC001
with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    before = session.run([model.embeddings, model.w])
    session.run(model.train_op)
    after = session.run([model.embeddings, model.w])
moved = [name for name, a, b in zip(["embeddings", "w"], before, after) if (a != b).any()]
print(json.dumps(moved))
