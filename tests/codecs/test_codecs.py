"""Heatmap codec: rendering, round trips, out-of-map keypoints, flips."""

import jax.numpy as jnp
import numpy as np
import pytest

from msposejax import skeleton
from msposejax.codecs import (decode_heatmaps, flip_heatmaps, flip_keypoints, heatmap_to_input,
                              input_to_heatmap, render_heatmaps, render_multiscale)


def test_peak_on_pixel_centre_is_one_and_gaussian_shaped():
  xy = np.zeros((16, 2))
  xy[0] = (10.0, 20.0)
  maps, weight = render_heatmaps(xy, np.eye(16)[0], 64, sigma=2.0)
  assert maps.shape == (64, 64, 16) and weight.tolist() == [1.0] + [0.0] * 15
  assert maps[20, 10, 0] == pytest.approx(1.0)
  assert maps[20, 13, 0] == pytest.approx(np.exp(-9 / 8), rel=1e-6)  # d=3 px, σ=2
  assert not maps[..., 1:].any()


@pytest.mark.parametrize("method,per_axis,euclid", [("quarter", 0.25 + 1e-5, 0.3 * 1.19),
                                                    ("parabola", 0.01, 0.01)])
def test_encode_decode_round_trip_at_64(method, per_axis, euclid):
  rng = np.random.default_rng(0)
  xy = rng.uniform(1.0, 62.0, size=(64, 16, 2))
  maps = np.stack([render_heatmaps(p, np.ones(16), 64, 1.0)[0] for p in xy])
  coords, scores = decode_heatmaps(jnp.asarray(maps), method)
  err = np.abs(np.asarray(coords) - xy)
  assert err.max() <= per_axis
  assert np.linalg.norm(err, axis=-1).max() <= euclid
  # quarter-pixel decoding: mean Euclidean error well under 0.3 px.
  assert np.linalg.norm(err, axis=-1).mean() < 0.2
  assert np.all(np.asarray(scores) > 0.5)


def test_keypoints_outside_the_map_give_zero_target_and_weight():
  xy = np.full((16, 2), 30.0)
  xy[0] = (-0.6, 10)
  xy[1] = (64.0, 10)   # just past the last pixel's right edge (63.5)
  xy[2] = (10, 70)
  xy[3] = (63.4, 0)    # inside
  maps, weight = render_heatmaps(xy, np.ones(16), 64, 1.0)
  assert weight[:4].tolist() == [0, 0, 0, 1]
  assert not maps[..., :3].any() and maps[..., 3].max() > 0.5


def test_unlabelled_nan_is_fine_labelled_nan_is_an_error():
  xy = np.full((16, 2), 5.0)
  xy[4] = np.nan
  visible = np.ones(16, bool)
  visible[4] = False
  maps, weight = render_heatmaps(xy, visible, 16, 1.0)
  assert weight[4] == 0 and not maps[..., 4].any()
  with pytest.raises(ValueError, match=r"\[4\]"):
    render_heatmaps(xy, np.ones(16, bool), 16, 1.0)


def test_multiscale_targets_peak_at_the_same_image_position():
  xy = np.full((16, 2), 100.0)
  xy[0] = (131.0, 67.0)  # input-crop pixels, crop of 256
  targets, weight = render_multiscale(xy, np.ones(16), 256, (64, 32, 16, 8), (1, 1, 1, 1))
  assert sorted(targets) == [8, 16, 32, 64] and weight.all()
  for res, maps in targets.items():
    coords, _ = decode_heatmaps(jnp.asarray(maps[None]), "parabola")
    back = heatmap_to_input(np.asarray(coords[0, 0]), res, 256)
    assert np.abs(back - xy[0]).max() < 0.05 * 256 / res


def test_coordinate_mapping_round_trip():
  xy = np.random.default_rng(1).uniform(-0.5, 255.5, (10, 2))
  np.testing.assert_allclose(heatmap_to_input(input_to_heatmap(xy, 256, 64), 64, 256), xy)


PAIRS = skeleton.MPII.flip_pairs


def test_flip_twice_is_identity():
  maps = np.random.default_rng(2).uniform(size=(2, 8, 6, 16)).astype(np.float32)
  np.testing.assert_array_equal(flip_heatmaps(flip_heatmaps(maps, PAIRS), PAIRS), maps)
  np.testing.assert_array_equal(np.asarray(flip_heatmaps(flip_heatmaps(jnp.asarray(maps), PAIRS), PAIRS)), maps)


def test_flipping_keypoints_then_rendering_equals_flipping_heatmaps():
  rng = np.random.default_rng(3)
  xy = rng.uniform(0, 31, (16, 2))
  visible = rng.uniform(size=16) > 0.2
  maps, _ = render_heatmaps(xy, visible, (24, 32), 1.0)
  fxy, fvis = flip_keypoints(xy, visible, 32, PAIRS)
  fmaps, _ = render_heatmaps(fxy, fvis, (24, 32), 1.0)
  np.testing.assert_allclose(flip_heatmaps(maps[None], PAIRS)[0], fmaps, atol=1e-6)
  # left and right really swapped: the flipped left wrist is where the right wrist was.
  lw, rw = skeleton.JOINT_INDEX["l_wrist"], skeleton.JOINT_INDEX["r_wrist"]
  np.testing.assert_allclose(fxy[lw], (31 - xy[rw][0], xy[rw][1]), atol=1e-5)
