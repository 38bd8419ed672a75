"""tfcollections.keras: the contract bit for bit, fit/train_on_batch without retracing,
save/load, checkpoints, MirroredStrategy, FreezeSchedule and TrainableGuard."""

import warnings

import keras
import keras_contract
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_python

import tfcollections as tfc

X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(64, 1)).astype("float32")


@pytest.mark.parametrize("name", sorted(keras_contract.OPTIMIZERS))
def test_contract_in_a_custom_loop(name):
    keras_contract.check_contract(name, seed=len(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(keras_contract.OPTIMIZERS))
def test_contract_with_jit_compile(name):
    keras_contract.check_contract(name, jit=True, seed=len(name))


@pytest.mark.parametrize(
    "options",
    [
        {"clipnorm": 0.1},
        {"global_clipnorm": 0.1},  # the norm covers unfrozen gradients only
        {"gradient_accumulation_steps": 3},
        {"use_ema": True, "ema_momentum": 0.9},
    ],
    ids=lambda options: next(iter(options)),
)
def test_contract_with_optimizer_options(options):
    keras_contract.check_contract("Adam", **options)


def _model():
    return keras_contract.build_model()


def _layers(variables):
    """The layer name of each variable (paths lose the model prefix after a load)."""
    return [v.path.split("/")[-2] for v in variables]


def _weights(layer):
    return [w.numpy().copy() for w in layer.weights]


def _unchanged(before, layer):
    return all(np.array_equal(a, w.numpy()) for a, w in zip(before, layer.weights))


@pytest.mark.parametrize(
    ("name", "jit"),
    [(name, False) for name in sorted(keras_contract.OPTIMIZERS)] + [("Adam", True)],
)
def test_fit_freezes_without_recompiling_or_retracing(name, jit):
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras_contract.OPTIMIZERS[name]())
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit)
    traces = keras_contract.count_traces(model)
    optimizer.freeze(model.get_layer("base"))  # before the optimizer is built: pending
    base = _weights(model.get_layer("base"))
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    assert _unchanged(base, model.get_layer("base"))
    assert _layers(optimizer.frozen) == ["base", "base"]
    traced = len(traces)  # Keras traces twice when the first call creates variables
    optimizer.set_frozen("head")
    head = _weights(model.get_layer("head"))
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    assert _unchanged(head, model.get_layer("head"))
    assert not _unchanged(base, model.get_layer("base"))
    assert len(traces) == traced
    assert int(optimizer.iterations.numpy()) == 16  # every step counts, frozen or not


def test_train_on_batch_and_everything_frozen():
    model = _model()
    optimizer = tfc.dynamic(keras.optimizers.SGD(0.1, momentum=0.9))
    assert isinstance(optimizer, tfc.keras.DynamicOptimizer)
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(X, Y)
    optimizer.freeze(model)  # a model stands for all its weights
    state = [v.numpy().copy() for v in [*model.weights, *optimizer.variables] if v.dtype != "bool"]
    model.train_on_batch(X, Y)
    after = [v.numpy() for v in [*model.weights, *optimizer.variables] if v.dtype != "bool"]
    moved = [i for i, (a, b) in enumerate(zip(state, after)) if not np.array_equal(a, b)]
    assert len(moved) == 1  # only the iteration counter
    optimizer.unfreeze("*/head/*")  # a glob on the variable path
    model.train_on_batch(X, Y)
    assert _layers(optimizer.frozen) == ["base"] * 2 + ["middle"] * 2


def test_freeze_schedule_callback():
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    model.compile(optimizer=optimizer, loss="mse")
    schedule = tfc.keras.FreezeSchedule(optimizer, {0: ["base", "middle"], 2: []})
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(len(optimizer.frozen))
    )
    model.fit(X, Y, epochs=3, batch_size=32, verbose=0, callbacks=[schedule, record])
    assert seen == [4, 4, 0]


def test_frozen_set_survives_save_and_load(tmp_path):
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze("middle")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # tfcollections imported: the class is registered
    assert isinstance(loaded.optimizer, tfc.keras.DynamicOptimizer)
    assert _layers(loaded.optimizer.frozen) == ["middle", "middle"]
    middle = _weights(loaded.get_layer("middle"))
    loaded.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert _unchanged(middle, loaded.get_layer("middle"))
    assert int(loaded.optimizer.iterations.numpy()) == 4
    loaded.optimizer.attach(loaded)  # the fast path after a load: the frozen layer is real
    assert not loaded.get_layer("middle").trainable and loaded.get_layer("head").trainable
    loaded.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert _unchanged(middle, loaded.get_layer("middle"))


def test_a_model_saved_on_the_fast_path_loads_with_its_optimizer_state(tmp_path):
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01), model=model)
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze("middle")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert not model.get_layer("middle").trainable  # the fast path froze the layer itself
    slots = [v.numpy().copy() for v in optimizer.inner_optimizer.variables]
    model.save(tmp_path / "model.keras")
    assert not model.get_layer("middle").trainable  # saving changed nothing in the model
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when it skips an optimizer's state
        loaded = keras.models.load_model(tmp_path / "model.keras")
    assert _layers(loaded.optimizer.frozen) == ["middle", "middle"]
    reloaded = [v.numpy() for v in loaded.optimizer.inner_optimizer.variables]
    assert len(reloaded) == len(slots) and any(np.any(slot) for slot in slots[2:])
    assert all(np.array_equal(old, new) for old, new in zip(slots, reloaded))
    assert loaded.get_layer("middle").trainable  # as built: attach applies the frozen set
    loaded.optimizer.attach(loaded)
    assert not loaded.get_layer("middle").trainable and loaded.get_layer("head").trainable
    middle = _weights(loaded.get_layer("middle"))
    loaded.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert _unchanged(middle, loaded.get_layer("middle"))


def test_frozen_set_survives_a_tf_train_checkpoint(tmp_path):
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    optimizer.build(model.trainable_weights)
    optimizer.freeze("head")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    saved = checkpoint.save(str(tmp_path / "ckpt"))
    optimizer.set_frozen([])
    checkpoint.restore(saved)
    assert _layers(optimizer.frozen) == ["head", "head"]


def test_bad_targets_and_misuse():
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    with pytest.raises(tfc.TrainOpStateError, match="built at the first training step"):
        _ = optimizer.frozen
    optimizer.build(model.trainable_weights)
    with pytest.raises(tfc.UnknownTargetError, match="'hed'.*close names"):
        optimizer.freeze("hed")
    with pytest.raises(tfc.TfCollectionsError, match="wraps a keras Optimizer"):
        tfc.keras.DynamicOptimizer(tf.compat.v1.train.AdamOptimizer(0.1))
    with pytest.raises(tfc.TfCollectionsError, match="wraps a tf.compat.v1.train.Optimizer"):
        tfc.dynamic("adam")
    assert isinstance(tfc.dynamic(tf.compat.v1.train.AdamOptimizer(0.1)), tfc.DynamicOptimizer)


def test_trainable_guard_raises_on_the_keras_trap_and_can_retrace():
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    guard = tfc.keras.TrainableGuard()
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[guard])
    model.get_layer("base").trainable = False
    with pytest.raises(
        tfc.keras.TrainableChangedError, match="base \\(now frozen\\).*DynamicOptimizer"
    ):
        model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[guard])
    retrace = _model()
    retrace.compile(optimizer="adam", loss="mse")
    retracer = tfc.keras.TrainableGuard(action="retrace")
    retrace.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[retracer])
    retrace.get_layer("base").trainable = False
    base = _weights(retrace.get_layer("base"))
    retrace.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[retracer])
    assert _unchanged(base, retrace.get_layer("base"))


def test_the_keras_trap_itself_without_the_guard():
    """The reason for all of the above: Keras 3 ignores trainable=False after a fit."""
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    model.get_layer("base").trainable = False
    base = _weights(model.get_layer("base"))
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert not _unchanged(base, model.get_layer("base"))


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus():
    result = run_python(
        """
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        import keras
        import tfcollections as tfc
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        y = np.random.default_rng(1).normal(size=(64, 1)).astype("float32")
        for attach in (False, True):  # the optimizer alone, and given the model
            with strategy.scope():
                model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="base"),
                                          keras.layers.Dense(1, name="head")])
                optimizer = tfc.keras.DynamicOptimizer(
                    keras.optimizers.AdamW(0.01), model=model if attach else None
                )
                model.compile(optimizer=optimizer, loss="mse")
            optimizer.freeze("base")
            def values(name):
                return [w.numpy().copy() for w in model.get_layer(name).weights]
            def same(before, name):
                return [np.array_equal(a, b) for a, b in zip(before, values(name))]
            base, head = values("base"), values("head")
            model.fit(x, y, epochs=2, batch_size=16, verbose=0)
            assert strategy.num_replicas_in_sync == 2
            assert all(same(base, "base")) and not any(same(head, "head"))
            optimizer.set_frozen("head")
            model.fit(x, y, epochs=1, batch_size=16, verbose=0)
            assert not any(same(base, "base"))
            print("ok", int(optimizer.iterations.numpy()))
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", "12", "ok", "12"]


# -- given the model: frozen layers cost no backward pass -------------------------------


@pytest.mark.parametrize("name", sorted(keras_contract.OPTIMIZERS))
def test_fit_contract_with_the_model_against_keras_trainable_false(name):
    keras_contract.check_fit_contract(name, seed=len(name))


@pytest.mark.slow
def test_fit_contract_with_the_model_and_jit_compile():
    keras_contract.check_fit_contract("Adam", jit=True)


def _conv_model_with(**options):
    model = keras_contract.build_conv_model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01), model=model, **options)
    model.compile(optimizer=optimizer, loss="mse")
    return model, optimizer


def _fit_images(model, epochs=2):
    model.fit(keras_contract.IMAGES, keras_contract.Y, epochs=epochs, batch_size=8, verbose=0)


def _bn_state(model):
    return {w.path.split("/")[-1]: w.numpy().copy() for w in model.get_layer("bn").weights}


def _moved(before, model):
    after = _bn_state(model)
    return sorted(name for name in before if not np.array_equal(before[name], after[name]))


def test_frozen_batchnorm_is_in_inference_mode_and_trains_again_when_unfrozen():
    model, optimizer = _conv_model_with()
    _fit_images(model)
    optimizer.freeze(["conv", "bn"])
    assert not model.get_layer("bn").trainable  # as a user freezing it would set it
    before = _bn_state(model)
    _fit_images(model)
    assert _moved(before, model) == []  # gamma, beta, moving mean and variance
    optimizer.unfreeze("bn")
    assert model.get_layer("bn").trainable
    _fit_images(model)
    assert _moved(before, model) == ["beta", "gamma", "moving_mean", "moving_variance"]


def test_batchnorm_training_keeps_statistics_updating_while_frozen():
    model, optimizer = _conv_model_with(batchnorm="training")
    optimizer.freeze(["conv", "bn"])
    assert model.get_layer("bn").trainable  # still normalizing with batch statistics
    before = _bn_state(model)
    _fit_images(model)
    assert _moved(before, model) == ["moving_mean", "moving_variance"]


def test_freezing_part_of_a_layer_stays_exact():
    model, optimizer = _conv_model_with()
    conv = model.get_layer("conv")
    optimizer.freeze(conv.kernel)
    assert conv.trainable and not conv.kernel.trainable and conv.bias.trainable
    kernel, bias = conv.kernel.numpy().copy(), conv.bias.numpy().copy()
    _fit_images(model)
    assert np.array_equal(kernel, conv.kernel.numpy())
    assert not np.array_equal(bias, conv.bias.numpy())


def test_a_pattern_seen_before_is_swapped_in_without_a_trace():
    model, optimizer = _conv_model_with()
    traces = keras_contract.count_traces(model)
    for frozen in (["conv"], [], ["conv"], [], ["conv", "bn", "conv2"], ["conv"]):
        optimizer.set_frozen(frozen)
        model.train_on_batch(keras_contract.IMAGES, keras_contract.Y)
    assert len(traces) == 3
    model.compile(optimizer=optimizer, loss="mae")  # a recompile: the kept functions are stale
    for frozen in ([], ["conv"], []):
        optimizer.set_frozen(frozen)
        model.train_on_batch(keras_contract.IMAGES, keras_contract.Y)
    assert len(traces) == 5


def test_everything_frozen_with_the_model_moves_nothing():
    model, optimizer = _conv_model_with()
    _fit_images(model, epochs=1)
    optimizer.freeze(model)
    state = [w.numpy().copy() for w in [*model.weights, *optimizer.variables]]
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        _fit_images(model, epochs=1)
    after = [w.numpy() for w in [*model.weights, *optimizer.variables]]
    assert all(np.array_equal(a, b) for a, b in zip(state, after))  # iterations included


def test_flags_changed_behind_the_optimizer_stop_the_step(tmp_path):
    model, optimizer = _conv_model_with()
    optimizer.set_frozen(["conv"])
    _fit_images(model, epochs=1)
    checkpoint = tf.train.Checkpoint(optimizer=optimizer)
    saved = checkpoint.save(str(tmp_path / "ckpt"))
    optimizer.set_frozen(["head"])
    _fit_images(model, epochs=1)
    checkpoint.restore(saved)  # the flags say "conv" again; the model still says "head"
    with pytest.raises(tf.errors.InvalidArgumentError, match="attach\\(model\\) again"):
        _fit_images(model, epochs=1)
    optimizer.attach(model)
    assert not model.get_layer("conv").trainable and model.get_layer("head").trainable
    _fit_images(model, epochs=1)


def test_attach_refuses_what_it_cannot_use():
    built = keras_contract.build_conv_model()
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(tfc.TfCollectionsError, match="built keras Model.*model.build"):
        tfc.keras.DynamicOptimizer(keras.optimizers.Adam(), model=unbuilt)
    with pytest.raises(tfc.TfCollectionsError, match="batchnorm must be one of"):
        tfc.keras.DynamicOptimizer(keras.optimizers.Adam(), model=built, batchnorm="frozen")
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(), model=built)
    with pytest.raises(tfc.TfCollectionsError, match="another model"):
        optimizer.attach(_model())


def test_a_saved_optimizer_holds_each_variable_once(tmp_path):
    sizes = {}
    for name, wrap in (("plain", lambda o: o), ("dynamic", tfc.keras.DynamicOptimizer)):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(512, name="base"),
                                  keras.layers.Dense(64, name="head")])  # fmt: skip
        model.compile(optimizer=wrap(keras.optimizers.Adam(0.01)), loss="mse")
        model.train_on_batch(np.ones((4, 64), "float32"), np.ones((4, 64), "float32"))
        model.save(tmp_path / f"{name}.keras")
        sizes[name] = (tmp_path / f"{name}.keras").stat().st_size
    # Adam keeps two slots a weight: saving them twice made the file 1.67x as large.
    assert sizes["dynamic"] < sizes["plain"] * 1.02


def test_files_saved_by_tfcollections_0_1_still_load(tmp_path, monkeypatch):
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze("middle")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    old_save = keras.optimizers.Optimizer.save_own_variables  # 0.1: its own + the inner's
    monkeypatch.setattr(tfc.keras.DynamicOptimizer, "save_own_variables", old_save)
    model.save(tmp_path / "old.keras")
    monkeypatch.undo()
    loaded = keras.models.load_model(tmp_path / "old.keras")
    assert _layers(loaded.optimizer.frozen) == ["middle", "middle"]
    for ours, theirs in zip(loaded.optimizer.variables, optimizer.variables):
        assert np.array_equal(ours.numpy(), theirs.numpy()), ours.path


def test_trainable_guard_added_to_a_later_fit_still_names_the_layer():
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)  # traced without any guard
    model.get_layer("middle").trainable = False
    with pytest.raises(tfc.keras.TrainableChangedError, match="middle \\(now frozen\\)"):
        model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[tfc.keras.TrainableGuard()])


def test_trainable_guard_is_quiet_about_the_dynamic_optimizers_own_switches():
    model, optimizer = _conv_model_with()
    _fit_images(model, epochs=1)
    optimizer.set_frozen(["conv", "bn"])
    _fit_images(model, epochs=1)
    optimizer.set_frozen(["conv"])
    guard = tfc.keras.TrainableGuard()
    model.fit(keras_contract.IMAGES, keras_contract.Y, epochs=1, verbose=0, callbacks=[guard])
    model.get_layer("head").trainable = False  # behind the optimizer's back: the trap
    with pytest.raises(tfc.keras.TrainableChangedError, match="head \\(now frozen\\)"):
        model.fit(keras_contract.IMAGES, keras_contract.Y, epochs=1, verbose=0, callbacks=[guard])


def test_freeze_schedule_with_the_model_traces_once_a_pattern():
    model, optimizer = _conv_model_with()
    traces = keras_contract.count_traces(model)
    before = _bn_state(model)
    moved = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: moved.append(_moved(before, model))
    )
    schedule = tfc.keras.FreezeSchedule(optimizer, {0: ["conv", "bn"], 2: [], 3: ["conv", "bn"]})
    model.fit(
        keras_contract.IMAGES,
        keras_contract.Y,
        epochs=4,
        batch_size=8,
        verbose=0,
        callbacks=[schedule, record],
    )
    assert moved[:2] == [[], []]
    assert moved[2] == ["beta", "gamma", "moving_mean", "moving_variance"]
    assert len(traces) == 2  # epoch 3 goes back to epoch 0's function


def test_a_custom_loop_over_every_candidate_needs_no_retrace_with_the_model():
    model, optimizer = _conv_model_with()
    candidates = optimizer.candidates
    traces = []

    @tf.function
    def step():
        traces.append(1)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(keras_contract.IMAGES) - keras_contract.Y))
        optimizer.apply_gradients(zip(tape.gradient(loss, candidates), candidates))

    step()
    optimizer.freeze("head")
    head = _weights(model.get_layer("head"))
    step()
    assert _unchanged(head, model.get_layer("head"))
    optimizer.set_frozen([])
    step()
    assert not _unchanged(head, model.get_layer("head"))
    assert len(traces) == 1


def test_without_the_model_a_frozen_batchnorm_keeps_training_mode():
    """What the model= path fixes: the optimizer alone cannot switch BN to inference."""
    model = keras_contract.build_conv_model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze(["conv", "bn"])
    before = _bn_state(model)
    _fit_images(model)
    assert _moved(before, model) == ["moving_mean", "moving_variance"]
