"""Predictor images/s (host crop + jitted forward with flip test + decode + mapping back).

  python bench/predictor_throughput.py --configs quickstart,hourglass8 --batches 1,32

Random weights of the config's model (speed does not depend on the values); each image is a
480×640 photo-sized array with one person box. Median of --repeats calls after a warm-up
call (which compiles). Prints one JSON line per (config, batch).
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from msposejax.config_files import load_config
from msposejax.inference.predictor import Predictor
from msposejax.models import pose_net_from_config

_CONFIGS = flags.DEFINE_list("configs", ["quickstart", "hourglass8"], "configs/NAME.py")
_BATCHES = flags.DEFINE_list("batches", ["1", "32"], "images per predict() call")
_REPEATS = flags.DEFINE_integer("repeats", 3, "timed calls")
_FLIP = flags.DEFINE_bool("flip_test", True, "flip test on")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  for name in _CONFIGS.value:
    config = load_config(os.path.join(REPO, "configs", f"{name}.py"))
    n = config.input_size
    variables = pose_net_from_config(config.model).init(jax.random.key(0),
                                                        jnp.zeros((1, n, n, 3)))
    predictor = Predictor(config, variables, flip_test=_FLIP.value)
    for b in (int(x) for x in _BATCHES.value):
      images = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(b)]
      boxes = [(200, 60, 440, 460)] * b
      t0 = time.perf_counter()
      predictor.predict(images, boxes)
      first = time.perf_counter() - t0
      times = []
      for _ in range(_REPEATS.value):
        t0 = time.perf_counter()
        predictor.predict(images, boxes)
        times.append(time.perf_counter() - t0)
      med = float(np.median(times))
      print(json.dumps({"config": name, "batch": b, "flip_test": _FLIP.value,
                        "images_per_s": round(b / med, 2), "call_s": round(med, 4),
                        "first_call_s": round(first, 2),
                        "device": jax.devices()[0].device_kind}), flush=True)


if __name__ == "__main__":
  app.run(main)
