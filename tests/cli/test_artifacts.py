"""`tfcollections dump` and `audit` on what TF2 and Keras 3 users have on disk, each artifact
built by the real libraries and checked against what those libraries report."""

import io
import json
import math
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfcollections as tfc
from tfcollections.cli import main


class Counter(tf.Module):
    def __init__(self):
        self.w = tf.Variable(1.5, name="w")
        self.steps = tf.Variable(0, trainable=False, name="steps")

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def __call__(self, x):
        return self.w * x


def _model(name: str) -> keras.Model:
    inputs = keras.Input((4,))
    base = keras.layers.Dense(8, name=f"{name}_base")
    norm = keras.layers.BatchNormalization(name=f"{name}_bn")
    head = keras.layers.Dense(1, name=f"{name}_head")
    return keras.Model(inputs, head(norm(base(inputs))), name=name)


def _fit(model, optimizer) -> None:
    model.compile(optimizer=optimizer, loss="mse")
    data = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model.fit(data, data[:, :1], epochs=1, verbose=0)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Each artifact, and the live object it was saved from."""
    root = tmp_path_factory.mktemp("artifacts")
    made = {"root": root}
    tf.saved_model.save(Counter(), str(root / "module"))
    frozen = _model("frozen")
    frozen.get_layer("frozen_base").trainable = False
    _fit(frozen, keras.optimizers.Adam(1e-3))
    frozen.export(str(root / "exported"), verbose=False)
    frozen.save(root / "frozen.keras")
    made["frozen"] = frozen
    with_model = _model("dyn")
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(1e-3), model=with_model)
    optimizer.freeze(with_model.get_layer("dyn_base"))
    _fit(with_model, optimizer)
    with_model.save(root / "dynamic.keras")
    made["dynamic"] = (with_model, optimizer)
    alone = _model("alone")  # the optimizer only: the layer's trainable flag stays on
    optimizer_only = tfc.keras.DynamicOptimizer(keras.optimizers.SGD(0.1))
    _fit(alone, optimizer_only)
    optimizer_only.freeze(alone.get_layer("alone_head"))
    _fit_again(alone)
    alone.save(root / "optimizer_only.keras")
    tf.train.Checkpoint(module=Counter()).save(str(root / "tf2ckpt" / "ckpt"))
    return made


def _fit_again(model) -> None:
    data = np.ones((8, 4), "float32")
    model.fit(data, data[:, :1], epochs=1, verbose=0)


def _run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys, *args):
    code, out, err = _run(capsys, *args, "--format", "json")
    assert err == ""
    return code, json.loads(out)


def test_tf2_saved_model_variables_come_from_the_object_graph(artifacts, capsys):
    code, data = _json(capsys, "dump", artifacts["root"] / "module")
    assert code == 0
    graph = data["graphs"][0]
    assert graph["tags"] == ["serve"]
    assert [c["key"] for c in graph["collections"]] == ["saved_model_main_op"]  # as before
    assert graph["variables"] == [
        {"path": "w", "name": "w", "dtype": "float32", "shape": [], "trainable": True},
        {"path": "steps", "name": "steps", "dtype": "int32", "shape": [], "trainable": False},
    ]
    code, out, _ = _run(capsys, "dump", artifacts["root"] / "module")
    assert "variables (object graph, 2)" in out
    assert any(line.split() == ["w", "w", "float32", "[]", "yes"] for line in out.splitlines())


def test_audit_of_a_tf2_saved_model_reports_trainables_and_no_train_op(artifacts, capsys):
    code, data = _json(capsys, "audit", artifacts["root"] / "module")
    assert code == 0 and data["train_op"] is False and data["problems"] == []
    trainable = {v["name"]: v["trainable"] for v in data["variables"]}
    assert trainable == {"w:0": True, "steps:0": False}
    assert {v["path"] for v in data["variables"]} == {"w", "steps"}
    code, out, _ = _run(capsys, "audit", artifacts["root"] / "module")
    assert code == 0 and "no train op in this graph" in out and "no problems" not in out


def test_keras_export_trainable_follows_the_models_trainable_weights(artifacts, capsys):
    model = artifacts["frozen"]
    _, data = _json(capsys, "dump", artifacts["root"] / "exported")
    shown = {v["name"]: v for v in data["graphs"][0]["variables"]}
    trainable = {w.path for w in model.trainable_weights}
    assert {name: v["trainable"] for name, v in shown.items()} == {
        w.path: w.path in trainable for w in model.weights
    }
    assert {name: v["shape"] for name, v in shown.items()} == {
        w.path: list(w.shape) for w in model.weights
    }


def test_keras_2_saved_model_names_objects_by_their_path(tmp_path, capsys):
    tf_keras = pytest.importorskip("tf_keras")
    model = tf_keras.Sequential(
        [tf_keras.layers.Dense(3, input_shape=(2,), name="d1"), tf_keras.layers.Dense(1)]
    )
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "k2", save_format="tf")
    _, data = _json(capsys, "dump", tmp_path / "k2")
    by_path = {v["path"]: v for v in data["graphs"][0]["variables"]}
    assert by_path["layer_with_weights-0/kernel"]["name"] == "d1/kernel"
    assert by_path["layer_with_weights-0/kernel"]["trainable"] is False
    assert by_path["layer_with_weights-1/kernel"]["trainable"] is True


def _expected_layers(model):
    return [
        {
            "path": layer.name,
            "class": type(layer).__name__,
            "trainable": layer.trainable,
            "weights": len(layer.weights),
            "params": layer.count_params(),
        }
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]


def test_keras_archive_layers_counts_and_optimizer(artifacts, capsys):
    model = artifacts["frozen"]
    code, data = _json(capsys, "dump", artifacts["root"] / "frozen.keras")
    assert code == 0 and data["graphs"] == []
    archive = data["keras"]
    assert archive["keras_version"] == keras.__version__ and archive["missing"] is None
    layers = [{k: v for k, v in layer.items() if k != "frozen"} for layer in archive["layers"]]
    assert layers == _expected_layers(model)
    assert archive["model"] == {
        "class": "Functional",
        "name": "frozen",
        "trainable_params": sum(math.prod(w.shape) for w in model.trainable_weights),
        "non_trainable_params": sum(math.prod(w.shape) for w in model.non_trainable_weights),
    }
    optimizer = archive["optimizer"]
    assert optimizer["class"] == "Adam" and optimizer["dynamic"] is False
    assert optimizer["config"]["learning_rate"] == pytest.approx(1e-3)
    code, out, _ = _run(capsys, "dump", artifacts["root"] / "frozen.keras")
    assert out.startswith(f"Functional model frozen, saved by Keras {keras.__version__}")
    assert any(line.split()[:3] == ["frozen_base", "Dense", "no"] for line in out.splitlines())
    assert "optimizer: Adam (learning_rate=0.001" in out


def test_keras_archive_counts_statistics_as_keras_does(tmp_path, capsys):
    normalize = keras.layers.Normalization(name="norm")
    normalize.adapt(np.random.default_rng(2).normal(size=(32, 4)).astype("float32"))
    model = keras.Sequential([keras.Input((4,)), normalize, keras.layers.Dense(1, name="out")])
    model.save(tmp_path / "normalized.keras")
    _, data = _json(capsys, "dump", tmp_path / "normalized.keras")
    assert data["keras"]["model"]["trainable_params"] == sum(
        math.prod(w.shape) for w in model.trainable_weights
    )
    assert data["keras"]["model"]["non_trainable_params"] == sum(
        math.prod(w.shape) for w in model.non_trainable_weights
    )
    assert model.non_trainable_weights  # the statistics are there, and not trained


def test_keras_archive_of_a_dynamic_optimizer_names_the_frozen_weights(artifacts, capsys):
    model, optimizer = artifacts["dynamic"]
    _, data = _json(capsys, "dump", artifacts["root"] / "dynamic.keras")
    archive = data["keras"]
    assert archive["optimizer"]["class"] == "DynamicOptimizer"
    assert archive["optimizer"]["dynamic"] is True and archive["optimizer"]["attached"] is True
    assert archive["optimizer"]["config"]["inner_optimizer"]["class_name"] == "Adam"
    expected = [
        {"layer": layer.name, "index": index, "shape": list(weight.shape)}
        for layer in model.layers
        for index, weight in enumerate(layer.weights)
        if any(weight is frozen for frozen in optimizer.frozen)
    ]
    assert archive["optimizer"]["frozen"] == expected and expected
    frozen_counts = {layer["path"]: layer["frozen"] for layer in archive["layers"]}
    assert frozen_counts == {"dyn_base": 2, "dyn_bn": 0, "dyn_head": 0}
    # model=: a layer the optimizer froze is saved trainable (so that the optimizer's state
    # loads), and attach(model) freezes it again after loading: not a disagreement.
    assert [layer["trainable"] for layer in archive["layers"]] == [True, True, True]
    assert archive["model"]["trainable_params"] == sum(
        math.prod(w.shape) for w in model.trainable_weights
    )  # counted as the live model (and the loaded one after attach) trains
    code, out, _ = _run(capsys, "audit", artifacts["root"] / "dynamic.keras")
    assert code == 0 and "no problems" in out
    assert not model.get_layer("dyn_base").trainable  # saving left the live model as it was


def test_audit_flags_a_layer_frozen_by_the_optimizer_with_trainable_still_on(artifacts, capsys):
    code, data = _json(capsys, "audit", artifacts["root"] / "optimizer_only.keras")
    assert code == 1 and data["dynamic"] is True
    assert data["problems"] == [{"layer": "alone_head", "problem": "frozen-but-trainable"}]
    code, out, _ = _run(capsys, "audit", artifacts["root"] / "optimizer_only.keras")
    assert code == 1 and "alone_head: frozen-but-trainable: the saved DynamicOptimizer" in out
    code, out, _ = _run(capsys, "audit", artifacts["root"] / "frozen.keras")
    assert code == 0 and "no DynamicOptimizer in this archive" in out


def test_checkpoint_folder_names_the_meta_graph_it_read(tmp_path, capsys):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        tf.compat.v1.Variable(1.0, name="v")
        session.run(tf.compat.v1.global_variables_initializer())
        saver = tf.compat.v1.train.Saver()
        for step in (1, 2):
            saver.save(session, str(tmp_path / "ckpt" / "model"), global_step=step)
    _, data = _json(capsys, "dump", tmp_path / "ckpt")
    assert data["source"] == str(tmp_path / "ckpt" / "model-2.meta")
    _, out, _ = _run(capsys, "dump", tmp_path / "ckpt")
    assert out.splitlines()[0] == f"meta graph: {tmp_path / 'ckpt' / 'model-2.meta'}"


def _damaged(root, tmp_path):
    good = (root / "frozen.keras").read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}

    def archive_of(name: str, content: dict) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for member, data in content.items():
                archive.writestr(member, data)
        (tmp_path / name).write_bytes(buffer.getvalue())
        return tmp_path / name

    (tmp_path / "truncated.keras").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.keras").write_text("not a zip\n")
    no_config = {k: v for k, v in members.items() if k != "config.json"}
    bad_h5 = {**members, "model.weights.h5": members["model.weights.h5"][:300]}
    return [
        (["dump", tmp_path / "truncated.keras"], "not a valid zip file"),
        (["dump", tmp_path / "text.keras"], "not a .keras archive"),
        (["dump", archive_of("no_config.keras", no_config)], "no config.json"),
        (["dump", archive_of("bad_json.keras", {**members, "config.json": b"{oops"})],
         "config.json is not valid JSON"),
        (["dump", archive_of("bad_h5.keras", bad_h5)], "model.weights.h5 is not a valid HDF5"),
        (["audit", tmp_path / "text.keras"], "not a .keras archive"),
        (["dump", root / "tf2ckpt"], "TF2 object-based checkpoint (ckpt-1.index, no ckpt-1.meta)"),
        (["dump", root / "frozen.keras", "--collection", "losses"], "has no graph collections"),
        (["dump", root / "frozen.keras", "--tag-set", "serve"], "--tag-set applies to a Saved"),
    ]  # fmt: skip


def test_bad_artifacts_are_one_line_exit_2_and_nothing_written(artifacts, capsys, tmp_path):
    for args, expected in _damaged(artifacts["root"], tmp_path):
        before = sorted(p.name for p in tmp_path.iterdir())
        code, out, err = _run(capsys, *args)
        assert code == 2 and out == "", args
        assert err.startswith("tfcollections: error:") and expected in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and str(args[1]) in err, err
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def _probe(code: str, target) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=120
    )


def test_a_keras_archive_is_read_without_tensorflow_or_keras(artifacts):
    result = _probe(
        "import sys; from tfcollections.cli import main; code = main(['dump', sys.argv[1]]);"
        "roots = {m.split('.')[0] for m in sys.modules};"
        "assert not roots & {'tensorflow', 'keras'}, roots; sys.exit(code)",
        artifacts["root"] / "dynamic.keras",
    )
    assert result.returncode == 0, result.stderr
    assert "frozen by DynamicOptimizer: 2 of" in result.stdout


def test_without_h5py_the_layers_show_and_the_missing_piece_is_named(artifacts):
    result = _probe(
        "import sys; sys.modules['h5py'] = None; from tfcollections.cli import main;"
        "sys.exit(main(['dump', sys.argv[1], '--format', 'json']))",
        artifacts["root"] / "dynamic.keras",
    )
    assert result.returncode == 0, result.stderr
    archive = json.loads(result.stdout)["keras"]
    assert archive["missing"] == "h5py" and archive["model"]["trainable_params"] is None
    assert [(layer["path"], layer["class"]) for layer in archive["layers"]] == [
        ("dyn_base", "Dense"),
        ("dyn_bn", "BatchNormalization"),
        ("dyn_head", "Dense"),
    ]
    assert archive["optimizer"]["dynamic"] is True and archive["optimizer"]["frozen"] is None
    text = _probe(
        "import sys; sys.modules['h5py'] = None; from tfcollections.cli import main;"
        "sys.exit(main(['dump', sys.argv[1]]))",
        artifacts["root"] / "dynamic.keras",
    )
    assert "h5py is not installed: weight counts and a DynamicOptimizer's" in text.stdout


# -- Keras 2 (tf_keras) files: model.save("m.h5") and .keras -----------------------------


@pytest.fixture(scope="module")
def keras2_files(tmp_path_factory):
    """tf_keras models saved as .h5 and .keras, with a DynamicOptimizer of each family given
    the model (base frozen) and a plain optimizer with a layer the user froze."""
    tf_keras = pytest.importorskip("tf_keras")
    root = tmp_path_factory.mktemp("keras2")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(32, 1)).astype("float32")
    saved = {}
    for name, make in (
        ("current", lambda: tf_keras.optimizers.Adam(1e-3)),
        ("legacy", lambda: tf_keras.optimizers.legacy.Adam(1e-3)),
        ("plain", None),
    ):
        inputs = tf_keras.Input((4,))
        hidden = tf_keras.layers.BatchNormalization(name="bn")(
            tf_keras.layers.Dense(8, name="base")(inputs)
        )
        model = tf_keras.Model(inputs, tf_keras.layers.Dense(1, name="head")(hidden), name=name)
        if make is None:
            model.get_layer("base").trainable = False
            model.compile(optimizer=tf_keras.optimizers.Adam(1e-3), loss="mse")
            optimizer = None
        else:
            optimizer = tfc.keras.DynamicOptimizer(make(), model=model)
            model.compile(optimizer=optimizer, loss="mse")
            optimizer.freeze("base")
        model.fit(x, y, epochs=1, verbose=0)
        for suffix in (".h5", ".keras"):
            model.save(root / f"{name}{suffix}")
        saved[name] = (model, optimizer)
    return root, saved


@pytest.mark.parametrize("name", ["current", "legacy"])
def test_keras2_h5_names_the_frozen_set_of_either_optimizer_family(keras2_files, capsys, name):
    root, saved = keras2_files
    model, optimizer = saved[name]
    code, data = _json(capsys, "dump", root / f"{name}.h5")
    assert code == 0 and data["graphs"] == []
    archive = data["keras"]
    assert archive["keras_version"].startswith("2.")
    assert archive["optimizer"]["dynamic"] is True and archive["optimizer"]["attached"] is True
    expected = [
        {"layer": layer.name, "index": index, "shape": list(weight.shape)}
        for layer in model.layers
        for index, weight in enumerate(layer.weights)
        if any(weight is frozen for frozen in optimizer.frozen)
    ]
    assert archive["optimizer"]["frozen"] == expected and expected
    assert [layer["trainable"] for layer in archive["layers"]] == [True, True, True]  # as built
    assert archive["model"]["trainable_params"] == sum(
        math.prod(w.shape) for w in model.trainable_weights
    )
    code, out, _ = _run(capsys, "audit", root / f"{name}.h5")
    assert code == 0 and "no problems" in out
    code, out, _ = _run(capsys, "dump", root / f"{name}.h5")
    assert f"Functional model {name}, saved by Keras 2." in out
    assert "frozen by DynamicOptimizer: 2 of" in out


def test_keras2_h5_and_keras_files_of_a_plain_model_read_as_keras_does(keras2_files, capsys):
    root, saved = keras2_files
    model, _ = saved["plain"]
    for suffix in (".h5", ".keras"):
        code, data = _json(capsys, "dump", root / f"plain{suffix}")
        archive = data["keras"]
        assert code == 0 and archive["optimizer"]["dynamic"] is False, suffix
        assert [layer["path"] for layer in archive["layers"]] == ["base", "bn", "head"]
        assert archive["layers"][0]["trainable"] is False
        assert archive["model"] == {
            "class": "Functional",
            "name": "plain",
            "trainable_params": sum(math.prod(w.shape) for w in model.trainable_weights),
            "non_trainable_params": sum(math.prod(w.shape) for w in model.non_trainable_weights),
        }, suffix
    code, data = _json(capsys, "dump", root / "current.keras")
    assert data["keras"]["optimizer"]["frozen"] is not None  # tf_keras .keras: flags read


def test_bad_hdf5_files_are_one_line_exit_2(keras2_files, capsys, tmp_path):
    root, saved = keras2_files
    saved["plain"][0].save_weights(tmp_path / "weights_only.h5")
    good = (root / "plain.h5").read_bytes()
    (tmp_path / "truncated.h5").write_bytes(good[: len(good) // 3])
    (tmp_path / "text.h5").write_text("not hdf5\n")
    cases = [
        (tmp_path / "weights_only.h5", "Keras weights only, from save_weights"),
        (tmp_path / "truncated.h5", "not a readable HDF5 file"),
        (tmp_path / "text.h5", "the CLI reads MetaGraphDef files"),
    ]
    for target, expected in cases:
        code, out, err = _run(capsys, "dump", target)
        assert code == 2 and out == "" and expected in err, (target, err)
        assert len(err.strip().splitlines()) == 1 and str(target) in err
