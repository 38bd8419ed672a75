"""`tfc-lint`: find code that changes what is trainable after the train op was built.

Exit codes: 0 no findings, 1 findings, 2 usage or internal error (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from tfcollections import __version__
from tfcollections.commandline import OneLineParser, run
from tfcollections.errors import UsageError
from tfcollections.lint import output
from tfcollections.lint.cache import CACHE_FOLDER
from tfcollections.lint.config import (
    KERAS_SETTINGS,
    Config,
    Follow,
    check_codes,
    config_root,
    load_config,
)
from tfcollections.lint.discovery import discover
from tfcollections.lint.finding import (
    PARSE_ERROR,
    PARSE_ERROR_NAME,
    PARSE_ERROR_SUMMARY,
    Finding,
)
from tfcollections.lint.registry import load_selected, rule_entry_points, rule_urls
from tfcollections.lint.runner import Fixed, fix_files, lint_files
from tfcollections.lint.snapshot import Snapshot


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
    parser.add_argument(
        "--fix",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the safe fixes (and the unsafe ones with --unsafe-fixes), then report what "
        "remains (overrides the config)",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show and apply the fixes that change what the program does (overrides the config)",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a diff instead of writing them; exit 1 if there are any",
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
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["rule"]:  # `tfc-lint rule CODE` (a path named rule: `./rule`)
        return run("tfc-lint", lambda: _rule(_rule_parser().parse_args(arguments[1:])))
    return run("tfc-lint", lambda: _run(_parser().parse_args(arguments)))


def _rule_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="tfc-lint rule", description="Print a rule's documentation (Markdown)."
    )
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("code", nargs="?", metavar="CODE")
    chosen.add_argument("--all", action="store_true", help="every rule")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    return parser


def _rule(args: argparse.Namespace) -> int:
    from tfcollections.lint.rule_docs import rule_page

    known = rule_entry_points()
    codes = sorted(known) if args.all else list(check_codes((args.code,), set(known), "rule"))
    if not args.all and codes[0] not in known:
        raise UsageError(f"rule: {codes[0]!r} names several rules; give one code or --all")
    urls = rule_urls()
    rules = load_selected(codes)
    if args.output_format == "json":
        import json

        described = [
            {
                "code": rule.code,
                "name": rule.name,
                "summary": rule.summary(),
                "explanation": rule_page(rule),
                "fix": rule.FIX[0] if rule.FIX else None,
                "url": urls.get(rule.code),
            }
            for rule in rules
        ]
        print(json.dumps(described if args.all else described[0], indent=2))
    else:
        print("\n".join(rule_page(rule, urls.get(rule.code)) for rule in rules), end="")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.list_rules:
        print(_rules_table())
        return 0
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    cache_folder = None if args.no_cache else config_root(Path.cwd())
    snapshot = Snapshot.take(cache_folder)  # the registered rules, without importing them
    known = set(snapshot.rules) | {PARSE_ERROR}
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
        cache_folder=cache_folder,
        keras=config.keras,
        follow=config.follow,
        snapshot=snapshot,
    )
    selected = _selector(config)
    unsafe = config.unsafe_fixes if args.unsafe_fixes is None else args.unsafe_fixes
    findings = [finding for finding in findings if selected(finding)]
    fixed: list[Fixed] = []
    if args.diff or (config.fix if args.fix is None else args.fix):
        fixed, findings = fix_files(
            findings, codes, unsafe=unsafe, selected=selected, keras=config.keras,
            follow=config.follow,
        )  # fmt: skip
        if args.diff:
            return _show_diff(fixed)
        for file in fixed:
            _write(file)
    described = _describe() if args.format == "sarif" or args.statistics else {}
    summaries = {code: summary for code, (_, summary) in described.items()}
    urls = rule_urls() if args.format in ("json", "sarif") else {}
    rendered = output.render(
        findings, args.format, summaries, __version__, unsafe=unsafe, urls=urls
    )
    if rendered:
        print(rendered)
    if args.format == "text":
        _summarise(findings, fixed, unsafe)
    if args.statistics and args.format == "text" and findings:
        names = {code: name for code, (name, _) in described.items()}
        print(output.statistics(findings, names))
    return 1 if findings and not args.exit_zero else 0


def _selector(config: Config) -> Callable[[Finding], bool]:
    """Whether a finding is reported: select, ignore and per-file-ignores."""

    def selected(finding: Finding) -> bool:
        ignored = config.ignored_in(Path(finding.path))
        return config.selects(finding.code) and not finding.code.startswith(ignored)

    return selected


def _summarise(findings: list[Finding], fixed: list[Fixed], unsafe: bool) -> None:
    """Ruff's lines under the findings: what was fixed, what `--fix` could fix."""
    count = sum(file.count for file in fixed)
    if count:
        print(f"Found {count + len(findings)} findings ({count} fixed, {len(findings)} remaining).")
    hint = output.fixable(findings, unsafe)
    if hint:
        print(hint)


def _show_diff(fixed: list[Fixed]) -> int:
    """`--diff`: the fixes as a unified diff on stdout, the count on stderr (as Ruff)."""
    import difflib

    for file in fixed:
        before = file.before.decode("utf-8").splitlines(keepends=True)
        after = file.after.decode("utf-8").splitlines(keepends=True)
        name = file.path.as_posix()
        print("".join(difflib.unified_diff(before, after, name, name)), end="")
    count = sum(file.count for file in fixed)
    if count:
        print(f"Would fix {count} finding{'s' if count > 1 else ''}.", file=sys.stderr)
    return 1 if fixed else 0


def _write(file: Fixed) -> None:
    """Replace the file's content atomically, keeping its permissions: on any failure the
    original is left as it was."""
    handle, temporary = tempfile.mkstemp(dir=file.path.parent, prefix=f".{file.path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(file.after)
        shutil.copymode(file.path, temporary)
        os.replace(temporary, file.path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageError(f"{file.path}: cannot write the fix: {error.strerror or error}") from None


def _settings(config: Config, files: list[Path]) -> str:
    """What `--show-settings` prints: the resolved settings, then the Keras each file is
    linted for and why (without files: what `import keras` and `tf.keras` are here)."""
    from tfcollections.lint import keras_target
    from tfcollections.lint.engine import keras_decision

    follow = config.follow
    limits = f"depth {follow.depth}, modules {follow.modules}" if follow else "off"
    lines = [
        f"settings: {config.source or 'defaults (no pyproject.toml)'}",
        f"  select: {', '.join(config.select) or 'all'}",
        f"  ignore: {', '.join(config.ignore) or '-'}",
        f"  exclude: {', '.join(config.exclude) or '-'}",
        f"  per-file-ignores: {_pairs(config.per_file_ignores) or '-'}",
        f"  keras: {config.keras}",
        f"  env: {_pairs(config.env) or '-'}",
        f"  follow-imports: {limits}",
        f"  fix: {str(config.fix).lower()}, unsafe-fixes: {str(config.unsafe_fixes).lower()}",
        f"  cache: {config.root / CACHE_FOLDER}",
    ]
    if not files:
        folder = Path.cwd()
        for decision in (keras_target.package_keras(folder), keras_target.tf_keras(folder)):
            name, reason = decision.reason.split(": ", 1)
            lines.append(f"{name}: Keras {decision.major} ({reason})")
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
