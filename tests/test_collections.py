import warnings

import numpy as np
import pytest
import tensorflow as tf
from helpers import run_python

import tfcollections as tfc


def test_get_returns_a_copy_and_ref_the_live_list(graph):
    x = tf.compat.v1.Variable(1.0, name="x")
    got = tfc.get(tfc.TRAINABLE_VARIABLES)
    got.clear()
    assert tfc.get(tfc.TRAINABLE_VARIABLES) == [x]
    tfc.ref(tfc.TRAINABLE_VARIABLES).clear()
    assert tf.compat.v1.trainable_variables() == []


def test_get_filters_by_scope(graph):
    with tf.compat.v1.variable_scope("enc"):
        a = tf.compat.v1.Variable(1.0, name="a")
    tf.compat.v1.Variable(2.0, name="b")
    assert tfc.get(tfc.GLOBAL_VARIABLES, "enc") == [a]


def test_add_to_several_keys_and_keys_lists_them(graph):
    t = tf.constant(1.0)
    tfc.add(["mine", tfc.LOSSES], t, t * 2)
    assert len(tfc.get("mine")) == 2 and tfc.get("mine")[0] is t
    assert tfc.get(tfc.LOSSES) == tfc.get("mine")
    assert tfc.keys() == sorted([tfc.LOSSES, "mine"])


def test_remove_tensor_by_identity_where_list_index_breaks(graph):
    a = tf.constant([1.0, 2.0], name="a")
    b = tf.constant([1.0, 2.0], name="b")
    tfc.add("things", a, b)
    tfc.remove("things", b)
    remaining = tfc.get("things")
    assert len(remaining) == 1 and remaining[0] is a


def test_list_index_on_tensors_is_unsafe_under_tf2_behaviour():
    """The reason remove() never uses ==: outside a graph, Variable.__eq__ is element-wise."""
    x = tf.Variable([1.0, 2.0])
    y = tf.Variable([3.0, 4.0])
    with pytest.raises((TypeError, ValueError)):
        [y, x].index(x)


def test_remove_and_discard_by_name(graph):
    x = tf.compat.v1.Variable(1.0, name="x")
    y = tf.compat.v1.Variable(2.0, name="y")
    tfc.remove(tfc.TRAINABLE_VARIABLES, "x")
    assert tfc.get(tfc.TRAINABLE_VARIABLES) == [y]
    assert tfc.discard(tfc.TRAINABLE_VARIABLES, "y:0") is True
    assert tfc.discard(tfc.TRAINABLE_VARIABLES, "y:0") is False
    assert tfc.get(tfc.GLOBAL_VARIABLES) == [x, y]


def test_remove_missing_value_names_key_and_value(graph):
    tf.compat.v1.Variable(1.0, name="x")
    with pytest.raises(tfc.NotInCollectionError, match=r"'nope'.*'trainable_variables'"):
        tfc.remove(tfc.TRAINABLE_VARIABLES, "nope")
    assert issubclass(tfc.NotInCollectionError, tfc.TfCollectionsError)


def test_clear_returns_what_it_removed(graph):
    tfc.add("c", tf.constant(1.0), tf.constant(2.0))
    removed = tfc.clear("c")
    assert len(removed) == 2 and tfc.get("c") == []


def test_explicit_graph_wins_over_default(graph):
    other = tf.Graph()
    with other.as_default():
        z = tf.compat.v1.Variable(1.0, name="z")
    assert tfc.get(tfc.GLOBAL_VARIABLES) == []
    assert tfc.get(tfc.GLOBAL_VARIABLES, graph=other) == [z]


@pytest.mark.parametrize(
    "call",
    [
        lambda: tfc.get(tfc.LOSSES),
        lambda: tfc.ref(tfc.LOSSES),
        lambda: tfc.add(tfc.LOSSES, 1),
        lambda: tfc.remove(tfc.LOSSES, "x"),
        lambda: tfc.discard(tfc.LOSSES, "x"),
        lambda: tfc.clear(tfc.LOSSES),
        lambda: tfc.keys(),
        lambda: tfc.total_loss(),
    ],
)
def test_eager_mode_without_graph_raises_with_what_to_do(call):
    assert tf.executing_eagerly()
    with pytest.raises(tfc.EagerModeError, match=r"tf.Graph\(\).as_default\(\).*graph="):
        call()


def test_explicit_graph_works_in_eager_mode():
    assert tf.executing_eagerly()
    g = tf.Graph()
    tfc.add("k", "value", graph=g)
    assert tfc.get("k", graph=g) == ["value"] and tfc.keys(graph=g) == ["k"]


def _seed_graph():
    x = tf.compat.v1.Variable(3.0, name="x")
    y = tf.compat.v1.Variable(13.0, name="y")
    train_op = tf.compat.v1.train.AdamOptimizer(0.01).minimize(tf.abs(y - x))
    return x, y, train_op


def test_removing_a_trained_variable_warns_and_it_keeps_training(graph):
    x, y, train_op = _seed_graph()
    with pytest.warns(tfc.StaleTrainOpWarning, match="keep training.*DynamicOptimizer"):
        tfc.remove(tfc.TRAINABLE_VARIABLES, x)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        sess.run(train_op)
        assert sess.run(x) != np.float32(3.0)  # the warning told the truth


def test_clear_of_trainables_warns_once_naming_the_trained(graph):
    _seed_graph()
    with pytest.warns(tfc.StaleTrainOpWarning, match="x:0, y:0 removed") as record:
        tfc.clear(tfc.TRAINABLE_VARIABLES)
    assert len(record) == 1


def test_adding_a_variable_after_the_train_op_warns(graph):
    _seed_graph()
    z = tf.compat.v1.Variable(1.0, name="z", trainable=False)
    with pytest.warns(tfc.StaleTrainOpWarning, match="z:0 added.*will not train it"):
        tfc.add(tfc.TRAINABLE_VARIABLES, z)


def test_no_warning_before_any_train_op_or_for_untrained_variables(graph):
    x = tf.compat.v1.Variable(3.0, name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tfc.remove(tfc.TRAINABLE_VARIABLES, x)
        tfc.add(tfc.TRAINABLE_VARIABLES, x)
        w = tf.compat.v1.Variable(1.0, name="w")
        tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(w * 2.0, var_list=[w])
        tfc.remove(tfc.TRAINABLE_VARIABLES, x)  # noqa: TFC001 - var_list=[w]: no op writes x


@pytest.mark.slow
def test_disable_eager_execution_style():
    result = run_python(
        """
        import warnings
        import tensorflow as tf
        import tfcollections as tfc
        tf.compat.v1.disable_eager_execution()
        a = tf.constant([1.0, 2.0], name="a")
        b = tf.constant([1.0, 2.0], name="b")
        tfc.add("things", a, b)
        tfc.remove("things", b)
        assert tfc.get("things") == [a]
        x = tf.compat.v1.Variable(3.0, name="x")
        y = tf.compat.v1.Variable(13.0, name="y")
        tf.compat.v1.train.AdamOptimizer(0.01).minimize(tf.abs(y - x))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            tfc.remove(tfc.TRAINABLE_VARIABLES, "x")
        assert [w.category for w in seen] == [tfc.StaleTrainOpWarning], seen
        tfc.add_loss(tf.constant(1.0, tf.float64))
        tfc.add_l2(y, 0.5)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            print(sess.run(tfc.total_loss()))
        """
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(1.0 + 0.5 * 13.0**2 / 2)
