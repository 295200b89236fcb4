"""Reading, checking and writing graph files: round trips and malformed input."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nodetrainer.cli import main
from nodetrainer.graphfile import dump_graph, load_graph, read_graph, save_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))

GOOD = """nodetrainer: 1
name: tiny
nodes:
  x:   {type: Input, shape: [4]}
  fc:  {type: Linear, out_features: 3}
  out: {type: Output}
edges:
  - x -> fc -> out
"""


def test_examples_exist():
    names = {p.stem for p in EXAMPLES}
    assert {"digits_mlp", "digits_cnn", "digits_resnet", "resnet18", "breast_cancer_tabular",
            "diabetes_regression"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_round_trip_is_byte_identical(path, tmp_path):
    text = path.read_text()
    graph = load_graph(path)
    assert dump_graph(graph) == text
    save_graph(graph, tmp_path / "again.yaml")
    again = load_graph(tmp_path / "again.yaml")
    assert dump_graph(again) == text
    assert again.nodes == graph.nodes and again.inputs == graph.inputs
    assert again.training == graph.training and again.data == graph.data and again.layout == graph.layout


def test_non_canonical_file_loads_to_the_same_graph_after_save(tmp_path):
    messy = GOOD.replace("  - x -> fc -> out", "  - fc -> out\n  - x -> fc").replace("{type: Linear, out_features: 3}",
                                                                                        "{out_features: 3, type: Linear}")
    graph, problems = read_graph(messy, "messy.yaml")
    assert not problems
    text = dump_graph(graph)
    assert "  - x -> fc -> out" in text and "{type: Linear, out_features: 3}" in text
    regraph, _ = read_graph(text)
    assert regraph.nodes == graph.nodes and regraph.inputs == graph.inputs


def test_concat_input_order_survives_the_round_trip():
    text = """nodetrainer: 1
name: order
nodes:
  a: {type: Input, shape: [2]}
  b: {type: Input, shape: [3]}
  c: {type: Concat}
  o: {type: Output}
edges:
  - b -> c -> o
  - a -> c
"""
    graph, problems = read_graph(text)
    assert not problems and graph.inputs["c"] == ["b", "a"]
    again, _ = read_graph(dump_graph(graph))
    assert again.inputs["c"] == ["b", "a"]


def test_floats_and_strings_written_so_they_read_back():
    text = GOOD + "training:\n  optimizer: {type: adam, lr: 1.0e-05, eps: 1.0e-08}\n"
    graph, problems = read_graph(text)
    assert not problems
    out = dump_graph(graph)
    assert "lr: 1.0e-05" in out
    again, _ = read_graph(out)
    assert again.training["optimizer"]["lr"] == 1e-05
    graph.description = 'has: colons, "quotes" # and a hash\nand a second line'
    again, problems = read_graph(dump_graph(graph))
    assert not problems and again.description == graph.description


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))

MALFORMED = {
    "cycle": (GOOD.replace("  - x -> fc -> out", "  - x -> fc -> out\n  - out -> fc"), "Linear"),
    "cycle_merge": (GOOD.replace("fc:  {type: Linear, out_features: 3}", "fc:  {type: Add}")
                    .replace("  - x -> fc -> out", "  - x -> fc -> fc2 -> fc -> out").replace(
                        "  out: {type: Output}", "  fc2: {type: ReLU}\n  out: {type: Output}"), "cycle"),
    "type_typo": (GOOD.replace("type: Linear", "type: Linaer"), "did you mean 'Linear'"),
    "param_typo": (GOOD.replace("out_features", "out_feature"), "did you mean 'out_features'"),
    "wrong_value_type": (GOOD.replace("out_features: 3", "out_features: ten"), "must be an integer"),
    "out_of_range": (GOOD.replace("out_features: 3", "out_features: 0"), "must be >= 1"),
    "python_tag": (GOOD.replace("out_features: 3", "out_features: !!python/object/apply:os.system ['touch PWNED']"),
                   "tags"),
    "custom_tag": (GOOD.replace("[4]", "!shape [4]"), "tags"),
    "alias_bomb": (BOMB, "anchors (&a) are not allowed"),
    "alias_only": (GOOD.replace("[4]", "*s"), "aliases (*s) are not allowed"),
    "anchor": (GOOD.replace("[4]", "&s [4]"), "anchors"),
    "bad_id": (GOOD.replace("  fc: ", "  1fc:").replace("x -> fc", "x -> 1fc").replace("fc -> out", "1fc -> out"),
               "must start with a letter"),
    "keyword_id": (GOOD.replace("fc:", "class:").replace("x -> fc -> out", "x -> class -> out"), "Python keyword"),
    "id_injection": (GOOD.replace("  fc: ", '  "fc; import os": ').replace("x -> fc", "x -> fc; import os"),
                     "must start with a letter"),
    "shape_add": ("""nodetrainer: 1
name: t
nodes:
  x:   {type: Input, shape: [4]}
  a:   {type: Linear, out_features: 3}
  b:   {type: Linear, out_features: 5}
  s:   {type: Add}
  out: {type: Output}
edges:
  - x -> a -> s -> out
  - x -> b -> s
""", "[3] from a and [5] from b"),
    "linear_after_conv": ("""nodetrainer: 1
name: t
nodes:
  x:    {type: Input, shape: [1, 8, 8]}
  conv: {type: Conv2d, out_channels: 4, kernel_size: 3}
  fc:   {type: Linear, out_features: 10}
  out:  {type: Output}
edges:
  - x -> conv -> fc -> out
""", "Flatten"),
    "kernel_too_big": (GOOD.replace("[4]", "[1, 4, 4]").replace("{type: Linear, out_features: 3}",
                                                                 "{type: Conv2d, out_channels: 2, kernel_size: 5}"),
                       "larger than its input [1, 4, 4]"),
    "concat_mismatch": ("""nodetrainer: 1
name: t
nodes:
  a:   {type: Input, shape: [2, 4]}
  b:   {type: Input, shape: [2, 5]}
  c:   {type: Concat, dim: 0}
  out: {type: Output}
edges:
  - a -> c -> out
  - b -> c
""", "agree on dim 1"),
    "not_yaml": ("nodes: {x: [1, 2\nedges: ]]]", "not valid YAML"),
    "empty": ("", "empty"),
    "top_level_list": ("- a\n- b\n", "mapping"),
    "missing_nodes": ("nodetrainer: 1\nname: t\nedges: []\n", "missing 'nodes'"),
    "missing_name": (GOOD.replace("name: tiny\n", ""), "missing 'name'"),
    "wrong_version": (GOOD.replace("nodetrainer: 1", "nodetrainer: 2"), "format version 2"),
    "duplicate_key": (GOOD.replace("  out: {type: Output}", "  out: {type: Output}\n  fc: {type: ReLU}"),
                      "duplicate key 'fc'"),
    "dangling_edge": (GOOD.replace("fc -> out", "fc -> ot"), "unknown node 'ot' (did you mean 'out'?)"),
    "second_input": (GOOD.replace("  - x -> fc -> out", "  - x -> fc -> out\n  - x -> out"), "second input"),
    "no_output": (GOOD.replace("out: {type: Output}", "out: {type: ReLU}"), "no Output"),
    "no_input": (GOOD.replace("x:   {type: Input, shape: [4]}", "x:   {type: ReLU}"), "no Input"),
    "unknown_top_key": (GOOD + "trainig: {}\n", "did you mean 'training'"),
    "bad_optimizer": (GOOD + "training:\n  optimizer: {type: adamm}\n", "did you mean 'adam'"),
    "bad_data": (GOOD + "data:\n  source: builtin:mnist\n", "unknown built-in set"),
    "missing_required": (GOOD.replace("{type: Linear, out_features: 3}", "{type: Linear}"), "needs 'out_features'"),
    "deep_nesting": ("nodetrainer: 1\nname: t\ndescription: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    "not_utf8": (b"nodetrainer: 1\nname: \xff\xfe\n", "UTF-8"),
    # issue 9: inputs that used to escape the reader or pass check and fail later
    "int_of_5000_digits": (GOOD.replace("out_features: 3", "out_features: " + "9" * 5000), "5000 digits is too large"),
    "int_beyond_int32": (GOOD.replace("out_features: 3", f"out_features: {2**40}"), "at most 2,147,483,647"),
    "int_beyond_float": (GOOD + f"training:\n  optimizer: {{type: adam, lr: {10**400}}}\n", "float32"),
    "float_beyond_float32": (GOOD.replace("{type: Linear, out_features: 3}", "{type: LeakyReLU, negative_slope: 1.0e+300}"),
                             "finite float32"),
    "elu_alpha_beyond_float32": (GOOD.replace("{type: Linear, out_features: 3}", "{type: ELU, alpha: 1.0e+39}"),
                                 "finite float32"),
    "optimizer_type_list": (GOOD + "training:\n  optimizer: {type: [adam]}\n", "unknown optimizer type a list"),
    "scheduler_type_mapping": (GOOD + "training:\n  scheduler: {type: {cosine: 1}}\n", "unknown scheduler type a dict"),
    "id_ending_in_newline": (GOOD.replace("  fc: ", '  "fc\\n": '), "must start with a letter"),
    "name_ending_in_newline": (GOOD.replace("name: tiny", 'name: "tiny\\n"'), "'name' must be"),
    "too_many_weights": (GOOD.replace("[4]", "[100000]").replace("out_features: 3", "out_features: 100000"),
                         "10,000,100,000 weights"),
    "tensor_too_big": (GOOD.replace("[4]", "[100000, 100000]").replace("{type: Linear, out_features: 3}",
                                                                        "{type: ReLU}"), "values per sample"),
}

LOCATED = re.compile(r"^\S+?\.yaml(:\d+)?: ")


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_gives_located_messages(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text, expected = MALFORMED[case]
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert lines, "no message"
    assert all(LOCATED.match(line.replace(str(tmp_path) + "/", "")) for line in lines), lines
    assert any(expected in line for line in lines), (expected, lines)
    assert "Traceback" not in out.out + out.err and "internal error" not in out.err
    assert not (tmp_path / "PWNED").exists()


def test_malformed_set_is_large():
    assert len(MALFORMED) >= 20


def test_problems_carry_line_and_node(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GOOD.replace("out_features: 3", "out_features: -3"))
    graph, problems = read_graph(path.read_bytes(), str(path))
    assert [(p.line, p.node) for p in problems] == [(5, "fc")]
    assert str(problems[0]).startswith(f"{path}:5: node fc: 'out_features' must be >= 1")


def test_all_problems_reported_together(tmp_path, capsys):
    path = tmp_path / "many.yaml"
    path.write_text(GOOD.replace("out_features: 3", "out_features: 3, bias: maybe").replace(
        "type: Input, shape: [4]", "type: Input, shape: [4], dtyp: int64") + "training: {epochs: 0}\n")
    assert main(["check", str(path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert any("bias" in l for l in lines) and any("dtyp" in l for l in lines) and any("epochs" in l for l in lines)


def test_alias_bomb_is_refused_before_anything_is_built():
    graph, problems = read_graph(BOMB)
    assert graph is None and len(problems) == 1 and "anchors" in problems[0].message


def test_check_in_a_fresh_process_prints_no_traceback(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(MALFORMED["python_tag"][0])
    result = subprocess.run([sys.executable, "-m", "nodetrainer.cli", "check", str(path)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.count("\n") == 1 and "tags" in result.stdout
    assert not (tmp_path / "PWNED").exists()


def test_valid_files_pass_check(capsys):
    assert main(["check", *map(str, EXAMPLES)]) == 0
    assert capsys.readouterr().out.count(": ok") == len(EXAMPLES)


@pytest.mark.parametrize("case", ["python_tag", "alias_bomb", "alias_only", "duplicate_key"])
def test_pure_python_reader_refuses_the_same(case, monkeypatch):
    import yaml
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    text, expected = MALFORMED[case]
    graph, problems = read_graph(text, "g.yaml")
    assert problems and expected in problems[0].message


def test_ids_and_names_must_match_as_a_whole():
    from nodetrainer.errors import GraphError
    from nodetrainer.graph import Graph, id_problem, name_problem

    assert id_problem("fc") is None and id_problem("fc\n") and id_problem("fc\nimport os")
    assert name_problem("digits-mlp 2") is None and name_problem("tiny\n") and name_problem("")
    with pytest.raises(GraphError, match="must start with a letter"):
        Graph("g").add_node("fc\n", "ReLU")  # through the API, no IndentationError in generated code later


def test_section_keys_and_odd_text_save_as_the_same_file():
    text = GOOD + 'training:\n  "epo\\nchs": 3\n  "#x": {"a: b": 1}\n'
    graph, problems = read_graph(text)
    assert [p.message.split(" in ")[0] for p in problems] == ["unknown key 'epo\\nchs'", "unknown key '#x'"]  # one line
    graph.description = "tab\tdel\x7f nel\x85 ls\u2028 bom\ufeff smile\U0001F600 bell\x07"
    saved = dump_graph(graph)
    again, _ = read_graph(saved)
    assert again.training == graph.training and again.description == graph.description
    assert dump_graph(again) == saved


def test_did_you_mean_work_is_bounded_per_file(monkeypatch):
    """Thousands of edges to unknown ids: the first get a hint, and the comparisons stay within the budget
    instead of growing with (unknown ids) x (nodes)."""
    import difflib

    from nodetrainer.errors import SUGGESTION_BUDGET

    calls = []
    real = difflib.get_close_matches
    monkeypatch.setattr(difflib, "get_close_matches",
                        lambda word, options, *a, **k: calls.append(len(options)) or real(word, options, *a, **k))
    n = 2000
    lines = ["nodetrainer: 1", "name: many", "nodes:", "  x: {type: Input, shape: [4]}", "  out: {type: Output}"]
    lines += [f"  node_{i}: {{type: ReLU}}" for i in range(n)] + ["edges:", "  - x -> out"]
    lines += [f"  - nodx_{i} -> node_{i}" for i in range(n)]
    graph, problems = read_graph("\n".join(lines) + "\n", "many.yaml")
    unknown = [p for p in problems if "names unknown node" in p.message]
    assert len(unknown) == n
    assert "did you mean 'node_0'" in unknown[0].message
    assert sum(calls) <= SUGGESTION_BUDGET < n * n


def test_a_float_too_small_for_float32_is_refused_not_turned_into_zero():
    from nodetrainer.graphfile import read_graph
    text = ("nodetrainer: 1\nname: tiny\nnodes:\n  x: {type: Input, shape: [4]}\n"
            "  norm: {type: LayerNorm, eps: 2.2e-311}\n  out: {type: Output}\nedges:\n  - x -> norm -> out\n")
    graph, problems = read_graph(text, "tiny.yaml")
    assert [p.node for p in problems] == ["norm"] and "would reach the network as 0" in problems[0].message
