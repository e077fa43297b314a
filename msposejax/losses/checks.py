"""Trace-time shape checks shared by the losses, so a mismatch fails with a readable message."""

from __future__ import annotations

import jax


def check_heatmaps(name: str, pred: jax.Array, target: jax.Array, weight: jax.Array) -> None:
  """Raises ValueError unless pred/target are (B, H, W, K) alike and weight is (B, K)."""
  if pred.ndim != 4 or pred.shape != target.shape:
    raise ValueError(f"{name}: pred {pred.shape} and target {target.shape} must both be "
                     "(B, H, W, K) of the same shape")
  expected = (pred.shape[0], pred.shape[3])
  if weight.shape != expected:
    raise ValueError(f"{name}: weight must be (B, K) = {expected}, got {weight.shape}")
