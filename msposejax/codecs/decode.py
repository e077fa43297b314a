"""Heatmaps → keypoint coordinates and scores (jnp, runs on device inside jit)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

DECODE_METHODS = ("quarter", "parabola")


def _neighbours(heatmaps: jax.Array, x: jax.Array, y: jax.Array, dx: int, dy: int) -> jax.Array:
  """Values at (x+dx, y+dy) per (B, K), and whether that pixel exists."""
  _, h, w, _ = heatmaps.shape
  xn = jnp.clip(x + dx, 0, w - 1)
  yn = jnp.clip(y + dy, 0, h - 1)
  flat = heatmaps.transpose(0, 3, 1, 2).reshape(heatmaps.shape[0], heatmaps.shape[3], h * w)
  return jnp.take_along_axis(flat, (yn * w + xn)[..., None], axis=-1)[..., 0]


def decode_heatmaps(heatmaps: jax.Array, method: str = "quarter") -> tuple[jax.Array, jax.Array]:
  """Argmax per channel, refined to sub-pixel.

  Methods:
    "quarter": shift ¼ px toward the higher neighbour on each axis (the hourglass
      convention, docs/method.md §5); error ≤ ¼ px per axis on a clean Gaussian.
    "parabola": vertex of the parabola through the log-values of the peak and its two
      neighbours on each axis; exact for a Gaussian peak, clipped to ±½ px.

  Args:
    heatmaps: (B, H, W, K).
    method: one of DECODE_METHODS.

  Returns:
    coords: (B, K, 2) float32 (x, y) in heatmap pixel coordinates.
    scores: (B, K) float32, the maximum of each channel.
  """
  if method not in DECODE_METHODS:
    raise ValueError(f"decode method {method!r} is not one of {DECODE_METHODS}")
  if heatmaps.ndim != 4:
    raise ValueError(f"decode_heatmaps expects (B, H, W, K), got {heatmaps.shape}")
  heatmaps = heatmaps.astype(jnp.float32)
  b, h, w, k = heatmaps.shape
  flat = heatmaps.transpose(0, 3, 1, 2).reshape(b, k, h * w)
  idx = jnp.argmax(flat, axis=-1)
  scores = jnp.max(flat, axis=-1)
  # idx ≥ 0, so truncating division is floor division; written with lax.div because the
  # ONNX converter's `rem` cannot take a symbolic batch size (inference/onnx_export.py).
  y = jax.lax.div(idx, jnp.asarray(w, idx.dtype))
  x = idx - y * w
  offsets = []
  for axis_x, size, pos in ((True, w, x), (False, h, y)):
    step = (1, 0) if axis_x else (0, 1)
    lo = _neighbours(heatmaps, x, y, -step[0], -step[1])
    hi = _neighbours(heatmaps, x, y, step[0], step[1])
    interior = (pos > 0) & (pos < size - 1)
    if method == "quarter":
      off = 0.25 * jnp.sign(hi - lo)
    else:
      tiny = 1e-10
      l_lo, l_0, l_hi = (jnp.log(jnp.maximum(v, tiny)) for v in (lo, scores, hi))
      curvature = l_lo - 2 * l_0 + l_hi
      safe = jnp.where(curvature < 0, curvature, -1.0)
      off = jnp.where(curvature < 0, 0.5 * (l_lo - l_hi) / safe, 0.0)
      off = jnp.clip(off, -0.5, 0.5)
    offsets.append(jnp.where(interior, off, 0.0))
  coords = jnp.stack([x + offsets[0], y + offsets[1]], axis=-1).astype(jnp.float32)
  return coords, scores
