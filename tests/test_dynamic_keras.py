"""tfcollections.keras: the contract bit for bit, fit/train_on_batch without retracing,
save/load, checkpoints, MirroredStrategy, FreezeSchedule and TrainableGuard; each on Keras 3
and on Keras 2 (tf_keras, with its current and its legacy optimizers) where it applies."""

import warnings

import keras
import keras_contract
import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from helpers import run_python
from keras_contract import FLAVOURS, KERAS3, path

import tfcollections as tfc

X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(64, 1)).astype("float32")
KERAS2 = [FLAVOURS["keras2"], FLAVOURS["keras2-legacy"]]


@pytest.fixture(params=list(FLAVOURS.values()), ids=str)
def flavour(request):
    """Keras 3, Keras 2 with a current optimizer, Keras 2 with a legacy one."""
    return request.param


def _adam(flavour, **options):
    return flavour.optimizers["Adam"](**options)


@pytest.mark.parametrize(("flavour", "name"), keras_contract.CASES, ids=str)
def test_contract_in_a_custom_loop(flavour, name):
    keras_contract.check_contract(name, seed=len(name), flavour=flavour)


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


@pytest.mark.parametrize("flavour", KERAS2, ids=str)
@pytest.mark.parametrize("option", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_keras2_contract_with_clipping(flavour, option):
    keras_contract.check_contract("Adam", flavour=flavour, **{option: 0.1})


def _model(flavour=KERAS3):
    return keras_contract.build_model(flavour)


def _layers(variables):
    """The layer name of each variable (paths lose the model prefix after a load)."""
    return [path(v).split("/")[-2] for v in variables]


def _weights(layer):
    return [w.numpy().copy() for w in layer.weights]


def _unchanged(before, layer):
    return all(np.array_equal(a, w.numpy()) for a, w in zip(before, layer.weights))


@pytest.mark.parametrize(
    ("flavour", "name", "jit"),
    [(flavour, name, False) for flavour, name in keras_contract.CASES] + [(KERAS3, "Adam", True)],
    ids=str,
)
def test_fit_freezes_without_recompiling_or_retracing(flavour, name, jit):
    model = _model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(flavour.optimizers[name]())
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


def _values(optimizer, model):
    variables = keras_contract._optimizer_variables(optimizer)
    return [v.numpy().copy() for v in [*model.weights, *variables] if v.dtype != tf.bool]


def test_train_on_batch_and_everything_frozen(flavour):
    model = _model(flavour)
    optimizer = tfc.dynamic(flavour.optimizers["SGD"]())
    assert isinstance(optimizer, tfc.keras.DynamicOptimizer)
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(X, Y)
    optimizer.freeze(model)  # a model stands for all its weights
    state = _values(optimizer, model)
    model.train_on_batch(X, Y)
    moved = [i for i, (a, b) in enumerate(zip(state, _values(optimizer, model))) if (a != b).any()]
    assert len(moved) == 1  # only the iteration counter
    optimizer.unfreeze("*head*")  # a glob on the variable path or name
    model.train_on_batch(X, Y)
    assert _layers(optimizer.frozen) == ["base"] * 2 + ["middle"] * 2


def test_freeze_schedule_callback(flavour):
    model = _model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour))
    model.compile(optimizer=optimizer, loss="mse")
    schedule = tfc.keras.FreezeSchedule(optimizer, {0: ["base", "middle"], 2: []})
    seen = []
    record = flavour.keras.callbacks.LambdaCallback(
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


KERAS2_SAVES = [
    (flavour, suffix, attach)
    for flavour in KERAS2
    for suffix in (".keras", ".h5", "")  # "" is a SavedModel folder
    for attach in (False, True)
    if not (flavour.name == "keras2-legacy" and suffix == ".keras")
]


@pytest.mark.parametrize(("flavour", "suffix", "attach"), KERAS2_SAVES, ids=str)
def test_keras2_saves_keep_the_frozen_set_and_the_optimizer_state(
    tmp_path, flavour, suffix, attach
):
    model = _model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour), model=model if attach else None)
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze("middle")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    state = [v.numpy().copy() for v in keras_contract._optimizer_variables(optimizer)]
    path = str(tmp_path / f"model{suffix}")
    model.save(path)
    loaded = flavour.keras.models.load_model(path)  # by the registered name
    if not suffix:
        tfc.keras.restore_optimizer(loaded, path)  # tf_keras drops a SavedModel's optimizer
    assert type(loaded.optimizer) is type(optimizer)
    restored = [v.numpy() for v in keras_contract._optimizer_variables(loaded.optimizer)]
    assert len(restored) == len(state)
    assert all(np.array_equal(a, b) for a, b in zip(state, restored))  # slots, step, flags
    assert _layers(loaded.optimizer.frozen) == ["middle", "middle"]
    assert loaded.get_layer("middle").trainable  # saved as the user built it
    assert not attach or not model.get_layer("middle").trainable  # saving changed nothing
    middle = _weights(loaded.get_layer("middle"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "loaded without its state"
        loaded.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert _unchanged(middle, loaded.get_layer("middle"))
    assert int(loaded.optimizer.iterations.numpy()) == 4


@pytest.mark.parametrize("flavour", KERAS2, ids=str)
def test_keras2_load_with_custom_objects_and_a_load_that_drops_the_state_warns(tmp_path, flavour):
    model = _model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour))
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze("middle")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    model.save(tmp_path / "model.h5")
    custom = {type(optimizer).__name__: type(optimizer)}
    loaded = flavour.keras.models.load_model(tmp_path / "model.h5", custom_objects=custom)
    assert _layers(loaded.optimizer.frozen) == ["middle", "middle"]
    model.save(tmp_path / "folder")
    dropped = flavour.keras.models.load_model(tmp_path / "folder")  # no restore_optimizer
    with pytest.raises(tfc.TfCollectionsError, match="model.h5: not a SavedModel folder"):
        tfc.keras.restore_optimizer(dropped, tmp_path / "model.h5")
    with pytest.warns(UserWarning, match="loaded from a saved model without its state"):
        dropped.fit(X, Y, epochs=1, batch_size=32, verbose=0)


def test_tf_keras_keeps_no_legacy_optimizer_state_in_a_keras_file(tmp_path):
    """Why the README sends legacy optimizers to .h5: tf_keras drops their state there."""
    model = _model(FLAVOURS["keras2"])
    model.compile(optimizer=tf_keras.optimizers.legacy.Adam(0.01), loss="mse")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    model.save(tmp_path / "plain.keras")
    loaded = tf_keras.models.load_model(tmp_path / "plain.keras")
    assert int(loaded.optimizer.iterations.numpy()) == 0


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


def test_frozen_set_survives_a_tf_train_checkpoint(tmp_path, flavour):
    model = _model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour))
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    optimizer.freeze("head")
    state = [v.numpy().copy() for v in keras_contract._optimizer_variables(optimizer)]
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    saved = checkpoint.save(str(tmp_path / "ckpt"))
    optimizer.set_frozen([])
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    checkpoint.restore(saved)
    assert _layers(optimizer.frozen) == ["head", "head"]
    restored = [v.numpy() for v in keras_contract._optimizer_variables(optimizer)]
    assert all(np.array_equal(a, b) for a, b in zip(state, restored))


def test_bad_targets_and_misuse():
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(0.01))
    with pytest.raises(tfc.TrainOpStateError, match="built at the first training step"):
        _ = optimizer.frozen
    optimizer.build(model.trainable_weights)
    with pytest.raises(tfc.UnknownTargetError, match="'hed'.*close names"):
        optimizer.freeze("hed")
    with pytest.raises(tfc.TfCollectionsError, match="wraps a keras or tf_keras Optimizer"):
        tfc.keras.DynamicOptimizer(tf.compat.v1.train.AdamOptimizer(0.1))
    with pytest.raises(tfc.TfCollectionsError, match="wraps a tf.compat.v1.train.Optimizer"):
        tfc.dynamic("adam")
    assert isinstance(tfc.dynamic(tf.compat.v1.train.AdamOptimizer(0.1)), tfc.DynamicOptimizer)
    with pytest.raises(tfc.TfCollectionsError, match="use_ema=True"):
        tfc.keras.DynamicOptimizer(tf_keras.optimizers.Adam(use_ema=True))


def test_which_keras_is_read_from_the_optimizer_so_one_process_holds_both():
    for make in (keras.optimizers.Adam, tf_keras.optimizers.Adam, tf_keras.optimizers.legacy.Adam):
        optimizer = tfc.keras.DynamicOptimizer(make(0.01))
        assert isinstance(optimizer, tfc.keras.DynamicOptimizer)
        assert isinstance(tfc.dynamic(make(0.01)), type(optimizer))
    legacy = tfc.keras.DynamicOptimizer(tf_keras.optimizers.legacy.Adam(0.01))
    assert isinstance(legacy, tf_keras.optimizers.legacy.Optimizer)
    current = tfc.keras.DynamicOptimizer(tf_keras.optimizers.Adam(0.01))
    assert isinstance(current, tf_keras.optimizers.Optimizer)
    with pytest.raises(tfc.TfCollectionsError, match="built tf_keras Model"):
        current.attach(_model())  # a Keras 3 model


def test_trainable_guard_raises_on_the_keras_trap_and_can_retrace(flavour):
    model = _model(flavour)
    model.compile(optimizer=_adam(flavour), loss="mse")
    guard = tfc.keras.TrainableGuard()
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[guard])
    model.get_layer("base").trainable = False
    with pytest.raises(
        tfc.keras.TrainableChangedError, match="base \\(now frozen\\).*DynamicOptimizer"
    ):
        model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[guard])
    retrace = _model(flavour)
    retrace.compile(optimizer=_adam(flavour), loss="mse")
    retracer = tfc.keras.TrainableGuard(action="retrace")
    retrace.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[retracer])
    retrace.get_layer("base").trainable = False
    base = _weights(retrace.get_layer("base"))
    retrace.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[retracer])
    assert _unchanged(base, retrace.get_layer("base"))


def test_the_keras_trap_itself_without_the_guard(flavour):
    """The reason for all of the above: Keras 3 ignores trainable=False after a fit, and
    Keras 2 after compile()."""
    model = _model(flavour)
    model.compile(optimizer=_adam(flavour), loss="mse")
    if flavour.keras is keras:
        model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    model.get_layer("base").trainable = False
    base = _weights(model.get_layer("base"))
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    assert not _unchanged(base, model.get_layer("base"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "optimizer"),
    [
        ("keras", "keras.optimizers.AdamW"),
        ("tf_keras", "keras.optimizers.AdamW"),
        ("tf_keras", "keras.optimizers.legacy.Adam"),
    ],
)
def test_mirrored_strategy_on_two_logical_cpus(module, optimizer):
    result = run_python(
        f"""
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        import {module} as keras
        import tfcollections as tfc
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        y = np.random.default_rng(1).normal(size=(64, 1)).astype("float32")
        for attach in (False, True):  # the optimizer alone, and given the model
            with strategy.scope():
                model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="base"),
                                          keras.layers.Dense(1, name="head")])
                optimizer = tfc.keras.DynamicOptimizer(
                    {optimizer}(0.01), model=model if attach else None
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


@pytest.mark.parametrize(("flavour", "name"), keras_contract.CASES, ids=str)
def test_fit_contract_with_the_model_against_keras_trainable_false(flavour, name):
    keras_contract.check_fit_contract(name, seed=len(name), flavour=flavour)


@pytest.mark.slow
def test_fit_contract_with_the_model_and_jit_compile():
    keras_contract.check_fit_contract("Adam", jit=True)


def _conv_model_with(flavour=KERAS3, **options):
    model = keras_contract.build_conv_model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour), model=model, **options)
    model.compile(optimizer=optimizer, loss="mse")
    return model, optimizer


def _fit_images(model, epochs=2):
    model.fit(keras_contract.IMAGES, keras_contract.Y, epochs=epochs, batch_size=8, verbose=0)


def _bn_state(model):
    return {
        path(w).split("/")[-1].removesuffix(":0"): w.numpy().copy()
        for w in model.get_layer("bn").weights
    }


def _moved(before, model):
    after = _bn_state(model)
    return sorted(name for name in before if not np.array_equal(before[name], after[name]))


def _trains_as_frozen(model, name):
    """The pattern sets the layer's flag, as a user freezing it would; under Keras 2 also in
    the flags Keras 2 trains with (the ones `compile()` took)."""
    layer = model.get_layer(name)
    if isinstance(model, keras.Model):
        return not layer.trainable
    return not layer.trainable and model._compiled_trainable_state[layer] is False


def test_frozen_batchnorm_is_in_inference_mode_and_trains_again_when_unfrozen(flavour):
    model, optimizer = _conv_model_with(flavour)
    _fit_images(model)
    optimizer.freeze(["conv", "bn"])
    assert _trains_as_frozen(model, "bn")  # as a user freezing it would set it
    before = _bn_state(model)
    _fit_images(model)
    assert _moved(before, model) == []  # gamma, beta, moving mean and variance
    optimizer.unfreeze("bn")
    assert not _trains_as_frozen(model, "bn")
    _fit_images(model)
    assert _moved(before, model) == ["beta", "gamma", "moving_mean", "moving_variance"]


def test_batchnorm_training_keeps_statistics_updating_while_frozen(flavour):
    model, optimizer = _conv_model_with(flavour, batchnorm="training")
    optimizer.freeze(["conv", "bn"])
    assert not _trains_as_frozen(model, "bn")  # still normalizing with batch statistics
    before = _bn_state(model)
    _fit_images(model)
    assert _moved(before, model) == ["moving_mean", "moving_variance"]


def test_freezing_part_of_a_layer_stays_exact(flavour):
    model, optimizer = _conv_model_with(flavour)
    conv = model.get_layer("conv")
    optimizer.freeze(conv.kernel)
    assert conv.trainable and not _trains_as_frozen(model, "conv")
    if flavour.keras is keras:  # a Keras 3 variable's flag can be set; a tf.Variable's not
        assert not conv.kernel.trainable and conv.bias.trainable
    kernel, bias = conv.kernel.numpy().copy(), conv.bias.numpy().copy()
    _fit_images(model)
    assert np.array_equal(kernel, conv.kernel.numpy())
    assert not np.array_equal(bias, conv.bias.numpy())


def test_a_pattern_seen_before_is_swapped_in_without_a_trace(flavour):
    model, optimizer = _conv_model_with(flavour)
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


def test_everything_frozen_with_the_model_moves_nothing(flavour):
    model, optimizer = _conv_model_with(flavour)
    _fit_images(model, epochs=1)
    optimizer.freeze(model)
    state = _values(optimizer, model)
    if flavour.keras is keras:
        with pytest.warns(UserWarning, match="does not have any trainable weights"):
            _fit_images(model, epochs=1)
    else:
        _fit_images(model, epochs=1)
    after = _values(optimizer, model)
    assert all(np.array_equal(a, b) for a, b in zip(state, after))  # iterations included


def test_flags_changed_behind_the_optimizer_stop_the_step(tmp_path, flavour):
    model, optimizer = _conv_model_with(flavour)
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
    assert _trains_as_frozen(model, "conv") and not _trains_as_frozen(model, "head")
    _fit_images(model, epochs=1)


def test_attach_refuses_what_it_cannot_use(flavour):
    k = flavour.keras
    built = keras_contract.build_conv_model(flavour)
    unbuilt = k.Sequential([k.layers.Dense(1)])
    with pytest.raises(tfc.TfCollectionsError, match="built .*keras Model.*model.build"):
        tfc.keras.DynamicOptimizer(_adam(flavour), model=unbuilt)
    with pytest.raises(tfc.TfCollectionsError, match="batchnorm must be one of"):
        tfc.keras.DynamicOptimizer(_adam(flavour), model=built, batchnorm="frozen")
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour), model=built)
    with pytest.raises(tfc.TfCollectionsError, match="another model"):
        optimizer.attach(_model(flavour))


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


def test_trainable_guard_added_to_a_later_fit_still_names_the_layer(flavour):
    model = _model(flavour)
    model.compile(optimizer=_adam(flavour), loss="mse")
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0)  # traced without any guard
    model.get_layer("middle").trainable = False
    with pytest.raises(tfc.keras.TrainableChangedError, match="middle \\(now frozen\\)"):
        model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[tfc.keras.TrainableGuard()])


def test_trainable_guard_is_quiet_about_the_dynamic_optimizers_own_switches(flavour):
    model, optimizer = _conv_model_with(flavour)
    _fit_images(model, epochs=1)
    optimizer.set_frozen(["conv", "bn"])
    _fit_images(model, epochs=1)
    optimizer.set_frozen(["conv"])
    guard = tfc.keras.TrainableGuard()
    model.fit(keras_contract.IMAGES, keras_contract.Y, epochs=1, verbose=0, callbacks=[guard])
    model.get_layer("head").trainable = False  # behind the optimizer's back: the trap
    with pytest.raises(tfc.keras.TrainableChangedError, match="head \\(now frozen\\)"):
        model.fit(keras_contract.IMAGES, keras_contract.Y, epochs=1, verbose=0, callbacks=[guard])


def test_freeze_schedule_with_the_model_traces_once_a_pattern(flavour):
    model, optimizer = _conv_model_with(flavour)
    traces = keras_contract.count_traces(model)
    before = _bn_state(model)
    moved = []
    record = flavour.keras.callbacks.LambdaCallback(
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


def test_a_custom_loop_over_every_candidate_needs_no_retrace_with_the_model(flavour):
    model, optimizer = _conv_model_with(flavour)
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


def test_without_the_model_a_frozen_batchnorm_keeps_training_mode(flavour):
    """What the model= path fixes: the optimizer alone cannot switch BN to inference."""
    model = keras_contract.build_conv_model(flavour)
    optimizer = tfc.keras.DynamicOptimizer(_adam(flavour))
    model.compile(optimizer=optimizer, loss="mse")
    optimizer.freeze(["conv", "bn"])
    before = _bn_state(model)
    _fit_images(model)
    assert _moved(before, model) == ["moving_mean", "moving_variance"]
