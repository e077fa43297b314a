"""The paper's ablation with its controls, on real photographs and on hard synthetic people.

  python bench/ablation.py --seeds 0,1,2            # trains what is missing, then reports
  python bench/ablation.py --seeds 0,1,2 --report   # only aggregates the finished runs

Rows (every row: the same T = --steps training steps, data stream and seeds):
  hourglass          plain stacked hourglass, MSE on each stack's full-resolution maps (T)
  +MSS               multi-scale heads on every stack, balanced λ_r, MSE                  (T)
  +MSR               stage 1: +MSS (T/2) → stage 2: + residual MSR-net, MSE               (T/2)
  +SA loss           stage 1 → stage 2 as +MSR with the structure-aware loss (α = 0.5)
  +kpmask            stage 1 → stage 2 as +SA loss with keypoint masking (p = 0.5)
Controls, each paired with the row it questions:
  SA, α = 0          the structure-aware loss without its neighbour term      (vs +SA loss)
  N+1 stacks         stage 2 adds a plain stack instead of MSR-net            (vs +MSR)
  MSR, not residual  MSR-net's output alone is the final heatmap              (vs +MSR)
Stage 1 is shared by all staged rows of a seed; stage 2 continues the seed's data stream
(config.data.stream_start), so a staged row sees exactly the examples a single run does.

Every stage is `msposejax train` in RUNS/DATASET/seedS/STAGE (a subprocess): kill the
ablation and run the command again, and it resumes the interrupted stage from its last
checkpoint and skips the finished ones (their final_metrics.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "seeds (init and data order), paired")
_DATASETS = flags.DEFINE_list("datasets", ["lsp", "synthetic"], "lsp and/or synthetic")
_RUNS = flags.DEFINE_string("runs", "runs/ablation", "folder of the stage workdirs")
_PLOT = flags.DEFINE_string("plot", "docs/images/ablation.png", "the plot of paired effects")
_REPORT = flags.DEFINE_bool("report", False, "only aggregate and write the report")
_STEPS = flags.DEFINE_integer("steps", 300, "total budget T per row")
_EXTRA = flags.DEFINE_list("override", [], "extra --config.X=V for every stage")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {"synthetic": os.path.join(REPO, "configs", "ablation.py"),
           "lsp": os.path.join(REPO, "configs", "ablation_lsp.py")}
ROWS = ("hourglass", "+MSS", "+MSR", "+SA loss", "+kpmask")
# control row → the row it is paired with
CONTROLS = {"SA, α = 0": "+SA loss", "N+1 stacks": "+MSR", "MSR, not residual": "+MSR"}
# (metric key, label) per dataset: the headline first, then the subsets
METRICS = {
    "lsp": (("pck@0.2", "all @0.2"), ("pck@0.1", "all @0.1"),
            ("scale_small/pck@0.2", "small @0.2")),
    "synthetic": (("pckh@0.5", "all @0.5"), ("pckh@0.2", "all @0.2"),
                  ("scale_small/pckh@0.5", "small @0.5"), ("occluded/pckh@0.5", "occluded @0.5"),
                  ("crowded/pckh@0.5", "crowded @0.5")),
}


def stages(total: int) -> dict[str, dict]:
  """Each stage: config overrides, the stage it starts from, and the row it finishes."""
  s1 = total // 2
  s2 = total - s1
  mse = {"loss.intermediate": "mse", "loss.final": "mse"}
  sa = {"loss.intermediate": "structure", "loss.final": "structure"}
  # Stage 2: a new warm-up for the fresh optimizer state and new heads, half the peak rate.
  later = {"optimizer.warmup_steps": 20, "optimizer.learning_rate": 1.5e-3, "total_steps": s2}
  msr = {"model.msr": True, "model.msr_residual": True}
  return {
      "hourglass": {"set": {"model.mss": False, "model.msr": False, **mse,
                            "total_steps": total}, "row": "hourglass"},
      "mss": {"set": {"model.msr": False, **mse, "total_steps": total}, "row": "+MSS"},
      "stage1_mss": {"set": {"model.msr": False, **mse, "total_steps": s1}},
      "msr": {"set": {**msr, **mse, **later}, "from": "stage1_mss", "row": "+MSR"},
      "sa": {"set": {**msr, **sa, **later}, "from": "stage1_mss", "row": "+SA loss"},
      "kpmask": {"set": {**msr, **sa, **later, "data.mask.prob": 0.5}, "from": "stage1_mss",
                 "row": "+kpmask"},
      "sa_alpha0": {"set": {**msr, **sa, **later, "loss.structure_alpha": 0.0},
                    "from": "stage1_mss", "row": "SA, α = 0"},
      "stacks_plus1": {"set": {"model.msr": False, "model.num_stacks": 3, **mse, **later},
                       "from": "stage1_mss", "row": "N+1 stacks"},
      "msr_plain": {"set": {"model.msr": True, "model.msr_residual": False, **mse, **later},
                    "from": "stage1_mss", "row": "MSR, not residual"},
  }


def _workdir(dataset: str, seed: int, name: str) -> str:
  return os.path.join(_RUNS.value, dataset, f"seed{seed}", name)


def run_stage(dataset: str, name: str, stage: dict, seed: int) -> dict:
  workdir = _workdir(dataset, seed, name)
  result = os.path.join(workdir, "final_metrics.json")
  if os.path.exists(result):
    with open(result) as f:
      return json.load(f)
  overrides = [f"--config.{k}={v}" for k, v in stage["set"].items()]
  overrides += [f"--config.seed={seed}", *[f"--config.{o}" for o in _EXTRA.value]]
  if "from" in stage:
    overrides.append(f"--config.init_from={_workdir(dataset, seed, stage['from'])}")
  if "row" not in stage:
    overrides.append("--config.eval_num_examples=32")  # only the rows' evaluations matter
  cmd = [sys.executable, "-m", "msposejax.main", "train", "--config", CONFIGS[dataset],
         f"--workdir={workdir}", *overrides]
  print(f"[{time.strftime('%H:%M:%S')}] {dataset} seed {seed} {name}: {' '.join(cmd[5:])}",
        flush=True)
  t0 = time.time()
  os.makedirs(workdir, exist_ok=True)
  # Stages of one shape compile once for all seeds: JAX's persistent cache (~30 s a run).
  env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": os.path.abspath(
      os.path.join(_RUNS.value, "jax_cache")), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1"}
  with open(os.path.join(workdir, "console.log"), "a") as log:
    subprocess.run(cmd, check=True, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
  print(f"  {name} took {time.time() - t0:.0f}s", flush=True)
  with open(result) as f:
    return json.load(f)


def collect(dataset: str, seeds: list[int]) -> dict[str, dict[int, dict]]:
  """{row: {seed: final_metrics}} of the finished rows."""
  table: dict[str, dict[int, dict]] = {row: {} for row in (*ROWS, *CONTROLS)}
  for seed in seeds:
    for name, stage in stages(_STEPS.value).items():
      path = os.path.join(_workdir(dataset, seed, name), "final_metrics.json")
      if "row" in stage and os.path.exists(path):
        with open(path) as f:
          table[stage["row"]][seed] = json.load(f)
  return table


def wall_time(dataset: str, seeds: list[int]) -> float:
  total = 0.0
  for seed in seeds:
    for name in stages(_STEPS.value):
      path = os.path.join(_workdir(dataset, seed, name), "final_metrics.json")
      if os.path.exists(path):
        with open(path) as f:
          total += json.load(f)["wall_time_s"]
  return total


def value(result: dict, key: str) -> float:
  return 100 * result[key]["mean"]


def summarise(dataset: str, table: dict[str, dict[int, dict]]) -> list[dict]:
  """Per row: mean ± std over seeds of every metric, and the paired difference (same seeds)
  against the row before it (for a control: against the row it questions)."""
  out = []
  for i, row in enumerate(table):
    runs = table[row]
    if not runs:
      continue
    ref = CONTROLS.get(row, ROWS[i - 1] if 0 < i < len(ROWS) else None)
    entry = {"row": row, "against": ref, "seeds": sorted(runs)}
    for key, label in METRICS[dataset]:
      values = [value(runs[s], key) for s in sorted(runs)]
      entry[label] = {"mean": float(np.mean(values)), "std": float(np.std(values)),
                      "values": values}
      paired = sorted(set(runs) & set(table.get(ref, {}))) if ref else []
      if paired:
        diffs = [value(runs[s], key) - value(table[ref][s], key) for s in paired]
        entry[label]["diff"] = {"mean": float(np.mean(diffs)), "std": float(np.std(diffs)),
                                "values": diffs, "positive": int(sum(d > 0 for d in diffs))}
    out.append(entry)
  return out


def markdown(dataset: str, rows: list[dict]) -> str:
  labels = [label for _, label in METRICS[dataset]]
  lines = ["| row | seeds | " + " | ".join(labels) + f" | Δ {labels[0]} (paired) | against |",
           "|---|---|" + "---|" * (len(labels) + 2)]
  for r in rows:
    cells = [f"{r[l]['mean']:.1f} ± {r[l]['std']:.1f}" for l in labels]
    d = r[labels[0]].get("diff")
    delta = (f"{d['mean']:+.1f} ± {d['std']:.1f} ({d['positive']}/{len(d['values'])} > 0)"
             if d else "")
    lines.append(f"| {r['row']} | {len(r['seeds'])} | " + " | ".join(cells)
                 + f" | {delta} | {r['against'] or ''} |")
  return "\n".join(lines)


def plot(summaries: dict[str, list[dict]], path: str) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(1, len(summaries), figsize=(6 * len(summaries), 4), squeeze=False)
  for ax, (dataset, rows) in zip(axes[0], summaries.items()):
    label = METRICS[dataset][0][1]
    rows = [r for r in rows if "diff" in r[label]]
    names = [f"{r['row']}\nvs {r['against']}" for r in rows]
    means = [r[label]["diff"]["mean"] for r in rows]
    y = np.arange(len(rows))
    ax.barh(y, means, color=["tab:green" if m > 0 else "tab:red" for m in means])
    for i, r in enumerate(rows):
      ax.plot(r[label]["diff"]["values"], [i] * len(r[label]["diff"]["values"]), "k.")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"paired Δ {label} (points; bar = mean, dots = seeds)")
    ax.set_title({"lsp": "LSP-extended validation (PCK, torso)",
                  "synthetic": "hard synthetic split (PCKh)"}[dataset])
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=110)


def main(argv):
  del argv
  seeds = [int(s) for s in _SEEDS.value]
  for d in _DATASETS.value:
    if d not in CONFIGS:
      raise app.UsageError(f"--datasets: {d!r} is not one of {sorted(CONFIGS)}")
  if not _REPORT.value:
    t0 = time.time()
    for seed in seeds:  # seed-major: an interrupted ablation has whole seeds of every dataset
      for dataset in _DATASETS.value:
        for name, stage in stages(_STEPS.value).items():
          run_stage(dataset, name, stage, seed)
    print(f"finished in {(time.time() - t0) / 60:.1f} min (this invocation)")
  summaries = {}
  for dataset in _DATASETS.value:
    rows = summarise(dataset, collect(dataset, seeds))
    summaries[dataset] = rows
    out = {"rows": rows, "train_wall_time_s": wall_time(dataset, seeds), "steps": _STEPS.value,
           "overrides": _EXTRA.value}
    path = os.path.join(_RUNS.value, dataset, "summary.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
      json.dump(out, f, indent=1)
    print(f"\n{dataset} ({out['train_wall_time_s'] / 60:.1f} min of training runs):")
    print(markdown(dataset, rows))
    print(f"wrote {path}")
  if any(summaries.values()):
    plot({d: r for d, r in summaries.items() if r}, _PLOT.value)
    print(f"wrote {_PLOT.value}")


if __name__ == "__main__":
  app.run(main)
