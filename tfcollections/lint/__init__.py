"""tfc-lint: the engine behind the `tfc-lint` command. Never imports TensorFlow."""
