"""A forward dataflow over a file's statements: sets of abstract states, branches joined,
loops iterated to a fixpoint, same-file functions and methods inlined at their calls.

The interpreter knows Python's control flow (if/elif/else, for/while with break, continue and
else, try/except/else/finally, with, match, return, raise) and nothing about TensorFlow: an
`Analysis` says what each call and each assignment does to a state. States are hashable and a
set of them is carried, one per distinct path history, so "the value at this training call"
is known per path and a loop that restores its state before each call reaches a fixpoint.

Calls resolved by name are inlined with their arguments bound (`make_trainable(d, False)`,
`self.build_gan()` inside the class, `GAN()` running `__init__`, `gan.train()` on an instance
of a class of the file), to a bounded depth. A finding inside one is reported where it is, or
at the call when the call's arguments decide it. Each function is also analysed on its own
(methods after their class's `__init__`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Generic, Protocol, TypeVar

import libcst as cst

S = TypeVar("S")

_MAX_DEPTH = 4
_MAX_LOOP_ROUNDS = 12
_MAX_STATES = 256
_EMPTY = cst.Module(body=[])


class TooManyPaths(Exception):
    """More distinct states than the analysis should carry: the scope is given up (no finding
    beats a wrong one)."""


@dataclass(frozen=True)
class Frame:
    """One function being interpreted: how its names map to the keys of the outermost scope,
    what its parameters were given, and the calls that led to it (see `site`)."""

    prefix: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    literals: dict[str, bool | None] = field(default_factory=dict)  # every bound parameter
    locals: frozenset[str] = frozenset()
    call_site: cst.CSTNode | None = None
    calls: tuple[cst.Call, ...] = ()  # the calls that led here from the analysed scope
    owner: str | None = None  # the class whose method this is
    stack: tuple[int, ...] = ()

    def key(self, expr: cst.BaseExpression) -> str | None:
        """A stable name for what `expr` denotes, in the outermost scope's terms: `d`,
        `self.discriminator`, `model.layers[*]`, `model.get_layer('x')`; None for values that
        have none (a call result, a literal)."""
        if isinstance(expr, cst.Name):
            name = expr.value
            if name in self.aliases:
                return self.aliases[name]
            return f"{self.prefix}{name}" if name in self.locals else name
        if isinstance(expr, cst.Attribute):
            base = self.key(expr.value)
            return f"{base}.{expr.attr.value}" if base else None
        if isinstance(expr, cst.Subscript):
            base = self.key(expr.value)
            inside = ", ".join(_EMPTY.code_for_node(element.slice) for element in expr.slice)
            return f"{base}[{inside}]" if base else None
        if isinstance(expr, cst.Call) and _is_get_layer(expr):
            base = self.key(expr.func.value)
            args = ", ".join(_EMPTY.code_for_node(arg.value) for arg in expr.args)
            return f"{base}.get_layer({args})" if base else None
        return None

    def literal(self, expr: cst.BaseExpression) -> bool | None:
        """True/False when `expr` is known to be that bool here; None when unknown."""
        if isinstance(expr, cst.Name):
            if expr.value in ("True", "False"):
                return expr.value == "True"
            return self.literals.get(expr.value)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
            inner = self.literal(expr.expression)
            return None if inner is None else not inner
        return None

    def site(self, node: cst.CSTNode, *inputs: cst.CSTNode) -> cst.CSTNode:
        """Where a finding at `node` is reported: at `node`, unless one of `inputs` (its
        receiver, its value) comes from the call's arguments: then at the call, which decides
        it (`make_trainable(d, False)`)."""
        if self.call_site is not None and any(self._from_arguments(one) for one in inputs):
            return self.call_site
        return node

    def _from_arguments(self, node: cst.CSTNode) -> bool:
        while isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        if isinstance(node, cst.UnaryOperation):
            return self._from_arguments(node.expression)
        return isinstance(node, cst.Name) and node.value in self.literals


class Analysis(Protocol[S]):
    """What the statements mean to one analysis: each method maps one state to its successors
    (usually one). Nodes are visited in evaluation order (a call's arguments before it)."""

    def call(self, state: S, node: cst.Call, frame: Frame) -> Iterable[S]: ...

    def assign(
        self, state: S, target: cst.BaseExpression, value: cst.BaseExpression | None, frame: Frame
    ) -> Iterable[S]: ...

    def rename(self, state: S, old: str, new: str) -> S: ...

    def statement(self, state: S, node: cst.BaseSmallStatement, frame: Frame) -> Iterable[S]:
        """After a simple statement's calls and assignments (`del col[0]`, `col[:] = []`)."""
        ...


@dataclass
class _Flows:
    """Where paths leave a block: falling through, returning, breaking, continuing, raising."""

    normal: set = field(default_factory=set)
    returned: set = field(default_factory=set)
    returned_keys: set = field(default_factory=set)
    broke: set = field(default_factory=set)
    continued: set = field(default_factory=set)
    raised: set = field(default_factory=set)


class Interpreter(Generic[S]):
    """Runs an `Analysis` over every scope of a module (see the module docstring)."""

    def __init__(self, module: cst.Module, analysis: Analysis[S]) -> None:
        self._analysis = analysis
        self._functions: dict[str, cst.FunctionDef] = {}
        self._classes: dict[str, dict[str, cst.FunctionDef]] = {}
        self._locals: dict[int, frozenset[str]] = {}
        for statement in module.body:
            if isinstance(statement, cst.FunctionDef):
                self._functions[statement.name.value] = statement
            elif isinstance(statement, cst.ClassDef):
                self._classes[statement.name.value] = {
                    item.name.value: item
                    for item in statement.body.body
                    if isinstance(item, cst.FunctionDef)
                }
        self._module = module
        self.instances: dict[str, str] = {}  # key -> class of the file it is an instance of

    def run_all(self, initial: S, on_scope_done: Callable[[bool], None]) -> None:
        """The module body, every function, every method (after `__init__`); each from
        `initial`. `on_scope_done` is told after each scope so the analysis can keep or drop
        what it found there (dropped when the scope had too many paths)."""
        self._run_root(lambda: self._block(self._module.body, {initial}, Frame()), on_scope_done)
        for function in [*self._functions.values(), *_nested_functions(self._module)]:
            self._run_root(lambda f=function: self._body(f, {initial}, Frame()), on_scope_done)
        for owner, methods in self._classes.items():
            for method in methods.values():
                self._run_root(
                    lambda o=owner, m=method: self._method_root(o, m, initial), on_scope_done
                )

    def _run_root(self, run: Callable[[], object], on_scope_done: Callable[[bool], None]) -> None:
        self.instances = {}
        try:
            run()
        except TooManyPaths:
            on_scope_done(False)
            return
        on_scope_done(True)

    def _method_root(self, owner: str, method: cst.FunctionDef, initial: S) -> None:
        states = {initial}
        init = self._classes[owner].get("__init__")
        if init is not None and init is not method:
            init_frame = replace(
                self._frame_for(init, prefix="__init__."),
                aliases=self._self_alias(init, "self"),
                owner=owner,
                stack=(id(init),),
            )
            states = self._returned_or_normal(self._body(init, states, init_frame))
        frame = Frame(aliases=self._self_alias(method, "self"), owner=owner, stack=(id(method),))
        self._body(method, states, frame)

    # -- statements ---------------------------------------------------------------------

    def _body(self, function: cst.FunctionDef, states: set, frame: Frame) -> _Flows:
        body = function.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        return self._block(statements, states, frame)

    def _block(self, statements: Iterable[cst.CSTNode], states: set, frame: Frame) -> _Flows:
        flows = _Flows(normal=set(states))
        for statement in statements:
            if not flows.normal:
                break
            step = self._statement(statement, flows.normal, frame)
            flows.normal = step.normal
            _merge_exits(flows, step)
        return flows

    def _suite(self, suite: cst.BaseSuite | None, states: set, frame: Frame) -> _Flows:
        if suite is None:
            return _Flows(normal=set(states))
        return self._block(suite.body, states, frame)  # an indented block, or `if x: y`

    def _statement(self, node: cst.CSTNode, states: set, frame: Frame) -> _Flows:
        handler = _STATEMENTS.get(type(node))
        if handler is None:
            return _Flows(normal=set(states))  # def, class, pass, import...: nothing runs
        flows = handler(self, node, states, frame)
        if type(node) in _SMALL_STATEMENTS:
            flows.normal = self._apply(
                flows.normal, lambda s: self._analysis.statement(s, node, frame)
            )
        return flows

    def _small_statements(
        self, node: cst.SimpleStatementLine | cst.SimpleStatementSuite, states: set, frame: Frame
    ) -> _Flows:
        return self._block(node.body, states, frame)

    def _expression_statement(self, node: cst.CSTNode, states: set, frame: Frame) -> _Flows:
        return _Flows(normal=self._evaluate(node, states, frame)[0])

    def _assign(self, node: cst.Assign | cst.AnnAssign, states: set, frame: Frame) -> _Flows:
        value = node.value
        if value is None:
            return _Flows(normal=set(states))
        states, returned_key = self._evaluate(value, states, frame)
        targets = (
            [target.target for target in node.targets]
            if isinstance(node, cst.Assign)
            else [node.target]
        )
        for target in targets:
            target_key = frame.key(target)
            if returned_key is not None and target_key is not None:
                states = {
                    self._analysis.rename(state, returned_key, target_key) for state in states
                }
                self._retag_instance(returned_key, target_key)
            self._bind_alias(target, value, frame)
            states = self._apply(
                states, lambda s, t=target: self._analysis.assign(s, t, value, frame)
            )
        return _Flows(normal=states)

    def _aug_assign(self, node: cst.AugAssign, states: set, frame: Frame) -> _Flows:
        return _Flows(normal=self._evaluate(node.value, states, frame)[0])

    def _return(self, node: cst.Return, states: set, frame: Frame) -> _Flows:
        key = None
        if node.value is not None:
            states, key = self._evaluate(node.value, states, frame)
            key = key or frame.key(node.value)
        flows = _Flows(returned=set(states))
        if key is not None:
            flows.returned_keys.add(key)
        return flows

    def _raise(self, node: cst.Raise, states: set, frame: Frame) -> _Flows:
        if node.exc is not None:
            states = self._evaluate(node.exc, states, frame)[0]
        return _Flows(raised=set(states))

    def _break(self, node: cst.Break, states: set, frame: Frame) -> _Flows:
        return _Flows(broke=set(states))

    def _continue(self, node: cst.Continue, states: set, frame: Frame) -> _Flows:
        return _Flows(continued=set(states))

    def _if(self, node: cst.If, states: set, frame: Frame) -> _Flows:
        states = self._evaluate(node.test, states, frame)[0]
        then = self._suite(node.body, states, frame)
        orelse = node.orelse
        if orelse is None:
            other = _Flows(normal=set(states))
        elif isinstance(orelse, cst.If):
            other = self._if(orelse, states, frame)
        else:
            other = self._suite(orelse.body, states, frame)
        return _join(then, other)

    def _loop(self, node: cst.For | cst.While, states: set, frame: Frame) -> _Flows:
        head = node.iter if isinstance(node, cst.For) else node.test
        states = self._evaluate(head, states, frame)[0]
        if isinstance(node, cst.For):
            self._bind_loop_target(node.target, node.iter, frame)
        endless = isinstance(node, cst.While) and _always_true(node.test)
        entry, exits, seen = set(states), _Flows(), set(states)
        for _ in range(_MAX_LOOP_ROUNDS):  # a worklist: only states not seen at the head yet
            body = self._suite(node.body, entry, frame)
            _merge_exits(exits, body)
            entry = (body.normal | body.continued) - seen
            if not entry:
                break
            seen |= entry
            _check_size(seen)
        else:
            raise TooManyPaths  # no fixpoint in sight: give the scope up
        finished = set() if endless else set(seen)
        after = self._suite(node.orelse.body if node.orelse else None, finished, frame)
        after.normal |= exits.broke
        exits.broke, exits.continued = set(), set()
        return _join(after, exits)

    def _try(self, node: cst.Try | cst.TryStar, states: set, frame: Frame) -> _Flows:
        body = _Flows(normal=set(states))
        reachable = set(states)  # every state a handler may start from
        for statement in node.body.body:
            if not body.normal:
                break
            step = self._statement(statement, body.normal, frame)
            body.normal = step.normal
            _merge_exits(body, step)
            reachable |= step.normal | step.raised
        outcome = self._suite(node.orelse.body if node.orelse else None, body.normal, frame)
        _merge_exits(outcome, body)
        for handler in node.handlers:
            outcome = _join(outcome, self._suite(handler.body, reachable, frame))
        if node.finalbody is not None:
            final = self._suite(node.finalbody.body, outcome.normal, frame)
            outcome.normal = final.normal
            _merge_exits(outcome, final)
        return outcome

    def _with(self, node: cst.With, states: set, frame: Frame) -> _Flows:
        for item in node.items:
            states = self._evaluate(item.item, states, frame)[0]
        return self._suite(node.body, states, frame)

    def _match(self, node: cst.Match, states: set, frame: Frame) -> _Flows:
        states = self._evaluate(node.subject, states, frame)[0]
        outcome = _Flows(normal=set(states))  # no case matched
        for case in node.cases:
            outcome = _join(outcome, self._suite(case.body, states, frame))
        return outcome

    # -- expressions --------------------------------------------------------------------

    def _evaluate(self, node: cst.CSTNode, states: set, frame: Frame) -> tuple[set, str | None]:
        """The states after evaluating `node`'s calls in order; and, when `node` itself is a
        call of a function of the file, the key of what it returned."""
        returned_key = None
        for call in _calls_in_order(node):
            states = self._apply(states, lambda s, c=call: self._analysis.call(s, c, frame))
            states, key = self._inline(call, states, frame)
            if call is node:
                returned_key = key
        return states, returned_key

    def _inline(self, call: cst.Call, states: set, frame: Frame) -> tuple[set, str | None]:
        target = self._resolve(call, frame)
        if target is None or isinstance(target, str):  # nothing, or an instance without __init__
            return states, target
        function, owner, self_key = target
        if id(function) in frame.stack or len(frame.stack) >= _MAX_DEPTH:
            return states, None
        callee = self._frame_for(function, prefix=f"{function.name.value}.")
        aliases, literals = dict(callee.aliases), {}
        params = _parameters(function)
        if owner is not None:
            aliases.update(self._self_alias(function, self_key))
            params = params[1:]
        for param, argument in _bind_arguments(params, call):
            key = frame.key(argument)
            if key is not None:
                aliases[param] = key
            literals[param] = frame.literal(argument)
        callee = replace(
            callee,
            aliases=aliases,
            literals=literals,
            call_site=frame.site(call, *(argument.value for argument in call.args)),
            calls=(*frame.calls, call),
            owner=owner,
            stack=(*frame.stack, id(function)),
        )
        flows = self._body(function, states, callee)
        keys = flows.returned_keys
        returned_key = next(iter(keys)) if len(keys) == 1 else None
        if function.name.value == "__init__":
            returned_key = self_key  # `C(...)` gives the instance
        return self._returned_or_normal(flows), returned_key

    def _resolve(
        self, call: cst.Call, frame: Frame
    ) -> tuple[cst.FunctionDef, str | None, str] | str | None:
        """The function of the file `call` runs, the class it is a method of, and the key of
        `self` there: `f()`, `C()` (its `__init__`), `self.m()`, `obj.m()` for an instance; for
        `C()` of a class without `__init__`, only the key of the new instance."""
        func = call.func
        if isinstance(func, cst.Name):
            name = func.value
            if name in frame.aliases or name in frame.locals:
                return None
            if name in self._functions:
                return self._functions[name], None, ""
            if name in self._classes:
                instance = f"{frame.prefix}{name}()#{id(call)}"
                self.instances[instance] = name
                init = self._classes[name].get("__init__")
                return (init, name, instance) if init is not None else instance
            return None
        if isinstance(func, cst.Attribute):
            receiver = frame.key(func.value)
            if receiver is None:
                return None
            owner = self.instances.get(receiver)
            if owner is None and isinstance(func.value, cst.Name) and func.value.value == "self":
                owner = frame.owner
            method = self._classes.get(owner, {}).get(func.attr.value) if owner else None
            if method is not None:
                return method, owner, receiver
        return None

    # -- bookkeeping --------------------------------------------------------------------

    def _apply(self, states: set, step: Callable[[S], Iterable[S]]) -> set:
        after = {successor for state in states for successor in step(state)}
        _check_size(after)
        return after

    def _returned_or_normal(self, flows: _Flows) -> set:
        return flows.normal | flows.returned

    def _frame_for(self, function: cst.FunctionDef, prefix: str) -> Frame:
        """A frame whose locals are named apart from the caller's (`build.model`)."""
        return Frame(prefix=prefix, locals=self._local_names(function))

    def _local_names(self, function: cst.FunctionDef) -> frozenset[str]:
        found = self._locals.get(id(function))
        if found is None:
            collector = _AssignedNames()
            function.body.visit(collector)
            found = frozenset(collector.names)
            self._locals[id(function)] = found
        return found

    def _self_alias(self, function: cst.FunctionDef, self_key: str) -> dict[str, str]:
        params = _parameters(function)
        return {params[0]: self_key} if params else {}

    def _bind_alias(
        self, target: cst.BaseExpression, value: cst.BaseExpression, frame: Frame
    ) -> None:
        """`base = model.layers[0]`: `base` now names what the value names. Frames are
        per-call and the bindings flow-insensitive: the last assignment seen wins."""
        if not isinstance(target, cst.Name):
            return
        key = frame.key(value) if not isinstance(value, cst.Call) or _is_get_layer(value) else None
        if key is None:
            frame.aliases.pop(target.value, None)
        elif key != target.value:  # `x = x` names what it named
            frame.aliases[target.value] = key

    def _bind_loop_target(
        self, target: cst.BaseExpression, iterable: cst.BaseExpression, frame: Frame
    ) -> None:
        """`for layer in model.layers:` makes `layer` name every element: `model.layers[*]`."""
        if not isinstance(target, cst.Name):
            return
        base = frame.key(iterable)
        if base is not None:
            frame.aliases[target.value] = f"{base}[*]"
        else:
            frame.aliases.pop(target.value, None)

    def _retag_instance(self, old: str, new: str) -> None:
        if old in self.instances:
            self.instances[new] = self.instances[old]


def _is_get_layer(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "get_layer"


def _always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "True"
    return isinstance(test, cst.Integer) and test.evaluated_value != 0


def _merge_exits(into: _Flows, step: _Flows) -> None:
    into.returned |= step.returned
    into.returned_keys |= step.returned_keys
    into.broke |= step.broke
    into.continued |= step.continued
    into.raised |= step.raised


def _join(one: _Flows, other: _Flows) -> _Flows:
    joined = _Flows(normal=one.normal | other.normal)
    _merge_exits(joined, one)
    _merge_exits(joined, other)
    _check_size(joined.normal)
    return joined


def _check_size(states: set) -> None:
    if len(states) > _MAX_STATES:
        raise TooManyPaths


def _parameters(function: cst.FunctionDef) -> list[str]:
    params = function.params
    return [param.name.value for param in (*params.posonly_params, *params.params)] + [
        param.name.value for param in params.kwonly_params
    ]


def _bind_arguments(params: list[str], call: cst.Call) -> list[tuple[str, cst.BaseExpression]]:
    """(parameter, argument) pairs for positional and keyword arguments; starred ones stop
    the positional matching (their length is unknown)."""
    bound = []
    position = 0
    for argument in call.args:
        if argument.star:
            position = len(params)
        elif argument.keyword is not None:
            if argument.keyword.value in params:
                bound.append((argument.keyword.value, argument.value))
        elif position < len(params):
            bound.append((params[position], argument.value))
            position += 1
    return bound


def _calls_in_order(node: cst.CSTNode) -> list[cst.Call]:
    """The calls `node` makes, in evaluation order (arguments and receivers before the call);
    lambdas and nested definitions are not run."""
    found: list[cst.Call] = []
    pending: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    while pending:
        current, expanded = pending.pop()
        if expanded:
            found.append(current)
            continue
        if type(current) in _NOT_RUN:
            continue
        if type(current) is cst.Call:
            pending.append((current, True))
        pending.extend((child, False) for child in reversed(current.children))
    return found


_NOT_RUN = (cst.Lambda, cst.FunctionDef, cst.ClassDef)


def _nested_functions(module: cst.Module) -> list[cst.FunctionDef]:
    """Functions defined inside functions (analysed on their own like the others)."""
    collector = _NestedFunctions()
    module.visit(collector)
    return collector.found


class _NestedFunctions(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.found: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.depth > 0:
            self.found.append(node)
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1


class _AssignedNames(cst.CSTVisitor):
    """Names a function body assigns (its locals), nested definitions excluded."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._add(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._add(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._add(node.target)

    def _add(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._add(element.value)


_SMALL_STATEMENTS = (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Del)
_STATEMENTS: dict[type, Callable] = {
    cst.SimpleStatementLine: Interpreter._small_statements,
    cst.SimpleStatementSuite: Interpreter._small_statements,
    cst.Expr: Interpreter._expression_statement,
    cst.Assign: Interpreter._assign,
    cst.AnnAssign: Interpreter._assign,
    cst.AugAssign: Interpreter._aug_assign,
    cst.Return: Interpreter._return,
    cst.Raise: Interpreter._raise,
    cst.Break: Interpreter._break,
    cst.Continue: Interpreter._continue,
    cst.If: Interpreter._if,
    cst.For: Interpreter._loop,
    cst.While: Interpreter._loop,
    cst.Try: Interpreter._try,
    cst.TryStar: Interpreter._try,
    cst.With: Interpreter._with,
    cst.Match: Interpreter._match,
    cst.Del: Interpreter._expression_statement,
}
