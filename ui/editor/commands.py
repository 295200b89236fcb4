"""Undoable edits: each QUndoCommand makes one change through the Graph's own methods.

Commands hold node ids and values, never graphics items, so undo and redo work
whatever the views have rebuilt in between. Compound edits (delete a selection,
paste, insert on an edge, a template) are QUndoStack macros of these commands,
so each is one step for the user. Ids stay valid across undo/redo because
renames are commands too.
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from nodetrainer.graph import Block, Graph

MERGE_PARAMS = 1001


class AddNode(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, node_type: str, params: dict[str, Any],
                 position: tuple[float, float] | None, index: int | None = None) -> None:
        super().__init__(f"Add {node_id}")
        self.graph, self.node_id, self.node_type = graph, node_id, node_type
        self.params, self.position, self.index = copy.deepcopy(params), position, index

    def redo(self) -> None:
        self.graph.add_node(self.node_id, self.node_type, copy.deepcopy(self.params), self.position, self.index)

    def undo(self) -> None:
        self.graph.remove_node(self.node_id)


class RemoveNode(QUndoCommand):
    """Removes a node with its edges; undo puts back the node at its place in file order,
    its inputs in order, and its place among each consumer's inputs."""

    def __init__(self, graph: Graph, node_id: str) -> None:
        super().__init__(f"Delete {node_id}")
        self.graph, self.node_id = graph, node_id

    def redo(self) -> None:
        g, n = self.graph, self.node_id
        node = g.nodes[n]
        self.node_type, self.params = node.type, copy.deepcopy(node.params)
        self.index = list(g.nodes).index(n)
        self.position = g.layout.get(n)
        self.sources = list(g.inputs.get(n, []))
        self.consumers = [(t, g.inputs[t].index(n)) for t in g.nodes if n in g.inputs.get(t, [])]
        g.remove_node(n)

    def undo(self) -> None:
        g, n = self.graph, self.node_id
        # put it back exactly as it was, even a node or an edge of a broken file that the model
        # would refuse as a new edit; validation reports those again
        g.add_node(n, self.node_type, copy.deepcopy(self.params), self.position, self.index, allow_unknown_type=True)
        for source in self.sources:
            g.connect(source, n, check=False)
        for target, index in sorted(self.consumers, key=lambda ti: ti[1]):
            g.connect(n, target, index, check=False)


class Connect(QUndoCommand):
    def __init__(self, graph: Graph, source: str, target: str, index: int | None = None) -> None:
        super().__init__(f"Connect {source} → {target}")
        self.graph, self.source, self.target, self.index = graph, source, target, index

    def redo(self) -> None:
        self.graph.connect(self.source, self.target, self.index)

    def undo(self) -> None:
        self.graph.disconnect(self.source, self.target)


class Disconnect(QUndoCommand):
    def __init__(self, graph: Graph, source: str, target: str) -> None:
        super().__init__(f"Disconnect {source} → {target}")
        self.graph, self.source, self.target = graph, source, target
        self.index: int | None = None

    def redo(self) -> None:
        self.index = self.graph.disconnect(self.source, self.target)

    def undo(self) -> None:
        self.graph.connect(self.source, self.target, self.index, check=False)


class SetParams(QUndoCommand):
    """Replaces a node's parameters; consecutive edits of the same parameter merge into one step."""

    def __init__(self, graph: Graph, node_id: str, old: dict[str, Any], new: dict[str, Any], key: str = "") -> None:
        super().__init__(f"Edit {node_id}.{key}" if key else f"Edit {node_id}")
        self.graph, self.node_id, self.key = graph, node_id, key
        self.old, self.new = copy.deepcopy(old), copy.deepcopy(new)

    def id(self) -> int:
        return MERGE_PARAMS

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParams) or other.node_id != self.node_id or other.key != self.key or not self.key:
            return False
        self.new = copy.deepcopy(other.new)
        return True

    def redo(self) -> None:
        self.graph.set_params(self.node_id, copy.deepcopy(self.new))

    def undo(self) -> None:
        self.graph.set_params(self.node_id, copy.deepcopy(self.old))


class Rename(QUndoCommand):
    def __init__(self, graph: Graph, old: str, new: str) -> None:
        super().__init__(f"Rename {old} to {new}")
        self.graph, self.old, self.new = graph, old, new

    def redo(self) -> None:
        self.graph.rename_node(self.old, self.new)

    def undo(self) -> None:
        self.graph.rename_node(self.new, self.old)


class Move(QUndoCommand):
    """Moves any number of nodes: one step for a drag of a whole selection, or an auto-layout."""

    def __init__(self, graph: Graph, moves: dict[str, tuple[tuple[float, float] | None, tuple[float, float]]],
                 text: str = "") -> None:
        super().__init__(text or (f"Move {next(iter(moves))}" if len(moves) == 1 else f"Move {len(moves)} nodes"))
        self.graph, self.moves = graph, dict(moves)

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.graph.move(node_id, new)

    def undo(self) -> None:
        for node_id, (old, new) in self.moves.items():
            if old is None:  # it had no position: keep the new one (the editor places every node)
                continue
            self.graph.move(node_id, old)


class SetSection(QUndoCommand):
    def __init__(self, graph: Graph, section: str, old: Any, new: Any) -> None:
        super().__init__(f"Edit {section}")
        self.graph, self.section, self.old, self.new = graph, section, copy.deepcopy(old), copy.deepcopy(new)

    def redo(self) -> None:
        self.graph.set_section(self.section, copy.deepcopy(self.new))

    def undo(self) -> None:
        self.graph.set_section(self.section, copy.deepcopy(self.old))



class AddBlock(QUndoCommand):
    """Adds a block definition; undo removes it (the same object comes back on redo)."""

    def __init__(self, graph: Graph, block: Block, index: int | None = None) -> None:
        super().__init__(f"Add block {block.name}")
        self.graph, self.block, self.index = graph, block, index

    def redo(self) -> None:
        self.graph.add_block(self.block, self.index)

    def undo(self) -> None:
        self.graph.remove_block(self.block.name)


class RemoveBlock(QUndoCommand):
    def __init__(self, graph: Graph, name: str) -> None:
        super().__init__(f"Remove block {name}")
        self.graph, self.name = graph, name
        self.block: Block | None = None
        self.index = 0

    def redo(self) -> None:
        self.index = list(self.graph.blocks).index(self.name)
        self.block = self.graph.remove_block(self.name)

    def undo(self) -> None:
        self.graph.add_block(self.block, self.index)


class SetBlock(QUndoCommand):
    """Replaces a block's parameter defaults and description."""

    def __init__(self, graph: Graph, name: str, params: dict[str, Any], description: str | None, text: str = "") -> None:
        super().__init__(text or f"Edit block {name}")
        block = graph.blocks[name]
        self.graph, self.block = graph, block
        self.old = (copy.deepcopy(block.params), block.description)
        self.new = (copy.deepcopy(params), description)

    def redo(self) -> None:
        self.graph.set_block(self.block.name, copy.deepcopy(self.new[0]), self.new[1])

    def undo(self) -> None:
        self.graph.set_block(self.block.name, copy.deepcopy(self.old[0]), self.old[1])


class RenameBlock(QUndoCommand):
    def __init__(self, graph: Graph, old: str, new: str) -> None:
        super().__init__(f"Rename block {old} to {new}")
        self.graph, self.old, self.new = graph, old, new

    def redo(self) -> None:
        self.graph.rename_block(self.old, self.new)

    def undo(self) -> None:
        self.graph.rename_block(self.new, self.old)
