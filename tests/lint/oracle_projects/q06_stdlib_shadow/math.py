"""A project module named like the standard library's `math`: `import math` never loads it
(math is built into Python), so nothing here runs."""


def isfinite(value):
    value.trainable = False
    return True
