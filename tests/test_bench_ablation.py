"""bench/ablation.py's plan: every row gets the same total budget, stages chain as stated, and
each control differs from the row it questions only in what it tests."""

import functools
import importlib.util

from tests.conftest import REPO


@functools.cache  # its absl flags can be defined once per process
def _ablation():
  spec = importlib.util.spec_from_file_location("ablation", REPO / "bench" / "ablation.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _steps_of_row(stages, name):
  steps, stage = 0, stages[name]
  while True:
    steps += stage["set"]["total_steps"]
    if "from" not in stage:
      return steps
    stage = stages[stage["from"]]


def _diff(a, b):
  keys = set(a) | set(b)
  return {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}


def test_every_row_has_the_same_budget_and_controls_change_one_thing():
  ablation = _ablation()
  for total in (600, 400, 37):
    stages = ablation.stages(total)
    rows = {s["row"]: name for name, s in stages.items() if "row" in s}
    assert set(rows) == set(ablation.ROWS) | set(ablation.CONTROLS)
    for name in rows.values():
      assert _steps_of_row(stages, name) == total
  stages = ablation.stages(400)
  staged = [n for n, s in stages.items() if "from" in s]
  assert {stages[n]["from"] for n in staged} == {"stage1_mss"}
  assert _diff(stages["hourglass"]["set"], stages["mss"]["set"]) == {"model.mss": (False, None)}
  assert _diff(stages["sa"]["set"], stages["msr"]["set"]) == {
      "loss.intermediate": ("structure", "mse"), "loss.final": ("structure", "mse")}
  assert _diff(stages["kpmask"]["set"], stages["sa"]["set"]) == {"data.mask.prob": (0.5, None)}
  assert _diff(stages["sa_alpha0"]["set"], stages["sa"]["set"]) == {
      "loss.structure_alpha": (0.0, None)}
  assert _diff(stages["msr_plain"]["set"], stages["msr"]["set"]) == {
      "model.msr_residual": (False, True)}
  assert _diff(stages["stacks_plus1"]["set"], stages["msr"]["set"]) == {
      "model.msr": (False, True), "model.num_stacks": (3, None),
      "model.msr_residual": (None, True)}
  assert stages["msr"]["set"]["model.msr_residual"] is True


def test_paired_differences_are_per_seed():
  ablation = _ablation()
  result = lambda v: {k: {"mean": v} for k, _ in ablation.METRICS["lsp"]}
  table = {row: {} for row in (*ablation.ROWS, *ablation.CONTROLS)}
  table["hourglass"] = {0: result(0.30), 1: result(0.40), 2: result(0.20)}
  table["+MSS"] = {0: result(0.32), 1: result(0.41), 2: result(0.19)}
  rows = {r["row"]: r for r in ablation.summarise("lsp", table)}
  diff = rows["+MSS"]["all @0.2"]["diff"]
  assert rows["+MSS"]["against"] == "hourglass"
  assert [round(d, 6) for d in diff["values"]] == [2.0, 1.0, -1.0] and diff["positive"] == 2
  assert abs(rows["+MSS"]["all @0.2"]["mean"] - 100 * (0.32 + 0.41 + 0.19) / 3) < 1e-9
  assert "diff" not in rows["hourglass"]["all @0.2"]
