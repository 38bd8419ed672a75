"""How paths move through statements: one `Path` per distinct (analysis state, conditions
assumed), branches joined, loops iterated to a fixpoint, and the ways out of a block.

The conditions a path took (`if cfg.is_training:` then, later, `if not cfg.is_training:`) are
kept as facts until something assigns the tested name, so the two branches never both run on
one path. Facts are read from simple tests only: a name or attribute, `not`, `and`/`or`, and
`==`/`!=`/`is`/`is not` against a literal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

import libcst as cst

from tfcollections.lint.analysis.objects import under

MAX_LOOP_ROUNDS = 12
MAX_STATES = 256
TRUTHY = "<truthy>"

Fact = tuple[str, str, bool]
"""(subject, literal or TRUTHY, equal): `x == 3` is ("x", "3", True), `not x` ("x", TRUTHY,
False)."""


class TooManyPaths(Exception):
    """More distinct paths than the analysis should carry: the scope is given up (no finding
    beats a wrong one)."""


class Path(NamedTuple):
    """One analysis state and the branch conditions the path that reached it assumed."""

    state: Any
    facts: frozenset[Fact] = frozenset()


@dataclass
class Exits:
    """Where paths leave a block: falling through, returning (with what), breaking,
    continuing, raising."""

    normal: set[Path] = field(default_factory=set)
    returned: set[Path] = field(default_factory=set)
    returned_values: set = field(default_factory=set)
    broke: set[Path] = field(default_factory=set)
    continued: set[Path] = field(default_factory=set)
    raised: set[Path] = field(default_factory=set)


def merge_exits(into: Exits, step: Exits) -> None:
    into.returned |= step.returned
    into.returned_values |= step.returned_values
    into.broke |= step.broke
    into.continued |= step.continued
    into.raised |= step.raised


def join(one: Exits, other: Exits) -> Exits:
    """Both ways out; paths that reach the same state keep only the conditions they share,
    so conditions never multiply the paths, only keep apart paths whose states differ."""
    joined = Exits(normal=_merged(one.normal | other.normal))
    merge_exits(joined, one)
    merge_exits(joined, other)
    check_size(joined.normal)
    return joined


def _merged(paths: set[Path]) -> set[Path]:
    facts: dict[Any, frozenset[Fact]] = {}
    for path in paths:
        known = facts.get(path.state)
        facts[path.state] = path.facts if known is None else known & path.facts
    return {Path(state, shared) for state, shared in facts.items()}


def check_size(paths: set[Path]) -> None:
    if len(paths) > MAX_STATES:
        raise TooManyPaths


def assume(paths: set[Path], facts: Iterable[Fact]) -> set[Path]:
    """The paths on which `facts` can hold, each now assuming them."""
    facts = frozenset(facts)
    if not facts:
        return paths
    return {
        Path(path.state, path.facts | facts)
        for path in paths
        if not any(_contradicts(fact, path.facts) for fact in facts)
    }


def forget(paths: set[Path], subject: str) -> set[Path]:
    """`subject` (or something under it) was assigned: facts about it no longer hold."""
    if not any(path.facts for path in paths):
        return paths
    return {
        Path(path.state, frozenset(f for f in path.facts if not under(f[0], subject)))
        for path in paths
    }


def facts_of(
    test: cst.BaseExpression, truth: bool, subject: Callable[[cst.BaseExpression], str | None]
) -> list[Fact]:
    """What `test` evaluating to `truth` says; `subject` names a tested expression."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return facts_of(test.expression, not truth, subject)
    if isinstance(test, cst.BooleanOperation):
        both = isinstance(test.operator, cst.And) == truth  # `a and b` true, `a or b` false
        if not both:
            return []
        return facts_of(test.left, truth, subject) + facts_of(test.right, truth, subject)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        equal = _EQUALITY.get(type(target.operator))
        literal = _literal(target.comparator)
        name = subject(test.left)
        if equal is None or literal is None or name is None:
            return []
        return [(name, literal, equal == truth)]
    if isinstance(test, (cst.Name, cst.Attribute)):
        name = subject(test)
        return [] if name is None else [(name, TRUTHY, truth)]
    return []


_EQUALITY = {cst.Equal: True, cst.Is: True, cst.NotEqual: False, cst.IsNot: False}


def _literal(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        return node.value
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return node.value
    return None


def _contradicts(fact: Fact, facts: frozenset[Fact]) -> bool:
    """`x` true and false, equal and unequal to one literal, or equal to two literals."""
    subject, literal, equal = fact
    for other_subject, other_literal, other_equal in facts:
        if other_subject != subject:
            continue
        if other_literal == literal:
            if other_equal != equal:
                return True
        elif equal and other_equal and TRUTHY not in (literal, other_literal):
            return True
    return False


class Statements:
    """Runs paths through compound statements; what simple statements and expressions do is
    the subclass's (`Interpreter`): `_evaluate`, `_simple`, `_bind_loop_target`, `_subject`."""

    def _evaluate(self, node: cst.CSTNode, paths: set[Path], frame: Any) -> tuple[set[Path], Any]:
        raise NotImplementedError

    def _simple(self, node: cst.BaseSmallStatement, paths: set[Path], frame: Any) -> Exits:
        raise NotImplementedError

    def _bind_loop_target(self, node: cst.For, paths: set[Path], frame: Any) -> set[Path]:
        raise NotImplementedError

    def _subject(self, expr: cst.BaseExpression, frame: Any) -> str | None:
        raise NotImplementedError

    def _never_empty(self, iterable: cst.BaseExpression, frame: Any) -> bool:
        raise NotImplementedError

    def _block(self, statements: Iterable[cst.CSTNode], paths: set[Path], frame: Any) -> Exits:
        exits = Exits(normal=set(paths))
        for statement in statements:
            if not exits.normal:
                break
            step = self._statement(statement, exits.normal, frame)
            exits.normal = step.normal
            merge_exits(exits, step)
        return exits

    def _suite(self, suite: cst.BaseSuite | None, paths: set[Path], frame: Any) -> Exits:
        if suite is None:
            return Exits(normal=set(paths))
        return self._block(suite.body, paths, frame)  # an indented block, or `if x: y`

    def _statement(self, node: cst.CSTNode, paths: set[Path], frame: Any) -> Exits:
        handler = _STATEMENTS.get(type(node))
        if handler is not None:
            return handler(self, node, paths, frame)
        if type(node) in SIMPLE_STATEMENTS:
            return self._simple(node, paths, frame)
        return Exits(normal=set(paths))  # def, class, pass, import...: nothing runs

    def _lines(self, node: cst.SimpleStatementLine, paths: set[Path], frame: Any) -> Exits:
        return self._block(node.body, paths, frame)

    def _return(self, node: cst.Return, paths: set[Path], frame: Any) -> Exits:
        value = None
        if node.value is not None:
            paths, value = self._evaluate(node.value, paths, frame)
        exits = Exits(returned=set(paths))
        exits.returned_values.add(value)
        return exits

    def _raise(self, node: cst.Raise, paths: set[Path], frame: Any) -> Exits:
        if node.exc is not None:
            paths = self._evaluate(node.exc, paths, frame)[0]
        return Exits(raised=set(paths))

    def _break(self, node: cst.Break, paths: set[Path], frame: Any) -> Exits:
        return Exits(broke=set(paths))

    def _continue(self, node: cst.Continue, paths: set[Path], frame: Any) -> Exits:
        return Exits(continued=set(paths))

    def _if(self, node: cst.If, paths: set[Path], frame: Any) -> Exits:
        paths = self._evaluate(node.test, paths, frame)[0]
        subject = partial(self._subject, frame=frame)
        then = self._suite(node.body, assume(paths, facts_of(node.test, True, subject)), frame)
        paths = assume(paths, facts_of(node.test, False, subject))
        orelse = node.orelse
        if orelse is None:
            other = Exits(normal=set(paths))
        elif isinstance(orelse, cst.If):
            other = self._if(orelse, paths, frame)
        else:
            other = self._suite(orelse.body, paths, frame)
        return join(then, other)

    def _loop(self, node: cst.For | cst.While, paths: set[Path], frame: Any) -> Exits:
        head = node.iter if isinstance(node, cst.For) else node.test
        paths = self._evaluate(head, paths, frame)[0]
        endless = isinstance(node, cst.While) and _always_true(node.test)
        runs_once = isinstance(node, cst.For) and self._never_empty(node.iter, frame)
        entry, exits, seen, looped = set(paths), Exits(), set(paths), set()
        for _ in range(MAX_LOOP_ROUNDS):  # a worklist: only paths not seen at the head yet
            if isinstance(node, cst.For):  # each iteration binds the target anew
                entry = self._bind_loop_target(node, entry, frame)
            body = self._suite(node.body, entry, frame)
            merge_exits(exits, body)
            looped |= body.normal | body.continued
            entry = (body.normal | body.continued) - seen
            if not entry:
                break
            seen |= entry
            check_size(seen)
        else:
            raise TooManyPaths  # no fixpoint in sight: give the scope up
        finished = set() if endless else set(looped if runs_once else seen)
        after = self._suite(node.orelse.body if node.orelse else None, finished, frame)
        after.normal |= exits.broke
        exits.broke, exits.continued = set(), set()
        return join(after, exits)

    def _try(self, node: cst.Try | cst.TryStar, paths: set[Path], frame: Any) -> Exits:
        body = Exits(normal=set(paths))
        reachable = set(paths)  # every path a handler may start from
        for statement in node.body.body:
            if not body.normal:
                break
            step = self._statement(statement, body.normal, frame)
            body.normal = step.normal
            merge_exits(body, step)
            reachable |= step.normal | step.raised
        outcome = self._suite(node.orelse.body if node.orelse else None, body.normal, frame)
        merge_exits(outcome, body)
        for handler in node.handlers:
            outcome = join(outcome, self._suite(handler.body, reachable, frame))
        if node.finalbody is not None:
            final = self._suite(node.finalbody.body, outcome.normal, frame)
            outcome.normal = final.normal
            merge_exits(outcome, final)
        return outcome

    def _with(self, node: cst.With, paths: set[Path], frame: Any) -> Exits:
        for item in node.items:
            paths = self._evaluate(item.item, paths, frame)[0]
        return self._suite(node.body, paths, frame)

    def _match(self, node: cst.Match, paths: set[Path], frame: Any) -> Exits:
        paths = self._evaluate(node.subject, paths, frame)[0]
        outcome = Exits(normal=set(paths))  # no case matched
        for case in node.cases:
            outcome = join(outcome, self._suite(case.body, paths, frame))
        return outcome


def _always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    return isinstance(test, cst.Integer) and test.evaluated_value != 0


SIMPLE_STATEMENTS = (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Del)
_STATEMENTS: dict[type, Callable] = {
    cst.SimpleStatementLine: Statements._lines,
    cst.SimpleStatementSuite: Statements._lines,
    cst.Return: Statements._return,
    cst.Raise: Statements._raise,
    cst.Break: Statements._break,
    cst.Continue: Statements._continue,
    cst.If: Statements._if,
    cst.For: Statements._loop,
    cst.While: Statements._loop,
    cst.Try: Statements._try,
    cst.TryStar: Statements._try,
    cst.With: Statements._with,
    cst.Match: Statements._match,
}


def statement_blocks(statement: cst.BaseCompoundStatement) -> list[Sequence[cst.CSTNode]]:
    """The statement lists of a compound statement: its body, else, handlers, finally."""
    found = []
    pending: list[cst.CSTNode | None] = [statement]
    while pending:
        node = pending.pop()
        if node is None:
            continue
        body = getattr(node, "body", None)
        if isinstance(body, cst.BaseSuite):
            found.append(body.body if isinstance(body, cst.IndentedBlock) else [body])
        pending.extend(getattr(node, "handlers", ()))
        pending.extend(getattr(node, "cases", ()))
        pending.extend([getattr(node, "orelse", None), getattr(node, "finalbody", None)])
    return found


def assigned_names(statements: Sequence[cst.CSTNode], names: set[str] | None = None) -> set[str]:
    """Names these statements assign (a function's locals, a module's variables), nested
    definitions excluded; statements only, no expression is visited."""
    names = set() if names is None else names
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        _add_names(target.target, names)
                elif isinstance(small, cst.AnnAssign):
                    _add_names(small.target, names)
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(statement, cst.BaseCompoundStatement):
            if isinstance(statement, cst.For):
                _add_names(statement.target, names)
            for block in statement_blocks(statement):
                assigned_names(block, names)
    return names


def _add_names(target: cst.BaseExpression, names: set[str]) -> None:
    if isinstance(target, cst.Name):
        names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _add_names(element.value, names)
    elif isinstance(target, cst.StarredElement):
        _add_names(target.value, names)
