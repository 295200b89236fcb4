"""Lines printed under a tqdm bar: what the train and tune views share.

A view has an optional tqdm bar (on a terminal) and a stream; `write` prints a
line above the bar without breaking it, or plainly when there is no bar, and
`close` ends the bar.
"""
from __future__ import annotations

from typing import Any, TextIO


class TerminalLines:
    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live  # a bar only on a terminal
        self.bar: Any = None

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
