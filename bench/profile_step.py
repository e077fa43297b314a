"""Where a train step's time goes on this machine: one step under jax.profiler, summed per op.

  python bench/profile_step.py --config configs/hourglass2.py --config.batch_size=4

Traces one jitted train step (after a warm-up step), reads the Perfetto trace and sums the
duration of each XLA op, grouped: convolutions by kind (forward/input gradient vs weight
gradient, told apart by the window covering the whole feature map), matrix products, and
other fusions by name. docs/benchmarks.md quotes its output.
"""

from __future__ import annotations

import collections
import glob
import gzip
import json
import re
import tempfile

import jax
import numpy as np
from absl import app
from ml_collections import config_flags

from msposejax.codecs import MultiScaleCodec
from msposejax.training.trainer import Trainer
from msposejax.training.sharding import global_batch

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file", lock_config=True)


def _kinds(hlo: str) -> dict[str, str]:
  """Fusion instruction name → op kind, from the compiled HLO text."""
  calls = dict(re.findall(r"%([\w.\-]+) = [^\n]*?calls=%([\w.\-]+)", hlo))
  bodies = {m.group(1).lstrip("%"): m.group(2) for m in
            re.finditer(r"^(%?[\w.\-]+) [^\n]*\{\n(.*?)\n\}", hlo, re.S | re.M)}
  kinds = {}
  for name, comp in calls.items():
    body = bodies.get(comp, "")
    conv = re.search(r"convolution\([^\n]*window=\{size=(\d+)x(\d+)", body)
    if conv:
      # Weight gradients come out as convolutions whose window spans the feature map.
      kinds[name] = ("conv: weight gradient" if int(conv.group(1)) > 7
                     else f"conv {conv.group(1)}x{conv.group(2)}: forward / input gradient")
    elif "dot(" in body:
      kinds[name] = "dot (matrix product)"
  return kinds


def main(argv):
  del argv
  config = _CONFIG.value
  trainer = Trainer(config, "/tmp/unused")
  step = trainer.compile_train_step()
  kinds = _kinds(step.as_text())
  state = trainer.init_state()
  b, n, k = config.batch_size, config.input_size, config.model.num_joints
  rng = np.random.default_rng(0)
  batch = global_batch({"image": rng.integers(0, 255, (b, n, n, 3), dtype=np.uint8),
                        "targets": {r: rng.uniform(size=(b, r, r, k)).astype(np.float32)
                                    for r in MultiScaleCodec.from_config(config).resolutions},
                        "weights": np.ones((b, k), np.float32), "valid": np.ones(b, bool)},
                       trainer.mesh)
  state, metrics = step(state, batch)
  jax.block_until_ready(metrics)
  trace_dir = tempfile.mkdtemp()
  jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
  state, metrics = step(state, batch)
  jax.block_until_ready(metrics)
  jax.profiler.stop_trace()
  path = sorted(glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True))[-1]
  events = json.load(gzip.open(path))["traceEvents"]
  total = collections.Counter()
  for e in events:
    name = e.get("name", "")
    if e.get("ph") != "X" or name.startswith(("Thunk", "$", "Slinky", "Pjit", "Common")):
      continue
    total[kinds.get(name, re.sub(r"\.\d+$", "", name))] += e["dur"] / 1e6
  print(f"op time under the profiler: {sum(total.values()):.2f} s")
  for kind, seconds in total.most_common(15):
    print(f"{seconds:8.3f} s  {kind}")


if __name__ == "__main__":
  app.run(main)
