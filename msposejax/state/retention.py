"""Which checkpoint steps a workdir keeps: the last `keep`, plus the one with the best
validation headline metric (NaN and none rank last); orbax's manager set up to keep them
(IO: the manager writes and deletes steps)."""

from __future__ import annotations

import ml_collections
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint.checkpoint_managers import preservation_policy as pp


def headline_metric(metrics: dict[str, float] | None) -> float | None:
  """The one validation number a step was saved with, named for what it holds ("pckh@0.5",
  "pck@0.2", "oks_ap"; "pckh" in checkpoints of before 2026-12-06, whatever it held); None
  when the step has none."""
  if not metrics:
    return None
  if len(metrics) != 1:
    raise ValueError(f"checkpoint metrics {sorted(metrics)}: expected one headline metric")
  return float(next(iter(metrics.values())))


def rank(metrics: dict[str, float] | None) -> float:
  value = headline_metric(metrics)
  return float("-inf") if value is None or value != value else value  # NaN ranks last


def manager(directory: epath.Path, config: ml_collections.ConfigDict | None,
            read_only: bool) -> ocp.CheckpointManager:
  """An asynchronous manager of `directory` that keeps the latest config.checkpoint.keep
  steps (3 without a config) and the best."""
  keep = config.checkpoint.keep if config is not None else 3
  policy = pp.AnyPreservationPolicy([
      pp.LatestN(keep),
      pp.BestN(get_metric_fn=rank, n=1, keep_checkpoints_without_metrics=False),
  ])
  # best_fn makes orbax write each step's metrics (without it they are silently dropped and
  # BestN has nothing to rank); the preservation policy decides what is kept.
  options = ocp.CheckpointManagerOptions(preservation_policy=policy, best_fn=rank,
                                         best_mode="max", create=not read_only,
                                         read_only=read_only, enable_async_checkpointing=True)
  return ocp.CheckpointManager(directory, options=options)
