"""Times one jitted train step of a config on this machine (CPU or accelerator).

Usage: python bench/step_time.py --config configs/quickstart.py [--config.batch_size=16] [--steps 10]
Prints JSON: compile seconds, median step seconds, examples/s.
"""

import json
import time

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from msposejax.codecs import MultiScaleCodec
from msposejax.training.trainer import Trainer

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file", lock_config=True)
_STEPS = flags.DEFINE_integer("steps", 10, "timed steps")


def main(argv):
  del argv
  config = _CONFIG.value
  trainer = Trainer(config, "/tmp/unused")
  t0 = time.time()
  step = trainer.compile_train_step()
  compile_s = time.time() - t0
  state = trainer.init_state()
  b, n, k = config.batch_size, config.input_size, config.model.num_joints
  rng = np.random.default_rng(0)
  batch = {"image": rng.integers(0, 255, (b, n, n, 3), dtype=np.uint8),
           "targets": {r: rng.uniform(size=(b, r, r, k)).astype(np.float32)
                       for r in MultiScaleCodec.from_config(config).resolutions},
           "weights": np.ones((b, k), np.float32), "valid": np.ones(b, bool)}
  from msposejax.training.sharding import global_batch
  batch = global_batch(batch, trainer.mesh)
  state, m = step(state, batch)
  jax.block_until_ready(m)
  times = []
  for _ in range(_STEPS.value):
    t = time.time()
    state, m = step(state, batch)
    jax.block_until_ready(m)
    times.append(time.time() - t)
  med = float(np.median(times))
  print(json.dumps({"compile_s": round(compile_s, 2), "step_s": round(med, 4),
                    "examples_per_s": round(b / med, 1), "batch_size": b,
                    "device": jax.devices()[0].device_kind}))


if __name__ == "__main__":
  app.run(main)
