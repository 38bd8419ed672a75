"""A TF1 model whose constructor builds its train op (the chatbot layout)."""

import tensorflow.compat.v1 as tf


class Model:
    def __init__(self):
        self.embeddings = tf.get_variable("embeddings", initializer=tf.ones([4, 2]))
        self.w = tf.get_variable("w", initializer=tf.ones([2, 1]))
        x = tf.nn.embedding_lookup(self.embeddings, [0, 1, 2])
        self.loss = tf.reduce_sum(tf.square(tf.matmul(x, self.w) - 3.0))
        self.train_op = tf.train.AdamOptimizer(0.1).minimize(self.loss)
