"""Crop geometry: points land where drawn by hand, and image content where the joints say."""

import numpy as np
import pytest

from msposejax.data import geometry


# Where a point d px right of (or below) the crop centre lands, drawn by hand: y points down,
# a positive rotation turns the content counter-clockwise on screen (right → up, down →
# right), then a flip mirrors the crop (x ↦ n − 1 − x); zoom = 64 / 120.
@pytest.mark.parametrize("rotation,flip,offset,expected", [
    (0, False, (10, 0), (10, 0)), (0, False, (0, 10), (0, 10)),
    (90, False, (10, 0), (0, -10)), (90, False, (0, 10), (10, 0)),
    (-90, False, (0, 10), (-10, 0)), (-90, True, (0, 10), (10, 0)),
    (180, True, (10, 0), (10, 0)), (180, True, (0, 10), (0, -10)),
    (0, True, (10, 0), (-10, 0)), (30, False, (10, 0), (10 * 0.8660254, -5))])
def test_rotation_and_flip_move_points_where_drawn_by_hand(rotation, flip, offset, expected):
  center = np.array([150.0, 90.0])
  m = geometry.crop_matrix(center, 120.0, 64, rotation, flip)
  got = geometry.apply_affine(m, center + np.array(offset, float))
  np.testing.assert_allclose(got, np.array([31.5, 31.5]) + np.array(expected) * 64 / 120,
                             atol=1e-9)


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
