"""Top-down crops of an (H, W) input from a person box, against HRNet's affine computed by hand."""

import io

import numpy as np
import pytest
from PIL import Image

from msposejax.config_files import load_config
from msposejax.data import augment, geometry, transforms
from tests.conftest import REPO

H, W = 256, 192  # COCO's top-down input, H×W


def hrnet_center_scale(x, y, w, h, aspect):
  """HRNet's COCODataset._xywh2cs (lib/dataset/coco.py), pixel_std 200, padding 1.25."""
  center = np.array([x + w * 0.5, y + h * 0.5])
  if w > aspect * h:
    h = w / aspect
  elif w < aspect * h:
    w = h * aspect
  return center, np.array([w / 200.0, h / 200.0]) * 1.25


def hrnet_affine(center, scale, rot, out_wh):
  """HRNet's get_affine_transform (lib/utils/transforms.py) as a 3×3 matrix: three points
  (the centre, the point half the crop's width above it, turned by rot, and a third at right
  angles) mapped to the output's (W/2, H/2), the point W/2 above it and the third; solved
  here with NumPy instead of cv2.getAffineTransform."""
  src_w = scale[0] * 200.0
  dst_w, dst_h = out_wh
  r = np.deg2rad(rot)
  sn, cs = np.sin(r), np.cos(r)
  src_dir = np.array([0.0 * cs - (-0.5 * src_w) * sn, 0.0 * sn + (-0.5 * src_w) * cs])
  dst_dir = np.array([0.0, -0.5 * dst_w])
  src = np.stack([center, center + src_dir, np.zeros(2)])
  dst = np.stack([[dst_w * 0.5, dst_h * 0.5], [dst_w * 0.5, dst_h * 0.5] + dst_dir, np.zeros(2)])
  for p in (src, dst):
    d = p[0] - p[1]
    p[2] = p[1] + np.array([-d[1], d[0]])
  # Solve m (2×3) with m @ [src_i, 1] = dst_i for the three points.
  m = np.linalg.solve(np.hstack([src, np.ones((3, 1))]), dst).T
  return np.vstack([m, [0, 0, 1]])


BOXES = [(10.0, 20.0, 60.0, 160.0),     # tall: widened to 3:4
         (300.5, 40.25, 250.0, 90.0),   # wide: heightened
         (0.0, 0.0, 96.0, 128.0)]       # already 3:4


@pytest.mark.parametrize("box", BOXES)
def test_box_center_scale_is_hrnets_xywh2cs(box):
  center, scale = geometry.box_center_scale(box, W / H, 1.25)
  want_c, want_s = hrnet_center_scale(*box, W / H)
  np.testing.assert_allclose(center, want_c, rtol=0, atol=1e-12)
  np.testing.assert_allclose(scale, want_s, rtol=1e-12)
  assert scale[0] / scale[1] == pytest.approx(W / H)


def test_box_center_scale_by_hand():
  # 60×160 box: widened to 120×160 (3:4), ×1.25 → 150×200 px, i.e. scale (0.75, 1.0).
  center, scale = geometry.box_center_scale((10, 20, 60, 160), 0.75, 1.25)
  np.testing.assert_allclose(center, [40, 100])
  np.testing.assert_allclose(scale, [0.75, 1.0])


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("rotation", [0.0, 30.0])
def test_crop_is_hrnets_affine_half_a_pixel_apart(box, rotation):
  """Same region, same zoom and turn as HRNet; our output pixels are centred on integers
  (the crop spans [−½, W−½)), HRNet's spans [0, W): every point lands ½ px up-left of it."""
  center, scale = geometry.box_center_scale(box, W / H, 1.25)
  ours = geometry.crop_matrix(center, geometry.PIXEL_STD * scale[1], (H, W), rotation)
  theirs = hrnet_affine(center, scale, rotation, (W, H))
  shift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
  np.testing.assert_allclose(ours, shift @ theirs, rtol=0, atol=1e-9)


def test_padded_box_fills_the_crop_and_the_box_its_middle():
  x, y, w, h = 300.5, 40.25, 250.0, 90.0  # wide: the crop is 1.25·250 wide, 1.25·250·4/3 high
  center, scale = geometry.box_center_scale((x, y, w, h), W / H, 1.25)
  m = geometry.crop_matrix(center, geometry.PIXEL_STD * scale[1], (H, W))
  half = 200 * scale / 2
  corners = geometry.apply_affine(m, [center - half, center + half])
  np.testing.assert_allclose(corners, [[-0.5, -0.5], [W - 0.5, H - 0.5]], atol=1e-9)
  # The box's left and right edges sit 10% of the width in from the crop's edges.
  edges = geometry.apply_affine(m, [[x, y + h / 2], [x + w, y + h / 2]])
  np.testing.assert_allclose(edges[:, 0] + 0.5, [0.1 * W, 0.9 * W], atol=1e-9)
  np.testing.assert_allclose(edges[:, 1], (H - 1) / 2, atol=1e-9)


@pytest.mark.parametrize("bad", [(0, 0, 0, 10), (0, 0, 10, -1), (np.nan, 0, 5, 5), (1, 2, 3)])
def test_box_center_scale_refuses_bad_boxes(bad):
  with pytest.raises(ValueError, match="person box"):
    geometry.box_center_scale(bad, 0.75, 1.25)


@pytest.mark.parametrize("flip", [False, True])
def test_warp_at_zoom_one_is_an_h_by_w_slice(flip):
  image = np.random.default_rng(0).integers(0, 256, (100, 120, 3), np.uint8)
  x0, y0 = 30, 20  # a 64×48 (H×W) window at zoom 1
  m = geometry.crop_matrix(np.array([x0 + 23.5, y0 + 31.5]), 64.0, (64, 48), flip=flip)
  crop = geometry.warp_image(image, m, (64, 48))
  want = image[y0:y0 + 64, x0:x0 + 48]
  np.testing.assert_array_equal(crop, want[:, ::-1] if flip else want)


def _config():
  config = load_config(REPO / "configs" / "tiny.py")
  with config.ignore_type():
    config.input_size = (64, 48)
  return config


def test_a_record_with_a_bbox_is_cropped_from_it():
  """Training's crop of a COCO record: the box widened to 3:4 and padded by scale_factor; a
  joint at the box's top-left corner lands 10% in from the crop's edges (1.25 padding)."""
  spec = transforms.ExampleSpec.from_config(_config())
  image = np.random.default_rng(1).integers(0, 256, (200, 300, 3), np.uint8)
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, "PNG")
  box = (100.0, 30.0, 60.0, 120.0)  # 1:2, widened to 90×120
  joints = np.zeros((16, 2))
  joints[0] = box[:2]                               # top-left corner
  joints[1] = (box[0] + box[2] / 2, box[1] + box[3])  # bottom middle
  visible = np.zeros(16, bool)
  visible[:2] = True
  record = {"image": buf.getvalue(), "bbox": np.array(box), "joints": joints,
            "visible": visible, "center": np.array([0.0, 0.0]), "scale": 9.0}  # ignored
  crop, xy, vis, m = transforms.crop_person(record, augment.identity_augmentation(), spec)
  assert crop.shape == (64, 48, 3) and vis[:2].all()
  # Crop height 150 px → zoom 64/150; the box's 60 px width is 25.6 of the 48 crop px.
  zoom = 64 / 150
  np.testing.assert_allclose(xy[0], [23.5 - 30 * zoom, -0.5 + 0.1 * 64], atol=1e-9)
  np.testing.assert_allclose(xy[1], [23.5, -0.5 + 0.9 * 64], atol=1e-9)
  # The crop's pixels are the photo's under the same matrix.
  want = geometry.warp_image(image, m, (64, 48))
  np.testing.assert_array_equal(crop, want)
