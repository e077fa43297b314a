"""Keypoint masking: occlusion keeps labels, distraction adds none, determinism."""

import ml_collections
import numpy as np

from msposejax.data.keypoint_masking import mask_keypoints


def cfg(prob=1.0, ratio=0.5, k=2):
  return ml_collections.ConfigDict(dict(prob=prob, size=0.15, occlude_ratio=ratio,
                                        max_keypoints=k))


def scene(seed=0):
  rng = np.random.default_rng(seed)
  image = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
  xy = rng.uniform(40, 88, (16, 2))  # keypoints in the middle, background at the borders
  weight = np.ones(16, np.float32)
  return image, xy, weight


def test_occlude_pastes_background_over_the_keypoint():
  image, xy, weight = scene()
  out, ops = mask_keypoints(image, xy, weight, np.random.default_rng(1), cfg(ratio=1.0, k=1))
  assert len(ops) == 1 and ops[0].kind == "occlude"
  op = ops[0]
  x0, y0, x1, y1 = op.dst
  assert x0 <= xy[op.joint][0] <= x1 and y0 <= xy[op.joint][1] <= y1
  sx0, sy0, sx1, sy1 = op.src
  np.testing.assert_array_equal(out[y0:y1, x0:x1], image[sy0:sy1, sx0:sx1])
  # The source patch holds no keypoint.
  assert not ((xy[:, 0] >= sx0) & (xy[:, 0] < sx1) & (xy[:, 1] >= sy0) & (xy[:, 1] < sy1)).any()


def test_distract_pastes_the_keypoint_patch_onto_background():
  image, xy, weight = scene(2)
  out, ops = mask_keypoints(image, xy, weight, np.random.default_rng(3), cfg(ratio=0.0, k=1))
  op = ops[0]
  assert op.kind == "distract"
  x0, y0, x1, y1 = op.dst
  assert not ((xy[:, 0] >= x0) & (xy[:, 0] < x1) & (xy[:, 1] >= y0) & (xy[:, 1] < y1)).any()
  sx0, sy0, sx1, sy1 = op.src
  np.testing.assert_array_equal(out[y0:y1, x0:x1], image[sy0:sy1, sx0:sx1])


def test_only_labelled_keypoints_are_masked_and_input_is_untouched():
  image, xy, weight = scene(4)
  weight[:] = 0
  weight[5] = 1
  copy = image.copy()
  for seed in range(10):
    _, ops = mask_keypoints(image, xy, weight, np.random.default_rng(seed), cfg(k=3))
    assert all(op.joint == 5 for op in ops)
  np.testing.assert_array_equal(image, copy)


def test_deterministic_and_off_by_default():
  image, xy, weight = scene(5)
  a, _ = mask_keypoints(image, xy, weight, np.random.default_rng(9), cfg())
  b, _ = mask_keypoints(image, xy, weight, np.random.default_rng(9), cfg())
  np.testing.assert_array_equal(a, b)
  out, ops = mask_keypoints(image, xy, weight, np.random.default_rng(9), cfg(prob=0.0))
  assert out is image and ops == []
