"""Keypoint masking (paper Sect. 3.4, docs/method.md §4): occlusion and distraction patches (pure).

Applied to the augmented input crop. *occlude* pastes a background patch over a labelled
keypoint (the label stays: the network must infer the joint from context); *distract* pastes
the patch around a labelled keypoint onto background (no label is added: the network must
reject the look-alike). Background patches are squares that contain no keypoint.
"""

from __future__ import annotations

import dataclasses

import ml_collections
import numpy as np


@dataclasses.dataclass(frozen=True)
class MaskOp:
  kind: str                      # "occlude" | "distract"
  joint: int
  src: tuple[int, int, int, int]  # x0, y0, x1, y1 of the copied patch
  dst: tuple[int, int, int, int]  # where it was pasted


def _box_around(xy: np.ndarray, side: int, hw: tuple[int, int]) -> tuple[int, int, int, int]:
  x0 = int(np.clip(round(xy[0] - side / 2), 0, hw[1] - side))
  y0 = int(np.clip(round(xy[1] - side / 2), 0, hw[0] - side))
  return x0, y0, x0 + side, y0 + side


def _background_box(rng: np.random.Generator, keypoints: np.ndarray, side: int,
                    hw: tuple[int, int], tries: int = 30) -> tuple[int, int, int, int] | None:
  """A side×side square, inside the (H, W) crop, at least side/4 px away from every
  keypoint."""
  margin = side / 4
  high = np.array([hw[1] - side + 1, hw[0] - side + 1])  # x, y (square: the draws of before)
  for _ in range(tries):
    x0, y0 = rng.integers(0, high)
    inside = ((keypoints[:, 0] > x0 - margin) & (keypoints[:, 0] < x0 + side + margin)
              & (keypoints[:, 1] > y0 - margin) & (keypoints[:, 1] < y0 + side + margin))
    if not inside.any():
      return int(x0), int(y0), int(x0 + side), int(y0 + side)
  return None


def mask_keypoints(image: np.ndarray, xy: np.ndarray, weight: np.ndarray,
                   rng: np.random.Generator, cfg: ml_collections.ConfigDict
                   ) -> tuple[np.ndarray, list[MaskOp]]:
  """Masks 1..cfg.max_keypoints labelled keypoints with probability cfg.prob.

  Args:
    image: (H, W, 3) uint8 input crop (not modified); patches are squares of side
      cfg.size × H.
    xy: (K, 2) keypoints in crop pixels.
    weight: (K,) 1 for labelled keypoints inside the crop; only these are masked.
    rng: the example's generator (same seed → same masks).
    cfg: `config.data.mask` (prob, size, occlude_ratio, max_keypoints).

  Returns:
    (masked image copy, the operations applied). Labels never change.
  """
  if cfg.prob <= 0 or rng.uniform() >= cfg.prob:
    return image, []
  hw = image.shape[:2]
  side = max(int(round(cfg.size * hw[0])), 2)
  labelled = np.flatnonzero(weight > 0)
  if not len(labelled) or side >= min(hw):
    return image, []
  count = min(int(rng.integers(1, cfg.max_keypoints + 1)), len(labelled))
  out = image.copy()
  keypoints = xy[labelled]
  ops = []
  for joint in rng.choice(labelled, size=count, replace=False):
    background = _background_box(rng, keypoints, side, hw)
    if background is None:
      continue  # crowded crop: no keypoint-free background to use
    around = _box_around(xy[joint], side, hw)
    kind = "occlude" if rng.uniform() < cfg.occlude_ratio else "distract"
    src, dst = (background, around) if kind == "occlude" else (around, background)
    patch = image[src[1]:src[3], src[0]:src[2]]
    out[dst[1]:dst[3], dst[0]:dst[2]] = patch
    ops.append(MaskOp(kind, int(joint), src, dst))
  return out, ops
