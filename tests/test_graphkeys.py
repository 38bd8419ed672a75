import tensorflow as tf

import tfcollections as tfc


def _public_graph_keys() -> dict[str, str]:
    keys = tf.compat.v1.GraphKeys
    return {
        name: getattr(keys, name)
        for name in dir(keys)
        if name.isupper() and not name.startswith("_") and name != "VARIABLES"
    }


def test_every_public_graphkey_is_a_constant_equal_to_tf_string():
    for name, key in _public_graph_keys().items():
        assert getattr(tfc, name) == key, name


def test_catalog_covers_every_public_key_with_its_attribute_name():
    expected = {key: name for name, key in _public_graph_keys().items()}
    assert {key: entry.name for key, entry in tfc.GRAPH_KEYS.items()} == expected


def test_variables_alias_is_cataloged_as_global_variables():
    assert tfc.GRAPH_KEYS["variables"].name == "GLOBAL_VARIABLES"
    assert tf.compat.v1.GraphKeys.VARIABLES == tfc.GLOBAL_VARIABLES


def test_holds_variables_matches_tf_variable_collections():
    tf_variable_keys = set(tf.compat.v1.GraphKeys._VARIABLE_COLLECTIONS)
    flagged = {key for key, entry in tfc.GRAPH_KEYS.items() if entry.holds_variables}
    assert tf_variable_keys <= flagged
    assert flagged - tf_variable_keys == {tfc.GLOBAL_STEP}


def test_each_description_is_one_sentence():
    for key, entry in tfc.GRAPH_KEYS.items():
        assert entry.key == key
        assert entry.description.endswith(".") and entry.description.count(". ") == 0, key
