"""The one place TensorFlow is imported, on first use, so `import tfcollections` stays fast."""

from __future__ import annotations

import importlib
from types import ModuleType

from tfcollections.errors import TensorFlowMissingError

_INSTALL_HINT = (
    "TensorFlow is not installed: install it with `pip install tfcollections[tf]` "
    "(or install `tensorflow` / `tensorflow-cpu` yourself)"
)


def tf() -> ModuleType:
    """Return the `tensorflow` module, importing it on the first call.

    Raises TensorFlowMissingError naming the `[tf]` extra when TensorFlow is not installed.
    """
    try:
        return importlib.import_module("tensorflow")
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":
            raise
        raise TensorFlowMissingError(_INSTALL_HINT) from None
