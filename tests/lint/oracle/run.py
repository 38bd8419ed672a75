"""Run oracle programs for real under one Keras and print, as JSON, which layers moved at each
training call: {program: [[line, [layer names]], ...]}.

`python run.py 2|3 PROGRAM...`. Under 2, `import keras` in a program gives `tf_keras`, so one
text runs under both. Training calls are observed by wrapping `Model.fit` and
`Model.train_on_batch`; the line is the program's own line that made the call. A PROGRAM that
is a folder is a project: its `main.py` runs as a script (its folder, and `src/` for a src
layout, on the path, as when the project is installed), and a training call made in another
module is recorded at the line of `main.py` that led to it.
"""

import contextlib
import json
import os
import runpy
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")


def _keras(version: str):
    if version == "2":
        import tf_keras

        sys.modules["keras"] = tf_keras
        return tf_keras
    import keras

    return keras


def _leaves(model) -> list:
    """The layers with weights inside `model`, through nested models."""
    found, pending = [], list(model.layers)
    while pending:
        layer = pending.pop()
        inner = getattr(layer, "layers", None)
        if inner:
            pending.extend(inner)
        elif layer.weights:
            found.append(layer)
    return found


def main() -> None:
    version, programs = sys.argv[1], sys.argv[2:]
    keras = _keras(version)
    observed: dict[str, list] = {}
    current: list[str] = []

    def watch(method):
        def wrapped(model, *args, **kwargs):
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename != current[0]:
                frame = frame.f_back
            line = frame.f_lineno if frame is not None else 0
            layers = _leaves(model)
            before = {layer.name: [w.numpy().copy() for w in layer.weights] for layer in layers}
            result = method(model, *args, **kwargs)
            moved = sorted(
                layer.name
                for layer in layers
                if any(
                    (w.numpy() != old).any() for w, old in zip(layer.weights, before[layer.name])
                )
            )
            observed[os.path.basename(current[0])].append([line, moved])
            return result

        return wrapped

    keras.Model.fit = watch(keras.Model.fit)
    keras.Model.train_on_batch = watch(keras.Model.train_on_batch)
    for program in programs:
        folder = os.path.abspath(program) if os.path.isdir(program) else None
        path = os.path.join(folder, "main.py") if folder else os.path.abspath(program)
        current[:] = [path]
        name = os.path.basename(folder or path)
        observed[name] = observed[os.path.basename(path)] = []
        keras.utils.set_random_seed(0)
        with _project(folder):
            runpy.run_path(path, run_name="__main__")
        if folder:
            del observed["main.py"]
        keras.backend.clear_session()
    json.dump(observed, sys.stdout)


@contextlib.contextmanager
def _project(folder):
    """A project's folders on the path while it runs; its modules forgotten after."""
    if folder is None:
        yield
        return
    added = [folder, os.path.join(folder, "src")]
    sys.path[:0] = added
    try:
        yield
    finally:
        del sys.path[: len(added)]
        for name, module in list(sys.modules.items()):
            if (getattr(module, "__file__", None) or "").startswith(folder + os.sep):
                del sys.modules[name]


if __name__ == "__main__":
    main()
