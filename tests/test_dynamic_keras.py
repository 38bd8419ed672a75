"""tfcollections.keras: the contract bit for bit, fit/train_on_batch without retracing,
save/load, checkpoints, MirroredStrategy, FreezeSchedule and TrainableGuard."""

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


def _counting_traces(model):
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(1)  # runs when Keras traces the train function, not per step
        return step(data)

    model.train_step = counted
    return traces


@pytest.mark.parametrize(
    ("name", "jit"),
    [(name, False) for name in sorted(keras_contract.OPTIMIZERS)] + [("Adam", True)],
)
def test_fit_freezes_without_recompiling_or_retracing(name, jit):
    model = _model()
    optimizer = tfc.keras.DynamicOptimizer(keras_contract.OPTIMIZERS[name]())
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit)
    traces = _counting_traces(model)
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
        with strategy.scope():
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="base"),
                                      keras.layers.Dense(1, name="head")])
            optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.AdamW(0.01))
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
    assert result.stdout.split() == ["ok", "12"]
