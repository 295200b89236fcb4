"""NodeTrainer's desktop app (PySide6): views over the core's Graph that send every edit through it."""
import sys


def _pin_singletons() -> None:
    """Work around PySide6 6.12 on Python < 3.12: shiboken treats None, True and False as immortal (as
    they are from 3.12), so every Qt call returning void drops a reference to None, and every bool that
    crosses a signal drops one to True or False. A long session, or building a 1,000-node scene, then
    ends in 'Fatal Python error: none_dealloc' (or bool_dealloc). Give the three singletons enough
    references that they can never reach zero, which is what Python 3.12 does itself."""
    if sys.version_info >= (3, 12):
        return
    import ctypes

    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))
        if count.value < 2**40:
            count.value += 2**50


_pin_singletons()
