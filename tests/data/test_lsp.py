"""LSP / LSP-extended: joints.mat layouts, boxes from joints, the TFDS builder on a handful of
real LSP-extended photos (../shared/data/lspet; skipped where it is absent)."""

import logging

import numpy as np
import pytest
import scipy.io
import tensorflow_datasets as tfds

from msposejax import skeleton
from msposejax.data import geometry, lsp
from msposejax.data.transforms import ExampleSpec, eval_example, normaliser
from tests.conftest import LSPET, REPO, load_config, lspet_manual_dir

# Module-scoped fixtures: its tests stay in one xdist test process (`-n auto --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("lsp")


def shared_lspet():
  if not (LSPET / "joints.mat").is_file():
    pytest.skip(f"LSP-extended not in {LSPET.resolve()} (CI has it at ../shared/data/lspet)")
  return LSPET


def test_lsp_layout_flag_means_occluded_and_every_joint_is_labelled():
  # LSP: (3, 14, N); flag 1 = occluded. Joint 0 of image 0 occluded, everything labelled.
  raw = np.zeros((3, 14, 2))
  raw[0], raw[1] = 11.0, 21.0
  raw[2, 0, 0] = 1
  ann = lsp.parse_joints(raw)
  assert ann.kind == "original" and ann.joints.shape == (2, 14, 2)
  assert ann.labelled.all()
  assert ann.occluded[0, 0] and ann.occluded.sum() == 1
  np.testing.assert_allclose(ann.joints[0, 0], (10.0, 20.0))  # 1-based → 0-based
  assert ann.image_name(0) == "im0001.jpg"


def test_lspet_layout_flag_means_annotated():
  raw = np.zeros((14, 3, 3))
  raw[:, 0], raw[:, 1], raw[:, 2] = 51.0, 61.0, 1.0
  raw[5, :, 1] = (0.0, -26.1, 0.0)   # an unannotated joint, as in the real file
  ann = lsp.parse_joints(raw)
  assert ann.kind == "extended" and not ann.occluded.any()
  assert not ann.labelled[1, 5] and ann.labelled.sum() == 14 * 3 - 1
  np.testing.assert_array_equal(ann.joints[1, 5], (0.0, 0.0))
  assert ann.image_name(9999) == "im10000.jpg"


def test_other_shapes_are_one_clear_error():
  with pytest.raises(ValueError, match=r"shape \(16, 3, 5\).*\(3, 14, N\)"):
    lsp.parse_joints(np.zeros((16, 3, 5)))
  with pytest.raises(ValueError, match="0/1 flag"):
    lsp.parse_joints(np.full((14, 3, 2), 2.0))


def test_the_real_file_is_lspet_with_flag_zero_exactly_where_coordinates_are_absent():
  raw = scipy.io.loadmat(str(shared_lspet() / "joints.mat"))["joints"]
  ann = lsp.parse_joints(raw)
  assert ann.kind == "extended" and ann.joints.shape == (10000, 14, 2)
  xy = raw[:, :2].transpose(2, 0, 1)
  # Every unannotated joint lies at x ≤ 0 or y ≤ 0 (no coordinates), so flag 0 is "absent".
  assert (xy[~ann.labelled] <= 0).any(axis=-1).all()
  assert ann.labelled.sum() == 123_213 and ann.labelled.any(axis=1).all()


def test_person_box_covers_the_joints_with_the_margin():
  joints = np.array([[10.0, 20.0], [110.0, 220.0], [999.0, 999.0]])
  center, scale, extent = lsp.person_box(joints, np.array([True, True, False]))
  np.testing.assert_allclose(center, (60.0, 120.0))
  assert extent == 200.0 and scale == pytest.approx(lsp.SCALE_MARGIN)


def test_splits_are_defined_by_image_number():
  s = lsp.split_indices("extended", 10000)
  assert len(s["train"]) == 8550 and len(s["validation"]) == 950 and len(s["test"]) == 500
  assert s["validation"][:2] == [9, 19] and 9 not in s["train"] and s["test"][0] == 9500
  o = lsp.split_indices("original", 2000)
  assert o["train"] == list(range(1000)) and o["test"] == list(range(1000, 2000))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """The real joints.mat with images 1-20 and a corrupt image 21 (the other 9,979 missing),
  built with the real TFDS builder: train gets 18 images, validation images 10 and 20."""
  root = tmp_path_factory.mktemp("lsp")
  manual = lspet_manual_dir(root)
  builder = lsp.Lsp(config="extended", data_dir=str(root / "tfds"), file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
  return builder


def test_builder_skips_missing_and_corrupt_images(built):
  assert len(built.as_data_source("train")) == 18
  assert len(built.as_data_source("validation")) == 2
  assert "test" not in built.info.splits   # images 9501-10000 are all missing


def test_builder_reports_counts(tmp_path, caplog):
  ann = lsp.load_mat(shared_lspet() / "joints.mat")
  with caplog.at_level(logging.WARNING):
    records = list(lsp.generate_records(ann, [0, 1, 9600], LSPET / "images", 256, "train"))
  assert len(records) == 2 and "1 (missing image)" in caplog.text


def test_stored_record_maps_back_to_the_annotation(built):
  ann = lsp.load_mat(shared_lspet() / "joints.mat")
  source = built.as_data_source("validation")
  for i in range(len(source)):
    rec = source[i]
    n = int(rec["image_name"].decode()[2:7]) - 1
    vis = rec["visible"]
    np.testing.assert_array_equal(vis, ann.labelled[n])
    back = rec["joints"] / rec["zoom"] + rec["offset"]
    np.testing.assert_allclose(back[vis], ann.joints[n][vis], atol=1e-3)
    assert rec["joint_occluded"].shape == (14,) and not rec["joint_occluded"].any()


def test_eval_example_crops_the_person_and_uses_the_torso(built):
  config = load_config(REPO / "configs" / "lsp_cpu.py")
  rec = built.as_data_source("validation")[0]
  ex = eval_example(rec, ExampleSpec.from_config(config))
  n = config.input_size
  xy = geometry.apply_affine(np.linalg.inv(ex["crop_to_stored"]), rec["joints"])[rec["visible"]]
  assert (xy >= 0).all() and (xy <= n - 1).all()   # all labelled joints inside the crop
  a, b = skeleton.LSP.torso
  expected = np.linalg.norm(rec["joints"][a] - rec["joints"][b])
  if rec["visible"][a] and rec["visible"][b]:
    assert ex["normaliser"] == pytest.approx(expected, rel=1e-5)
  else:
    assert np.isnan(normaliser(rec, skeleton.LSP))
