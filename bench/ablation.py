"""The paper's ablation on the hard synthetic split, on a CPU: five rows × several seeds.

  python bench/ablation.py --seeds 0,1,2            # trains what is missing, then reports
  python bench/ablation.py --seeds 0,1,2 --report   # only rewrites docs/ablation.md

Rows (all with the same total budget T = config.total_steps, data and seeds):
  hourglass   plain stacked hourglass, MSE on the last full-resolution maps of each stack
  +MSS        multi-scale heads on every stack, MSE                              (T steps)
  +MSR        stage 1 MSS (S1) → stage 2 +MSR-net, MSE (S2) → stage 3 continue (S3)
  +SA loss    as +MSR with the structure-aware loss in stages 2 and 3
  +kpmask     as +SA loss with keypoint masking in stage 3 (the paper's fine-tune)
S1 + S2 + S3 = T; stage 1 is shared by the three staged rows and stage 2 by the last two.

Every stage is `msposejax train` in its own workdir RUNS/seedS/STAGE (a subprocess): an
interrupted ablation resumes each stage from its last checkpoint and skips finished stages
(their final_metrics.json). The evaluation is the training's final one: PCKh with flip test
on the 1000 hard validation people, overall and per subset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "seeds (init and data order)")
_RUNS = flags.DEFINE_string("runs", "runs/ablation", "folder of the stage workdirs")
_PLOT = flags.DEFINE_string("plot", "docs/images/ablation.png", "the plot")
_REPORT = flags.DEFINE_bool("report", False, "only aggregate and write the report")
_STEPS = flags.DEFINE_integer("steps", 600, "total budget T per row")
_EXTRA = flags.DEFINE_list("override", [], "extra --config.X=V for every stage (a try)")
_TAG = flags.DEFINE_string("tag", "", "name of a variant (results go to RUNS/TAG/…)")
_TRIES = flags.DEFINE_list("tries", [], "run (and report) these tries() instead of the rows")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "ablation.py")
ROWS = ("hourglass", "+MSS", "+MSR", "+SA loss", "+kpmask")
SUBSETS = ("all", "scale_small", "occluded", "crowded")


def stages(total: int) -> dict[str, dict]:
  """Each stage: config overrides, the stage it starts from, and the row it finishes."""
  s1, s3 = total // 2, total // 5
  s2 = total - s1 - s3
  mse = {"loss.intermediate": "mse", "loss.final": "mse"}
  sa = {"loss.intermediate": "structure", "loss.final": "structure"}
  later = {"optimizer.warmup_steps": 20}
  return {
      "hourglass": {"set": {"model.mss": False, "model.msr": False, **mse,
                            "total_steps": total}, "row": "hourglass"},
      "mss": {"set": {"model.msr": False, **mse, "total_steps": total}, "row": "+MSS"},
      "stage1_mss": {"set": {"model.msr": False, **mse, "total_steps": s1}},
      "msr_stage2": {"set": {**mse, **later, "total_steps": s2, "optimizer.learning_rate": 1.5e-3},
                     "from": "stage1_mss"},
      "msr_stage3": {"set": {**mse, **later, "total_steps": s3, "optimizer.learning_rate": 5e-4},
                     "from": "msr_stage2", "row": "+MSR"},
      "sa_stage2": {"set": {**sa, **later, "total_steps": s2, "optimizer.learning_rate": 1.5e-3},
                    "from": "stage1_mss"},
      "sa_stage3": {"set": {**sa, **later, "total_steps": s3, "optimizer.learning_rate": 5e-4},
                    "from": "sa_stage2", "row": "+SA loss"},
      "kpmask_stage3": {"set": {**sa, **later, "total_steps": s3, "optimizer.learning_rate": 5e-4,
                                "data.mask.prob": 0.5},
                        "from": "sa_stage2", "row": "+kpmask"},
  }


def tries(total: int) -> dict[str, dict]:
  """Alternatives that the paper leaves open, each one stage of the full budget (a second
  table in the report): why a part did not help, or what helps instead."""
  mse = {"loss.intermediate": "mse", "loss.final": "mse"}
  return {
      # λ_r is our choice (DESIGN §3): coarse heads weighted down, so they guide rather
      # than compete with the full-resolution head.
      "mss_coarse_weights": {"set": {"model.msr": False, **mse, "total_steps": total,
                                     "loss.scale_weights": "(1.0, 0.3, 0.1)"}},
      # MSR-net trained jointly from scratch: separates the MSR-net from the cost of the
      # staged recipe's optimizer restarts on a short budget.
      "msr_joint": {"set": {**mse, "total_steps": total}},
      # The full model (MSS + MSR + structure-aware loss) jointly from scratch.
      "sa_joint": {"set": {"total_steps": total}},
  }


def _runs_dir() -> str:
  return os.path.join(_RUNS.value, _TAG.value) if _TAG.value else _RUNS.value


def run_stage(name: str, stage: dict, seed: int) -> dict:
  workdir = os.path.join(_runs_dir(), f"seed{seed}", name)
  result = os.path.join(workdir, "final_metrics.json")
  if os.path.exists(result):
    with open(result) as f:
      return json.load(f)
  overrides = [f"--config.{k}={v}" for k, v in stage["set"].items()]
  overrides += [f"--config.seed={seed}", *[f"--config.{o}" for o in _EXTRA.value]]
  if "from" in stage:
    overrides.append(f"--config.init_from={os.path.join(_runs_dir(), f'seed{seed}', stage['from'])}")
  if "row" not in stage:
    overrides.append("--config.eval_num_examples=200")  # only the rows' evaluations matter
  cmd = [sys.executable, "-m", "msposejax.main", "train", "--config", CONFIG,
         f"--workdir={workdir}", *overrides]
  print(f"[{time.strftime('%H:%M:%S')}] seed {seed} {name}: {' '.join(cmd[3:])}", flush=True)
  t0 = time.time()
  subprocess.run(cmd, check=True, cwd=REPO)
  print(f"  {name} took {time.time() - t0:.0f}s", flush=True)
  with open(result) as f:
    return json.load(f)


def _metric(result: dict, subset: str, threshold: str) -> float:
  key = f"pckh@{threshold}" if subset == "all" else f"{subset}/pckh@{threshold}"
  return 100 * result[key]["mean"]


def collect(seeds: list[int]) -> dict:
  """{row: {seed: final_metrics}} of the finished rows."""
  table = {row: {} for row in ROWS}  # insertion order = table order
  for seed in seeds:
    for name, stage in stages(_STEPS.value).items():
      path = os.path.join(_runs_dir(), f"seed{seed}", name, "final_metrics.json")
      if "row" in stage and os.path.exists(path):
        with open(path) as f:
          table[stage["row"]][seed] = json.load(f)
  return table


def wall_time(seeds: list[int]) -> float:
  total = 0.0
  for seed in seeds:
    for name in [*stages(_STEPS.value), *tries(_STEPS.value)]:
      path = os.path.join(_runs_dir(), f"seed{seed}", name, "final_metrics.json")
      if os.path.exists(path):
        with open(path) as f:
          total += json.load(f)["wall_time_s"]
  return total


def collect_tries(seeds: list[int]) -> dict:
  table = {name: {} for name in tries(_STEPS.value)}
  for seed in seeds:
    for name in table:
      path = os.path.join(_runs_dir(), f"seed{seed}", name, "final_metrics.json")
      if os.path.exists(path):
        with open(path) as f:
          table[name][seed] = json.load(f)
  return table


def summary_rows(table: dict) -> list[dict]:
  rows = []
  for row in table:
    results = list(table[row].values())
    if not results:
      continue
    entry = {"row": row, "seeds": len(results)}
    for subset in SUBSETS:
      for t in ("0.5", "0.2"):
        values = [_metric(r, subset, t) for r in results]
        entry[f"{subset}@{t}"] = (float(np.mean(values)), float(np.std(values)), values)
    rows.append(entry)
  return rows


def plot(rows: list[dict], path: str) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  x = np.arange(len(rows))
  width = 0.2
  for ax, t in zip(axes, ("0.5", "0.2")):
    for i, subset in enumerate(SUBSETS):
      means = [r[f"{subset}@{t}"][0] for r in rows]
      stds = [r[f"{subset}@{t}"][1] for r in rows]
      ax.bar(x + (i - 1.5) * width, means, width, yerr=stds, capsize=2, label=subset)
    ax.set_xticks(x, [r["row"] for r in rows])
    ax.set_ylabel(f"PCKh@{t} (%)")
    lo = min(r[f"{s}@{t}"][0] for r in rows for s in SUBSETS)
    ax.set_ylim(max(0, lo - 10), None)
    ax.set_title(f"PCKh@{t}, hard synthetic split (mean ± std over seeds)")
  axes[0].legend(fontsize=8)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=110)


def main(argv):
  del argv
  seeds = [int(s) for s in _SEEDS.value]
  plan = ({k: v for k, v in tries(_STEPS.value).items() if k in _TRIES.value} if _TRIES.value
          else stages(_STEPS.value))
  if not _REPORT.value:
    t0 = time.time()
    for seed in seeds:
      for name, stage in plan.items():
        run_stage(name, stage, seed)
    print(f"finished in {(time.time() - t0) / 60:.1f} min (this invocation)")
  rows = summary_rows(collect(seeds)) + summary_rows(
      {k: v for k, v in collect_tries(seeds).items() if v})
  out = {"rows": rows, "train_wall_time_s": wall_time(seeds), "steps": _STEPS.value,
         "overrides": _EXTRA.value}
  path = os.path.join(_runs_dir(), "summary.json")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    json.dump(out, f, indent=1)
  for r in rows:
    print(f"{r['row']:10s} " + "  ".join(
        f"{s}@{t} {r[f'{s}@{t}'][0]:.1f}±{r[f'{s}@{t}'][1]:.1f}" for s in SUBSETS
        for t in ("0.5", "0.2")))
  main_rows = [r for r in rows if r["row"] in ROWS]
  if main_rows and not _TAG.value and not _TRIES.value:  # the plot is of the main rows
    plot(main_rows, _PLOT.value)
  print(f"wrote {path}")


if __name__ == "__main__":
  app.run(main)
