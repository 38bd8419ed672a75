"""What both command-line tools share: one-line usage errors and the exit-code contract
(0 fine, 1 findings or problems, 2 bad input or a crash, always one line on stderr)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from tfcollections.errors import TfCollectionsError, UsageError


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def run(prog: str, command: Callable[[], int]) -> int:
    """`command()`'s exit code; any error becomes `prog: error: ...` on stderr and exit 2."""
    try:
        return command()
    except TfCollectionsError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
    except Exception as error:  # a crash is still one line and exit code 2, never a traceback
        print(f"{prog}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
    return 2
