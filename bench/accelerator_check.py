"""Everything an accelerator should tell us, in one command and one run, within a time budget.

  python bench/accelerator_check.py --out results/gpu            # on the GPU/TPU machine
  python bench/accelerator_check.py --out /tmp/smoke --smoke     # the same code on the CPU

Sections, in order, each bounded by what is left of --budget_s (a section that would not fit
is recorded as skipped, never silently dropped):
  env        device, driver, CUDA, library versions (`jax.print_environment_info` included);
  tests      the model, loss, train-step, sharding and resume tests on the device (pytest in
             a subprocess, JAX_PLATFORMS left to JAX);
  main_job   the README's main job (configs/quickstart.py) for --main_steps steps: time and
             PCKh@0.5 of its final evaluation;
  throughput train examples/s of hourglass8 and mss8_msr at 256 px, batch 16 and 32, float32
             and bfloat16 (bench/train_throughput.py's JAX cell, one subprocess each), against
             the PyTorch reference hourglass (eager; channels-last + bf16 autocast;
             torch.compile), with compile time, peak memory and MFU: FLOPs of the step from
             XLA's cost analysis over the device's published dense peak (PEAK_TFLOPS);
  pipeline   the training input pipeline's examples/s with a worker per host core, against
             what the fastest measured step consumes.
Writes OUT/accelerator_check.json and OUT/accelerator_check.md. --smoke: tiny models, few
steps, 64 px, on whatever JAX finds (the CPU in the tests): the same code paths (bfloat16
and torch.compile cells left out) in ~2-3 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata

REPO = pathlib.Path(__file__).resolve().parents[1]
THROUGHPUT = REPO / "bench" / "train_throughput.py"
PLAIN_CONFIGS = ("hourglass8", "hourglass2")   # mss = msr = False: the PyTorch reference

# Published dense peaks, TFLOP/s (no 2:4 sparsity), by a substring of jax's device_kind.
# float32 steps are rated against TF32 where the device has it: XLA's default precision runs
# float32 convolutions and matrix products on the TF32 tensor cores there.
PEAK_TFLOPS = {  # name: {"bf16": ..., "tf32": ..., "fp32": ...}
    "H200": {"bf16": 989.4, "tf32": 494.7, "fp32": 66.9},        # NVIDIA H200 SXM
    "H100 PCIe": {"bf16": 756.0, "tf32": 378.0, "fp32": 51.2},
    "H100": {"bf16": 989.4, "tf32": 494.7, "fp32": 66.9},        # NVIDIA H100 SXM5
    "A100": {"bf16": 312.0, "tf32": 156.0, "fp32": 19.5},
    "L4": {"bf16": 121.0, "tf32": 60.0, "fp32": 30.3},
    "A10G": {"bf16": 70.0, "tf32": 35.0, "fp32": 31.2},
    "T4": {"fp16": 65.0, "fp32": 8.1},                            # no bfloat16 units
    "V100": {"fp16": 125.0, "fp32": 15.7},
    "TPU v4": {"bf16": 275.0},
    "TPU v5 lite": {"bf16": 197.0},                               # v5e
    "TPU v5e": {"bf16": 197.0},
    "TPU v5p": {"bf16": 459.0},
    "TPU v6": {"bf16": 918.0},                                    # Trillium
}


def peak_for(device_kind: str, dtype: str) -> tuple[str, float] | None:
  """(what the peak is, TFLOP/s) for a step in `dtype` on `device_kind`, or None (CPU, or a
  device missing from PEAK_TFLOPS)."""
  for name in sorted(PEAK_TFLOPS, key=len, reverse=True):   # "H100 PCIe" before "H100"
    if name.lower() in device_kind.lower():
      peaks = PEAK_TFLOPS[name]
      order = ("bf16", "fp16") if dtype == "bfloat16" else ("tf32", "fp32")
      for key in order:
        if key in peaks:
          return f"{name} dense {key}", peaks[key]
  return None


class Budget:
  def __init__(self, seconds: float):
    self.end = time.monotonic() + seconds

  def left(self) -> float:
    return self.end - time.monotonic()


def _run(cmd: list[str], timeout: float, env: dict | None = None,
         cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess:
  return subprocess.run(cmd, capture_output=True, text=True, timeout=max(1.0, timeout),
                        env=env, cwd=cwd)


def _versions() -> dict:
  out = {"python": platform.python_version()}
  for name in ("jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "libtpu", "flax",
               "optax", "orbax-checkpoint", "grain", "numpy", "torch", "onnxruntime",
               "jax2onnx"):
    try:
      out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      pass
  return out


def section_env(args) -> dict:
  import jax
  devices = jax.devices()
  out = {"platform": devices[0].platform, "device_kind": devices[0].device_kind,
         "device_count": len(devices), "host_cores": os.cpu_count(),
         "host_cpu": _cpu_model(), "versions": _versions()}
  if shutil.which("nvidia-smi"):
    proc = _run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                 "--format=csv,noheader"], 30)
    out["nvidia_smi"] = proc.stdout.strip()
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", _run(["nvidia-smi"], 30).stdout)
    out["driver_cuda"] = cuda.group(1) if cuda else None
  try:
    import torch
    out["torch_cuda"] = torch.version.cuda
  except ImportError:
    pass
  out["jax_environment"] = jax.print_environment_info(return_string=True)
  return out


def _cpu_model() -> str:
  try:
    for line in open("/proc/cpuinfo"):
      if line.startswith("model name"):
        return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor()


TEST_FILES = ["tests/models/test_pose_net.py", "tests/models/test_msr_net.py",
              "tests/losses/test_losses.py", "tests/test_overfit.py",
              "tests/training/test_sharding.py", "tests/training/test_resume.py"]


def section_tests(args, budget: Budget) -> dict:
  files = ["tests/losses/test_losses.py", "-k", "numpy"] if args.smoke else TEST_FILES
  env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
  # tests/conftest.py pins JAX to the CPU unless JAX_PLATFORMS is set: empty = JAX's choice.
  env["JAX_PLATFORMS"] = ""
  proc = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
              min(budget.left(), args.tests_cap_s), env=env)
  tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
  counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)", tail)}
  return {"files": files, "summary": tail, **counts, "returncode": proc.returncode,
          "failures": [l for l in proc.stdout.splitlines() if l.startswith("FAILED")][:20]}


def section_main_job(args, budget: Budget, work: pathlib.Path) -> dict:
  workdir = work / "main_job"
  if args.smoke:
    config = REPO / "configs" / "tiny.py"
    # The settings of the suite's command-line trainings (tests/training/conftest.py), whose
    # compiled programs the suite's persistent compilation cache then already holds.
    extra = ["--config.data.dataset=synthetic_people/small", "--config.model.num_stacks=1",
             "--config.batch_size=8", "--config.eval_batch_size=8",
             "--config.optimizer.schedule=constant", "--config.eval_num_examples=16",
             "--config.data.worker_count=0"]
  else:
    config, extra = REPO / "configs" / "quickstart.py", []
  cmd = [sys.executable, "-m", "msposejax.main", "train", "--config", str(config),
         "--workdir", str(workdir), f"--config.total_steps={args.main_steps}",
         f"--config.data.tfds_data_dir={args.tfds_dir}", "--config.checkpoint.every=100000",
         *extra]
  t0 = time.perf_counter()
  proc = _run(cmd, min(budget.left(), args.main_cap_s))
  seconds = time.perf_counter() - t0
  out = {"command": " ".join(cmd[2:]), "steps": args.main_steps, "seconds": round(seconds, 1),
         "returncode": proc.returncode}
  metrics = workdir / "final_metrics.json"
  if proc.returncode or not metrics.exists():
    out["error"] = proc.stderr.strip()[-800:]
    return out
  final = json.loads(metrics.read_text())
  out["pckh@0.5"] = _find_mean(final)
  rates = [json.loads(l).get("perf/examples_per_second") for l in
           (workdir / "metrics.jsonl").read_text().splitlines() if l.strip()]
  rates = [r for r in rates if r]
  if rates:
    out["examples_per_s_last"] = round(rates[-1], 2)
  return out


def _find_mean(final: dict):
  """PCKh@0.5 Mean from final_metrics.json (its layout: nested dicts of thresholds/parts)."""
  for key in ("pckh@0.5", "PCKh@0.5", "0.5"):
    if key in final:
      value = final[key]
      return value.get("Mean", value.get("mean")) if isinstance(value, dict) else value
  for value in final.values():
    if isinstance(value, dict):
      found = _find_mean(value)
      if found is not None:
        return found
  return None


def throughput_cells(args) -> list[dict]:
  """In priority order: what a short loan should measure first comes first."""
  if args.smoke:
    base = {"size": 64, "stacks": 1}
    # bfloat16 is the float32 cell's code with another dtype: its compilation is left out.
    return [{"config": "tiny", "batch": 2, "framework": "jax", **base},
            {"config": "tiny", "batch": 2, "framework": "torch", **base},
            {"config": "tiny", "batch": 2, "framework": "torch_cl_amp", **base}]
  cells = []
  for batch in (16, 32):
    for config in ("hourglass8", "mss8_msr"):
      for fw in ("jax", "jax_bf16"):
        cells.append({"config": config, "batch": batch, "framework": fw})
      if config == "hourglass8":   # the PyTorch reference is the plain hourglass
        cells += [{"config": config, "batch": batch, "framework": fw}
                  for fw in ("torch", "torch_cl_amp")]
  cells += [{"config": "hourglass8", "batch": b, "framework": "torch_compile"} for b in (16, 32)]
  return [{"size": 256, "stacks": 8, **c} for c in cells]


def run_torch_cell(cell: dict, steps: int) -> dict:
  """One PyTorch train step timing: eager (float32), channels-last + bf16 autocast, or
  torch.compile; the reference hourglass, per-stack MSE, RMSprop (as train_throughput)."""
  import numpy as np
  import torch
  sys.path.insert(0, str(REPO / "bench"))
  import train_throughput as tt  # its config and batch of a cell
  from msposejax.interop import torch_reference
  config = tt._config(cell)  # pylint: disable=protected-access
  device = "cuda" if torch.cuda.is_available() else "cpu"
  channels_last = cell["framework"] == "torch_cl_amp"
  net = torch_reference.from_config(config.model, channels_last=channels_last).to(device)
  net.train()
  optimizer = torch.optim.RMSprop(net.parameters(), lr=config.optimizer.learning_rate,
                                  alpha=0.99, eps=1e-8)
  model = torch.compile(net) if cell["framework"] == "torch_compile" else net
  step = tt.torch_train_step(model, optimizer, config, device, autocast=channels_last)

  if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
  t0 = time.perf_counter()
  step()  # warm-up; for torch.compile, the compilation
  compile_s = time.perf_counter() - t0 if cell["framework"] == "torch_compile" else 0.0
  times = tt._time(step, steps)  # pylint: disable=protected-access
  out = {**cell, "compile_s": compile_s, "times": times, "step_s": float(np.median(times)),
         "device": device, "torch": torch.__version__}
  out["examples_per_s"] = cell["batch"] / out["step_s"]
  out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
  if device == "cuda":
    out["device_peak_mb"] = torch.cuda.max_memory_allocated() / 1e6
  return out


def section_throughput(args, budget: Budget, device_kind: str) -> dict:
  rows, skipped = [], []
  for cell in throughput_cells(args):
    left = budget.left() - args.reserve_s
    if left < 20:
      skipped.append(cell)
      continue
    if cell["framework"].startswith("jax"):
      cmd = [sys.executable, str(THROUGHPUT), "--one", json.dumps(cell), "--steps",
             str(args.steps)]
    else:
      cmd = [sys.executable, __file__, "--torch_cell", json.dumps(cell), "--steps",
             str(args.steps)]
    try:
      proc = _run(cmd, left)
    except subprocess.TimeoutExpired:
      rows.append({**cell, "error": f"over the {left:.0f} s left"})
      continue
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode or not lines:
      rows.append({**cell, "error": (proc.stderr.strip() or proc.stdout.strip())[-600:]})
      continue
    rows.append(json.loads(lines[-1][7:]))
  rate_rows(rows, device_kind)
  return {"rows": rows, "skipped": skipped}


def rate_rows(rows: list[dict], device_kind: str) -> None:
  """Adds step_flops, peak and mfu (FLOPs per step / step time / dense peak) to each row.

  A PyTorch row borrows the FLOPs of the JAX float32 row of its config and batch, for the
  plain-hourglass configs only, where both run the same network (the reference has no MSS
  heads or MSR-net).
  """
  flops = {(r["config"], r["batch"]): r["xla_flops"] for r in rows
           if r.get("framework") == "jax" and r.get("xla_flops")}
  for r in rows:
    if "error" in r:
      continue
    borrowed = flops.get((r["config"], r["batch"])) if r["config"] in PLAIN_CONFIGS else None
    r["step_flops"] = r.get("xla_flops") or borrowed
    dtype = "bfloat16" if r["framework"] in ("jax_bf16", "torch_cl_amp") else "float32"
    peak = peak_for(device_kind, dtype)
    if peak and r["step_flops"]:
      r["peak"], r["peak_tflops"] = peak
      r["mfu"] = r["step_flops"] / r["step_s"] / (peak[1] * 1e12)
    r["peak_memory_mb"] = r.get("device_peak_mb") or r.get("peak_rss_mb")
    r.pop("times", None)


def section_pipeline(args, budget: Budget, consumed: float | None) -> dict:
  """Examples/s of the training loader with one worker per host core."""
  cmd = [sys.executable, __file__, "--pipeline_probe", args.tfds_dir,
         "--steps", str(4 if args.smoke else 30)] + (["--smoke"] if args.smoke else [])
  proc = _run(cmd, budget.left())
  lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
  if proc.returncode or not lines:
    return {"error": proc.stderr.strip()[-600:]}
  out = json.loads(lines[-1][7:])
  out["step_consumes_examples_per_s"] = consumed
  if consumed:
    out["headroom"] = out["examples_per_s"] / consumed
  return out


def pipeline_probe(tfds_dir: str, batches: int, smoke: bool) -> dict:
  import numpy as np
  from absl import flags
  from msposejax.config_files import load_config
  from msposejax.data import pipeline
  flags.FLAGS([sys.argv[0]])   # grain's worker processes read absl flags (defaults here)
  config = load_config(REPO / "configs" / ("tiny.py" if smoke else "mss8_msr.py"))
  workers = os.cpu_count() or 1
  with config.unlocked():
    config.data.dataset = "synthetic_people/small"
    config.data.tfds_data_dir = tfds_dir
    config.data.worker_count = workers
    config.batch_size = 4 if smoke else 32
  iterator = iter(pipeline.train_loader(config))
  try:
    first = next(iterator)   # the workers' start-up is not the steady rate
    t0 = time.perf_counter()
    for _ in range(batches):
      batch = next(iterator)
    seconds = time.perf_counter() - t0
  finally:
    pipeline.close(iterator)
  shape = tuple(np.asarray(batch["image"]).shape)
  del first
  return {"workers": workers, "batch": config.batch_size, "image_shape": shape,
          "batches": batches, "examples_per_s": batches * config.batch_size / seconds}


def markdown(result: dict) -> str:
  env = result.get("env", {})
  lines = [f"# Accelerator check ({'smoke, ' if result['smoke'] else ''}"
           f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(result['started']))})", "",
           f"Device: {env.get('device_kind')} × {env.get('device_count')} "
           f"({env.get('platform')}); driver/CUDA: {env.get('nvidia_smi', '-')} / "
           f"{env.get('driver_cuda', '-')}; host: {env.get('host_cpu')}, "
           f"{env.get('host_cores')} cores; "
           + ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items()), ""]
  tests = result.get("tests", {})
  lines += [f"Tests on the device: {tests.get('summary', tests.get('skipped_section', '-'))}",
            ""]
  job = result.get("main_job", {})
  lines += [f"Main job, {job.get('steps')} steps: {job.get('seconds')} s, PCKh@0.5 = "
            f"{job.get('pckh@0.5')} (`{job.get('command', '')}`)", ""]
  lines += ["| config | batch | framework | ex/s | step ms | compile s | peak MB | "
            "GFLOP/step | MFU | peak used |", "|---|---|---|---|---|---|---|---|---|---|"]
  for r in result.get("throughput", {}).get("rows", []):
    if "error" in r:
      lines.append(f"| {r['config']} | {r['batch']} | {r['framework']} | failed: "
                   f"{r['error'][-80:]!r} | | | | | | |")
      continue
    mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "-"
    gflop = f"{r['step_flops'] / 1e9:.1f}" if r.get("step_flops") else "-"
    mem = f"{r['peak_memory_mb']:.0f}" if r.get("peak_memory_mb") else "-"
    lines.append(f"| {r['config']} | {r['batch']} | {r['framework']} | "
                 f"{r['examples_per_s']:.2f} | {1000 * r['step_s']:.1f} | "
                 f"{r.get('compile_s', 0):.1f} | {mem} | {gflop} | {mfu} | "
                 f"{r.get('peak', '-')} |")
  skipped = result.get("throughput", {}).get("skipped", [])
  if skipped:
    lines += ["", f"Skipped for time: {len(skipped)} cells"]
  pipe = result.get("pipeline", {})
  if "examples_per_s" in pipe:
    lines += ["", f"Input pipeline: {pipe['examples_per_s']:.1f} examples/s with "
              f"{pipe['workers']} workers (batch {pipe['batch']}); the fastest step consumes "
              f"{pipe.get('step_consumes_examples_per_s') or 0:.1f}"]
  lines += ["", f"Total: {result.get('seconds')} s"]
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--out", help="folder for accelerator_check.json and .md")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes (CPU, tests)")
  parser.add_argument("--budget_s", type=float, default=None, help="default 480 (smoke 150)")
  parser.add_argument("--main_steps", type=int, default=None, help="default 300 (smoke 4)")
  parser.add_argument("--steps", type=int, default=None, help="timed steps per cell")
  parser.add_argument("--tests_cap_s", type=float, default=None)
  parser.add_argument("--main_cap_s", type=float, default=None)
  parser.add_argument("--reserve_s", type=float, default=None,
                      help="kept for the pipeline section")
  parser.add_argument("--tfds_dir", help="TFDS folder for the synthetic people (made if "
                      "missing; default: a temporary one)")
  parser.add_argument("--torch_cell", help=argparse.SUPPRESS)
  parser.add_argument("--pipeline_probe", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  smoke = args.smoke
  # --smoke checks that every section works, so its budget is not the point: generous
  # enough that a loaded 2-core machine still runs them all.
  defaults = {"budget_s": (600, 480), "main_steps": (4, 300), "steps": (2, 10),
              "tests_cap_s": (120, 110), "main_cap_s": (300, 130), "reserve_s": (15, 40)}
  for key, (small, full) in defaults.items():
    if getattr(args, key) is None:
      setattr(args, key, small if smoke else full)
  if args.torch_cell:
    print("RESULT " + json.dumps(run_torch_cell(json.loads(args.torch_cell), args.steps)))
    return 0
  if args.pipeline_probe:
    print("RESULT " + json.dumps(pipeline_probe(args.pipeline_probe, args.steps, smoke)))
    return 0
  if not args.out:
    parser.error("--out FOLDER is required")
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  budget = Budget(args.budget_s)
  result = {"smoke": smoke, "started": time.time(), "budget_s": args.budget_s,
            "command": " ".join([pathlib.Path(sys.argv[0]).name] + (argv or sys.argv[1:]))}
  t_start = time.perf_counter()

  def save():
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    (out / "accelerator_check.json").write_text(json.dumps(result, indent=1, default=str))
    (out / "accelerator_check.md").write_text(markdown(result))

  with tempfile.TemporaryDirectory() as tmp:
    work = pathlib.Path(tmp)
    args.tfds_dir = args.tfds_dir or str(work / "tfds")
    for name, run in (("env", lambda: section_env(args)),
                      ("tests", lambda: section_tests(args, budget)),
                      ("main_job", lambda: section_main_job(args, budget, work)),
                      ("throughput", lambda: section_throughput(
                          args, budget, result["env"].get("device_kind", ""))),
                      ("pipeline", lambda: section_pipeline(args, budget, _consumed(result)))):
      if budget.left() < 10:
        result[name] = {"skipped_section": "no time left in --budget_s"}
        continue
      t0 = time.perf_counter()
      try:
        result[name] = run()
      except Exception as e:  # one section's failure is a finding, not the end of the check
        result[name] = {"error": f"{type(e).__name__}: {e}"[:800]}
      result[name]["section_s"] = round(time.perf_counter() - t0, 1)
      print(f"accelerator_check: {name} done in {result[name]['section_s']} s", flush=True)
      save()
  save()
  print((out / "accelerator_check.md").read_text())
  return 0


def _consumed(result: dict) -> float | None:
  """Examples/s of the fastest JAX step measured (what the input pipeline must feed)."""
  rates = [r["examples_per_s"] for r in result.get("throughput", {}).get("rows", [])
           if r.get("framework", "").startswith("jax") and "examples_per_s" in r]
  return max(rates) if rates else None


if __name__ == "__main__":
  sys.exit(main())
