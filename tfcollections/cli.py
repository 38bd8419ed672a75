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
        help="a .meta/.pbtxt file, SavedModel or checkpoint folder, script.py, "
        "or package.module:function",
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
            {"tags": graph.tags, "collections": [c.as_json() for c in graph.collections]}
            for graph in loaded.graphs
        ]
        print(json.dumps({"source": loaded.source, "graphs": graphs}, indent=2))
        return 0
    blocks = []
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
    print("\n".join(blocks))
    return 0


def _member_row(member) -> tuple:
    trainable = "" if member.trainable is None else ("yes" if member.trainable else "no")
    shape = "" if member.shape is None else str(member.shape)
    return (member.name, member.op or "", member.dtype or "", shape, trainable)


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
        if not report.problems:
            print("no problems: every updated variable is trainable and every trainable updated")
    return 1 if report.problems else 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


_EXPLAIN = {
    "updated-not-trainable": "a train op updates it but it is not in TRAINABLE_VARIABLES "
    "(removed after the train op was built: it keeps training)",
    "trainable-not-updated": "in TRAINABLE_VARIABLES but no train op updates it "
    "(added after the train op was built, or outside its var_list)",
}
