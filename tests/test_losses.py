import numpy as np
import pytest
import tensorflow as tf

import tfcollections as tfc


def _run(tensor):
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        return sess.run(tensor)


def test_seed_losses_collection_summed_with_l2(graph):
    l1 = tf.nn.l2_loss(tf.constant(1.0))
    l2 = tf.nn.l2_loss(tf.constant([2.5, -0.3]))
    assert tfc.add_loss(l1) is l1
    tfc.add_loss(l2)
    assert tfc.get("losses") == [l1, l2]  # the seed's custom "losses" is TF's LOSSES
    total = tfc.total_loss(regularization=False)
    assert _run(total) == pytest.approx(0.5 + (2.5**2 + 0.3**2) / 2)
    assert total.op.type == "AddN" and total.op.name == "total_loss"


def test_add_l2_scales_and_returns_what_it_added(graph):
    w = tf.compat.v1.Variable([3.0, 4.0], name="w")
    v = tf.compat.v1.Variable([1.0], name="v")
    single = tfc.add_l2(w, scale=0.1)
    pair = tfc.add_l2([w, v])
    assert isinstance(pair, list) and len(pair) == 2
    assert tfc.get(tfc.REGULARIZATION_LOSSES) == [single, *pair]
    assert _run(single) == pytest.approx(0.1 * 25 / 2)
    tfc.add_loss(tf.constant(1.0))
    assert _run(tfc.total_loss()) == pytest.approx(1.0 + 0.1 * 12.5 + 12.5 + 0.5)


def test_total_loss_in_a_custom_key_and_scope(graph):
    with tf.name_scope("gen"):
        g = tf.constant(2.0, name="g")
    d = tf.constant(5.0, name="d")
    tfc.add_loss(g, key="gan")
    tfc.add_loss(d, key="gan")
    assert _run(tfc.total_loss("gan", regularization=False, scope="gen")) == 2.0
    assert _run(tfc.total_loss("gan", regularization=False)) == 7.0


@pytest.mark.parametrize(
    ("dtypes", "expected"),
    [
        ((tf.float32, tf.float64), tf.float64),
        ((tf.float16, tf.float32), tf.float32),
        ((tf.float16, tf.bfloat16), tf.float32),
        ((tf.bfloat16, tf.bfloat16), tf.bfloat16),
        ((tf.float16, tf.bfloat16, tf.float64), tf.float64),
    ],
)
def test_mixed_dtypes_cast_to_most_precise(graph, dtypes, expected):
    for dtype in dtypes:
        tfc.add_loss(tf.constant(1.5, dtype))
    total = tfc.total_loss(regularization=False)
    assert total.dtype == expected
    assert float(_run(total)) == pytest.approx(1.5 * len(dtypes))


def test_empty_collection_names_key_and_scope(graph):
    with pytest.raises(tfc.EmptyCollectionError, match=r"'losses' \+ 'regularization_losses'"):
        tfc.total_loss()
    tfc.add_loss(tf.constant(1.0, name="top"))
    with pytest.raises(tfc.EmptyCollectionError, match="under scope 'enc'"):
        tfc.total_loss(scope="enc")


def test_non_scalar_loss_is_refused_naming_it(graph):
    tfc.add_loss(tf.constant([1.0, 2.0], name="vec"), key="mine")
    with pytest.raises(tfc.LossTermError, match=r"vec:0 in 'mine'.*not a scalar"):
        tfc.total_loss("mine", regularization=False)


def test_non_float_loss_is_refused(graph):
    tfc.add_loss(tf.constant(1.0))
    tfc.add_loss(tf.constant(2))
    with pytest.raises(tfc.LossTermError, match="not all floats"):
        tfc.total_loss()


def test_total_loss_value_matches_tf_own_get_total_loss(graph):
    tf.compat.v1.losses.add_loss(tf.constant(np.float32(0.25)))
    tfc.add_l2(tf.compat.v1.Variable([1.0, 2.0]), scale=0.5)
    theirs = tf.compat.v1.losses.get_total_loss()
    assert _run(tfc.total_loss()) == _run(theirs)
