"""bench/ablation.py's plan: every row gets the same total budget, and stages chain as stated."""

import importlib.util

from tests.conftest import REPO


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


def test_every_row_has_the_same_budget_and_the_paper_recipe():
  ablation = _ablation()
  for total in (600, 1000, 37):
    stages = ablation.stages(total)
    rows = {s["row"]: name for name, s in stages.items() if "row" in s}
    assert tuple(rows) == ablation.ROWS
    for name in rows.values():
      assert _steps_of_row(stages, name) == total
  stages = ablation.stages(600)
  # +MSR, +SA loss and +kpmask start from the same MSS stage; +kpmask differs from +SA loss
  # only by masking in its last stage.
  assert stages["msr_stage2"]["from"] == stages["sa_stage2"]["from"] == "stage1_mss"
  sa, kp = stages["sa_stage3"], stages["kpmask_stage3"]
  assert kp["from"] == sa["from"]
  assert {k: v for k, v in kp["set"].items() if k != "data.mask.prob"} == sa["set"]
  assert kp["set"]["data.mask.prob"] > 0 and "data.mask.prob" not in sa["set"]
  assert stages["hourglass"]["set"]["model.mss"] is False
