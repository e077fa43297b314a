"""Skeleton overlays on images (pure: arrays in, arrays out)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from msposejax import skeleton

RIGHT = (255, 80, 40)    # person's right limbs
LEFT = (40, 140, 255)    # person's left limbs
CENTRE = (60, 220, 90)


def limb_colour(skel: skeleton.Skeleton, a: int, b: int) -> tuple[int, int, int]:
  if a in skel.right_joints or b in skel.right_joints:
    return RIGHT
  if a in skel.left_joints or b in skel.left_joints:
    return LEFT
  return CENTRE


def draw_skeleton(image: np.ndarray, joints: np.ndarray, scores: np.ndarray | None = None,
                  score_threshold: float = 0.3, width: int | None = None,
                  skel: skeleton.Skeleton | None = None) -> np.ndarray:
  """Draws limbs coloured by side (right orange, left blue, centre green) and joints.

  Args:
    image: (H, W, 3) uint8.
    joints: (K, 2) pixel coordinates.
    scores: (K,) confidences; joints and limbs below `score_threshold` are drawn faint.
    width: line width; default scales with the image size.
    skel: the joints' skeleton; default: the one with K joints (MPII 16, LSP 14).

  Returns:
    A new (H, W, 3) uint8 image.
  """
  base = Image.fromarray(image).convert("RGBA")
  overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
  draw = ImageDraw.Draw(overlay)
  w = width or max(2, round(min(base.size) / 100))
  k = len(joints)
  skel = skel or _skeleton_with(k)
  conf = np.ones(k) if scores is None else np.asarray(scores)
  alpha = np.where(conf >= score_threshold, 255, 90).astype(int)
  for a, b in skel.limbs:
    if max(a, b) >= k or not np.isfinite(joints[[a, b]]).all():
      continue
    draw.line([tuple(joints[a]), tuple(joints[b])], fill=limb_colour(skel, a, b) + (int(min(alpha[a], alpha[b])),),
              width=w)
  for j in range(k):
    if not np.isfinite(joints[j]).all():
      continue
    x, y = joints[j]
    r = w * 1.2
    draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, int(alpha[j])),
                 outline=(0, 0, 0, int(alpha[j])))
  return np.asarray(Image.alpha_composite(base, overlay).convert("RGB"))


def _skeleton_with(num_joints: int) -> skeleton.Skeleton:
  for skel in skeleton.SKELETONS.values():
    if skel.num_joints == num_joints:
      return skel
  raise ValueError(f"no skeleton has {num_joints} joints; pass skel=")


def grid(images: list[np.ndarray], columns: int = 4) -> np.ndarray:
  """Tiles equally sized (H, W, 3) images into one image, row-major, black padding."""
  if not images:
    raise ValueError("no images to tile")
  h, w, _ = images[0].shape
  rows = -(-len(images) // columns)
  out = np.zeros((rows * h, columns * w, 3), np.uint8)
  for i, im in enumerate(images):
    r, c = divmod(i, columns)
    out[r * h:(r + 1) * h, c * w:(c + 1) * w] = im
  return out


def thumbnail(image: np.ndarray, side: int = 256) -> np.ndarray:
  """(H, W, 3) uint8 shrunk to fit a side × side tile (top-left, black padding)."""
  im = Image.fromarray(image)
  im.thumbnail((side, side))
  canvas = np.zeros((side, side, 3), np.uint8)
  canvas[:im.height, :im.width] = np.asarray(im)
  return canvas
