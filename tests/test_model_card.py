"""The model card's validation tables are the committed evaluation files, not copies by hand."""

import json
from pathlib import Path

from conftest import load_tool

ROOT = Path(__file__).resolve().parents[1]


def _summary(path):
    with open(ROOT / "engine" / path, encoding="utf-8") as f:
        return json.load(f)["summary"]


def test_card_holds_the_tables_of_the_committed_validation_runs():
    runs = [_summary("validation_onnx.json"), _summary("validation_classical.json")]
    tables = load_tool("card_tables").tables(runs, ["learned", "classical"])
    card = (ROOT / "engine" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert tables in card, (
        "engine/MODEL_CARD.md is out of date with engine/validation_*.json: paste the output of "
        "python tools/card_tables.py engine/validation_onnx.json "
        "engine/validation_classical.json --names learned classical"
    )


def test_tables_follow_the_numbers():
    run = _summary("validation_onnx.json")
    other = json.loads(json.dumps(run))
    other["pass_rate"] = 0.5
    other["mask"]["dotted"]["recall"] = 0.25
    other["backup_scale"]["with"] = {"curves": 0, "r2_median": None, "pass_rate": None}
    tables = load_tool("card_tables").tables([run, other], ["a", "b"])
    assert f"| fit-gate pass rate | {100 * run['pass_rate']:.1f} % | 50.0 % |" in tables
    dotted_b = next(row for row in tables.splitlines() if row.startswith("| dotted | b |"))
    assert dotted_b.split(" | ")[3] == "0.250"  # class, model, precision, recall
    n = run["backup_scale"]["with"]["curves"]
    assert f"| with a backup scale: curves | {n} | 0 |" in tables
    share = 100 * run["backup_scale"]["with"]["pass_rate"]
    assert f"| with a backup scale: pass rate | {share:.1f} % | n/a |" in tables
