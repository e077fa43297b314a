"""Horizontal flip of heatmaps and keypoints with left/right joint swap (NumPy or jnp)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from msposejax import skeleton


def flip_heatmaps(heatmaps, flip_pairs: Sequence[tuple[int, int]]):
  """(B, H, W, K) → mirrored along W with left/right channels swapped. Its own inverse.

  `flip_pairs`: the skeleton's (`Skeleton.flip_pairs`).
  """
  perm = np.asarray(skeleton.flip_permutation(heatmaps.shape[-1], tuple(flip_pairs)))
  return heatmaps[:, :, ::-1, :][..., perm]


def flip_keypoints(xy, visible, width: float,
                   flip_pairs: Sequence[tuple[int, int]]):
  """Mirrors (..., K, 2) keypoints in an image of `width` px and swaps left/right joints.

  Returns (xy, visible) flipped; x ↦ width − 1 − x (the pixel-centre convention of
  `codecs.heatmap`).
  """
  perm = np.asarray(skeleton.flip_permutation(xy.shape[-2], tuple(flip_pairs)))
  xy = xy[..., perm, :]
  xy = xy * np.array([-1.0, 1.0], np.float32) + np.array([width - 1.0, 0.0], np.float32)
  return xy, visible[..., perm]
