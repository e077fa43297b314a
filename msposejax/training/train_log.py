"""The training steps' metrics between two log lines: held on device, then averaged, checked
for a non-finite loss, written (metrics.jsonl, TensorBoard) and said with speed and ETA."""

from __future__ import annotations

import time

import jax
import ml_collections
import numpy as np

from msposejax.training.metric_writer import MetricWriter
from msposejax.training.reports import loss_share_line, say


class TrainLog:
  """Each step's metrics ({"loss/total", "loss/…", "grad_norm", "nonfinite"}, on device) are
  `add`ed; `write` reads them back once per log line."""

  def __init__(self, writer: MetricWriter, config: ml_collections.ConfigDict, start: int):
    self._writer, self._config = writer, config
    self._pending: list[dict] = []
    self._start = start
    self._t, self._step = time.time(), start

  def add(self, step: int, metrics: dict) -> None:
    """Step `step`'s metrics (1-based: the step just dispatched)."""
    self._pending.append(metrics)
    # At most one step in flight: dispatching ahead gains nothing once the host prepares the
    # next batch while this one runs, and a queue of dispatched steps would make a stop
    # (Ctrl-C, SIGTERM: handled between steps) wait for all of them before its checkpoint.
    if len(self._pending) > 1:
      jax.block_until_ready(self._pending[-2])
    if step == self._start + 1:
      say(loss_share_line(jax.device_get(metrics), self._config, step))

  def write(self, step: int) -> str | None:
    """Writes the mean of the steps since the last line, as of `step`; returns what was not
    finite ("non-finite loss at step S: terms [...]") instead, when a step's loss was not."""
    host, self._pending = jax.device_get(self._pending), []
    bad = [i for i, m in enumerate(host) if m["nonfinite"] > 0]
    if bad:
      terms = [k for k, v in host[bad[0]].items() if k.startswith("loss/") and not np.isfinite(v)]
      return (f"non-finite loss at step {step - len(host) + bad[0] + 1}: terms "
              f"{terms or ['grad_norm']}")
    avg = {k: float(np.mean([m[k] for m in host])) for k in host[0] if k != "nonfinite"}
    now, total = time.time(), self._config.total_steps
    rate = (step - self._step) * self._config.batch_size / (now - self._t)
    eta = (total - step) * (now - self._t) / max(step - self._step, 1)
    avg["perf/examples_per_second"] = rate
    self._writer.write_scalars(step, avg)
    terms = " ".join(f"{k[5:]}={v:.4g}" for k, v in avg.items()
                     if k.startswith("loss/") and k != "loss/total")
    say(f"step {step}/{total} loss={avg['loss/total']:.4g} ({terms}) "
        f"{rate:.1f} ex/s ETA {eta / 60:.1f} min")
    self._t, self._step = now, step
    return None

  def restart_clock(self) -> None:
    """Speed and ETA count from now (after an evaluation, which is not training time)."""
    self._t = time.time()
