"""Shared test setup: Qt runs offscreen, so the UI tests need no display (core tests are unaffected), and the
data cache (nodetrainer/data/cache.py) lives in a temporary folder of the test session, not the user's."""
import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["NODETRAINER_CACHE_DIR"] = tempfile.mkdtemp(prefix="nodetrainer-test-cache-")
