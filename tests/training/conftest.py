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


def assert_params_match(start, a, b, lr: float, steps: int) -> None:
  """Two runs' parameters after `steps` RMSProp steps at learning rate `lr` from the same
  `start` are the same run, up to what another reduction order can change.

  RMSProp divides each gradient element by its own running scale, so an element whose
  gradient is small beside the rounding of a different reduction order gets a different
  step, up to the whole ±10·lr (v ≥ 0.01·g², so a step is at most 10·lr): element by element
  no tolerance below 20·lr·steps can hold. What holds is the aggregate: the runs' mean
  difference is a small fraction of the mean distance the parameters moved (measured on the
  2-core AMD EPYC VM, 2026-12-06: 0.075% and 1.3% for 8 devices with FSDP 1 and 2 against
  one, 1.5% for two processes against one), while a gradient from part of the batch, or a
  lost or doubled update, makes it of the order of the movement itself: the bound is 10%.
  """
  import jax
  import numpy as np
  flat = [jax.tree.leaves(t) for t in (start, a, b)]
  assert len({len(f) for f in flat}) == 1
  moved, differ, total = 0.0, 0.0, 0
  for (path, x0), x, y in zip(jax.tree_util.tree_leaves_with_path(start), flat[1], flat[2]):
    x0, x, y = (np.asarray(v, np.float64) for v in (x0, x, y))
    diff = np.abs(x - y)
    assert diff.max(initial=0) <= 20 * lr * steps, (jax.tree_util.keystr(path), diff.max())
    moved += np.abs(x - x0).sum()
    differ += diff.sum()
    total += diff.size
  ratio = differ / moved
  assert moved / total > 0.5 * lr, "the parameters did not move"
  assert ratio <= 0.1, f"the runs differ by {ratio:.3g} of the parameters' movement"
