"""The per-person example format every msposejax dataset stores (TFDS features).

Images are stored as encoded bytes (JPEG), not `tfds.features.Image`, so building and reading
needs no TensorFlow (docs/method.md §9); they are decoded on the host in the grain workers.
All coordinates are in the stored image's pixels (0-based, pixel centres at integers);
`offset` maps them back to the original photo: original = stored / zoom + offset.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from msposejax import skeleton

if TYPE_CHECKING:
  import tensorflow_datasets as tfds


def features(num_joints: int = skeleton.MPII.num_joints, joint_occluded: bool = False,
             instances: bool = False) -> tfds.features.FeaturesDict:
  """The example spec for K = `num_joints` joints.

  `joint_occluded` adds a (K,) flag for datasets that mark labelled-but-occluded joints (LSP,
  COCO's v = 1), which evaluation reports as a subset. `instances` adds what COCO-style
  evaluation needs to find the annotation again: `bbox` (x, y, w, h: the box clipped to the
  photo, in stored px), `image_id`, `annotation_id` (the annotation file's ids) and `area`
  (the file's, original px², the OKS scale).
  """
  import tensorflow_datasets as tfds  # only the builders need it: prediction decodes images
  t = tfds.features.Tensor
  k = num_joints
  extra = {"joint_occluded": t(shape=(k,), dtype=np.bool_)} if joint_occluded else {}
  if instances:
    extra.update({"bbox": t(shape=(4,), dtype=np.float32),
                  "image_id": t(shape=(), dtype=np.int64),
                  "annotation_id": t(shape=(), dtype=np.int64),
                  "area": t(shape=(), dtype=np.float32)})
  return tfds.features.FeaturesDict({
      "image": t(shape=(), dtype=np.object_),         # encoded JPEG bytes
      "image_name": t(shape=(), dtype=np.object_),    # source file name (bytes)
      "joints": t(shape=(k, 2), dtype=np.float32),    # (x, y)
      "visible": t(shape=(k,), dtype=np.bool_),       # labelled
      "center": t(shape=(2,), dtype=np.float32),      # MPII person centre
      "scale": t(shape=(), dtype=np.float32),         # person height ≈ 200·scale px
      "head_box": t(shape=(4,), dtype=np.float32),    # x1, y1, x2, y2
      "offset": t(shape=(2,), dtype=np.float32),      # stored → original translation
      "zoom": t(shape=(), dtype=np.float32),          # stored px per original px
      "occluded": t(shape=(), dtype=np.bool_),        # hard-case tags (synthetic only)
      "crowded": t(shape=(), dtype=np.bool_),
      "scale_small": t(shape=(), dtype=np.bool_),
      **extra,
  })


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format="JPEG", quality=quality)
  return buf.getvalue()


def decode_image(data: bytes) -> np.ndarray:
  """Encoded bytes → (H, W, 3) uint8 RGB; raises ValueError on a corrupt or empty image."""
  return np.asarray(decode_pil(data)[0])


def decode_pil(data: bytes, reduce_to: float = 1.0) -> tuple[Image.Image, tuple[int, int]]:
  """Encoded bytes → (RGB PIL image, full (W, H)); decoded at a reduced scale when
  `reduce_to` ≤ ½.

  JPEG's DCT scaling (`Image.draft`) decodes directly at ½, ¼ or ⅛ size, the largest that is
  still ≥ `reduce_to` × the full size: far cheaper than decoding everything and
  downsampling. The decoded image's size over the full size is the scale it was decoded at.
  Raises ValueError on a corrupt or empty image.
  """
  try:
    img = Image.open(io.BytesIO(data))
    full = img.size
    if reduce_to <= 0.5 and img.format == "JPEG":
      img.draft("RGB", (max(1, int(full[0] * reduce_to)), max(1, int(full[1] * reduce_to))))
    img = img.convert("RGB")
    img.load()
    return img, full
  except Exception as e:  # PIL raises several types for broken files
    raise ValueError(f"cannot decode image ({len(data)} bytes): {e}") from e
