from helpers import run_python


def test_import_and_lazy_attribute_load_no_tensorflow_first_use_does():
    result = run_python(
        """
        import sys
        import tfcollections as tfc
        assert tfc.TRAINABLE_VARIABLES == "trainable_variables"
        assert tfc.GRAPH_KEYS["losses"].name == "LOSSES"
        assert tfc.DynamicOptimizer.__name__ == "DynamicOptimizer"
        assert callable(tfc.dynamic)
        assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules)
        assert tfc.keras.DynamicOptimizer.__name__ == "DynamicOptimizer"  # loads TF and Keras
        assert "keras" in sys.modules
        assert "tf_keras" not in sys.modules  # only a tf_keras optimizer brings Keras 2 in
        try:
            tfc.get(tfc.LOSSES)
        except tfc.EagerModeError:
            pass
        assert "tensorflow" in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_is_an_attribute_error():
    result = run_python("import tfcollections as tfc; print(hasattr(tfc, 'nothing_here'))")
    assert result.stdout.strip() == "False", result.stderr


def test_missing_tensorflow_names_the_tf_extra():
    result = run_python(
        """
        import sys
        sys.modules["tensorflow"] = None  # what an uninstalled package looks like to import
        import tfcollections as tfc
        try:
            tfc.get(tfc.LOSSES)
        except tfc.TensorFlowMissingError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "tfcollections[tf]" in result.stdout
