"""Metrics to TensorBoard event files (tensorboardX) and a JSON-lines log (IO, process 0)."""

from __future__ import annotations

import json
import os
import time

import jax


class MetricWriter:
  """Writes scalars/images on process 0 only; other processes get a no-op writer."""

  def __init__(self, workdir):
    """workdir: local path or epath.Path (gs://...). TensorBoard event files go to
    WORKDIR/tensorboard for a local workdir; for a remote one, to the local folder
    ~/msposejax_tensorboard/NAME (tensorboardX writes local files; copy them with
    `gsutil rsync` if needed). metrics.jsonl is always written to the workdir."""
    self._active = jax.process_index() == 0
    self._jsonl = None
    self._tb = None
    if self._active:
      from etils import epath
      from tensorboardX import SummaryWriter
      workdir = epath.Path(workdir)
      workdir.mkdir(parents=True, exist_ok=True)
      local = "://" not in str(workdir)
      tb_dir = (str(workdir / "tensorboard") if local else
                os.path.expanduser(f"~/msposejax_tensorboard/{workdir.name}"))
      self._tb = SummaryWriter(tb_dir)
      self._jsonl = (workdir / "metrics.jsonl").open("a")

  def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
    if not self._active:
      return
    for name, value in scalars.items():
      self._tb.add_scalar(name, float(value), step)
    self._jsonl.write(json.dumps({"step": step, "time": time.time(),
                                  **{k: float(v) for k, v in scalars.items()}}) + "\n")
    self._jsonl.flush()

  def close(self) -> None:
    if self._active:
      self._tb.close()
      self._jsonl.close()
