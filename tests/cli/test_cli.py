"""`tfcollections dump / keys / audit` against what TensorFlow itself reports."""

import json
import subprocess
import sys

import pytest
import tensorflow as tf

import tfcollections as tfc
from tfcollections.cli import main


def _run(capsys, *args):
    code = main(list(map(str, args)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys, *args):
    code, out, err = _run(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def _tensorflow_view(meta_path):
    """Collection sizes and trainable names as TF reports them after import_meta_graph."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.train.import_meta_graph(str(meta_path))
        counts = {key: len(graph.get_collection(key)) for key in graph.get_all_collection_keys()}
        trainable = [v.name for v in tf.compat.v1.trainable_variables()]
        global_ = [v.name for v in tf.compat.v1.global_variables()]
    return counts, trainable, global_


def _collections(graph_json):
    return {c["key"]: c for c in graph_json["collections"]}


@pytest.mark.parametrize("kind", ["meta", "pbtxt"])
def test_dump_meta_graph_matches_tensorflow(saved, capsys, kind):
    data = _json(capsys, "dump", saved[kind])
    assert data["source"] == str(saved[kind]) and len(data["graphs"]) == 1
    graph = data["graphs"][0]
    assert graph["tags"] is None
    collections = _collections(graph)
    counts, trainable, global_ = _tensorflow_view(saved["meta"])
    assert {key: c["count"] for key, c in collections.items()} == counts
    assert [m["name"] for m in collections["trainable_variables"]["members"]] == trainable
    variables = collections["variables"]
    assert [m["name"] for m in variables["members"]] == global_
    assert variables["name"] == "GLOBAL_VARIABLES" and variables["kind"] == "bytes_list"
    x = next(m for m in variables["members"] if m["name"] == "x:0")
    assert x == {"name": "x:0", "op": "VarHandleOp", "dtype": "float32", "shape": [],
                 "trainable": False}  # fmt: skip
    losses = collections["losses"]
    assert losses["kind"] == "node_list" and losses["name"] == "LOSSES"
    assert losses["members"][0]["name"] == "l2_y:0" and losses["members"][0]["op"] == "L2Loss"
    assert collections["summaries"]["members"][0]["op"] == "ScalarSummary"


def test_dump_checkpoint_folder_reads_the_latest_meta_graph(saved, capsys):
    data = _json(capsys, "dump", saved["checkpoint"])
    counts, _, _ = _tensorflow_view(saved["checkpoint"] / "model.meta")
    assert {key: c["count"] for key, c in _collections(data["graphs"][0]).items()} == counts


def test_dump_saved_model_every_meta_graph_or_one_tag_set(saved, capsys):
    data = _json(capsys, "dump", saved["saved_model"])
    assert [graph["tags"] for graph in data["graphs"]] == [["serve"], ["serve", "gpu"]]
    one = _json(capsys, "dump", saved["saved_model"], "--tag-set", "gpu,serve")
    assert [graph["tags"] for graph in one["graphs"]] == [["serve", "gpu"]]
    assert "trainable_variables" in _collections(one["graphs"][0])
    single_file = _json(capsys, "dump", saved["saved_model"] / "saved_model.pb")
    assert len(single_file["graphs"]) == 2


def test_dump_script_shows_live_collections_python_objects_included(saved, capsys):
    code, out, err = _run(capsys, "dump", saved["script"], "--format", "json")
    assert code == 0 and "building the graph" in err
    collections = _collections(json.loads(out)["graphs"][0])
    assert collections["notes"]["kind"] == "python"
    assert collections["notes"]["members"][0]["name"] == repr({"lr": 0.01})
    assert collections["losses"]["members"][0]["name"] == "l2:0"
    assert collections["variables"]["kind"] == "bytes_list"
    trainable = [m["name"] for m in collections["trainable_variables"]["members"]]
    assert trainable == ["x:0", "y:0"]
    assert collections["train_op"]["kind"] == "node_list"


def test_dump_package_module_function_from_the_current_folder(saved, capsys, monkeypatch):
    monkeypatch.chdir(saved["root"])
    data = _json(capsys, "dump", "mymodels.nets:build")
    collections = _collections(data["graphs"][0])
    assert collections["losses"]["members"][0]["name"] == "sq:0"
    assert [m["name"] for m in collections["variables"]["members"]] == ["w:0"]


def test_table_output_and_members(saved, capsys):
    code, out, _ = _run(capsys, "dump", saved["meta"], "--members")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["key", "GraphKeys", "kind", "count"]
    assert ["trainable_variables", "TRAINABLE_VARIABLES", "bytes_list", "1"] in [
        line.split() for line in lines
    ]
    assert ["x:0", "VarHandleOp", "float32", "[]", "no"] in [line.split() for line in lines]
    assert ["y:0", "VarHandleOp", "float32", "[]", "yes"] in [line.split() for line in lines]
    code, out, _ = _run(capsys, "dump", saved["meta"], "--tablefmt", "github")
    assert out.startswith("| key")


def test_collection_filter(saved, capsys):
    data = _json(capsys, "dump", saved["meta"], "--collection", "losses", "--collection",
                 "summaries")  # fmt: skip
    assert [c["key"] for c in data["graphs"][0]["collections"]] == ["losses", "summaries"]


def test_keys_catalog(capsys):
    code, out, _ = _run(capsys, "keys")
    assert code == 0
    for entry in tfc.GRAPH_KEYS.values():
        assert entry.name in out and entry.key in out
    data = _json(capsys, "keys")
    assert {item["key"]: item["name"] for item in data} == {
        key: entry.name for key, entry in tfc.GRAPH_KEYS.items()
    }


def test_audit_flags_the_seed_trap(saved, capsys):
    code, out, _ = _run(capsys, "audit", saved["meta"], "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["problems"] == [{"variable": "x:0", "problem": "updated-not-trainable"}]
    by_name = {v["name"]: v for v in data["variables"]}
    assert by_name["x:0"]["global"] and not by_name["x:0"]["trainable"]
    assert by_name["x:0"]["updated_by"] == ["Adam/update_x/ResourceApplyAdam"]
    assert by_name["y:0"]["trainable"] and by_name["y:0"]["updated_by"]
    assert by_name["beta1_power:0"]["updated_by"] == []  # a plain assign, not a train op
    code, out, _ = _run(capsys, "audit", saved["meta"])
    assert code == 1 and "x:0: updated-not-trainable" in out


def test_audit_trainable_not_updated_and_clean_graphs(saved, capsys, tmp_path):
    late = tmp_path / "late.py"
    late.write_text(
        "import tensorflow as tf\n"
        "x = tf.compat.v1.Variable(1.0, name='x')\n"
        "tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(x * 2.0)\n"
        "z = tf.compat.v1.Variable(1.0, name='z', trainable=False)\n"
        "tf.compat.v1.add_to_collection('trainable_variables', z)\n"
    )
    data = json.loads(_run(capsys, "audit", late, "--format", "json")[1])
    assert data["problems"] == [{"variable": "z:0", "problem": "trainable-not-updated"}]
    dynamic = tmp_path / "dynamic.py"
    dynamic.write_text(
        "import tensorflow as tf\nimport tfcollections as tfc\n"
        "x = tf.compat.v1.Variable(1.0, name='x')\ny = tf.compat.v1.Variable(2.0, name='y')\n"
        "tfc.DynamicOptimizer(tf.compat.v1.train.AdamOptimizer(0.1)).minimize(x * y)\n"
    )
    code, out, _ = _run(capsys, "audit", dynamic)
    assert code == 0 and "no problems" in out
    assert _run(capsys, "audit", saved["saved_model"])[0] == 2  # two meta graphs: choose one
    assert _run(capsys, "audit", saved["saved_model"], "--tag-set", "serve")[0] == 1


def _bad_inputs(saved, tmp_path):
    truncated = tmp_path / "truncated.meta"
    truncated.write_bytes(saved["meta"].read_bytes()[:1000])
    junk_text = tmp_path / "notes.pbtxt"
    junk_text.write_text("hello: world\n")
    junk_binary = tmp_path / "junk.meta"
    junk_binary.write_text("just some text\n")
    (tmp_path / "empty").mkdir()
    raising = tmp_path / "raising.py"
    raising.write_text("raise RuntimeError('boom')\n")
    return [
        (["dump", tmp_path / "missing.meta"], "no such file or directory"),
        (["dump", tmp_path / "empty"], "not a SavedModel"),
        (["dump", truncated], "not a valid MetaGraphDef"),
        (["dump", junk_text], "not a valid MetaGraphDef"),
        (["dump", junk_binary], "not a valid MetaGraphDef"),
        (["dump", raising], "the script raised RuntimeError: boom"),
        (["dump", saved["saved_model"], "--tag-set", "train"], "no meta graph with tag set"),
        (["dump", saved["meta"], "--collection", "nope"], "no collection 'nope'"),
        (["dump", saved["meta"], "--tablefmt", "nope"], "unknown --tablefmt"),
        (["dump", saved["meta"], "--tag-set", "serve"], "--tag-set applies to a SavedModel"),
        (["audit", tmp_path / "missing.meta"], "no such file or directory"),
        (["frobnicate"], "invalid choice"),
    ]


def test_bad_input_is_one_line_exit_2_and_nothing_written(saved, capsys, tmp_path):
    for args, expected in _bad_inputs(saved, tmp_path):
        before = sorted(p.name for p in tmp_path.iterdir())
        code, out, err = _run(capsys, *args)
        assert code == 2 and out == "", args
        assert err.startswith("tfcollections: error:") and expected in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
        if len(args) > 1 and str(args[1]).startswith(str(tmp_path)):
            assert str(args[1]) in err
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_reading_a_saved_file_imports_no_tensorflow(saved):
    probe = (
        "import sys; from tfcollections.cli import main; code = main(['dump', sys.argv[1]]);"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'tensorflow'], 'tf imported';"
        "sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(saved["meta"])], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "trainable_variables" in result.stdout
