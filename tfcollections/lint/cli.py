"""`tfc-lint`: find code that changes what is trainable after the train op was built.

Exit codes: 0 no findings, 1 findings, 2 usage or internal error (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tfcollections import __version__
from tfcollections.commandline import OneLineParser, run
from tfcollections.errors import UsageError
from tfcollections.lint import output
from tfcollections.lint.cache import CACHE_FOLDER
from tfcollections.lint.config import Config, Follow, check_codes, load_config
from tfcollections.lint.discovery import discover
from tfcollections.lint.finding import PARSE_ERROR, PARSE_ERROR_NAME, PARSE_ERROR_SUMMARY
from tfcollections.lint.keras_target import SETTINGS as KERAS_SETTINGS
from tfcollections.lint.registry import load_selected, rule_entry_points
from tfcollections.lint.runner import lint_files


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tfc-lint", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    parser.add_argument("--format", choices=output.FORMATS, default="text")
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="CODES",
        help="comma-separated code prefixes to report (overrides the config)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CODES",
        help="comma-separated code prefixes not to report (overrides the config)",
    )
    parser.add_argument(
        "--keras",
        choices=KERAS_SETTINGS,
        help="the Keras the Keras rules assume: 2 (tf_keras, TF <= 2.15), 3, or auto per file "
        "from its imports and what is installed (overrides the config; default auto)",
    )
    parser.add_argument(
        "--follow-imports",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="follow calls into the project's other modules (overrides the config; default on)",
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument("--statistics", action="store_true", help="count findings per code")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings in force and, for each file given, which Keras and why; exit",
    )
    parser.add_argument("--version", action="version", version=f"tfc-lint {__version__}")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return run("tfc-lint", lambda: _run(_parser().parse_args(argv)))


def _run(args: argparse.Namespace) -> int:
    known = set(rule_entry_points()) | {PARSE_ERROR}
    if args.list_rules:
        print(_rules_table())
        return 0
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    config = load_config(Path.cwd(), known)
    if args.select:
        select = check_codes(_split(args.select), known, "--select")
        config = replace(config, select=select)
    if args.ignore:
        config = replace(config, ignore=check_codes(_split(args.ignore), known, "--ignore"))
    if args.keras:
        config = replace(config, keras=args.keras)
    if args.follow_imports is not None:
        config = replace(config, follow=Follow() if args.follow_imports else None)
    files = discover(args.paths, config)
    if args.show_settings:
        print(_settings(config, files if args.paths != ["."] else []))
        return 0
    codes = sorted(code for code in known - {PARSE_ERROR} if config.selects(code))
    findings = lint_files(
        files,
        codes,
        jobs=args.jobs,
        cache_folder=None if args.no_cache else config.root,
        keras=config.keras,
        follow=config.follow,
    )
    findings = [
        finding
        for finding in findings
        if config.selects(finding.code)
        and not finding.code.startswith(config.ignored_in(Path(finding.path)))
    ]
    described = _describe() if args.format == "sarif" or args.statistics else {}
    summaries = {code: summary for code, (_, summary) in described.items()}
    rendered = output.render(findings, args.format, summaries, __version__)
    if rendered:
        print(rendered)
    if args.statistics and args.format == "text" and findings:
        names = {code: name for code, (name, _) in described.items()}
        print(output.statistics(findings, names))
    return 1 if findings and not args.exit_zero else 0


def _settings(config: Config, files: list[Path]) -> str:
    """What `--show-settings` prints: the resolved settings, then the Keras each file is
    linted for and why (without files: what `import keras` and `tf.keras` are here)."""
    from tfcollections.lint import keras_target

    follow = config.follow
    lines = [
        f"settings: {config.source or 'defaults (no pyproject.toml)'}",
        f"  select: {', '.join(config.select) or 'all'}",
        f"  ignore: {', '.join(config.ignore) or '-'}",
        f"  exclude: {', '.join(config.exclude) or '-'}",
        f"  per-file-ignores: {_pairs(config.per_file_ignores) or '-'}",
        f"  keras: {config.keras}",
        f"  env: {_pairs(config.env) or '-'}",
        f"  follow-imports: {f'depth {follow.depth}, modules {follow.modules}' if follow else 'off'}",
        f"  cache: {config.root / CACHE_FOLDER}",
    ]
    if not files:
        folder = Path.cwd()
        for decision in (keras_target.package_keras(folder), keras_target.tf_keras(folder)):
            name, reason = decision.reason.split(": ", 1)
            lines.append(f"{name}: Keras {decision.major} ({reason})")
    from tfcollections.lint.engine import keras_decision

    for path in files:
        try:
            decision = keras_decision(path.read_bytes(), str(path), config.keras)
        except OSError as error:
            raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None
        lines.append(f"{path}: Keras {decision.major} ({decision.reason})")
    return "\n".join(lines)


def _pairs(table: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in table.items())


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(code for value in values for code in value.split(","))


def _describe() -> dict[str, tuple[str, str]]:
    """Code -> (name, one-line summary) of TFC000 and every registered rule."""
    rules = load_selected(sorted(rule_entry_points()))
    described = {PARSE_ERROR: (PARSE_ERROR_NAME, PARSE_ERROR_SUMMARY)}
    described.update({rule.code: (rule.name, rule.summary()) for rule in rules})
    return described


def _rules_table() -> str:
    rows = [(code, name, summary) for code, (name, summary) in _describe().items()]
    from tabulate import tabulate  # only here: every other run starts faster without it

    return tabulate(rows, headers=["code", "name", "what it finds"])
