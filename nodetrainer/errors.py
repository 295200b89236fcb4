"""Problems a user can act on: where (file, line, node), what, and what would be valid.

Every check in NodeTrainer (reading a file, validating a graph, inferring shapes,
loading data, configuring training) reports `Problem` values instead of raising
bare exceptions, so the command line, the editor's badges and the training
pre-flight all show the same located messages.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Problem:
    """One located problem. `line` is 1-based; `node` is a node id where one applies."""

    message: str
    file: str | None = None
    line: int | None = None
    node: str | None = None

    def __str__(self) -> str:
        where = self.file or "<graph>"
        if self.line is not None:
            where += f":{self.line}"
        node = f" node {self.node}:" if self.node else ""
        return f"{where}:{node} {self.message}"

    def located(self, file: str | None = None, line: int | None = None) -> "Problem":
        """A copy with file and line filled in where they are missing."""
        return replace(self, file=self.file or file, line=self.line if self.line is not None else line)


class NodeTrainerError(Exception):
    """An error carrying one or more problems; its text is one line per problem."""

    def __init__(self, problems: Problem | str | Sequence[Problem]):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class GraphError(NodeTrainerError):
    """The graph file or graph is invalid."""


class DataError(NodeTrainerError):
    """The training data cannot be loaded or does not fit the graph."""


class ConfigError(NodeTrainerError):
    """A training setting is invalid."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else ''."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    if not close:
        lowered = {str(o).lower(): str(o) for o in options}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(options: Iterable[str]) -> str:
    """'a, b or c' for a message listing valid choices."""
    items = [str(o) for o in options]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
