"""NodeTrainer's desktop app (PySide6): views over the core's Graph that send every edit through it."""
import sys


def _pin_none() -> None:
    """Work around PySide6 6.12 on Python < 3.12: every Qt call returning void drops one reference to
    None (shiboken assumes None is immortal, as it is from 3.12), so a long session, or building a
    1,000-node scene, ends in 'Fatal Python error: none_dealloc'. Give None enough references that
    it can never reach zero, which is what Python 3.12 does itself."""
    if sys.version_info >= (3, 12):
        return
    import ctypes

    count = ctypes.c_ssize_t.from_address(id(None))
    if count.value < 2**40:
        count.value += 2**50


_pin_none()
