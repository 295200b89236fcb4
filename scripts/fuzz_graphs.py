"""Mutation fuzzer for graph files: the reader survives anything, and what it accepts really works.

    python scripts/fuzz_graphs.py                       # 100,000 cases over graphs/*.yaml, JSON report
    python scripts/fuzz_graphs.py --cases 2000 --seed 7 --save-failures /tmp/fuzz

Each case is an example file from graphs/ with one to three mutations: byte flips, deleted, duplicated
or swapped lines, values of the wrong type, huge and non-finite numbers, deep nesting, control
characters and cut-off files. Every case goes the way the command line and the editor go:

- reading (`read_graph`) and checking (`check_graph`) raise nothing, whatever the input; problems are
  located one-line messages;
- whatever graph was read (even with problems) summarizes, and saves to text that reads back without
  an exception (the editor offers Save As for a broken file);
- a case without problems compiles, runs a batch of two with the inferred output shapes, and
  load -> save -> load is the identity with a byte-stable save (graphs too big to build quickly are
  checked and saved, not run).

The report (JSON on stdout) gives the count, the rate and the outcomes. The test suite runs a few
hundred cases of the same engine (tests/core/test_fuzz.py).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nodetrainer.codegen import generate  # noqa: E402
from nodetrainer.compiler import compile_graph  # noqa: E402
from nodetrainer.errors import NodeTrainerError  # noqa: E402
from nodetrainer.graphfile import dump_graph, read_graph  # noqa: E402
from nodetrainer.summary import summarize  # noqa: E402
from nodetrainer.validate import check_graph  # noqa: E402

EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))
RUN_LIMIT_PARAMS = 2_000_000  # valid cases bigger than this are compiled only in --deep runs
RUN_LIMIT_VALUES = 200_000  # values per sample at any node

WRONG_VALUES = [
    "[]", "{}", "[[]]", "{a: 1}", "text", "'quoted'", "true", "false", "null", "~", "-1", "0", "1", "1.5", "-0.0",
    "2147483648", "9" * 30, "9" * 5000, "1.0e+300", "-1.0e+300", "1.0e+39", "1.0e-320", ".nan", ".inf", "-.inf",
    "0x1F", "0o17", "1_000", "12:30:00", "2024-01-01", "[1, 2, 3]", "[1.5, -2]", "[-1]", "[0, 0]", "[1, 1, 1, 1, 1]",
    "{type: [adam]}", "{type: {a: b}}", "[adam]", "same", "\"a\\nb\"", "\"\\x00\"", "'#'", "': x'", "- x", "? x",
    "!!python/object/apply:os.system ['echo PWNED']", "&a x", "*a", "|\n  block", ">-\n  folded",
]
INSERTED_LINES = [
    "  extra: {type: ReLU}", "  - a -> b", "  - image -> out", "nodes: {}", "edges: []", "training: {epochs: 0}",
    "data: {source: csv:missing.csv}", "tune: {space: {training.optimizer.lr: {log_uniform: [0, 1]}}}",
    "layout: {ghost: [0, 0]}", "  bad key: 1", "\t", "---", "...", "%YAML 1.1", "# comment", "  ? complex", "nodetrainer: 2",
]
CHARACTERS = ["\x00", "\x07", "\x7f", "\x85", "\u2028", "\ufeff", "\t", "\r", "\n", ":", "#", "&", "*", "!", "{", "}",
              "[", "]", ",", "-", ">", "'", '"', "é", "😀"]


# -- mutations ---------------------------------------------------------------------------------------------
def _lines(text: str) -> list[str]:
    return text.split("\n")


def byte_flip(text: str, rng: random.Random) -> str:
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.randint(1, 4)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return data.decode("utf-8", errors="replace") if rng.random() < 0.5 else data.decode("latin-1")


def delete_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def duplicate_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[i])
    return "\n".join(lines)


def swap_lines(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def wrong_value(text: str, rng: random.Random) -> str:
    """Replaces one value (after a ': ' or inside a flow list) with one of another type or size."""
    spots = [i for i, ch in enumerate(text) if ch == " " and i > 0 and text[i - 1] in ":,["]
    if not spots:
        return text
    start = rng.choice(spots) + 1
    end = start
    while end < len(text) and text[end] not in ",}]\n":
        end += 1
    return text[:start] + rng.choice(WRONG_VALUES) + text[end:]


def huge_number(text: str, rng: random.Random) -> str:
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if not digits:
        return text
    i = rng.choice(digits)
    value = rng.choice(["9" * rng.choice([12, 40, 400, 4400, 6000]), "1.0e+308", "1.0e+309", "-1.0e+400", ".nan",
                        ".inf", "4294967297", "2147483647", "1.7976931348623157e+308", "3.5e+38", "0"])
    return text[:i] + value + text[i + 1:]


def deep_nesting(text: str, rng: random.Random) -> str:
    depth = rng.choice([5, 31, 33, 40, 200, 3000])
    nest = ("[" * depth + "1" + "]" * depth) if rng.random() < 0.5 else ("{a: " * depth + "1" + "}" * depth)
    spots = [i for i, ch in enumerate(text) if ch == " " and i > 0 and text[i - 1] == ":"]
    if not spots:
        return text + "\n" + nest
    start = rng.choice(spots) + 1
    end = start
    while end < len(text) and text[end] not in ",}]\n":
        end += 1
    return text[:start] + nest + text[end:]


def insert_line(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(INSERTED_LINES))
    return "\n".join(lines)


def insert_character(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(CHARACTERS) * rng.randint(1, 3) + text[i:]


def truncate(text: str, rng: random.Random) -> str:
    return text[:rng.randrange(len(text) + 1)]


def rename_id(text: str, rng: random.Random) -> str:
    """Replaces every or one occurrence of a word with another (an id, a key, a type name)."""
    words = sorted({w for w in text.replace("->", " ").replace(":", " ").replace(",", " ").split() if w.isidentifier()})
    if not words:
        return text
    old = rng.choice(words)
    new = rng.choice(words + ["input", "input_", "x", "h", "y", "z", "out", "source", "__fc", "self", "torch",
                              "training", "class", "Linear", "ReLU", "Add", "Concat"])
    return text.replace(old, new) if rng.random() < 0.5 else text.replace(old, new, 1)


MUTATORS = [byte_flip, delete_line, duplicate_line, swap_lines, wrong_value, wrong_value, huge_number, deep_nesting,
            insert_line, insert_character, truncate, rename_id, rename_id]


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        text = rng.choice(MUTATORS)(text, rng)
    return text


# -- one case -------------------------------------------------------------------------------------------------
class Bug(Exception):
    """The reader, checker, writer or compiler did something it must never do on this input."""


def run_case(text: str | bytes, deep: bool = False) -> str:
    """'unreadable', 'invalid', 'valid' (compiled and run), or 'valid-big' (too big to run here); Bug otherwise."""
    try:
        graph, problems = read_graph(text, "case.yaml")
    except Exception as exc:
        raise Bug(f"read_graph raised {type(exc).__name__}: {exc}") from exc
    for p in problems:
        if any(ch in p.message for ch in "\n\r\x85\u2028\u2029"):
            raise Bug(f"a problem's message spans several lines: {p.message!r}")
    if graph is None:
        return "unreadable"
    try:
        report = check_graph(graph)
        summarize(graph, report, partial=True)
        saved = dump_graph(graph)
    except Exception as exc:
        raise Bug(f"checking or saving a graph that was read raised {type(exc).__name__}: {exc}") from exc
    try:
        again, again_problems = read_graph(saved, "saved.yaml")
    except Exception as exc:
        raise Bug(f"reading a saved graph raised {type(exc).__name__}: {exc}") from exc
    if problems or report.problems:
        return "invalid"
    if again_problems or again is None:
        raise Bug(f"a valid graph saved to a file with problems: {again_problems[:2]}")
    if dump_graph(again) != saved:
        raise Bug("load -> save -> load -> save is not byte-stable")
    if (again.nodes != graph.nodes or again.inputs != graph.inputs or again.data != graph.data
            or again.training != graph.training or again.tune != graph.tune or again.name != graph.name
            or again.description != graph.description
            or again.layout != {n: (round(x, 2) + 0.0, round(y, 2) + 0.0) for n, (x, y) in graph.layout.items()}):
        raise Bug("load -> save -> load changed the graph (layout is kept to 0.01)")
    for section in ("data", "training"):
        try:
            if getattr(graph, section) is not None:
                graph.data_config() if section == "data" else graph.training_config()
        except NodeTrainerError:
            raise Bug(f"check passed but the {section} section does not parse") from None
    tensors = report.shapes.tensors
    big = summarize(graph, report).total_params > RUN_LIMIT_PARAMS or any(
        _numel(t.shape) > RUN_LIMIT_VALUES for t in tensors.values())
    if big and not deep:
        generate(graph)
        return "valid-big"
    try:
        model = compile_graph(graph).eval()
        inputs = []
        for node_id in graph.input_ids():
            p = graph.nodes[node_id].resolved()
            if p["dtype"] == "int64":
                inputs.append(torch.zeros(2, *p["shape"], dtype=torch.long))
            else:
                inputs.append(torch.randn(2, *p["shape"]))
        with torch.no_grad():
            out = model(*inputs)
    except Exception as exc:
        raise Bug(f"a valid graph failed to compile or run: {type(exc).__name__}: {exc}") from exc
    outs = list(out) if isinstance(out, tuple) else [out]
    for node_id, tensor in zip(graph.output_ids(), outs):
        if tuple(tensor.shape) != (2, *tensors[node_id].shape):
            raise Bug(f"output {node_id} is {tuple(tensor.shape)}, inferred (2, {tensors[node_id].shape})")
    return "valid"


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


def cases(seed: int, count: int, files: list[Path] | None = None):
    """(index, source file name, mutated text) for `count` cases, round robin over the files."""
    files = files or EXAMPLES
    texts = [(p.name, p.read_text()) for p in files]
    rng = random.Random(seed)
    for i in range(count):
        name, text = texts[i % len(texts)]
        yield i, name, mutate(text, rng)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deep", action="store_true", help="also compile and run valid cases of any size")
    parser.add_argument("--save-failures", metavar="DIR", help="write each failing case and its traceback here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    outcomes: dict[str, int] = {}
    failures = []
    started = time.perf_counter()
    for i, name, text in cases(args.seed, args.cases):
        try:
            outcome = run_case(text, deep=args.deep)
        except Bug as bug:
            outcome = "BUG"
            failures.append({"case": i, "from": name, "bug": str(bug)[:300]})
            if args.save_failures:
                folder = Path(args.save_failures)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"case{i}.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
                (folder / f"case{i}.txt").write_text("".join(traceback.format_exception(bug)))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if (i + 1) % 10_000 == 0:
            print(f"{i + 1} cases, {len(failures)} bugs, {(i + 1) / (time.perf_counter() - started):.0f}/s",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    report = {"cases": args.cases, "seed": args.seed, "seconds": round(seconds, 1),
              "cases_per_s": round(args.cases / seconds, 1), "outcomes": outcomes, "bugs": len(failures),
              "first_bugs": failures[:20], "files": [p.name for p in EXAMPLES]}
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
