"""Crop geometry: round trips and that image content lands where the joints say."""

import numpy as np
import pytest

from msposejax.data import geometry


@pytest.mark.parametrize("rotation,flip", [(0, False), (25, False), (-40, True), (180, True)])
def test_inverse_round_trip(rotation, flip):
  m = geometry.crop_matrix(np.array([150.0, 90.0]), 120.0, 64, rotation, flip)
  pts = np.random.default_rng(0).uniform(0, 300, (20, 2))
  back = geometry.apply_affine(np.linalg.inv(m), geometry.apply_affine(m, pts))
  np.testing.assert_allclose(back, pts, atol=1e-9)


def test_centre_maps_to_crop_centre_and_side_to_size():
  m = geometry.crop_matrix(np.array([100.0, 50.0]), 200.0, 64)
  np.testing.assert_allclose(geometry.apply_affine(m, [100.0, 50.0]), [31.5, 31.5])
  # Left edge of the crop box (x = 0) lands on the left edge of the output (−0.5).
  np.testing.assert_allclose(geometry.apply_affine(m, [0.0, 50.0]), [-0.5, 31.5])


def test_warp_puts_a_bright_pixel_where_the_point_maps():
  image = np.zeros((120, 160, 3), np.uint8)
  image[40, 70] = 255  # pixel centre (70, 40)
  for rotation, flip in [(0, False), (30, False), (0, True), (-60, True)]:
    m = geometry.crop_matrix(np.array([80.0, 60.0]), 80.0, 80, rotation, flip)  # zoom 1
    crop = geometry.warp_image(image, m, 80)
    expected = geometry.apply_affine(m, [70.0, 40.0])
    peak = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])[::-1]
    assert np.abs(np.array(peak) - expected).max() <= 0.5 + 1e-6


def test_bad_crop_side():
  with pytest.raises(ValueError, match="positive"):
    geometry.crop_matrix(np.zeros(2), 0.0, 64)


def test_person_crop_is_the_mpii_rule_by_hand():
  # s = 2: side 200·2·1.25 = 500 px, centre moved down 15·2 = 30 px.
  center, side = geometry.person_crop((100.0, 200.0), 2.0, 1.25, 15.0)
  np.testing.assert_array_equal(center, [100.0, 230.0])
  assert side == 500.0
  for bad in (0.0, -1.0, float("nan")):
    with pytest.raises(ValueError, match="not a positive number"):
      geometry.person_crop((0, 0), bad, 1.25, 0.0)
  with pytest.raises(ValueError, match="not finite"):
    geometry.person_crop((float("nan"), 0), 1.0, 1.25, 0.0)
