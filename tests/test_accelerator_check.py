"""bench/accelerator_check.py --smoke on the CPU: every section runs and writes measured values
(not placeholders) to the JSON and the markdown table, so the script a GPU loan depends on
cannot rot; and the MFU arithmetic against the table of published peaks, by hand."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, xla_flags

sys.path.insert(0, str(REPO / "bench"))
import accelerator_check  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, tfds_dir):
  out = tmp_path_factory.mktemp("accelerator_check")
  env = {**os.environ, "XLA_FLAGS": xla_flags(1)}   # one CPU device: batch 2 is one shard
  proc = subprocess.run([sys.executable, str(REPO / "bench" / "accelerator_check.py"),
                         "--smoke", "--out", str(out), "--tfds_dir", str(tfds_dir)], capture_output=True, text=True,
                        cwd=REPO, env=env, timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return (json.loads((out / "accelerator_check.json").read_text()),
          (out / "accelerator_check.md").read_text())


@pytest.mark.slow
def test_smoke_measures_every_section(smoke):
  result, table = smoke
  env = result["env"]
  assert env["platform"] == "cpu" and env["device_count"] >= 1
  assert env["versions"]["jax"] and "jax:" in env["jax_environment"]
  tests = result["tests"]
  assert tests["returncode"] == 0 and tests["passed"] > 0 and not tests.get("failed")
  job = result["main_job"]
  assert job["returncode"] == 0 and job["steps"] == 4
  assert 0.0 <= job["pckh@0.5"] <= 1.0 and job["seconds"] > 0
  assert job["examples_per_s_last"] > 0
  rows = {r["framework"]: r for r in result["throughput"]["rows"]}
  assert set(rows) == {"jax", "torch", "torch_cl_amp"} and not result["throughput"]["skipped"]
  for framework in ("jax",):
    row = rows[framework]
    assert "error" not in row, row
    # A timed step: its examples/s is the batch over the median step time.
    assert row["step_s"] > 0 and abs(row["examples_per_s"] - 2 / row["step_s"]) < 1e-6
    assert row["compile_s"] > 0 and row["xla_flops"] > 1e6 and row["peak_memory_mb"] > 0
    assert row.get("mfu") is None   # a CPU has no entry in the table of peaks
  for framework in ("torch", "torch_cl_amp"):
    if importlib.util.find_spec("torch") is None:
      assert "No module named 'torch'" in rows[framework]["error"]
    else:
      assert "error" not in rows[framework], rows[framework]
      assert rows[framework]["step_s"] > 0 and rows[framework]["peak_memory_mb"] > 0
      # tiny has MSS + MSR, the reference not: no FLOPs borrowed from the JAX row.
      assert rows[framework]["step_flops"] is None
  pipe = result["pipeline"]
  assert pipe["examples_per_s"] > 0 and pipe["image_shape"] == [4, 64, 64, 3]
  assert pipe["step_consumes_examples_per_s"] == rows["jax"]["examples_per_s"]
  # The markdown table carries the same measured numbers.
  assert f"| tiny | 2 | jax | {rows['jax']['examples_per_s']:.2f} |" in table
  assert f"PCKh@0.5 = {job['pckh@0.5']}" in table
  assert f"{pipe['examples_per_s']:.1f} examples/s" in table


def test_mfu_peaks_are_the_published_dense_numbers():
  # NVIDIA's data sheets (dense, no sparsity): H100 SXM bf16 989.4, TF32 494.7 TFLOP/s;
  # H100 PCIe bf16 756; A100 bf16 312, TF32 156; T4 has no bf16 (fp16 65); TPU v5e bf16 197.
  assert accelerator_check.peak_for("NVIDIA H100 80GB HBM3", "bfloat16") == (
      "H100 dense bf16", 989.4)
  assert accelerator_check.peak_for("NVIDIA H100 80GB HBM3", "float32") == (
      "H100 dense tf32", 494.7)
  assert accelerator_check.peak_for("NVIDIA H100 PCIe", "bfloat16") == (
      "H100 PCIe dense bf16", 756.0)
  assert accelerator_check.peak_for("NVIDIA A100-SXM4-40GB", "float32") == (
      "A100 dense tf32", 156.0)
  assert accelerator_check.peak_for("Tesla T4", "bfloat16") == ("T4 dense fp16", 65.0)
  assert accelerator_check.peak_for("TPU v5 lite", "bfloat16") == ("TPU v5 lite dense bf16",
                                                                    197.0)
  assert accelerator_check.peak_for("cpu", "float32") is None


def test_mfu_is_step_flops_over_time_over_the_peak():
  rows = [{"config": "hourglass8", "batch": 16, "framework": "jax", "xla_flops": 2e12,
           "step_s": 0.02, "peak_rss_mb": 900.0},
          {"config": "hourglass8", "batch": 16, "framework": "torch_cl_amp", "step_s": 0.01,
           "device_peak_mb": 5000.0},
          {"config": "mss8_msr", "batch": 16, "framework": "torch", "step_s": 0.01},
          {"config": "hourglass8", "batch": 32, "framework": "jax", "error": "OOM"}]
  accelerator_check.rate_rows(rows, "NVIDIA H100 80GB HBM3")
  # 2e12 FLOP / 0.02 s = 100 TFLOP/s of TF32's 494.7; the bf16 PyTorch step runs the same
  # network (the JAX row's FLOPs) in 0.01 s: 200 TFLOP/s of bf16's 989.4.
  assert rows[0]["mfu"] == pytest.approx(100 / 494.7)
  assert rows[0]["peak"] == "H100 dense tf32" and rows[0]["peak_memory_mb"] == 900.0
  assert rows[1]["mfu"] == pytest.approx(200 / 989.4) and rows[1]["peak_memory_mb"] == 5000.0
  assert rows[2]["step_flops"] is None and "mfu" not in rows[2]
  assert "mfu" not in rows[3]
