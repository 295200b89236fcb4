"""Shared test setup: Qt runs offscreen, so the UI tests need no display (core tests are unaffected)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
