"""Problems a user can act on: where (file, line, node), what, and what would be valid.

Every check in NodeTrainer (reading a file, validating a graph, inferring shapes,
loading data, configuring training) reports `Problem` values instead of raising
bare exceptions, so the command line, the editor's badges and the training
pre-flight all show the same located messages.
"""
from __future__ import annotations

import contextlib
import contextvars
import difflib
import re
from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Sequence, Sized


@dataclass(frozen=True)
class Problem:
    """One located problem. `line` is 1-based; `node` is a node id where one applies: a path such as
    `layer2_0/conv1` for a node inside a use of a block (`stage[1]/conv1` in the second copy of a
    repeated block); `block` names the block whose definition holds the node (`node` then is an id in
    its body)."""

    message: str
    file: str | None = None
    line: int | None = None
    node: str | None = None
    block: str | None = None

    def __post_init__(self) -> None:
        # one line, whatever text from a file it quotes: line breaks and control characters show escaped (\n)
        object.__setattr__(self, "message", _one_line(self.message))

    def __str__(self) -> str:
        """`FILE:LINE: node ID: message` (`FILE:LINE: block NAME: node ID: message` inside a block's
        definition), always one line."""
        where = _one_line(self.file or "<graph>")
        if self.line is not None:
            where += f":{self.line}"
        block = f" block {_one_line(self.block)}:" if self.block else ""
        node = f" node {_one_line(self.node)}:" if self.node else ""
        return f"{where}:{block}{node} {self.message}"

    @property
    def node_path(self) -> tuple[str, ...]:
        """The node's path as ids, copy numbers dropped: ('layer2_0', 'conv1'); () without a node."""
        if not self.node:
            return ()
        return tuple(part.split("[", 1)[0] for part in self.node.split("/"))

    def located(self, file: str | None = None, line: int | None = None) -> "Problem":
        """A copy with file and line filled in where they are missing."""
        return replace(self, file=self.file or file, line=self.line if self.line is not None else line)


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(text))


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


_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("suggestion_budget", default=None)
SUGGESTION_BUDGET = 5_000  # word comparisons a whole file's did-you-means may cost (about a tenth of a second)


@contextlib.contextmanager
def suggestion_budget(comparisons: int = SUGGESTION_BUDGET) -> Iterator[None]:
    """Bounds the work of every `did_you_mean` inside: each costs one comparison per option, and once the
    budget is spent the rest get no hint. A file with thousands of misspelt ids is then read in linear
    time (its first misspellings still get their hint) instead of comparing every one with every id."""
    token = _BUDGET.set([comparisons])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss, else '' (also once a `suggestion_budget` is spent)."""
    budget = _BUDGET.get()
    if budget is not None and isinstance(options, Sized) and budget[0] < len(options):
        return ""  # spent: not even a pass over the options
    names = [str(o) for o in options]
    if budget is not None:
        if budget[0] < len(names):
            return ""
        budget[0] -= len(names)
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in names}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(options: Iterable[str]) -> str:
    """'a, b or c' for a message listing valid choices."""
    items = [str(o) for o in options]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
