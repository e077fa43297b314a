"""Masked heatmap mean squared error (the stacked-hourglass loss)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from msposejax.losses.checks import check_heatmaps


def heatmap_mse(pred: jax.Array, target: jax.Array, weight: jax.Array) -> jax.Array:
  """mean over B, H, W, K of w·(P − G)².

  Args:
    pred: (B, H, W, K) predicted heatmaps.
    target: (B, H, W, K) ground-truth heatmaps.
    weight: (B, K) 1 for a joint labelled and inside the crop, else 0.

  Returns:
    Scalar float32. The denominator is B·H·W·K whatever the weights, as in the hourglass
    and mmpose losses, so masking joints does not rescale the others.
  """
  check_heatmaps("heatmap_mse", pred, target, weight)
  diff = pred.astype(jnp.float32) - target.astype(jnp.float32)
  return jnp.mean(jnp.square(diff) * weight[:, None, None, :].astype(jnp.float32))
