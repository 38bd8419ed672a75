"""The fixes of the Keras rules, both unsafe (they change which layers train, which is their
point): compile again after an ignored toggle (TFC004), and set a GAN discriminator's flag
before each model's training call (TFC005). Offered only where the inserted code means the
same at the new place as where it was written; otherwise no fix."""

from __future__ import annotations

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint.analysis.summaries import Remote
from tfcollections.lint.fixes import Insert, NodeFix, Tree
from tfcollections.lint.flow import Flow

_CODE = cst.Module(body=[])
_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary)


def recompile_after(
    toggle: cst.CSTNode | Remote, compiled: cst.CSTNode | Remote | None, flow: Flow, tree: Tree
) -> NodeFix | None:
    """`model.compile(<its arguments as written>)` after `toggle` (after the loop, when the
    toggle is in a loop that only toggles), if that compile() is a statement of this file
    whose arguments make the same thing again here: literals, and calls and names of
    imported modules (a new optimizer each time, never a shared optimizer object)."""
    if isinstance(toggle, Remote) or not isinstance(compiled, cst.Call):
        return None
    statement = tree.statement(compiled)
    if not (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is compiled
        and isinstance(compiled.func, cst.Attribute)
    ):
        return None
    receiver = compiled.func.value
    imported = flow.imported_names()
    if not _same_object_there(receiver, compiled, toggle, tree) or not all(
        _repeatable(argument.value, imported) and not argument.star for argument in compiled.args
    ):
        return None
    anchor = tree.statement(toggle)
    if anchor is None:
        return None
    anchor = _outermost_toggle_loop(anchor, tree)
    code = _CODE.code_for_node(statement.body[0]).strip()
    return NodeFix(f"Compile `{_CODE.code_for_node(receiver)}` again after the change: `{code}`",
                   False, (Insert(anchor, code, after=True),))  # fmt: skip


def toggle_around(call: cst.CSTNode | Remote, model: str, tree: Tree) -> NodeFix | None:
    """Keras 3's GAN: `model.trainable = True` before `model`'s training call and `False`
    again before the next training call of another model in the same block (the combined
    model, compiled while `model` was frozen); no fix without that second call."""
    if not isinstance(call, cst.Call) or _receiver(call) != model:
        return None
    statement = tree.statement(call)
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    block = list(tree.block(statement))
    if statement not in block:
        return None
    for later in block[block.index(statement) + 1 :]:
        trained = [node for node in _calls(later) if _receiver(node) not in (None, model)]
        if trained:
            changes = (
                Insert(statement, f"{model}.trainable = True"),
                Insert(later, f"{model}.trainable = False"),
            )
            other = _receiver(trained[0])
            message = (
                f"Set `{model}.trainable = True` before its training call, False before `{other}`'s"
            )
            return NodeFix(message, False, changes)
    return None


def _receiver(call: cst.Call) -> str | None:
    """`d` of `d.train_on_batch(...)` (a training call), as written."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in tfnames.KERAS_TRAINING_METHODS:
        return _CODE.code_for_node(func.value)
    return None


def _calls(statement: cst.CSTNode) -> list[cst.Call]:
    """The training calls a simple statement makes (none for a compound statement)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    found: list[cst.Call] = []
    pending: list[cst.CSTNode] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Call) and _receiver(node) is not None:
            found.append(node)
        pending.extend(node.children)
    return found


def _same_object_there(
    receiver: cst.BaseExpression, compiled: cst.CSTNode, toggle: cst.CSTNode, tree: Tree
) -> bool:
    """`receiver` (a name or `self.attribute`) written at the toggle stands for the model it
    stood for at the compile(): same function, or two methods of one class through `self`."""
    names = _CODE.code_for_node(receiver).split(".")
    if not all(name.isidentifier() for name in names):
        return False
    here, there = tree.scope(compiled), tree.scope(toggle)
    if here is there:
        return True
    return (
        names[0] == "self"
        and _class_of(here, tree) is not None
        and (_class_of(here, tree) is _class_of(there, tree))
    )


def _class_of(function: cst.CSTNode | None, tree: Tree) -> cst.CSTNode | None:
    block = tree.parent(function) if function is not None else None
    owner = tree.parent(block) if block is not None else None
    return owner if isinstance(owner, cst.ClassDef) else None


def _repeatable(expr: cst.BaseExpression, imported: dict[str, str]) -> bool:
    """Written again, `expr` makes an equal value: literals, containers of them, and names,
    attributes and calls of imported modules with such arguments."""
    if isinstance(expr, _LITERALS):
        return True
    if isinstance(expr, cst.Name):
        return expr.value in ("True", "False", "None") or expr.value in imported
    if isinstance(expr, cst.Attribute):
        return _repeatable(expr.value, imported)
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        return all(
            isinstance(element, cst.Element) and _repeatable(element.value, imported)
            for element in expr.elements
        )
    if isinstance(expr, cst.Dict):
        return all(
            isinstance(element, cst.DictElement)
            and _repeatable(element.key, imported)
            and _repeatable(element.value, imported)
            for element in expr.elements
        )
    if isinstance(expr, cst.UnaryOperation):
        return _repeatable(expr.expression, imported)
    if isinstance(expr, cst.BinaryOperation):
        return _repeatable(expr.left, imported) and _repeatable(expr.right, imported)
    if isinstance(expr, cst.Call):
        return _repeatable(expr.func, imported) and all(
            not argument.star and _repeatable(argument.value, imported) for argument in expr.args
        )
    return False


def _outermost_toggle_loop(statement: cst.BaseStatement, tree: Tree) -> cst.BaseStatement:
    """The outermost `for` around `statement` whose body only sets flags (`for layer in
    base.layers: layer.trainable = True`): one compile() after it, not one per layer."""
    enclosing = tree.statement(tree.parent(statement)) if tree.parent(statement) else None
    while isinstance(enclosing, cst.For) and _only_toggles(enclosing):
        statement = enclosing
        parent = tree.parent(statement)
        enclosing = tree.statement(parent) if parent is not None else None
    return statement


def _only_toggles(loop: cst.For) -> bool:
    body = loop.body
    if loop.orelse is not None or not isinstance(body, cst.IndentedBlock):
        return False
    return all(
        isinstance(line, cst.SimpleStatementLine)
        and all(
            isinstance(small, cst.Assign)
            and all(
                isinstance(target.target, cst.Attribute) and target.target.attr.value == "trainable"
                for target in small.targets
            )
            for small in line.body
        )
        for line in body.body
    )
