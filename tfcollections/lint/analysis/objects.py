"""What names and expressions stand for: abstract objects, made where they are allocated.

An object is named by a key. A call or literal assigned to a name allocates one (`@<calls>:<site>`,
so `build()` called twice makes two), a name nothing in the analysis binds is its own object
(`d`, a parameter of the analysed function, a global), and parts are keys under their owner:
`model.layers[*]` (every layer), `model.layers[-1]`, `model.get_layer('x')`, `self.head`. Names
and fields are bound to objects, so state kept per object follows the object, not the name:
`model = keras.Model(inputs, head(model.output))` makes a new model that holds the old one's
layers.

The `Heap` records what each object was built from (`Model(z, d(g(z)))` holds the tensor
`d(...)` made, which holds `d` and the tensor `g(z)`...), which is how containment is decided.
An object the analysis did not see built, or built by a call it cannot follow, is *open*: it
may hold anything, but surely holds only its own parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from tfcollections.lint.analysis.summaries import Project, Remote, Summary

LAYER_CONTAINERS = ("layers", "submodules", "_layers")
OPEN, BUILT, FRESH = "open", "built", "fresh"
"""What a call makes: something that may hold anything besides its arguments (another
library's code), something made of its arguments (`Model(z, d(g(z)))`, `d(x)`), or something
that holds nothing of the caller's (`load_model(path)`, `Input(shape)`)."""
TENSOR_ATTRIBUTES = frozenset({"output", "outputs", "input", "inputs"})
ALLOCATED = "@"
_EMPTY = cst.Module(body=[])


def under(key: str, root: str) -> bool:
    """`key` is `root` or one of its parts (`root.x`, `root[0]`)."""
    return key == root or key.startswith((f"{root}.", f"{root}["))


def prefixes(key: str) -> list[str]:
    """`key` and every object it is a part of, by name: `m.layers[-1]` -> `m.layers[-1]`,
    `m`, `m.layers`, and `m.layers[*]` (every layer includes this one)."""
    cuts = [index for index, char in enumerate(key) if char in ".["]
    found = [key, *(key[:index] for index in cuts)]
    if key.endswith("]") and not key.endswith("[*]"):
        found.append(key[: key.rindex("[")] + "[*]")
    return found


def whole(key: str) -> tuple[str, bool]:
    """The object a key's flag is set on, and whether it is that object itself: `m` ->
    (`m`, True); `m.layers[*]` and `m.layers` -> (`m`, False): every part of `m` but `m`."""
    own = True
    if key.endswith("[*]"):
        key, own = key[:-3], False
    for container in LAYER_CONTAINERS:
        if key.endswith(f".{container}"):
            return key[: -len(container) - 1], False
    return key, own


def tensor_of(key: str, attribute: str) -> set[str]:
    """The layers whose weights `key.<attribute>` (output, input...) is computed with: a
    model's inputs, none (Input layers have no weights); a model's outputs, all its layers
    (`d` -> `d.layers[*]`); a model's first layer's output, that layer alone; another layer
    of a model, the model's layers (the layers before it feed it)."""
    for container in LAYER_CONTAINERS:
        marker = f".{container}["
        if marker in key:
            first = key.endswith(f"{marker}0]")
            return {key} if first else {key[: key.index(marker)] + f".{container}[*]"}
    return set() if attribute in ("input", "inputs") else {f"{key}.layers[*]"}


class Heap:
    """The objects of one analysed scope: what each was built from, which are open, which
    object each field holds, and a name to show for each."""

    def __init__(self) -> None:
        self.contents: dict[str, set[str]] = {}
        self.open: set[str] = set()
        self.fields: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self._named_inside: set[str] = set()  # named only by a function it was built in
        self._reach: dict[str, frozenset[str]] = {}

    def allocate(self, obj: str, contents: Iterable[str], making: str = BUILT) -> None:
        """`obj` was made from `contents`, as `making` says (OPEN, BUILT or FRESH)."""
        if making != FRESH:
            self.add(obj, contents)
        if making == OPEN:
            self.open.add(obj)

    def add(self, obj: str, contents: Iterable[str]) -> None:
        """`obj` now also holds `contents` (`model.add(layer)`)."""
        known = self.contents.setdefault(obj, set())
        new = set(contents) - known - {obj}
        if new:
            known |= new
            self._reach.clear()

    def reach(self, obj: str) -> frozenset[str]:
        """Every object `obj` was built from, transitively; a part brings what its owner was
        built from (`d.layers[*]`, reached by a model over `d`'s tensors, brings `d`'s
        layers; `outputs[0]` the tensor `outputs`)."""
        found = self._reach.get(obj)
        if found is None:
            seen: set[str] = set()
            pending = [obj]
            while pending and len(seen) < 4096:
                current = pending.pop()
                made_of = [self.contents.get(part, ()) for part in prefixes(current)]
                for inner in (one for group in made_of for one in group):
                    if inner not in seen and inner != obj:
                        seen.add(inner)
                        pending.append(inner)
            found = self._reach[obj] = frozenset(seen - {whole(obj)[0]})
        return found

    def contains(self, container: str, key: str, *, surely: bool = True) -> bool:
        """Does setting `container.trainable` reach `key`: `key` is the container, a part of
        it by name, or something it was built from; or, unless `surely`, the container is open
        (the analysis did not see it built: it may hold anything)."""
        if key == container:
            return True
        base, own = whole(container)
        if under(key, base) and (own or key != base):
            return True
        reach = self.reach(container)
        if any(prefix in reach for prefix in prefixes(key)):
            return True
        return not surely and self.is_open(base)

    def is_open(self, key: str) -> bool:
        """`key` belongs to an object made by code the analysis cannot see, or to one it did
        not see made at all (a parameter, a global)."""
        root = _root(key)
        return root in self.open if root.startswith(ALLOCATED) else True

    def name(self, obj: str, shown: str, *, outer: bool) -> None:
        """`obj` is bound to `shown`; messages use the first name the analysed scope gave it
        (`gan`, not the builder's local `combined`), else the first name of all."""
        if obj in self.names and not (outer and obj in self._named_inside):
            return
        self.names[obj] = shown
        if outer:
            self._named_inside.discard(obj)
        else:
            self._named_inside.add(obj)

    def shown(self, key: str) -> str:
        """`key` as the code names it (`@140:151.layers[*]` -> `critic.layers[*]`)."""
        root = _root(key)
        name = self.names.get(root)
        return key if name is None else name + key[len(root) :]


@dataclass(frozen=True)
class Frame:
    """One function being interpreted: the objects its names are bound to (flow-insensitive
    within one call: the last binding seen wins), what its parameters were given, the calls
    that led to it, and the heap it shares with every frame of the analysed scope; the module
    it is in, and, in another module than the linted file, the call of the linted file that
    led there (`entry`) and how many module boundaries were crossed (`hops`)."""

    heap: Heap = field(default_factory=Heap)
    prefix: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    literals: dict[str, bool | None] = field(default_factory=dict)  # every bound parameter
    locals: frozenset[str] = frozenset()
    call_site: cst.CSTNode | None = None
    calls: tuple[cst.Call, ...] = ()  # the calls that led here from the analysed scope
    owner: str | None = None  # the class whose method this is
    stack: tuple[int, ...] = ()
    values: dict[int, str] = field(default_factory=dict)  # call node -> the object it gave
    scope: Summary | None = None
    project: Project | None = None
    entry: cst.Call | None = None
    hops: int = 0

    def key(self, expr: cst.BaseExpression) -> str | None:
        """The object `expr` denotes (see the module docstring); None for a value that has
        none here (a literal, a call not evaluated in this frame)."""
        if isinstance(expr, cst.Name):
            name = expr.value
            if name in _CONSTANTS:
                return None
            if name in self.aliases:
                return self.aliases[name]
            if name in self.locals:
                return f"{self.prefix}{name}"
            imported = self.scope is not None and name in self.scope.imports
            return None if imported else name
        if isinstance(expr, cst.Attribute):
            base = self.key(expr.value)
            if base is None:
                return None
            path = f"{base}.{expr.attr.value}"
            return self.heap.fields.get(path, path)
        if isinstance(expr, cst.Subscript):
            base = self.key(expr.value)
            inside = ", ".join(_EMPTY.code_for_node(element.slice) for element in expr.slice)
            return f"{base}[{inside}]" if base else None
        if isinstance(expr, cst.Call):
            if is_get_layer(expr):
                base = self.key(expr.func.value)
                args = ", ".join(_EMPTY.code_for_node(arg.value) for arg in expr.args)
                return f"{base}.get_layer({args})" if base else None
            return self.values.get(id(expr))
        return None

    def allocation(self, node: cst.CSTNode) -> str:
        """The object made at `node` when reached through this frame's calls."""
        chain = "".join(f"{id(call)}:" for call in self.calls)
        return f"{ALLOCATED}{chain}{id(node)}"

    def object_of(self, expr: cst.BaseExpression) -> str:
        """What `expr` denotes, or the object it makes here (a literal, an expression)."""
        return self.key(expr) or self.allocation(expr)

    def carried(self, expr: cst.CSTNode) -> set[str]:
        """The objects `expr` is made from: what a model built over it may hold. `d.output`
        brings `d`'s layers (a model over it shares them), `d(x)` the tensor that call made."""
        found: set[str] = set()
        pending = [expr]
        while pending:
            node = pending.pop()
            if type(node) in _NOT_EVALUATED:
                continue
            if isinstance(node, cst.Attribute) and node.attr.value in TENSOR_ATTRIBUTES:
                owner = self.key(node.value)
                if owner is not None:
                    found.update(tensor_of(owner, node.attr.value))
                    continue
            if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
                key = self.key(node)
                if key is not None:
                    found.add(key)
                    continue
            if isinstance(node, (cst.Attribute, cst.Arg)):  # not `.attr`, not `keyword=`
                pending.append(node.value)
            else:
                pending.extend(children(node))
        return found

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

    def site(self, node: cst.CSTNode, *inputs: cst.CSTNode) -> cst.CSTNode | Remote:
        """Where a finding at `node` is reported: at `node`, unless one of `inputs` (its
        receiver, its value) comes from the call's arguments: then at the call, which decides
        it (`make_trainable(d, False)`); in another module, at the call of the linted file
        that led there, naming `node` (see `placed`)."""
        if self.entry is not None:
            return self.placed(node)
        if self.call_site is not None and any(self._from_arguments(one) for one in inputs):
            return self.placed(self.call_site)
        return self.placed(node)

    def placed(self, node: cst.CSTNode) -> cst.CSTNode | Remote:
        """`node`, or, when it is in another module than the linted file, the call of the
        linted file that led to it (which names it)."""
        if self.entry is None or self.project is None:
            return node
        in_linted_file = True  # the calls that led here, up to the entry; then other modules
        for call in self.calls:
            if call is node:
                return node if in_linted_file else self.project.remote(self.entry, node, None)
            in_linted_file = in_linted_file and call is not self.entry
        return self.project.remote(self.entry, node, self.scope)

    def _from_arguments(self, node: cst.CSTNode) -> bool:
        while isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        if isinstance(node, cst.UnaryOperation):
            return self._from_arguments(node.expression)
        return isinstance(node, cst.Name) and node.value in self.literals


def children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """`node.children`, remembered: LibCST computes them by visiting the node, and the
    analysis asks again at every path and call that reaches it."""
    known = _CHILDREN.get(id(node))
    if known is None or known[0] is not node:
        if len(_CHILDREN) > 200_000:
            _CHILDREN.clear()
        known = _CHILDREN[id(node)] = (node, node.children)
    return known[1]


_CHILDREN: dict[int, tuple[cst.CSTNode, Sequence[cst.CSTNode]]] = {}


def _root(key: str) -> str:
    cut = next((index for index, char in enumerate(key) if char in ".["), len(key))
    return key[:cut]


def is_get_layer(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Attribute) and call.func.attr.value == "get_layer"


_CONSTANTS = frozenset({"True", "False", "None"})
_NOT_EVALUATED = (cst.Lambda, cst.FunctionDef, cst.ClassDef)
