"""Expressions and calls: a forward abstract interpreter over a file's scopes.

Statements move paths as `control_flow` says; here each expression's calls are run in
evaluation order (a call's arguments before it), each call either inlined or making an object,
and each assignment binds its targets to objects (`objects`). Calls resolved by name are inlined
with their arguments bound (`make_trainable(d, False)`, `self.build_gan()` inside the class,
`GAN()` running `__init__`, `gan.train()` on an instance of a class of the file), to a bounded
depth, and give back what they return (one object, or a tuple of them: `g, d, gan = build()`).
A finding inside one is reported where it is, or at the call when the call's arguments decide
it. Each function is also analysed on its own (methods after their class's `__init__`).

An `Analysis` says what each call, assignment and simple statement does to its own state; it
never sees the paths' branch conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Generic, Protocol, TypeVar

import libcst as cst

from tfcollections.lint.analysis import control_flow
from tfcollections.lint.analysis.control_flow import (
    Exits,
    Path,
    Statements,
    TooManyPaths,
    assigned_names,
    statement_blocks,
)
from tfcollections.lint.analysis.objects import (
    LAYER_CONTAINERS,
    OPEN,
    Frame,
    Heap,
    children,
    is_get_layer,
)
from tfcollections.lint.analysis.summaries import UNRESOLVED, ClassInfo, Project, Summary

S = TypeVar("S")

MAX_DEPTH = 4
ELSEWHERE_BUDGET = 500
"""Simple statements (times paths) the analysis of one file may run in other modules; past
it, their calls are not followed (what they do is unknown): linting a library as a project
stays fast."""
_EMPTY = cst.Module(body=[])


class Analysis(Protocol[S]):
    """What the statements mean to one analysis: each method maps one state to its successors
    (usually one). Nodes are visited in evaluation order (a call's arguments before it)."""

    def call(self, state: S, node: cst.Call, frame: Frame) -> Iterable[S]: ...

    def assign(
        self, state: S, target: cst.BaseExpression, value: cst.BaseExpression | None, frame: Frame
    ) -> Iterable[S]: ...

    def statement(self, state: S, node: cst.BaseSmallStatement, frame: Frame) -> Iterable[S]:
        """After a simple statement's calls and assignments (`del col[0]`, `col[:] = []`)."""
        ...

    def opaque(self, state: S, node: cst.Call, frame: Frame) -> Iterable[S]:
        """After a call into the project that could not be followed (past a limit, or a name
        made at run time): what it did to its arguments is unknown."""
        ...


def _always_open(call: cst.Call, frame: Frame) -> str:
    return OPEN


class Interpreter(Statements, Generic[S]):
    """Runs an `Analysis` over every scope of a module (see the module docstring). `makes`
    tells what an object a call makes holds (`objects.OPEN`, `BUILT` or `FRESH`); `project`,
    when given, lets calls into the project's other modules be followed (`summaries`), into
    modules that hold one of the `relevant` words (lower case) at least."""

    def __init__(
        self,
        scope: Summary,
        analysis: Analysis[S],
        makes: Callable[[cst.Call, Frame], str] = _always_open,
        project: Project | None = None,
        relevant: frozenset[bytes] = frozenset(),
    ) -> None:
        self._analysis = analysis
        self._relevant = relevant
        self._elsewhere_work = 0
        self._makes = makes
        self._scope = scope
        self._project = project
        self._locals: dict[int, frozenset[str]] = {}
        self._calls: dict[int, list[cst.Call]] = {}
        self.instances: dict[str, ClassInfo] = {}  # object -> the project class it is of
        self.heap = Heap()

    def run_all(self, initial: S, on_scope_done: Callable[[bool], None]) -> None:
        """The module body, every function, every method (after `__init__`); each from
        `initial`. `on_scope_done` is told after each scope so the analysis can keep or drop
        what it found there (dropped when the scope had too many paths)."""
        start = {Path(initial)}
        module = self._scope.module
        self._run_root(lambda: self._block(module.body, start, self._root()), on_scope_done)
        for function in [*self._scope.functions.values(), *_nested_functions(module)]:
            self._run_root(lambda f=function: self._body(f, start, self._root()), on_scope_done)
        for owner in self._scope.classes.values():
            for method in owner.methods.values():
                self._run_root(
                    lambda o=owner, m=method: self._method_root(o, m, start), on_scope_done
                )

    def _root(self) -> Frame:
        return Frame(heap=self.heap, scope=self._scope, project=self._project)

    def _run_root(self, run: Callable[[], object], on_scope_done: Callable[[bool], None]) -> None:
        self.instances = {}
        self.heap = Heap()
        try:
            run()
        except TooManyPaths:
            on_scope_done(False)
            return
        on_scope_done(True)

    def _method_root(self, owner: ClassInfo, method: cst.FunctionDef, paths: set[Path]) -> None:
        init = owner.methods.get("__init__")
        if init is not None and init is not method:
            init_frame = replace(
                self._frame_for(init, "__init__.", self._scope),
                aliases=self._self_alias(init, "self"),
                owner=owner,
                stack=(id(init),),
            )
            exits = self._body(init, paths, init_frame)
            paths = exits.normal | exits.returned
        frame = replace(
            self._root(), aliases=self._self_alias(method, "self"), owner=owner, stack=(id(method),)
        )
        self._body(method, paths, frame)

    # -- simple statements ----------------------------------------------------------------

    def _body(self, function: cst.FunctionDef, paths: set[Path], frame: Frame) -> Exits:
        body = function.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        return self._block(statements, paths, frame)

    def _simple(self, node: cst.BaseSmallStatement, paths: set[Path], frame: Frame) -> Exits:
        if frame.entry is not None:
            self._elsewhere_work += len(paths)
        if isinstance(node, (cst.Assign, cst.AnnAssign)):
            paths = self._assign(node, paths, frame)
        elif isinstance(node, cst.AugAssign):
            paths = self._evaluate(node.value, paths, frame)[0]
            paths = self._forget(node.target, paths, frame)
        else:  # an expression statement, `del`
            paths = self._evaluate(node, paths, frame)[0]
        return Exits(normal=self._apply(paths, lambda s: self._analysis.statement(s, node, frame)))

    def _assign(self, node: cst.Assign | cst.AnnAssign, paths: set[Path], frame: Frame) -> set:
        value = node.value
        if value is None:
            return paths
        paths, obj = self._evaluate(value, paths, frame)
        if obj is None:
            obj = self._made(value, frame)
        targets = (
            [target.target for target in node.targets]
            if isinstance(node, cst.Assign)
            else [node.target]
        )
        for target in targets:
            self._bind(target, obj, frame)
            paths = self._forget(target, paths, frame)
            paths = self._apply(
                paths, lambda s, t=target: self._analysis.assign(s, t, value, frame)
            )
        return paths

    def _made(self, value: cst.BaseExpression, frame: Frame) -> str:
        """The object a literal or an expression makes (`[a, b]`, `x + y`), with its parts."""
        obj = frame.allocation(value)
        self.heap.allocate(obj, frame.carried(value))
        if isinstance(value, (cst.Tuple, cst.List)):
            for index, element in enumerate(value.elements):
                if isinstance(element, cst.StarredElement):
                    break
                self.heap.fields[f"{obj}[{index}]"] = frame.object_of(element.value)
        return obj

    def _bind(self, target: cst.BaseExpression, obj: str, frame: Frame) -> None:
        """`target` now stands for `obj`; tuple targets take its elements (a call's outputs,
        `valid, label = d(img)`, all stand for the tensor that call made)."""
        if isinstance(target, cst.Name):
            if obj != target.value:  # `x = x` names what it named
                frame.aliases[target.value] = obj
                self.heap.name(obj, target.value, outer=not frame.calls)
        elif isinstance(target, (cst.Attribute, cst.Subscript)):
            path = frame.key(target.value)
            if path is not None:
                if isinstance(target, cst.Attribute):
                    path = f"{path}.{target.attr.value}"
                else:
                    inside = ", ".join(_EMPTY.code_for_node(e.slice) for e in target.slice)
                    path = f"{path}[{inside}]"
                self.heap.fields[path] = obj
                self.heap.name(obj, _EMPTY.code_for_node(target), outer=not frame.calls)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for index, element in enumerate(target.elements):
                inner = element.value
                if isinstance(element, cst.StarredElement):
                    self._bind(inner, obj, frame)
                else:
                    self._bind(inner, self.heap.fields.get(f"{obj}[{index}]", obj), frame)

    def _forget(self, target: cst.BaseExpression, paths: set[Path], frame: Frame) -> set[Path]:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                paths = self._forget(element.value, paths, frame)
            return paths
        subject = self._subject(target, frame)
        return paths if subject is None else control_flow.forget(paths, subject)

    def _subject(self, expr: cst.BaseExpression, frame: Frame) -> str | None:
        """A tested expression as written in this frame: what an assignment to it forgets."""
        if isinstance(expr, cst.StarredElement):
            expr = expr.value
        if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript)):
            return f"{frame.prefix}{_EMPTY.code_for_node(expr)}"
        return None

    def _bind_loop_target(self, node: cst.For, paths: set[Path], frame: Frame) -> set[Path]:
        """`for layer in model.layers:` makes `layer` stand for every element:
        `model.layers[*]`."""
        base = frame.key(node.iter)
        if isinstance(node.target, cst.Name):
            if base is not None:
                frame.aliases[node.target.value] = f"{base}[*]"
            else:
                frame.aliases.pop(node.target.value, None)
        return self._forget(node.target, paths, frame)

    def _never_empty(self, iterable: cst.BaseExpression, frame: Frame) -> bool:
        """A model's layer list: the loop body runs at least once."""
        return isinstance(iterable, cst.Attribute) and iterable.attr.value in LAYER_CONTAINERS

    # -- expressions --------------------------------------------------------------------

    def _evaluate(
        self, node: cst.CSTNode, paths: set[Path], frame: Frame
    ) -> tuple[set[Path], str | None]:
        """The paths after evaluating `node`'s calls in order, and the object `node` stands
        for (None when it is a literal or an expression that makes none by itself)."""
        calls = self._calls.get(id(node))
        if calls is None:  # LibCST computes `children` by visiting: once a node
            calls = self._calls[id(node)] = _calls_in_order(node)
        for call in calls:
            paths = self._apply(paths, lambda s, c=call: self._analysis.call(s, c, frame))
            paths, returned = self._inline(call, paths, frame)
            frame.values[id(call)] = self._call_value(call, returned, frame)
        if isinstance(node, (cst.Tuple, cst.List)):
            return paths, self._made(node, frame)
        return paths, frame.key(node) if isinstance(node, cst.BaseExpression) else None

    def _call_value(self, call: cst.Call, returned: str | None, frame: Frame) -> str:
        """What a call gives: what the inlined function returned (`return g, d, gan` is a
        tuple object whose elements are fields), else a new object made of its arguments."""
        if returned is not None:
            return returned
        obj = frame.allocation(call)
        if not is_get_layer(call):
            made_of = frame.carried(call.func) | {
                key for argument in call.args for key in frame.carried(argument.value)
            }
            self.heap.allocate(obj, made_of, self._makes(call, frame))
        return obj

    def _inline(
        self, call: cst.Call, paths: set[Path], frame: Frame
    ) -> tuple[set[Path], str | None]:
        target = self._resolve(call, frame)
        if target is None or isinstance(target, str):  # nothing, or an instance without __init__
            return paths, target
        if isinstance(target, _Unfollowed) or len(frame.stack) >= MAX_DEPTH:
            return self._apply(paths, lambda s: self._analysis.opaque(s, call, frame)), None
        function, owner, self_key, scope = target
        if id(function) in frame.stack:
            return paths, None
        callee = self._frame_for(function, f"{function.name.value}.", scope)
        aliases, literals = dict(callee.aliases), {}
        params = _parameters(function)
        if owner is not None:
            aliases.update(self._self_alias(function, self_key))
            params = params[1:]
        for param, argument in _bind_arguments(params, call):
            aliases[param] = frame.object_of(argument)
            literals[param] = frame.literal(argument)
        callee = replace(
            callee,
            heap=self.heap,
            aliases=aliases,
            literals=literals,
            call_site=frame.site(call, *(argument.value for argument in call.args)),
            calls=(*frame.calls, call),
            owner=owner,
            stack=(*frame.stack, id(function)),
            entry=frame.entry if frame.entry is not None or scope.entry else call,
            hops=frame.hops + (scope is not frame.scope),
        )
        exits = self._body(function, paths, callee)
        values = exits.returned_values
        returned = next(iter(values)) if len(values) == 1 else None
        if function.name.value == "__init__":
            returned = self_key  # `C(...)` gives the instance
        return exits.normal | exits.returned, returned

    def _resolve(self, call: cst.Call, frame: Frame) -> _Target | _Unfollowed | str | None:
        """The project function `call` runs, the class it is a method of, the object `self`
        is there and the module it is in: `f()`, `C()` (its `__init__`), `self.m()`,
        `obj.m()` for an instance, `helpers.f()` in another module; for `C()` of a class
        without `__init__`, only the new instance."""
        func, scope = call.func, frame.scope
        assert scope is not None
        if isinstance(func, cst.Name):
            name = func.value
            if name in frame.aliases or name in frame.locals:
                return None
            if name in scope.functions:
                return scope.functions[name], None, "", scope
            if name in scope.classes:
                return self._instance(call, scope.classes[name], frame)
            return self._elsewhere(call, frame)
        if isinstance(func, cst.Attribute):
            receiver = frame.key(func.value)
            if receiver is None:
                return self._elsewhere(call, frame)
            owner = self.instances.get(receiver)
            if owner is None and isinstance(func.value, cst.Name) and func.value.value == "self":
                owner = frame.owner
            method = owner.methods.get(func.attr.value) if owner is not None else None
            if method is not None:
                return method, owner, receiver, owner.summary
        return None

    def _instance(self, call: cst.Call, owner: ClassInfo, frame: Frame) -> _Target | str:
        instance = frame.allocation(call)
        self.instances[instance] = owner
        init = owner.methods.get("__init__")
        return (init, owner, instance, owner.summary) if init is not None else instance

    def _elsewhere(self, call: cst.Call, frame: Frame) -> _Target | _Unfollowed | str | None:
        """A call of a function or class of another project module (see `summaries`)."""
        project, scope = self._project, frame.scope
        if project is None or scope is None:
            return None
        found = project.callee(scope, call.func, project.follow.depth, self._relevant)
        if found is None:
            return None
        too_far = frame.hops >= project.follow.depth or self._elsewhere_work > ELSEWHERE_BUDGET
        if found == UNRESOLVED or too_far:
            return _UNFOLLOWED
        definition, summary = found
        if isinstance(definition, ClassInfo):
            return self._instance(call, definition, frame)
        return definition, None, "", summary

    # -- bookkeeping --------------------------------------------------------------------

    def _apply(self, paths: set[Path], step: Callable[[S], Iterable[S]]) -> set[Path]:
        after = {Path(new, path.facts) for path in paths for new in step(path.state)}
        control_flow.check_size(after)
        return after

    def _frame_for(self, function: cst.FunctionDef, prefix: str, scope: Summary) -> Frame:
        """A frame whose locals are named apart from the caller's (`build.model`)."""
        return Frame(
            heap=self.heap,
            prefix=prefix,
            locals=self._local_names(function),
            scope=scope,
            project=self._project,
        )

    def _local_names(self, function: cst.FunctionDef) -> frozenset[str]:
        found = self._locals.get(id(function))
        if found is None:
            statements = statement_blocks(function)[0]
            found = self._locals[id(function)] = frozenset(assigned_names(statements))
        return found

    def _self_alias(self, function: cst.FunctionDef, self_key: str) -> dict[str, str]:
        params = _parameters(function)
        return {params[0]: self_key} if params else {}


class _Unfollowed:
    """A call into the project that cannot be followed (see `Analysis.opaque`)."""


_UNFOLLOWED = _Unfollowed()
_Target = tuple[cst.FunctionDef, ClassInfo | None, str, Summary]


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
    lambdas and nested definitions are not run. Iterative: an 800-term sum is no deeper."""
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
        pending.extend((child, False) for child in reversed(children(current)))
    return found


_NOT_RUN = (cst.Lambda, cst.FunctionDef, cst.ClassDef)


def _nested_functions(module: cst.Module) -> list[cst.FunctionDef]:
    """Functions defined inside functions (analysed on their own like the others), found by
    walking statements only (a LibCST visit of every expression costs about a parse)."""
    found: list[cst.FunctionDef] = []

    def walk(statements: Sequence[cst.CSTNode], inside: bool) -> None:
        for statement in statements:
            if isinstance(statement, cst.BaseCompoundStatement):
                is_function = isinstance(statement, cst.FunctionDef)
                if is_function and inside:
                    found.append(statement)
                for block in statement_blocks(statement):
                    walk(block, inside or is_function)

    walk(module.body, False)
    return found
