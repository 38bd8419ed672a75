"""`tfcollections`: show a graph's collections (`dump`), the GraphKeys catalog (`keys`), and
which variables its train ops really update (`audit`).

Only parses arguments and prints: the work is in `tfcollections.inspect`. Exit codes: 0 fine,
1 `audit` found a problem, 2 bad input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

from tabulate import tabulate, tabulate_formats

from tfcollections import __version__, graphkeys
from tfcollections.commandline import OneLineParser, run
from tfcollections.errors import UsageError


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tfcollections", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tfcollections {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    formats = argparse.ArgumentParser(add_help=False)
    formats.add_argument("--format", choices=("table", "json"), default="table")
    formats.add_argument("--tablefmt", default="simple", help="any tabulate format")
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument(
        "target",
        metavar="TARGET",
        help="a .meta/.pbtxt file, SavedModel or checkpoint folder, .keras archive, Keras .h5 "
        "file, script.py, or package.module:function",
    )
    target.add_argument("--tag-set", help="the SavedModel meta graph to read, e.g. serve,gpu")
    dump = commands.add_parser("dump", parents=[formats, target], help="list the collections")
    dump.add_argument("--collection", action="append", metavar="KEY", help="only these keys")
    dump.add_argument("--members", action="store_true", help="a table per collection")
    commands.add_parser("keys", parents=[formats], help="the GraphKeys catalog")
    commands.add_parser(
        "audit",
        parents=[formats, target],
        help="variables updated by train ops against TRAINABLE_VARIABLES",
    )
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return run("tfcollections", lambda: _command(_parser().parse_args(argv)))


def _command(args: argparse.Namespace) -> int:
    if args.tablefmt not in tabulate_formats:
        raise UsageError(f"unknown --tablefmt {args.tablefmt!r}")
    return {"dump": _dump, "keys": _keys, "audit": _audit}[args.command](args)


def _dump(args: argparse.Namespace) -> int:
    from tfcollections.inspect.load import InspectError, load

    loaded = load(args.target, args.tag_set)
    if loaded.archive is not None:
        if args.collection:
            raise InspectError(f"{args.target}: a Keras model file has no graph collections")
        return _dump_archive(args, loaded)
    for graph in loaded.graphs:
        if args.collection:
            have = {collection.key for collection in graph.collections}
            missing = [key for key in args.collection if key not in have]
            if missing:
                raise InspectError(
                    f"{args.target}: no collection {missing[0]!r}; it has: "
                    f"{', '.join(sorted(have)) or 'none'}"
                )
            graph.collections = [c for c in graph.collections if c.key in args.collection]
    if args.format == "json":
        graphs = [
            {
                "tags": graph.tags,
                "collections": [c.as_json() for c in graph.collections],
                "variables": [variable.as_json() for variable in graph.variables],
            }
            for graph in loaded.graphs
        ]
        print(json.dumps({"source": loaded.source, "graphs": graphs}, indent=2))
        return 0
    blocks = []
    if loaded.source != args.target:
        blocks.append(f"meta graph: {loaded.source}")
    for graph in loaded.graphs:
        if graph.tags is not None:
            blocks.append(f"meta graph with tags: {','.join(graph.tags) or '(none)'}")
        rows = [(c.key, c.name or "", c.kind, len(c.members)) for c in graph.collections]
        blocks.append(tabulate(rows, headers=["key", "GraphKeys", "kind", "count"],
                               tablefmt=args.tablefmt))  # fmt: skip
        if args.members:
            for collection in graph.collections:
                blocks.append(f"\n{collection.key} ({collection.kind}, {len(collection.members)})")
                blocks.append(tabulate([_member_row(m) for m in collection.members],
                                       headers=["name", "op", "dtype", "shape", "trainable"],
                                       tablefmt=args.tablefmt))  # fmt: skip
        if graph.variables:
            blocks.append(f"\nvariables (object graph, {len(graph.variables)})")
            rows = [
                (v.path, v.name, v.dtype or "", _shape(v.shape), _yes(v.trainable))
                for v in graph.variables
            ]
            blocks.append(tabulate(rows, headers=["path", "name", "dtype", "shape", "trainable"],
                                   tablefmt=args.tablefmt))  # fmt: skip
    print("\n".join(blocks))
    return 0


def _dump_archive(args: argparse.Namespace, loaded) -> int:
    archive = loaded.archive
    if args.format == "json":
        print(json.dumps({"source": loaded.source, "graphs": [], "keras": archive.as_json()},
                         indent=2))  # fmt: skip
        return 0
    version = f", saved by Keras {archive.keras_version}" if archive.keras_version else ""
    blocks = [f"{archive.model_class} model {archive.model_name or ''}{version}".replace("  ", " ")]
    blocks.append(_layer_table(archive, args.tablefmt))
    params = archive.params()
    if params is not None:
        blocks.append(f"trainable params: {params[0]:,}  non-trainable params: {params[1]:,}")
    blocks.append(f"optimizer: {_optimizer(archive.optimizer)}")
    if archive.frozen_known:
        frozen = archive.frozen_weights()
        blocks.append(f"frozen by DynamicOptimizer: {len(frozen)} of {len(archive.flags or [])}")
        if frozen:
            rows = [(path, index, _shape(shape)) for path, index, shape in frozen]
            blocks.append(tabulate(rows, headers=["layer", "weight", "shape"],
                                   tablefmt=args.tablefmt))  # fmt: skip
        if archive.attached:
            blocks.append(
                "(saved with model=: a layer it froze is saved trainable, as built, and counted "
                "frozen; after load_model, model.optimizer.attach(model) freezes it again)"
            )
    if archive.note:
        blocks.append(f"frozen set: {archive.note}")
    if archive.missing:
        blocks.append(
            f"({archive.missing} is not installed: weight counts and a DynamicOptimizer's "
            f"frozen set need it; pip install {archive.missing})"
        )
    print("\n".join(blocks))
    return 0


def _layer_table(archive, tablefmt: str) -> str:
    rows = [
        (
            layer.path,
            layer.class_name,
            _yes(layer.trainable),
            "" if layer.shapes is None else len(layer.shapes),
            "" if layer.params is None else f"{layer.params:,}",
            "" if layer.frozen is None else f"{sum(layer.frozen)}/{len(layer.frozen)}",
        )
        for layer in archive.layers
    ]
    headers = ["layer", "class", "trainable", "weights", "params", "frozen"]
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def _optimizer(optimizer: dict | None) -> str:
    """`DynamicOptimizer wrapping Adam (learning_rate=0.001, ...)`, from the saved config."""
    if not optimizer:
        return "none (not compiled)"
    config = optimizer.get("config") or {}
    inner = config.get("inner_optimizer")
    if isinstance(inner, dict):
        return f"{optimizer.get('class_name')} wrapping {_optimizer(inner)}"
    settings = ", ".join(
        f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in config.items()
        if key != "name" and value is not None and not isinstance(value, dict)
    )
    return (
        f"{optimizer.get('class_name')} ({settings})"
        if settings
        else str(optimizer.get("class_name"))
    )


def _shape(shape: list | None) -> str:
    return "" if shape is None else str(shape)


def _member_row(member) -> tuple:
    trainable = "" if member.trainable is None else _yes(member.trainable)
    return (member.name, member.op or "", member.dtype or "", _shape(member.shape), trainable)


def _keys(args: argparse.Namespace) -> int:
    entries = list(graphkeys.GRAPH_KEYS.values())
    if args.format == "json":
        print(json.dumps([entry._asdict() for entry in entries], indent=2))
        return 0
    rows = [
        (entry.name, entry.key, "yes" if entry.holds_variables else "no", entry.description)
        for entry in entries
    ]
    print(
        tabulate(
            rows, headers=["name", "key", "holds variables", "what it is for"],
            tablefmt=args.tablefmt, maxcolwidths=[None, None, None, 70],
        )
    )  # fmt: skip
    return 0


def _audit(args: argparse.Namespace) -> int:
    from tfcollections.inspect.audit import audit
    from tfcollections.inspect.load import InspectError, load

    loaded = load(args.target, args.tag_set)
    if loaded.archive is not None:
        return _audit_archive(args, loaded)
    if len(loaded.graphs) != 1:
        tag_sets = "; ".join(",".join(graph.tags or []) for graph in loaded.graphs)
        raise InspectError(
            f"{args.target}: has {len(loaded.graphs)} meta graphs ({tag_sets}): "
            "choose one with --tag-set"
        )
    report = audit(loaded.graphs[0])
    if args.format == "json":
        print(json.dumps({"source": loaded.source, **report.as_json()}, indent=2))
    else:
        rows = [
            (v.name, _yes(v.global_), _yes(v.trainable), ", ".join(v.updated_by))
            for v in report.variables
        ]
        print(tabulate(rows, headers=["variable", "global", "trainable", "updated by"],
                       tablefmt=args.tablefmt))  # fmt: skip
        for variable, problem in report.problems:
            print(f"{variable}: {problem}: {_EXPLAIN[problem]}")
        if not report.train_op:
            print(
                "no train op in this graph (no optimizer update op): nothing to audit; a TF2 "
                "SavedModel keeps a training step, if any, in functions audit does not walk"
            )
        elif not report.problems:
            print("no problems: every updated variable is trainable and every trainable updated")
    return 1 if report.problems else 0


def _audit_archive(args: argparse.Namespace, loaded) -> int:
    from tfcollections.inspect.keras_archive import PROBLEMS

    archive = loaded.archive
    problems = archive.problems()
    if args.format == "json":
        layers = archive.as_json()["layers"]
        print(json.dumps({
            "source": loaded.source,
            "dynamic": archive.dynamic,
            "layers": layers,
            "problems": [{"layer": layer, "problem": problem} for layer, problem in problems],
        }, indent=2))  # fmt: skip
        return 1 if problems else 0
    print(_layer_table(archive, args.tablefmt))
    for layer, problem in problems:
        print(f"{layer}: {problem}: {PROBLEMS[problem]}")
    if not archive.dynamic:
        print("no DynamicOptimizer in this archive: no frozen set to check the flags against")
    elif not archive.frozen_known:
        print(
            f"cannot check the frozen set: {archive.note or f'{archive.missing} is not installed'}"
        )
    elif not problems:
        print("no problems: every layer's trainable flag agrees with the saved frozen set")
    return 1 if problems else 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


_EXPLAIN = {
    "updated-not-trainable": "a train op updates it but it is not in TRAINABLE_VARIABLES "
    "(removed after the train op was built: it keeps training)",
    "trainable-not-updated": "in TRAINABLE_VARIABLES but no train op updates it "
    "(added after the train op was built, or outside its var_list)",
}
