"""TFC001 trainable-after-train-op."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import libcst as cst

from tfcollections.lint import patterns
from tfcollections.lint.analysis.interpreter import Interpreter
from tfcollections.lint.analysis.objects import Frame
from tfcollections.lint.analysis.reach import without_prose
from tfcollections.lint.analysis.summaries import Remote, Summary, elsewhere
from tfcollections.lint.flow import Flow, Place, in_finally_of
from tfcollections.lint.rule import LintRule


class TrainableAfterTrainOp(LintRule):
    """TRAINABLE_VARIABLES changed after a train op was built: the change does nothing.

    `minimize()`, `compute_gradients()`, `apply_gradients()` and `tf.gradients()` read the
    trainable collection once, when they build their ops. Removing a variable from it
    afterwards (`del col[col.index(x)]`, `col.remove(x)`, `tfc.remove(...)`) or adding one
    (`tf.add_to_collection(...)`) leaves the built train op as it was: the removed variable
    keeps training, the added one never trains. A change before the train op, in a branch that
    cannot run after it (including `if x:` ... `if not x:` with nothing assigning `x` in
    between), or in a `finally` that restores the collection is fine. Followed through
    functions and methods of the file and of the project's other modules (`prune(w)` after
    `minimize()`, `net.freeze()` after `net.build()` built it, a `Model` whose `__init__` in
    `model.py` minimizes): reported at the call. Freeze at run time with
    `tfcollections.DynamicOptimizer` instead.
    """

    code = "TFC001"
    name = "trainable-after-train-op"
    MESSAGE = (
        "TRAINABLE_VARIABLES changed after a train op was built: the built op still updates "
        "the old set, so this change does nothing at run time; freeze with "
        "tfcollections.DynamicOptimizer(...).freeze() instead"
    )
    PRECHECK = ((b"minimize", b"gradients"), (b"trainable_variables",))
    PROJECT_PRECHECK = (
        (rb"(?:\.minimize|compute_gradients|apply_gradients|tf\.gradients)\(",),
        (
            rb"(?:get_collection_ref|add_to_collections?|clear_collection)\([^)]*trainable_var",
            rb"tfc\.(?:remove|add|discard|clear|ref)\(",
        ),
    )
    FOLLOWS_PROJECT = True

    @classmethod
    def may_apply(cls, lowered_source: bytes, reached: frozenset[bytes] = frozenset()) -> bool:
        """A build or a change must be in the file itself (the analysis starts from one),
        as PROJECT_PRECHECK spells them; the other half may be in a module it imports."""
        if super().may_apply(lowered_source):
            return True
        if not super().may_apply(lowered_source, reached):
            return False
        code = without_prose(lowered_source)
        return any(re.search(pattern, code) for pattern in (*cls.PROJECT_PRECHECK[0], _CHANGER))

    VALID = [
        # A name bound to a list that contains it (lingvo, returnn): resolved without looping.
        """
import tensorflow as tf
train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
print(len(tf.trainable_variables()))
keys = [tf.GraphKeys.LOSSES]
keys = [keys, tf.GraphKeys.SUMMARIES]
col = tf.get_collection_ref(keys)
del col[0]
""",
        # The change comes before the train op is built.
        """
import tensorflow as tf
col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
col.remove(x)
train_op = tf.train.AdamOptimizer(0.01).minimize(loss)
""",
        # A temporary collection restored in `finally`.
        """
import tensorflow.compat.v1 as tf
col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
saved = list(col)
try:
    del col[:]
    col.append(head)
    train_op = opt.minimize(loss)
finally:
    col[:] = saved
""",
        # Exclusive branches: the change cannot run after the build.
        """
import tensorflow as tf
if fine_tune:
    train_op = opt.minimize(loss)
else:
    tf.get_collection_ref("trainable_variables").clear()
""",
        # A helper that changes the collection, called before the build; a method chain
        # that restores in `finally`.
        """
import tensorflow as tf
def prune(x):
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(x)
prune(w)
train_op = opt.minimize(loss)
""",
        # Different functions: their order is unknown.
        """
import tensorflow as tf
def build():
    return opt.minimize(loss)
def prune():
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).pop()
""",
        # Another collection, and a copy of the trainables (changing it changes nothing).
        """
import tensorflow as tf
train_op = opt.minimize(loss)
tf.get_collection_ref(tf.GraphKeys.UPDATE_OPS).clear()
tf.trainable_variables().remove(x)
tf.add_to_collection("losses", extra)
""",
        # A module called `tf` that is not TensorFlow.
        """
import mylib as tf
train_op = opt.minimize(loss)
tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(x)
""",
        # Opposite conditions on a name nothing assigns in between: never both on one path.
        """
import tensorflow as tf
class Model:
    def __init__(self, mode):
        self.mode = mode
        if self.mode == "train":
            self.train_op = tf.train.AdamOptimizer(0.01).minimize(self.loss)
        if self.mode != "train":
            tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(self.embeddings)
if cfg.is_training:
    train_op = opt.minimize(loss)
elif cfg.export:
    pass
if not cfg.is_training and not cfg.export:
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(emb)
""",
    ]

    INVALID = [
        # The seed's trap.
        """
import tensorflow as tf
x = tf.Variable(3.0)
train_op = tf.train.AdamOptimizer(0.01).minimize(tf.abs(y - x))
col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
del col[col.index(x)]  # <- TFC001
""",
        # compat.v1 alias, the string key, list methods and slice assignment.
        """
import tensorflow.compat.v1 as tf
grads = opt.compute_gradients(loss)
train_op = opt.apply_gradients(grads)
KEY = "trainable_variables"
trainables = tf.get_collection_ref(KEY)
trainables.append(z)  # <- TFC001
trainables.extend([a, b])  # <- TFC001
trainables.insert(0, c)  # <- TFC001
trainables[:] = [d]  # <- TFC001
trainables.pop()  # <- TFC001
""",
        # `from tensorflow.compat import v1`, graph objects, add/clear collection.
        """
from tensorflow.compat import v1 as tf
grads = tf.gradients(loss, params)
g = tf.get_default_graph()
g.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(w)  # <- TFC001
tf.add_to_collection(tf.GraphKeys.TRAINABLE_VARIABLES, w)  # <- TFC001
tf.add_to_collections([tf.GraphKeys.TRAINABLE_VARIABLES, "mine"], w)  # <- TFC001
tf.get_default_graph().clear_collection(tf.GraphKeys.TRAINABLE_VARIABLES)  # <- TFC001
""",
        # Imported names, tfcollections, a multi-line statement, inside a function.
        """
from tensorflow.compat.v1 import GraphKeys, get_collection_ref
import tfcollections as tfc
def train():
    op = opt.minimize(
        loss,
        global_step=step,
    )
    get_collection_ref(  # <- TFC001
        GraphKeys.TRAINABLE_VARIABLES
    ).clear()
    tfc.remove(tfc.TRAINABLE_VARIABLES, x)  # <- TFC001
    tfc.ref(tfc.TRAINABLE_VARIABLES).append(y)  # <- TFC001
""",
        # In a loop the change before the build runs after it on the next iteration.
        """
import tensorflow as tf
for step in range(10):
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(x)  # <- TFC001
    train_op = opt.minimize(loss)
""",
        # Through a helper: reported at the call made after the build.
        """
import tensorflow as tf
def prune(x):
    col = tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES)
    col.remove(x)
train_op = opt.minimize(loss)
prune(w)  # <- TFC001
""",
        # A method called on an object whose earlier method built the train op.
        """
import tensorflow as tf
class Net:
    def build(self):
        self.train_op = tf.train.AdamOptimizer(0.01).minimize(self.loss)
    def freeze_embeddings(self):
        tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(self.embeddings)
net = Net()
net.build()
net.freeze_embeddings()  # <- TFC001
""",
        # `__init__` builds, then calls the method: every later call of it comes after the
        # build too (methods are analysed after their class's `__init__`).
        """
import tensorflow as tf
class Net:
    def __init__(self):
        self.build()
        self.freeze_embeddings()  # <- TFC001
    def build(self):
        self.train_op = tf.train.AdamOptimizer(0.01).minimize(self.loss)
    def freeze_embeddings(self):
        tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(self.embeddings)  # <- TFC001
""",
        # The tested name is assigned between the two tests: both branches may run.
        """
import tensorflow as tf
if cfg.is_training:
    train_op = opt.minimize(loss)
cfg.is_training = False
if not cfg.is_training:
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).remove(emb)  # <- TFC001
""",
        # An `except` handler may run after the build in `try`.
        """
import tensorflow as tf
try:
    train_op = opt.minimize(loss)
except ValueError:
    tf.get_collection_ref(tf.GraphKeys.TRAINABLE_VARIABLES).clear()  # <- TFC001
""",
    ]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self._builds: dict[int, Place] = {}
        self._changes: dict[int, tuple[cst.CSTNode, Place]] = {}

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def visit_Call(self, node: cst.Call) -> None:
        if patterns.builds_train_op(self.flow, node):
            self._builds[id(node)] = self.flow.place()
        elif patterns.changes_trainables(self.flow, node):
            self._changes[id(node)] = (node, self.flow.place())

    def visit_Del(self, node: cst.Del) -> None:
        self._subscript_change(node, [node.target])

    def visit_Assign(self, node: cst.Assign) -> None:
        self._subscript_change(node, [target.target for target in node.targets])

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if patterns.is_trainable_collection(self.flow, node.target):
            self._changes[id(node)] = (node, self.flow.place())

    def _subscript_change(self, node: cst.CSTNode, targets: list[cst.BaseExpression]) -> None:
        for target in targets:
            elements = target.elements if isinstance(target, (cst.Tuple, cst.List)) else ()
            for one in [target, *(element.value for element in elements)]:
                if isinstance(one, cst.Subscript) and patterns.is_trainable_collection(
                    self.flow, one.value
                ):
                    self._changes[id(node)] = (node, self.flow.place())
                    return

    def finish(self) -> None:
        project = self.flow.project
        reached = self.flow.reached
        builds = self._builds or not reached.isdisjoint(self.PROJECT_PRECHECK[0])
        changes = self._changes or not reached.isdisjoint(self.PROJECT_PRECHECK[1])
        if not (self._builds or self._changes) or not (builds and changes):
            return  # one half here, the other here or in a module it imports
        scope = self.flow.summary(self._module)
        scope.fact(self.code, lambda _: self._facts())
        keras = self.flow.keras_setting
        analysis = _AfterBuild(lambda summary: summary.fact(self.code, _facts_of(keras)))
        relevant = _AfterBuild.RELEVANT
        interpreter = Interpreter(scope, analysis, project=project, relevant=relevant)
        interpreter.run_all(None, analysis.scope_done)
        for node, suffix in analysis.found.values():
            self.report(node, self.MESSAGE + suffix)

    def _facts(self) -> _Facts:
        """The builds and the changes of this module (a `finally` that puts the collection
        back after a build in its `try` changes nothing)."""
        restoring = {
            change
            for change, (_, place) in self._changes.items()
            if any(in_finally_of(place, build) for build in self._builds.values())
        }
        changes = {key: node for key, (node, _) in self._changes.items() if key not in restoring}
        return set(self._builds), changes


_Facts = tuple[set[int], dict[int, cst.CSTNode]]
_CHANGER = rb"get_collection_ref\(|add_to_collection|clear_collection\(|tfc\."


def _facts_of(keras: str) -> Callable[[Summary], _Facts]:
    """The facts of another module of the project: what this rule's visitor collects there."""

    def collect(summary: Summary) -> _Facts:
        code = summary.code
        patterns = (*TrainableAfterTrainOp.PROJECT_PRECHECK[0], _CHANGER)
        if code is not None and not any(re.search(pattern, code) for pattern in patterns):
            return set(), {}  # neither a build nor a change here: no need to traverse it
        flow = Flow(keras=keras)
        visitor = TrainableAfterTrainOp(flow)
        cst.visit_batched(
            summary.module, [visitor], before_visit=flow.before_visit, after_leave=flow.after_leave
        )
        return visitor._facts()

    return collect


class _AfterBuild:
    """The dataflow of TFC001: on this path, was a train op built, and through which calls?
    (None: not built; else the calls from the analysed scope down to the build, and where the
    build is reported from: itself, or the call into the module that holds it.) A change of
    the trainables after a build is reported where the two call chains part: at the change
    itself in the same function, else at the call that leads to it (`prune(w)` after
    `minimize()`, `model.freeze()` after `model.build()`)."""

    RELEVANT = frozenset({b"minimize(", b"gradients(", b"trainable_variables", b"collection"})
    """Words without which a module builds no train op and changes no collection."""

    def __init__(self, facts: Callable[[Summary], _Facts]) -> None:
        self._facts = facts
        self._pending: dict[int, tuple[cst.CSTNode | Remote, str]] = {}
        self.found: dict[int, tuple[cst.CSTNode | Remote, str]] = {}  # node, message suffix

    def call(self, built: _Built, node: cst.Call, frame: Frame) -> Iterable[_Built]:
        if id(node) in self._facts(frame.scope)[0]:
            return (built if built is not None else (frame.calls, frame.placed(node)),)
        self._check(built, node, frame)
        return (built,)

    def statement(
        self, built: _Built, node: cst.BaseSmallStatement, frame: Frame
    ) -> Iterable[_Built]:
        self._check(built, node, frame)
        return (built,)

    def assign(self, built: _Built, *_: object) -> Iterable[_Built]:
        return (built,)

    def opaque(self, built: _Built, *_: object) -> Iterable[_Built]:
        return (built,)

    def scope_done(self, analysed: bool) -> None:
        if analysed:
            self.found.update(self._pending)
        self._pending = {}

    def _check(self, built: _Built, node: cst.CSTNode, frame: Frame) -> None:
        if built is None or id(node) not in self._facts(frame.scope)[1]:
            return
        calls, build = built
        shared = 0
        while shared < min(len(calls), len(frame.calls)) and calls[shared] is frame.calls[shared]:
            shared += 1
        where = frame.placed(frame.calls[shared] if shared < len(frame.calls) else node)
        self._pending[id(where)] = (where, elsewhere(build, "train op built"))


_Built = tuple[tuple[cst.Call, ...], cst.CSTNode | Remote] | None
