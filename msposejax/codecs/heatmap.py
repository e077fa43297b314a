"""Gaussian heatmap targets on the host (NumPy).

Coordinate convention (used everywhere in msposejax): pixel i of a map covers [i−½, i+½),
so its centre is at coordinate i, and a map of size n spans [−½, n−½). Changing resolution
keeps the continuous image position: x_r = (x_in + ½)·r/n_in − ½. Under this convention a
horizontal flip is x ↦ n−1−x at every resolution, so flip test needs no pixel shift.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from msposejax.input_size import input_hw

Size = int | float | tuple[int, int]


def _ratio(to_size: Size, from_size: Size):
  """to/from per axis: a float for two sides n, else (2,) in (x, y) order for (H, W) sizes."""
  if not isinstance(to_size, (tuple, list)) and not isinstance(from_size, (tuple, list)):
    return to_size / from_size
  (to_h, to_w), (from_h, from_w) = input_hw(to_size), input_hw(from_size)
  return np.array([to_w / from_w, to_h / from_h], np.float64)


def input_to_heatmap(xy, input_size: Size, heatmap_size: Size):
  """Maps (..., 2) coordinates (x, y) from an input to a map (NumPy or jnp); each size is a
  side n or (H, W), and each axis is scaled by its own ratio."""
  return (xy + 0.5) * _ratio(heatmap_size, input_size) - 0.5


def heatmap_to_input(xy, heatmap_size: Size, input_size: Size):
  """Inverse of `input_to_heatmap`."""
  return (xy + 0.5) * _ratio(input_size, heatmap_size) - 0.5


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


def render_multiscale(xy: np.ndarray, visible: np.ndarray, input_size: int | tuple[int, int],
                      resolutions: Sequence[int | tuple[int, int]], sigmas: Sequence[float]
                      ) -> tuple[dict[int, np.ndarray], np.ndarray]:
  """Targets at every MSS resolution from keypoints in input-crop coordinates.

  Args:
    xy: (K, 2) keypoints in the input crop's pixel coordinates.
    visible: (K,) labelled flags.
    input_size: the input crop, n (n×n) or (H, W).
    resolutions: map sizes, each a side r (r×r) or (h, w), e.g. (64, 32, 16, 8) or
      ((64, 48), (32, 24), (16, 12), (8, 6)).
    sigmas: Gaussian σ per resolution, in that resolution's pixels.

  Returns:
    ({h: (h, w, K) float32}, weight (K,)), keyed by each map's height h (as the model's
    outputs are): weight is 1 for a labelled joint inside the input crop; the same joint is
    then inside every map, so one weight serves all resolutions.
  """
  if len(resolutions) != len(sigmas):
    raise ValueError(f"{len(resolutions)} resolutions but {len(sigmas)} sigmas")
  xy, visible = _check_keypoints(xy, visible)
  targets = {}
  weight = None
  for res, sigma in zip(resolutions, sigmas):
    maps, w = render_heatmaps(input_to_heatmap(xy, input_size, res), visible, res, sigma)
    targets[maps.shape[0]] = maps
    weight = w if weight is None else weight * w
  return targets, weight
