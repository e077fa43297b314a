"""Affine crop maths (pure): original image ⇄ network input crop.

Coordinates follow `codecs.heatmap`: pixel i is centred at i. A crop of height S image pixels
(and width S·W/H) centred at c maps onto an H×W output spanning [−½, W−½) × [−½, H−½), centre
((W−1)/2, (H−1)/2), with the same zoom H/S on both axes. A square n×n output is the case
H = W = n. Output sizes are n or (H, W), as `config.input_size`.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from msposejax.input_size import input_hw

# HRNet's and mmpose 0.x's unit of person scale: a scale s is 200·s px (MPII's convention).
PIXEL_STD = 200.0


def person_crop(center: np.ndarray, scale: float, scale_factor: float, center_shift: float = 0.0
                ) -> tuple[np.ndarray, float]:
  """The person → crop rule (docs/method.md §1), the one that training, evaluation, prediction
  and the stored MPII crops all use.

  A person is a centre c and a scale s in MPII's convention (height ≈ 200·s px); the crop is
  200·s·scale_factor high around c moved down by center_shift·s px (square for a square
  input, else as wide as the input's aspect makes it: `crop_matrix`).

  Args:
    center: (2,) person centre (x, y) in some image's pixels.
    scale: s in the same pixels (÷ 200).
    scale_factor: the margin, `config.data.scale_factor`.
    center_shift: px per unit scale to move the centre down, `config.data.center_shift`.

  Returns:
    (crop centre (2,) float64, crop height) in the pixels of `center`.

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


def box_center_scale(box_xywh, aspect_wh: float, padding: float
                     ) -> tuple[np.ndarray, np.ndarray]:
  """A person box → (centre, scale), the top-down rule of HRNet's `_xywh2cs`
  (lib/dataset/coco.py) and mmpose's `GetBBoxCenterScale` + `TopdownAffine`.

  The box is widened or heightened about its centre to the input's aspect W/H (never shrunk),
  then enlarged by `padding` on both sides: centre (x + w/2, y + h/2), scale (w', h')·padding
  / 200 with w'/h' = aspect_wh. The crop is then 200·scale[1] px high (`crop_matrix`). HRNet
  skips the padding when the centre's x is exactly −1 (a leftover sentinel); we always pad.

  Args:
    box_xywh: (x, y, w, h) the box's top-left corner and size, in some image's pixels.
    aspect_wh: the network input's W/H (192/256 = 0.75 for 256×192 crops).
    padding: the margin around the box (`config.data.scale_factor`, 1.25 as HRNet and
      mmpose).

  Returns:
    center: (2,) float64 (x, y).
    scale: (2,) float64 (width, height) of the padded crop ÷ 200 (HRNet's `pixel_std`;
      mmpose 1.x keeps it in pixels, 200× ours).

  Raises:
    ValueError: a box that is not 4 finite numbers with w, h > 0, or a non-positive aspect
      or padding.
  """
  try:
    x, y, w, h = (float(v) for v in np.asarray(box_xywh, np.float64).reshape(4))
  except (TypeError, ValueError):
    raise ValueError(f"person box {box_xywh!r} must be 4 numbers (x, y, w, h)") from None
  if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
    raise ValueError(f"person box (x, y, w, h) = {(x, y, w, h)} must be finite with w, h > 0")
  if not (aspect_wh > 0 and padding > 0):
    raise ValueError(f"aspect {aspect_wh} and padding {padding} must be positive")
  center = np.array([x + w * 0.5, y + h * 0.5])
  if w > aspect_wh * h:
    h = w / aspect_wh
  elif w < aspect_wh * h:
    w = h * aspect_wh
  return center, np.array([w, h]) / PIXEL_STD * padding


def crop_matrix(center: np.ndarray, crop_side: float, out_size: int | tuple[int, int],
                rotation_deg: float = 0.0, flip: bool = False) -> np.ndarray:
  """3×3 matrix M mapping original-image points to crop points.

  Args:
    center: (2,) crop centre (x, y) in the original image.
    crop_side: height of the crop in original pixels (MPII: 200·s after enlargement); its
      width is crop_side·W/H, so the zoom H/crop_side is the same on both axes.
    out_size: the output crop, n (n×n) or (H, W) pixels.
    rotation_deg: counter-clockwise rotation of the content, degrees.
    flip: mirror horizontally after cropping (x ↦ W−1−x); joints must then be swapped.
  """
  if not crop_side > 0:
    raise ValueError(f"crop side must be positive, got {crop_side}")
  out_h, out_w = input_hw(out_size)
  zoom = out_h / crop_side
  theta = np.deg2rad(rotation_deg)
  cos, sin = np.cos(theta), np.sin(theta)
  # y points down in images: this rotation turns content counter-clockwise on screen.
  rot = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]])
  to_origin = np.array([[1, 0, -center[0]], [0, 1, -center[1]], [0, 0, 1]], np.float64)
  to_crop = np.array([[zoom, 0, (out_w - 1) / 2], [0, zoom, (out_h - 1) / 2], [0, 0, 1]])
  m = to_crop @ rot @ to_origin
  if flip:
    m = np.array([[-1, 0, out_w - 1], [0, 1, 0], [0, 0, 1]], np.float64) @ m
  return m


def apply_affine(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
  """Applies a 3×3 affine matrix to (..., 2) points."""
  xy = np.asarray(xy, np.float64)
  return xy @ m[:2, :2].T + m[:2, 2]


def scale_matrix(sx: float, sy: float) -> np.ndarray:
  """Matrix taking pixel coordinates of an image to those of the image resized by (sx, sy)
  (pixel-centre convention: x' = (x + ½)·sx − ½)."""
  return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def warp_image(image: np.ndarray | Image.Image, m: np.ndarray, out_size: int | tuple[int, int]
               ) -> np.ndarray:
  """Resamples `image` ((h, w, 3) uint8 or a PIL image) into the (H, W, 3) uint8 crop
  defined by M (bilinear; outside the image is black); `out_size` is n (n×n) or (H, W).

  OpenCV uses our pixel-centre convention, so M (image → crop) is passed as it is.
  """
  out_h, out_w = input_hw(out_size)
  return cv2.warpAffine(np.asarray(image), m[:2].astype(np.float64), (out_w, out_h),
                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
