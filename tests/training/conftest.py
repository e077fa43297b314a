"""Configs of the training tests on the small synthetic dataset (the `tfds_dir` and `tiny_run`
fixtures live in tests/conftest.py, so that one of each serves every test package).

The training tests check the loop (resume, stop, checkpoints, stages, sharding), not the
network, so they train configs/tiny.py with one stack instead of two: every part of the
model is still there (stem, hourglass, MSS heads, MSR-net) and a 4-step training costs
~40 s instead of ~55 s (warm compilation cache; 51 vs 95 s cold; 2-core AMD EPYC VM). The
model tests, the parity tests and the ONNX export keep two stacks."""

import os
import pathlib
import re
import time

import pytest

from msposejax.config_files import load_config
from tests.conftest import REPO, xla_flags

# pytest-xdist groups (`--dist loadgroup`): a group's tests run one after another in one test
# process, so its first training compiles the programs they share (one model, one mesh, one
# learning rate) and the others read them from the compilation cache, instead of the two
# test processes compiling the same programs at the same time.
# In process, on the 8 fake devices, with `small_config` (and the `tiny_run` they share):
SMALL_TRAININGS = pytest.mark.xdist_group("small_trainings")
# `msposejax train` subprocesses on one fake device, with `cli_overrides`:
CLI_TRAININGS = pytest.mark.xdist_group("cli_trainings")


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
    # FSDP-sharded parameters on the 8 fake devices. Every in-process training shares these
    # settings, so they share one compiled train step and one predict step (the persistent
    # compilation cache is keyed by the program, and the learning rate and the shardings
    # are part of it): the first training compiles, the others read the cache.
    cfg.mesh.fsdp = 2
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
  """The environment of a test's subprocess (`msposejax train`, the multihost worker), on
  `devices` fake CPU devices with the test processes' XLA flags.

  The command-line tests check starting, stopping and resuming, not sharding (that is
  test_sharding's, in process, on 8): orbax's checkpoint saves of the 8-device arrays were
  the difference between a 12-step run with 4 checkpoints taking 83 s and 57 s on one
  device (2-stack tiny, 2-core AMD EPYC VM, warm compilation cache).
  """
  return {**os.environ, "XLA_FLAGS": xla_flags(devices)}


def wait_for_steps(workdir, n, proc, timeout=240):
  """Waits until a `msposejax train` subprocess has logged `n` steps to metrics.jsonl."""
  start = time.time()
  while time.time() - start < timeout:
    path = workdir / "metrics.jsonl"
    if path.exists() and len(path.read_text().splitlines()) >= n:
      return
    if proc.poll() is not None:
      raise AssertionError(f"run ended early:\n{proc.stdout.read()}")
    time.sleep(0.2)
  raise AssertionError("timed out waiting for training steps")


def children(pid: int) -> list[int]:
  """The process ids whose parent is `pid` (a trainer's grain workers)."""
  kids = []
  for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
    try:
      fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
      continue
    if int(fields[1]) == pid:
      kids.append(int(stat.parent.name))
  return kids


def alive(pid: int) -> bool:
  try:
    state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
  except OSError:
    return False
  return state != "Z"


def wait_until_gone(pids: list[int], timeout: float = 20) -> bool:
  deadline = time.time() + timeout
  while time.time() < deadline and any(alive(p) for p in pids):
    time.sleep(0.2)
  return not any(alive(p) for p in pids)


def leaked_shared_memory(output: str) -> int:
  """How many shared-memory objects Python's resource tracker found left at a process's exit.

  Before `pipeline.close`, every training with grain workers left the batch its workers had
  prefetched (5 arrays of a training batch). With its first form, 1–3 arrays were still
  reported in 7 of 21 runs: the collector and grain's unlink thread both closed the
  evaluation's last batch (`pipeline.close`'s comment). The tests expect none.
  """
  found = re.search(r"There appear to be (\d+) leaked shared_memory objects", output)
  return int(found.group(1)) if found else 0
