"""The shapes of real training code that tfc-lint used to misread, one test each (issue #16).

Each test states what tfc-lint said before the object model (the wrong output it now must not
give) and asserts the exact findings now. The Keras shapes are also run for real under both
Keras versions by the oracle suite (`oracle/p37` to `p56`); these are the fast, focused checks.
"""

from tfcollections.lint.engine import lint_source
from tfcollections.lint.registry import load_selected

RULES = load_selected(["TFC001", "TFC002", "TFC003", "TFC004", "TFC005"])


def _findings(source: str, keras: str = "3") -> list[tuple[int, str]]:
    found = lint_source(source.encode(), "shape.py", RULES, keras=keras)
    return [(finding.line, finding.code) for finding in found]


def test_1_a_rebound_name_is_a_new_model_that_holds_the_frozen_one():
    # Before: TFC005 at line 6 under both Keras ("model is frozen ... trains nothing").
    source = """import keras
model = keras.applications.MobileNetV2(include_top=False, weights=None)
model.trainable = False
model = keras.Model(model.input, keras.layers.Dense(1)(model.output))
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
"""
    assert _findings(source, "2") == _findings(source, "3") == []


def test_2_a_combined_model_over_unpacked_outputs_holds_the_model():
    # Before: TFC004 at line 4 under Keras 2 (the mnist_acgan idiom reported as ignored).
    source = """import tf_keras as keras
d.compile(optimizer="adam", loss="mse")
outputs = d(g(z))
d.trainable = False
valid, label = outputs
combined = keras.Model(z, {"valid": valid, "label": label})
combined.compile(optimizer="adam", loss="mse")
for step in range(10):
    d.train_on_batch(real, ones)
    combined.train_on_batch(noise, ones)
"""
    assert _findings(source, "2") == []
    assert _findings(source, "3") == [(9, "TFC005")]


def test_3_a_model_over_another_models_tensors_shares_its_layers():
    # Before: nothing under Keras 3; `d` trains nothing because its layers are frozen.
    source = """import keras
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
d.compile(optimizer="adam", loss="mse")
static = keras.Model(d.input, d.layers[-1].output)
static.trainable = False
d.fit(x, y)
"""
    assert _findings(source, "3") == [(6, "TFC005")]
    assert _findings(source, "2") == [(5, "TFC004")]  # no other model reads the toggle


def test_4_builders_return_their_models_and_load_model_compiles():
    # Before: nothing under Keras 3 for the builder; TFC005 under Keras 2 for load_model.
    source = """import keras
def build():
    g = keras.Sequential([keras.layers.Dense(4)])
    d = keras.Sequential([keras.layers.Dense(1)])
    d.compile(optimizer="adam", loss="mse")
    d.trainable = False
    gan = keras.Model(z, d(g(z)))
    gan.compile(optimizer="adam", loss="mse")
    return g, d, gan
g, d, gan = build()
d.train_on_batch(real, ones)
loaded = keras.models.load_model("d.keras")
loaded.trainable = False
combined = keras.Model(z, loaded(g(z)))
combined.compile(optimizer="adam", loss="mse")
loaded.train_on_batch(real, ones)
"""
    assert _findings(source, "3") == [(11, "TFC005"), (16, "TFC005")]
    assert _findings(source, "2") == []


def test_5_a_loop_over_a_models_layers_runs_at_least_once():
    # Before: TFC004 at line 11 under Keras 2 (the loop's zero-iteration path kept layers
    # frozen from the first call).
    source = """import tf_keras as keras
def set_trainable(net, value):
    for layer in net.layers:
        layer.trainable = value
d.compile(optimizer="adam", loss="mse")
set_trainable(d, False)
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
set_trainable(d, True)
d.train_on_batch(real, ones)
set_trainable(d, False)
gan.train_on_batch(noise, ones)
"""
    assert _findings(source, "2") == []


def test_6_a_toggle_undone_before_the_model_trains_again_is_not_reported():
    # Before: TFC004 at line 5 under both Keras: `d.trainable = True` sets every layer of `d`
    # again, which undoes the loop's freeze before `d` trains.
    source = """import keras
d.compile(optimizer="adam", loss="mse")
d.fit(x, y)
for layer in d.layers:
    layer.trainable = False
d.save("frozen.keras")
d.trainable = True
d.fit(x, y)
"""
    assert _findings(source, "2") == _findings(source, "3") == []
    assert _findings(source.replace("d.trainable = True", "pass"), "3") == [(5, "TFC004")]


def test_7_a_toggle_meant_for_the_next_model_read_by_the_previous_one():
    # Before: nothing under Keras 3; critic_model trains g and never c (WGAN-GP, here with
    # one builder per model).
    source = """import keras
def critic_model_of(g, c):
    g.trainable = False
    model = keras.Model([real_in, z], [c(real_in), c(g(z))])
    model.compile(optimizer="adam", loss=["mse", "mse"])
    return model
def generator_model_of(g, c):
    c.trainable = False
    g.trainable = True
    model = keras.Model(z, c(g(z)))
    model.compile(optimizer="adam", loss="mse")
    return model
critic_model = critic_model_of(generator, critic)
generator_model = generator_model_of(generator, critic)
for step in range(10):
    critic_model.train_on_batch([real, noise], [ones, ones])
    generator_model.train_on_batch(noise, ones)
"""
    assert _findings(source, "3") == [(16, "TFC005")]
    assert _findings(source, "2") == []
    message = lint_source(source.encode(), "shape.py", RULES, keras="3")[0].message
    assert "critic_model reads its trainable set at its first training call" in message
    assert (
        "critic.trainable = False, generator.trainable = True made for generator_model" in message
    )


def test_8_opposite_conditions_never_run_on_one_path():
    # Before: TFC001 at line 5 and TFC004 at line 9.
    source = """import tensorflow as tf
if cfg.is_training:
    train_op = opt.minimize(loss)
if not cfg.is_training:
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(emb)
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
if mode != "train":
    base.trainable = False
if mode == "train":
    model.fit(x, y)
"""
    assert _findings(source) == []
    reassigned = source.replace('if mode == "train"', 'mode = "train"\nif mode == "train"')
    assert _findings(reassigned) == [(9, "TFC004")]


def test_9_a_fresh_graph_exempts_a_loop_only_when_entered_inside_it():
    # Before: nothing (the `with` around the loop exempted every build inside).
    source = """import tensorflow as tf
with tf.Graph().as_default(), tf.Session() as sess:
    while not sess.should_stop():
        for i in range(len(cfg)):
            train_op = opt.minimize(losses[i])
        sess.run(train_op)
"""
    assert _findings(source) == [(5, "TFC003")]


def test_10_an_eager_tensor_flag_that_works_is_not_a_finding():
    # Before: TFC002 at lines 3 and 4 ("TF2 raises, TF1 trains it anyway": neither happens).
    source = """import tensorflow as tf
import tf_keras
w = tf.Variable(1.0, trainable=tf.constant(False))
layer = tf_keras.layers.Dense(3, trainable=tf.constant(False))
"""
    assert _findings(source) == []
    in_a_session = source.replace("import tf_keras\n", "import tf_keras\nsess = tf.Session()\n")
    assert _findings(in_a_session) == [(4, "TFC002"), (5, "TFC002")]  # graph mode: both raise


def test_11_a_long_expression_with_a_finding_is_linted():
    # Before: "tfc-lint: internal error: RecursionError", exit 2.
    terms = " + ".join(f"x{i}" for i in range(800))
    source = f"""import tensorflow as tf
train_op = opt.minimize(loss)
total = {terms}
col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
del col[0]
"""
    assert _findings(source) == [(5, "TFC001")]
