"""A 64×48 (H×W) model end to end: checkpoint → Predictor → crops of the input's aspect from a
box (top-down training's rule) or of the whole photo → keypoints; StableHLO export."""

import json

import jax
import numpy as np
import pytest

from msposejax.config_files import load_config
from msposejax.data import geometry
from msposejax.inference import export
from msposejax.inference.predictor import Predictor, person_box
from msposejax.models import pose_net_from_config
from msposejax.state import checkpointing
from msposejax.state.variables import init_variables
from tests.conftest import REPO

H, W = 64, 48


def non_square_config():
  config = load_config(REPO / "configs" / "tiny.py")
  with config.ignore_type():
    config.input_size = (H, W)
  with config.unlocked():
    config.model.update(num_stacks=1, features=16, stem_features=(8, 16))
  return config


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
  """Restored from a weights-only checkpoint: its saved config holds input_size as [64, 48]."""
  config = non_square_config()
  variables = jax.device_get(init_variables(pose_net_from_config(config.model),
                                            config.input_size, 0))
  path = tmp_path_factory.mktemp("non_square")
  with checkpointing.Checkpointer(path, config) as ckpt:
    ckpt.save_variables(variables)
  return Predictor.from_checkpoint(path)


def test_restored_from_a_saved_h_w_list(predictor):
  assert predictor.input_hw == (H, W) and predictor.input_size == (H, W)


def test_a_box_is_cropped_at_the_input_aspect_with_training_padding(predictor):
  image = np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8)
  box = (20.0, 30.0, 110.0, 80.0)  # x1, y1, x2, y2: 90×50, heightened to 90×120
  crop, to_image = predictor.crop(image, box)
  assert crop.shape == (H, W, 3)
  corners = geometry.apply_affine(to_image, [[-0.5, -0.5], [W - 0.5, H - 0.5]])
  # Training's rule for the same box (x, y, w, h): centre and 200·scale, padding 1.25.
  center, scale = geometry.box_center_scale((20, 30, 90, 50), W / H, 1.25)
  np.testing.assert_allclose(corners, [center - 100 * scale, center + 100 * scale], atol=1e-9)
  np.testing.assert_allclose(corners[1] - corners[0], [112.5, 150.0], atol=1e-9)
  # person_box (what predict_files and the top-down evaluation call) says the same height.
  _, side = person_box(image.shape, box, scale_factor=1.25, center_shift=0.0, aspect_wh=W / H)
  assert side == pytest.approx(150.0)


def test_no_box_is_the_whole_photo_at_the_input_aspect(predictor):
  image = np.zeros((100, 200, 3), np.uint8)  # wider than 3:4: the width fills the crop
  _, to_image = predictor.crop(image)
  corners = geometry.apply_affine(to_image, [[-0.5, -0.5], [W - 0.5, H - 0.5]])
  np.testing.assert_allclose(corners[:, 0], [-0.5, 199.5], atol=1e-9)
  np.testing.assert_allclose(corners[:, 1].mean(), 49.5, atol=1e-9)
  assert corners[1, 1] - corners[0, 1] == pytest.approx(200 * 4 / 3)


def test_predict_maps_crop_keypoints_back_to_the_photo(predictor):
  image = np.random.default_rng(1).integers(0, 256, (120, 160, 3), np.uint8)
  box = (30, 10, 70, 110)
  result = predictor(image, box=box)
  assert result["keypoints"].shape == (16, 2) and result["scores"].shape == (16,)
  crop, to_image = predictor.crop(image, box)
  coords, _ = predictor.predict_crops(crop[None])
  np.testing.assert_allclose(result["keypoints"], geometry.apply_affine(to_image, coords[0]),
                             atol=1e-4)


def test_stablehlo_export_takes_h_by_w_crops(predictor, tmp_path):
  out = export.export_predictor(predictor, tmp_path / "export")
  meta = json.loads((out / "metadata.json").read_text())
  assert meta["input_size"] == [H, W] and "(B, 64, 48, 3)" in meta["input"]
  crops = np.random.default_rng(2).integers(0, 256, (2, H, W, 3), np.uint8)
  coords, scores = export.load(str(out))(crops)
  want_coords, want_scores = predictor.predict_crops(crops)
  np.testing.assert_allclose(np.asarray(coords), want_coords, atol=1e-4)
  np.testing.assert_allclose(np.asarray(scores), want_scores, atol=1e-5)
  with pytest.raises(Exception):
    export.load(str(out))(np.zeros((1, W, H, 3), np.uint8))  # transposed: refused
