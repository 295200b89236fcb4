"""A bounded run of the mutation fuzzer (scripts/fuzz_graphs.py) over every example graph: reading and
checking never raise, every problem is one line, what is read saves and reads back, and every valid case
compiles, runs with the inferred shapes and round-trips byte for byte. The long run is the script itself."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fuzz_graphs", ROOT / "scripts" / "fuzz_graphs.py")
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

CASES_PER_FILE = 60  # about half a second a file


@pytest.mark.parametrize("path", fuzz.EXAMPLES, ids=lambda p: p.stem)
def test_mutated_examples_never_escape_the_reader(path):
    outcomes = {}
    for i, _, text in fuzz.cases(seed=sum(map(ord, path.stem)), count=CASES_PER_FILE, files=[path]):
        try:
            outcome = fuzz.run_case(text)
        except fuzz.Bug as bug:
            pytest.fail(f"case {i} of {path.name}: {bug}\n--- case ---\n{text[:3000]}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == CASES_PER_FILE


def test_the_fuzzer_reports_what_it_is_for(monkeypatch):
    """Its checks are not vacuous: a reader that raises, a problem on two lines and a save that does not
    read back are each a Bug."""
    good = (ROOT / "graphs" / "digits_mlp.yaml").read_text()
    assert fuzz.run_case(good) == "valid"
    with pytest.raises(fuzz.Bug, match="read_graph raised"):
        fuzz.run_case(12345)  # not text at all
    monkeypatch.setattr(fuzz, "dump_graph", lambda graph: "nodetrainer: 1\n")
    with pytest.raises(fuzz.Bug, match="saved to a file with problems"):
        fuzz.run_case(good)
    monkeypatch.setattr(fuzz, "read_graph", lambda text, file: (None, [SimpleNamespace(message="two\nlines")]))
    with pytest.raises(fuzz.Bug, match="several lines"):
        fuzz.run_case(good)
