"""Keypoint masking on an (H, W) crop (COCO's 256×192): patches stay inside the crop."""

import ml_collections
import numpy as np

from msposejax.data.keypoint_masking import mask_keypoints


def test_patches_stay_inside_a_portrait_crop():
  h, w = 64, 48
  cfg = ml_collections.ConfigDict({"prob": 1.0, "size": 0.3, "occlude_ratio": 0.5,
                                   "max_keypoints": 2})
  image = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
  # Joints near the right edge and the bottom, where a square crop's bounds would overflow.
  xy = np.array([[46.0, 10.0], [44.0, 60.0], [5.0, 62.0], [40.0, 30.0]])
  weight = np.ones(4, np.float32)
  ops_seen = 0
  for seed in range(200):
    out, ops = mask_keypoints(image, xy, weight, np.random.default_rng(seed), cfg)
    assert out.shape == image.shape
    for op in ops:
      for x0, y0, x1, y1 in (op.src, op.dst):
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, op
        assert x1 - x0 == y1 - y0 == round(0.3 * h)
      ops_seen += 1
  assert ops_seen > 100
