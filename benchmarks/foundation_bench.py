"""Foundation benchmarks: compiled vs hand-written module throughput, and 1,000-node graph handling.

Prints JSON. Targets: throughput ratio (compiled / hand-written) >= 0.98 for the
digits MLP and the residual CNN on the CPU; a 1,000-node graph loads, validates
and infers shapes in <= 200 ms and compiles in <= 1 s. Baselines are measured in
the same run, interleaved with the measured code to cancel machine noise.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from nodetrainer.compiler import compile_graph
from nodetrainer.graphfile import load_graph, read_graph
from nodetrainer.validate import check_graph

ROOT = Path(__file__).resolve().parents[1]


class HandMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.hidden1 = nn.Linear(64, 128)
        self.relu1 = nn.ReLU()
        self.hidden2 = nn.Linear(128, 64)
        self.relu2 = nn.ReLU()
        self.logits = nn.Linear(64, 10)

    def forward(self, x):
        return self.logits(self.relu2(self.hidden2(self.relu1(self.hidden1(self.flat(x))))))


class HandResCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.drop = nn.Dropout(0.2)
        self.logits = nn.Linear(32, 10)

    def forward(self, x):
        a = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(a)) + a)
        return self.logits(self.drop(y.mean(dim=(2, 3))))


def _steps_per_s(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    return steps / (time.perf_counter() - start)


def throughput_ratio(graph_file: str, hand: nn.Module, batch: int = 64, steps: int = 200, rounds: int = 7) -> dict:
    torch.manual_seed(0)
    compiled = compile_graph(load_graph(ROOT / "graphs" / graph_file))
    x, y = torch.randn(batch, 1, 8, 8), torch.randint(0, 10, (batch,))
    _steps_per_s(compiled, x, y, 20), _steps_per_s(hand, x, y, 20)  # warm-up
    ratios, comp, base = [], [], []
    for _ in range(rounds):
        c = _steps_per_s(compiled, x, y, steps)
        h = _steps_per_s(hand, x, y, steps)
        comp.append(c), base.append(h), ratios.append(c / h)
    return {"compiled_steps_per_s": round(statistics.median(comp), 1),
            "handwritten_steps_per_s": round(statistics.median(base), 1),
            "ratio": round(statistics.median(ratios), 3), "target": ">= 0.98"}


def big_graph_text(n_blocks: int = 333) -> str:
    """Input -> n_blocks x (Linear -> ReLU -> Add skip) -> Output: 3*n_blocks + 2 nodes."""
    nodes = ["  x: {type: Input, shape: [16]}"]
    edges, prev = [], "x"
    for i in range(n_blocks):
        nodes += [f"  fc{i}: {{type: Linear, out_features: 16}}", f"  act{i}: {{type: ReLU}}", f"  add{i}: {{type: Add}}"]
        edges += [f"  - {prev} -> fc{i} -> act{i} -> add{i}", f"  - {prev} -> add{i}"]
        prev = f"add{i}"
    nodes.append("  out: {type: Output}")
    edges.append(f"  - {prev} -> out")
    return "nodetrainer: 1\nname: big\nnodes:\n" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + "\n"


def big_graph_times(repeats: int = 5) -> dict:
    text = big_graph_text()
    load_validate, compile_s = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        graph, problems = read_graph(text, "big.yaml")
        report = check_graph(graph)
        load_validate.append(time.perf_counter() - start)
        assert not problems and report.ok
        start = time.perf_counter()
        compile_graph(graph)
        compile_s.append(time.perf_counter() - start)
    return {"nodes": len(graph.nodes),
            "load_validate_infer_ms": round(1000 * statistics.median(load_validate), 1), "target_ms": 200,
            "compile_ms": round(1000 * statistics.median(compile_s), 1), "compile_target_ms": 1000}


def main() -> None:
    torch.set_num_threads(1)
    result = {
        "device": "cpu",
        "mlp_forward_backward": throughput_ratio("digits_mlp.yaml", HandMLP()),
        "residual_cnn_forward_backward": throughput_ratio("digits_resnet.yaml", HandResCNN()),
        "graph_1000_nodes": big_graph_times(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
