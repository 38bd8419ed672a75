"""tfc-lint's flow analysis: a small abstract interpreter that rules query, never reimplement.

- `control_flow`: how paths move through statements (branches joined, loops to a fixpoint,
  try/with/match, return/raise/break/continue) and which branch conditions each path assumed,
  so that `if x:` ... `if not x:` never both run.
- `objects`: what a name or an expression stands for: abstract objects made at allocation
  sites, fields, and what an object was built from (containment).
- `interpreter`: expressions and calls: same-file functions, methods and classes run with their
  arguments bound, returning the objects they built.

An analysis (TFC001's "was a train op built", `keras_flow`'s Keras semantics) says what each call
and assignment does to its own abstract state; the interpreter carries a set of such states, one
per distinct path.
"""
