"""What an oracle program says of itself: the intent at each training call (`# trains: d, g`,
`a ; b` per execution, the last repeating; `# intends: w` for the variables a TF1 program
means to train) and where tfc-lint must report under which Keras (`# K2 K3: TFC004`, or
`# TFC001` under both)."""

from __future__ import annotations

import re
from pathlib import Path

_TRAINS = re.compile(r"(?:trains|intends):\s*(?P<layers>[^|#]*)")
_MARK = re.compile(r"(?P<versions>(?:K[23]\s*)*):?\s*(?P<code>TFC\d+)")


def intended(program: Path) -> dict[int, list[set[str]]]:
    """Line -> the layers (or variables) each execution of its call should move."""
    found = {}
    for number, line in enumerate(program.read_text().splitlines(), start=1):
        match = _TRAINS.search(line.partition("#")[2])
        if match:
            found[number] = [
                {name.strip() for name in execution.split(",") if name.strip() not in ("", "-")}
                for execution in match.group("layers").split(";")
            ]
    return found


def marks(program: Path, version: str) -> set[tuple[int, str]]:
    """(line, code) that tfc-lint must report under Keras `version`."""
    found = set()
    for number, line in enumerate(program.read_text().splitlines(), start=1):
        for match in _MARK.finditer(line.partition("#")[2]):
            versions = match.group("versions").split()
            if not versions or f"K{version}" in versions:
                found.add((number, match.group("code")))
    return found


def surprises(calls: list, intent: dict[int, list[set[str]]]) -> list[tuple]:
    """The training calls (line, [moved]) that moved other layers than `intent` says, as
    (line, execution, moved, intended); every intended line must have run."""
    assert {line for line, _ in calls} == set(intent), "every marked training call runs"
    executions: dict[int, int] = {}
    found = []
    for line, moved in calls:
        index = executions[line] = executions.get(line, -1) + 1
        expected = intent[line][min(index, len(intent[line]) - 1)]
        if set(moved) != expected:
            found.append((line, index, sorted(moved), sorted(expected)))
    return found
