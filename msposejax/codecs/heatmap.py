"""Gaussian heatmap targets on the host (NumPy).

Coordinate convention (used everywhere in msposejax): pixel i of a map covers [i−½, i+½),
so its centre is at coordinate i, and a map of size n spans [−½, n−½). Changing resolution
keeps the continuous image position: x_r = (x_in + ½)·r/n_in − ½. Under this convention a
horizontal flip is x ↦ n−1−x at every resolution, so flip test needs no pixel shift.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def input_to_heatmap(xy, input_size: float, heatmap_size: float):
  """Maps (..., 2) coordinates from an input of size n_in to a map of size r (NumPy or jnp)."""
  return (xy + 0.5) * (heatmap_size / input_size) - 0.5


def heatmap_to_input(xy, heatmap_size: float, input_size: float):
  """Inverse of `input_to_heatmap`."""
  return (xy + 0.5) * (input_size / heatmap_size) - 0.5


def _check_keypoints(xy: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  xy = np.asarray(xy, np.float64)
  visible = np.asarray(visible).astype(bool)
  if xy.ndim != 2 or xy.shape[1] != 2:
    raise ValueError(f"keypoints must be (K, 2), got {xy.shape}")
  if visible.shape != (xy.shape[0],):
    raise ValueError(f"visible must be (K,) = ({xy.shape[0]},), got {visible.shape}")
  bad = visible & ~np.isfinite(xy).all(axis=1)
  if bad.any():
    raise ValueError(f"labelled keypoints {np.flatnonzero(bad).tolist()} have non-finite "
                     f"coordinates: {xy[bad].tolist()}")
  return xy, visible


def render_heatmaps(xy: np.ndarray, visible: np.ndarray, size: int | tuple[int, int],
                    sigma: float) -> tuple[np.ndarray, np.ndarray]:
  """Renders one unnormalised Gaussian exp(−d²/2σ²) per keypoint.

  Args:
    xy: (K, 2) keypoints (x, y) in this map's pixel coordinates (sub-pixel allowed).
    visible: (K,) whether each keypoint is labelled.
    size: map size, an int for square maps or (H, W).
    sigma: Gaussian standard deviation in pixels of this map.

  Returns:
    heatmaps: (H, W, K) float32; a channel is all zero when its keypoint is unlabelled or
      outside the map [−½, W−½) × [−½, H−½).
    weight: (K,) float32, 1 where the channel carries a target, else 0.
  """
  xy, visible = _check_keypoints(xy, visible)
  h, w = (size, size) if isinstance(size, int) else size
  inside = (visible & (xy[:, 0] >= -0.5) & (xy[:, 0] < w - 0.5)
            & (xy[:, 1] >= -0.5) & (xy[:, 1] < h - 0.5))
  xs = np.arange(w, dtype=np.float64)
  ys = np.arange(h, dtype=np.float64)
  safe = np.where(inside[:, None], xy, 0.0)
  # Separable Gaussian: (K, W) and (K, H) factors, outer product per joint.
  gx = np.exp(-np.square(xs[None, :] - safe[:, :1]) / (2 * sigma**2))
  gy = np.exp(-np.square(ys[None, :] - safe[:, 1:]) / (2 * sigma**2))
  maps = np.einsum("kh,kw->hwk", gy, gx) * inside[None, None, :]
  return maps.astype(np.float32), inside.astype(np.float32)


def render_multiscale(xy: np.ndarray, visible: np.ndarray, input_size: int,
                      resolutions: Sequence[int], sigmas: Sequence[float]
                      ) -> tuple[dict[int, np.ndarray], np.ndarray]:
  """Targets at every MSS resolution from keypoints in input-crop coordinates.

  Args:
    xy: (K, 2) keypoints in the input crop's pixel coordinates.
    visible: (K,) labelled flags.
    input_size: side of the (square) input crop.
    resolutions: map sides, e.g. (64, 32, 16, 8).
    sigmas: Gaussian σ per resolution, in that resolution's pixels.

  Returns:
    ({r: (r, r, K) float32}, weight (K,)): weight is 1 for a labelled joint inside the
    input crop; the same joint is then inside every map, so one weight serves all scales.
  """
  if len(resolutions) != len(sigmas):
    raise ValueError(f"{len(resolutions)} resolutions but {len(sigmas)} sigmas")
  xy, visible = _check_keypoints(xy, visible)
  targets = {}
  weight = None
  for res, sigma in zip(resolutions, sigmas):
    maps, w = render_heatmaps(input_to_heatmap(xy, input_size, res), visible, res, sigma)
    targets[int(res)] = maps
    weight = w if weight is None else weight * w
  return targets, weight
