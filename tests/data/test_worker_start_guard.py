"""A grain worker is guarded as it starts, when it unpickles its transform, not at its first
example: one whose trainer dies while it is still starting exits by itself (issue #27,
item 6: orphaned workers after a SIGKILL early in training or 1 s into the evaluation)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time

from msposejax.config_files import load_config
from msposejax.data.transforms import EvalTransform
from tests.conftest import REPO, alive


def _worker(data: bytes, started) -> None:
  """Stands for a grain worker: its parent (the trainer) is gone before it unpickles."""
  started.wait(60)
  time.sleep(1.0)  # the trainer exits meanwhile
  pickle.loads(data)
  time.sleep(60)   # a guarded worker exits long before this ends


def _trainer(data: bytes, conn) -> None:
  """Stands for the trainer: starts a worker, says its pid, and dies at once."""
  ctx = multiprocessing.get_context("spawn")
  started = ctx.Event()
  worker = ctx.Process(target=_worker, args=(data, started))
  worker.start()
  conn.send(worker.pid)
  started.set()
  os._exit(0)  # like SIGKILL: nothing cleans up the worker


def test_a_worker_whose_trainer_died_while_it_started_exits():
  transform = EvalTransform(load_config(REPO / "configs" / "tiny.py"))
  ctx = multiprocessing.get_context("spawn")
  ours, theirs = ctx.Pipe()
  trainer = ctx.Process(target=_trainer, args=(pickle.dumps(transform), theirs))
  trainer.start()
  worker = ours.recv()
  trainer.join(30)
  try:
    deadline = time.time() + 45  # its imports (~10 s on a busy 2-core machine), then < 1 s
    while time.time() < deadline and alive(worker):
      time.sleep(0.2)
    assert not alive(worker), "the worker outlived its trainer"
  finally:
    if alive(worker):
      os.kill(worker, 9)
