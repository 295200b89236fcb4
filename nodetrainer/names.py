"""One namespace for every name the generated code defines.

Node ids become attribute names (`self.conv1`), forward arguments and local
variables; the generator also needs a flow variable (`x`) and uses `self`,
`torch`, `nn` and `_`. All of these are drawn from one `Namespace` per class,
so no two things can ever get the same name. A file with blocks has one class
per block type: their names come from a module-level namespace (which holds the
network's class and `MODULE_NAMES`), and every class's namespace reserves them,
so no attribute, argument or variable hides a class; a block class's
constructor arguments (its parameters and input sizes) come from a namespace of
their own that reserves them too: a node called `input_` next to an Input
called `input` cannot overwrite the argument, a node called `training` cannot
take over `nn.Module.training`, and a node called `source` cannot collide with
the metadata the compiler sets on the module. A name that cannot be used as it
is gets `_` appended until it is free; a name starting with `__` (which Python
would mangle inside the class body) gets an `n` in front.
"""
from __future__ import annotations

import builtins
import keyword

# what the compiler sets on every compiled module (compiler.compile_graph)
MODULE_METADATA = ("source", "input_ids", "output_ids", "node_of_attr")
# names the generated code itself uses: the module, its imports, throwaway values, the init loop, and the
# classmethod an export from a run adds (an attribute of that name would hide it)
CODE_NAMES = ("self", "torch", "nn", "_", "name", "param", "cls", "load_trained")
# names a generated file defines or uses at module level besides its classes (the example at its end)
MODULE_NAMES = ("torch", "nn", "model", "outputs", "os", "WEIGHTS")


def reserved_names() -> frozenset[str]:
    """Names no node may take in generated code: keywords and soft keywords, builtins, every attribute of
    `nn.Module`, the compiled module's metadata and the names the generated code uses."""
    from torch import nn
    return frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) \
        | frozenset(dir(nn.Module())) | frozenset(MODULE_METADATA) | frozenset(CODE_NAMES)


_RESERVED: frozenset[str] | None = None


def _reserved() -> frozenset[str]:
    global _RESERVED
    if _RESERVED is None:
        _RESERVED = reserved_names()
    return _RESERVED


def _legal(name: str) -> str:
    return "n" + name if name.startswith("__") else name


class Namespace:
    """Hands out distinct Python names, never a reserved one."""

    def __init__(self, reserved: frozenset[str] | None = None) -> None:
        self._taken: set[str] = set(_reserved() if reserved is None else reserved)

    def free(self, name: str) -> bool:
        """Whether `name` can be claimed exactly as it is."""
        return name.isidentifier() and _legal(name) == name and name not in self._taken

    def reserve(self, names) -> None:
        """Take `names` as they are (names defined elsewhere that nothing here may hide)."""
        self._taken.update(names)

    def claim(self, wanted: str) -> str:
        """`wanted`, or the nearest free name (`wanted_`, `wanted__`, ...); the name is taken from then on."""
        name = _legal(wanted)
        while name in self._taken:
            name = _legal(name + "_")
        self._taken.add(name)
        return name
