"""Affine crop maths (pure): original image ⇄ network input crop.

Coordinates follow `codecs.heatmap`: pixel i is centred at i. A crop of side S image pixels
centred at c maps onto an output of n pixels spanning [−½, n−½), centre (n−1)/2.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image


def person_crop(center: np.ndarray, scale: float, scale_factor: float, center_shift: float = 0.0
                ) -> tuple[np.ndarray, float]:
  """The person → crop rule (docs/method.md §1), the one that training, evaluation, prediction
  and the stored MPII crops all use.

  A person is a centre c and a scale s in MPII's convention (height ≈ 200·s px); the crop is
  the square of side 200·s·scale_factor around c moved down by center_shift·s px.

  Args:
    center: (2,) person centre (x, y) in some image's pixels.
    scale: s in the same pixels (÷ 200).
    scale_factor: the margin, `config.data.scale_factor`.
    center_shift: px per unit scale to move the centre down, `config.data.center_shift`.

  Returns:
    (crop centre (2,) float64, crop side) in the pixels of `center`.

  Raises:
    ValueError: a scale that is not a positive number, or a non-finite centre.
  """
  scale = float(scale)
  if not (np.isfinite(scale) and scale > 0):
    raise ValueError(f"person scale {scale} is not a positive number")
  center = np.asarray(center, np.float64).reshape(2)
  if not np.isfinite(center).all():
    raise ValueError(f"person centre {center.tolist()} is not finite")
  return center + np.array([0.0, center_shift * scale]), 200.0 * scale * scale_factor


def crop_matrix(center: np.ndarray, crop_side: float, out_size: int, rotation_deg: float = 0.0,
                flip: bool = False) -> np.ndarray:
  """3×3 matrix M mapping original-image points to crop points.

  Args:
    center: (2,) crop centre (x, y) in the original image.
    crop_side: side of the square crop in original pixels (MPII: 200·s after enlargement).
    out_size: side n of the output crop in pixels.
    rotation_deg: counter-clockwise rotation of the content, degrees.
    flip: mirror horizontally after cropping (x ↦ n−1−x); joints must then be swapped.
  """
  if not crop_side > 0:
    raise ValueError(f"crop side must be positive, got {crop_side}")
  zoom = out_size / crop_side
  theta = np.deg2rad(rotation_deg)
  cos, sin = np.cos(theta), np.sin(theta)
  # y points down in images: this rotation turns content counter-clockwise on screen.
  rot = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]])
  to_origin = np.array([[1, 0, -center[0]], [0, 1, -center[1]], [0, 0, 1]], np.float64)
  mid = (out_size - 1) / 2
  to_crop = np.array([[zoom, 0, mid], [0, zoom, mid], [0, 0, 1]])
  m = to_crop @ rot @ to_origin
  if flip:
    m = np.array([[-1, 0, out_size - 1], [0, 1, 0], [0, 0, 1]], np.float64) @ m
  return m


def apply_affine(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
  """Applies a 3×3 affine matrix to (..., 2) points."""
  xy = np.asarray(xy, np.float64)
  return xy @ m[:2, :2].T + m[:2, 2]


def scale_matrix(sx: float, sy: float) -> np.ndarray:
  """Matrix taking pixel coordinates of an image to those of the image resized by (sx, sy)
  (pixel-centre convention: x' = (x + ½)·sx − ½)."""
  return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def warp_image(image: np.ndarray | Image.Image, m: np.ndarray, out_size: int) -> np.ndarray:
  """Resamples `image` ((H, W, 3) uint8 or a PIL image) into the (n, n, 3) uint8 crop
  defined by M (bilinear; outside the image is black).

  OpenCV uses our pixel-centre convention, so M (image → crop) is passed as it is.
  """
  return cv2.warpAffine(np.asarray(image), m[:2].astype(np.float64), (out_size, out_size),
                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
