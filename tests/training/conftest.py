"""Configs of the training tests on the small synthetic dataset (the `tfds_dir` and `tiny_run`
fixtures live in tests/conftest.py, so that one of each serves every test package).

The training tests check the loop (resume, stop, checkpoints, stages, sharding), not the
network, so they train configs/tiny.py with one stack instead of two: every part of the
model is still there (stem, hourglass, MSS heads, MSR-net) and a 4-step training costs
~40 s instead of ~55 s (warm compilation cache; 51 vs 95 s cold; 2-core AMD EPYC VM). The
model tests, the parity tests and the ONNX export keep two stacks."""

import os

from msposejax.config_files import load_config
from tests.conftest import REPO


def small_config(tfds_dir, **overrides):
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "synthetic_people/small"
    cfg.data.tfds_data_dir = str(tfds_dir)
    cfg.data.worker_count = 0
    cfg.model.num_stacks = 1
    cfg.batch_size = 8
    cfg.eval_batch_size = 8
    cfg.optimizer.schedule = "constant"
    cfg.optimizer.learning_rate = 1e-3
    for key, value in overrides.items():
      node = cfg
      *path, last = key.split(".")
      for p in path:
        node = node[p]
      node[last] = value
  return cfg


def cli_overrides(tfds_dir):
  return ["--config", str(REPO / "configs" / "tiny.py"),
          "--config.data.dataset=synthetic_people/small", "--config.model.num_stacks=1",
          f"--config.data.tfds_data_dir={tfds_dir}", "--config.data.worker_count=0",
          "--config.batch_size=8", "--config.eval_batch_size=8",
          "--config.optimizer.schedule=constant", "--config.eval_num_examples=16"]


def cli_env(devices: int = 1) -> dict[str, str]:
  """The environment of a `msposejax train` subprocess, on `devices` fake CPU devices.

  The command-line tests check starting, stopping and resuming, not sharding (that is
  test_sharding's, in process, on 8): orbax's checkpoint saves of the 8-device arrays were
  the difference between a 12-step run with 4 checkpoints taking 83 s and 57 s on one
  device (2-stack tiny, 2-core AMD EPYC VM, warm compilation cache).
  """
  return {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
