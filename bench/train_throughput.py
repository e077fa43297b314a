"""Train-step throughput, JAX vs the PyTorch reference, measured side by side in one run.

Every cell (framework, config, batch, input size, stacks) runs in its own subprocess, so
thread pools and peak memory are the cell's own; results are appended to a JSON-lines file
and a rerun skips cells already there (an interrupted sweep resumes).

  # the table of docs/benchmarks.md (CPU):
  python bench/train_throughput.py --out bench/results/cpu.jsonl \
      --cells "hourglass2:4,8,16 hourglass8:4,8 mss8_msr:4 tiny:8,32,64"
  # scaling with stacks and with input size (hourglass2 layout, batch 4):
  python bench/train_throughput.py --out bench/results/cpu.jsonl --stacks 1,2,4,8 --sizes 128,256,384

A JAX step is `Trainer.compile_train_step()`: uint8 → float, forward, the config's losses,
backward, optimizer, non-finite guard. The PyTorch step is the reference network
(msposejax.interop.torch_reference) with per-stack MSE and torch.optim.RMSprop with the same
hyper-parameters; only plain-hourglass configs have a PyTorch row (the reference has no
MSS heads or MSR-net). Timing: one warm-up step (for JAX, after compilation, which is
reported apart), then the median of `--steps` steps, each ended by a device sync.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

_OUT = flags.DEFINE_string("out", "bench/results/train_throughput.jsonl", "JSON-lines results")
_CELLS = flags.DEFINE_string("cells", "", "space-separated CONFIG:B1,B2,... at --size")
_SIZE = flags.DEFINE_integer("size", 256, "input size of --cells (tiny keeps its own 64)")
_STACKS = flags.DEFINE_list("stacks", [], "stack sweep (hourglass2 layout, --sweep_batch)")
_SIZES = flags.DEFINE_list("sizes", [], "input-size sweep (hourglass2, --sweep_batch)")
_SWEEP_BATCH = flags.DEFINE_integer("sweep_batch", 4, "batch size of the sweeps")
_FRAMEWORKS = flags.DEFINE_list("frameworks", ["jax", "torch"],
                                "jax, torch (eager), torch_compile, torch_bf16, jax_bf16")
_STEPS = flags.DEFINE_integer("steps", 3, "timed steps per cell")
_ONE = flags.DEFINE_string("one", None, "internal: run one cell given as JSON")
_TIMEOUT = flags.DEFINE_integer("timeout", 900, "seconds per cell (a cell past it is FAILED)")
_REPORT = flags.DEFINE_string("report", None, "only print the markdown table of --out and "
                              "write this PNG (throughput vs batch size)")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_CONFIGS = {"hourglass2", "hourglass8"}  # the reference is a plain hourglass


def _config(cell: dict):
  sys.path.insert(0, REPO)
  from msposejax.config_files import load_config
  config = load_config(os.path.join(REPO, "configs", cell["config"] + ".py"))
  with config.unlocked():
    config.batch_size = cell["batch"]
    config.input_size = cell["size"]
    config.model.num_stacks = cell["stacks"]
    config.data.dataset = "synthetic_people/small"
    if cell["framework"] == "jax_bf16":
      config.model.dtype = "bfloat16"
  return config


def _batch(config, rng):
  from msposejax.codecs import MultiScaleCodec
  b, n, k = config.batch_size, config.input_size, config.model.num_joints
  return {"image": rng.integers(0, 255, (b, n, n, 3), dtype=np.uint8),
          "targets": {r: rng.uniform(size=(b, r, r, k)).astype(np.float32)
                      for r in MultiScaleCodec.from_config(config).resolutions},
          "weights": np.ones((b, k), np.float32), "valid": np.ones(b, bool)}


def _time(step, n: int) -> list[float]:
  times = []
  for _ in range(n):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
  return times


def run_jax(cell: dict) -> dict:
  import jax
  from msposejax.training.trainer import Trainer
  from msposejax.training.sharding import global_batch
  config = _config(cell)
  trainer = Trainer(config, "/tmp/unused")
  t0 = time.perf_counter()
  compiled = trainer.compile_train_step()
  compile_s = time.perf_counter() - t0
  memory = compiled.memory_analysis()
  flops = (compiled.cost_analysis() or {}).get("flops")
  state = [trainer.init_state()]
  batch = global_batch(_batch(config, np.random.default_rng(0)), trainer.mesh)

  def step():
    state[0], metrics = compiled(state[0], batch)
    jax.block_until_ready(metrics)

  step()
  times = _time(step, _STEPS.value)
  out = {"compile_s": compile_s, "times": times, "xla_flops": flops,
         "device": jax.devices()[0].device_kind, "jax": jax.__version__}
  if memory is not None:
    out["xla_temp_mb"] = memory.temp_size_in_bytes / 1e6
  stats = jax.devices()[0].memory_stats() or {}
  if "peak_bytes_in_use" in stats:
    out["device_peak_mb"] = stats["peak_bytes_in_use"] / 1e6
  return out


def torch_train_step(model, optimizer, config, device: str, autocast: bool):
  """One PyTorch train step of the reference on a fixed batch of `config` (per-stack MSE on
  the full-resolution targets), synchronised on CUDA; returns the step (→ its loss)."""
  import torch
  batch = _batch(config, np.random.default_rng(0))
  n = config.input_size
  images = torch.from_numpy(batch["image"]).to(device)
  target = torch.from_numpy(batch["targets"][n // 4]).permute(0, 3, 1, 2).contiguous().to(device)

  def step():
    # NHWC in: the reference permutes to NCHW itself (a view that is channels-last already).
    x = images.float() / 255.0
    with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
      preds = model(x)
    loss = sum(((preds[:, s].float() - target) ** 2).mean() for s in range(preds.shape[1]))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if device == "cuda":
      torch.cuda.synchronize()
    return float(loss)

  return step


def run_torch(cell: dict) -> dict:
  import torch
  from msposejax.interop import torch_reference
  config = _config(cell)
  device = "cuda" if torch.cuda.is_available() else "cpu"
  net = torch_reference.from_config(config.model).to(device).train()
  opt = config.optimizer
  optimizer = torch.optim.RMSprop(net.parameters(), lr=opt.learning_rate, alpha=0.99, eps=1e-8)
  model = net
  compile_s = 0.0
  if cell["framework"] == "torch_compile":
    model = torch.compile(net)
  step = torch_train_step(model, optimizer, config, device,
                          autocast=cell["framework"] == "torch_bf16")
  t0 = time.perf_counter()
  step()  # warm-up; for torch.compile this is the compilation
  if cell["framework"] == "torch_compile":
    compile_s = time.perf_counter() - t0
  times = _time(step, _STEPS.value)
  out = {"compile_s": compile_s, "times": times, "device": device, "torch": torch.__version__,
         "threads": torch.get_num_threads()}
  if device == "cuda":
    out["device_peak_mb"] = torch.cuda.max_memory_allocated() / 1e6
  return out


def run_one(cell: dict) -> dict:
  fn = run_jax if cell["framework"].startswith("jax") else run_torch
  out = fn(cell)
  median = float(np.median(out["times"]))
  out.update(cell, step_s=median, examples_per_s=cell["batch"] / median,
             peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)
  return out


def _cells() -> list[dict]:
  cells = []
  for item in _CELLS.value.split():
    name, _, batches = item.partition(":")
    for b in batches.split(","):
      size = 64 if name == "tiny" else _SIZE.value
      stacks = {"hourglass8": 8, "mss8_msr": 8}.get(name, 2)
      cells.append({"config": name, "batch": int(b), "size": size, "stacks": stacks})
  for s in _STACKS.value:
    cells.append({"config": "hourglass2", "batch": _SWEEP_BATCH.value, "size": 256,
                  "stacks": int(s)})
  for n in _SIZES.value:
    cells.append({"config": "hourglass2", "batch": _SWEEP_BATCH.value, "size": int(n),
                  "stacks": 2})
  out = []
  for cell in cells:
    for fw in _FRAMEWORKS.value:
      if fw.startswith("torch") and cell["config"] not in TORCH_CONFIGS:
        continue
      if {**cell, "framework": fw} not in out:
        out.append({**cell, "framework": fw})
  return out


def _key(cell: dict) -> tuple:
  return tuple(cell[k] for k in ("framework", "config", "batch", "size", "stacks"))


def _load(path: str) -> list[dict]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def report(results: list[dict], png: str) -> None:
  """Markdown table (JAX/PyTorch ratio per cell) and the throughput-vs-batch plot."""
  by_key = {_key(r): r for r in results}
  print("| config | stacks | input | batch | framework | ex/s | step s | compile s | "
        "peak RSS MB | XLA temp MB | JAX / PyTorch eager |")
  print("|---|---|---|---|---|---|---|---|---|---|---|")
  for r in sorted(results, key=lambda r: (r["config"], r["stacks"], r["size"], r["batch"],
                                          r["framework"])):
    torch_r = by_key.get(("torch", r["config"], r["batch"], r["size"], r["stacks"]))
    ratio = (f"{r['examples_per_s'] / torch_r['examples_per_s']:.2f}×"
             if torch_r and r["framework"].startswith("jax") else "")
    temp = f"{r['xla_temp_mb']:.0f}" if "xla_temp_mb" in r else ""
    print(f"| {r['config']} | {r['stacks']} | {r['size']} | {r['batch']} | {r['framework']} | "
          f"{r['examples_per_s']:.2f} | {r['step_s']:.3f} | {r['compile_s']:.1f} | "
          f"{r['peak_rss_mb']:.0f} | {temp} | {ratio} |")
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  configs = [("hourglass2", 2, 256), ("hourglass8", 8, 256)]
  fig, axes = plt.subplots(1, len(configs), figsize=(5 * len(configs), 3.8))
  for ax, (name, stacks, size) in zip(axes, configs):
    for fw, style in (("jax", "o-"), ("torch", "s--"), ("jax_bf16", "o:"),
                      ("torch_bf16", "s:"), ("torch_compile", "^-.")):
      pts = sorted((r["batch"], r["examples_per_s"]) for r in results
                   if r["framework"] == fw and r["config"] == name and r["stacks"] == stacks
                   and r["size"] == size)
      if pts:
        ax.plot(*zip(*pts), style, label=fw)
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("batch size")
    ax.set_ylabel("train examples/s")
    ax.set_title(f"{name}, {size}×{size}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(png, dpi=110)
  print(f"wrote {png}")


def main(argv):
  del argv
  if _REPORT.value:
    report(_load(_OUT.value), _REPORT.value)
    return
  if _ONE.value:
    print("RESULT " + json.dumps(run_one(json.loads(_ONE.value))))
    return
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  done = set()
  if os.path.exists(_OUT.value):
    with open(_OUT.value) as f:
      done = {_key(json.loads(line)) for line in f if line.strip()}
  for cell in _cells():
    if _key(cell) in done:
      print("done already:", _key(cell))
      continue
    cmd = [sys.executable, __file__, "--one", json.dumps(cell), "--steps", str(_STEPS.value)]
    try:
      proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                            timeout=_TIMEOUT.value)
    except subprocess.TimeoutExpired:
      print(f"FAILED {_key(cell)}: over {_TIMEOUT.value}s")
      continue
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode or not lines:
      print(f"FAILED {_key(cell)}: {proc.stderr[-2000:]}")
      continue
    result = json.loads(lines[-1][7:])
    with open(_OUT.value, "a") as f:
      f.write(json.dumps(result) + "\n")
    print(f"{result['framework']:14s} {result['config']:10s} b={result['batch']:3d} "
          f"n={result['size']} stacks={result['stacks']}: {result['examples_per_s']:.2f} ex/s "
          f"(step {result['step_s']:.2f}s, compile {result['compile_s']:.1f}s, "
          f"rss {result['peak_rss_mb']:.0f} MB)", flush=True)


if __name__ == "__main__":
  app.run(main)
