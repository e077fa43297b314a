"""Metrics to TensorBoard event files (tensorboardX) and a JSON-lines log (IO, process 0)."""

from __future__ import annotations

import json
import pathlib
import time

import jax
import numpy as np


class MetricWriter:
  """Writes scalars/images on process 0 only; other processes get a no-op writer."""

  def __init__(self, workdir: str | pathlib.Path):
    self._active = jax.process_index() == 0
    self._jsonl = None
    self._tb = None
    if self._active:
      from tensorboardX import SummaryWriter
      workdir = pathlib.Path(workdir)
      workdir.mkdir(parents=True, exist_ok=True)
      self._tb = SummaryWriter(str(workdir / "tensorboard"))
      self._jsonl = open(workdir / "metrics.jsonl", "a", encoding="utf-8")

  def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
    if not self._active:
      return
    for name, value in scalars.items():
      self._tb.add_scalar(name, float(value), step)
    self._jsonl.write(json.dumps({"step": step, "time": time.time(),
                                  **{k: float(v) for k, v in scalars.items()}}) + "\n")
    self._jsonl.flush()

  def write_image(self, step: int, name: str, image: np.ndarray) -> None:
    if self._active:
      self._tb.add_image(name, image, step, dataformats="HWC")

  def close(self) -> None:
    if self._active:
      self._tb.close()
      self._jsonl.close()
