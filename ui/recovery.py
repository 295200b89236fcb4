"""Autosave to a recovery file, and finding what a crashed session left behind.

While a document has unsaved changes, its canonical text is written (atomically)
every 30 s to `<recovery dir>/session-<pid>.yaml`, with a small JSON file beside
it naming the document's own file. Saving, or closing the window normally,
deletes both. At start-up, recovery files of processes that no longer run are
offered for restoring.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from nodetrainer.graphfile import atomic_write_text

from .document import Document

INTERVAL_MS = 30_000


def default_dir() -> Path:
    env = os.environ.get("NODETRAINER_RECOVERY_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(
        Path.home() / ".nodetrainer")
    return Path(base) / "recovery"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass
class Orphan:
    """A recovery file left by a session that did not close normally."""

    text_path: Path
    meta_path: Path
    original: Path | None
    saved_at: float

    def text(self) -> str:
        return self.text_path.read_text(encoding="utf-8")

    def discard(self) -> None:
        for p in (self.text_path, self.meta_path):
            try:
                p.unlink()
            except OSError:
                pass


class Autosave(QObject):
    def __init__(self, document: Document, directory: Path | None = None, interval_ms: int = INTERVAL_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.directory = Path(directory) if directory is not None else default_dir()
        self.text_path = self.directory / f"session-{os.getpid()}-{id(self):x}.yaml"
        self.meta_path = self.text_path.with_suffix(".json")
        self._saved_index: int | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()
        document.undo_stack.cleanChanged.connect(self._clean_changed)
        document.loaded.connect(self.discard)

    def _clean_changed(self, clean: bool) -> None:
        if clean:
            self.discard()

    def save_now(self) -> bool:
        """Write the recovery file if there are changes not yet written; True when written."""
        if not self.doc.modified:
            return False
        index = self.doc.undo_stack.index()
        if index == self._saved_index and self.text_path.exists():
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.text_path, self.doc.text())
            original = self.doc.path or self.doc.origin
            meta = {"pid": os.getpid(), "original": str(original) if original else None, "saved_at": time.time()}
            atomic_write_text(self.meta_path, json.dumps(meta))
        except OSError:
            return False
        self._saved_index = index
        return True

    def discard(self) -> None:
        self._saved_index = None
        for p in (self.text_path, self.meta_path):
            try:
                p.unlink()
            except OSError:
                pass


def find_orphans(directory: Path | None = None) -> list[Orphan]:
    """Recovery files whose session is gone, newest first."""
    directory = Path(directory) if directory is not None else default_dir()
    found = []
    if not directory.is_dir():
        return found
    for text_path in directory.glob("session-*.yaml"):
        meta_path = text_path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        pid = meta.get("pid") if isinstance(meta.get("pid"), int) else None
        if pid is not None and _alive(pid):
            continue
        original = meta.get("original")
        saved_at = meta.get("saved_at") if isinstance(meta.get("saved_at"), (int, float)) else text_path.stat().st_mtime
        found.append(Orphan(text_path, meta_path, Path(original) if isinstance(original, str) else None, saved_at))
    return sorted(found, key=lambda o: -o.saved_at)
