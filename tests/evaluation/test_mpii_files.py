"""MPII ground-truth and prediction files: formats, index bases, shape and order errors."""

import json
import pathlib
import re

import numpy as np
import pytest
import scipy.io

from msposejax.evaluation import mpii_files, mpii_protocol

# Module-scoped fixtures: its tests stay in one xdist test process (`-n auto --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("mpii_files")

MPII_VAL = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mpii_val"
OFFICIAL, VALID_H5 = MPII_VAL / "detections_our_format.mat", MPII_VAL / "valid.h5"
NEWELL = MPII_VAL / "hourglass8_newell_valid_preds.h5"


@pytest.fixture(scope="module")
def h5py():
  import h5py  # a core dependency: no skip
  return h5py


@pytest.fixture(scope="module")
def files(h5py):
  absent = [p.name for p in (OFFICIAL, VALID_H5, NEWELL) if not p.is_file()]
  if absent:
    pytest.skip(f"{', '.join(absent)} not in {MPII_VAL} (CI has it at ../shared/data)")
  official = mpii_files.read_ground_truth(OFFICIAL)
  valid = mpii_files.read_ground_truth(VALID_H5)
  return official, valid, mpii_files.read_predictions(NEWELL, official)


def small_gt(n=3, names=None):
  rng = np.random.default_rng(0)
  joints = rng.uniform(1, 100, (n, 16, 2))
  return mpii_files.GroundTruth("gt.h5", joints, np.zeros((n, 16), bool), np.full(n, 20.0),
                                names)


def test_valid_h5_is_the_official_split_in_the_same_1_based_frame(files):
  official, valid, _ = files
  assert official.joints.shape == valid.joints.shape == (2958, 16, 2)
  np.testing.assert_array_equal(official.missing, valid.missing)   # (0, 0) ⇔ jnt_missing
  np.testing.assert_allclose(valid.head_size, official.head_size, rtol=1e-6)
  labelled = ~official.missing
  close = (np.abs(valid.joints - official.joints) < 1).all(axis=2) & labelled
  # `part` is pos_gt_src truncated to integers; the 13 others have a 0 coordinate in the
  # official file (still counted there). A 0/1-based mismatch would move every joint by 1.
  assert labelled.sum() == 44240 and (labelled & ~close).sum() == 13
  assert (valid.joints[labelled] == np.round(valid.joints[labelled])).all()
  assert len(valid.image_names) == 2958 and official.image_names is None


def test_hourglass_preds_are_1_based_like_the_official_file(files):
  official, _, pred = files
  err = np.linalg.norm(pred - official.joints, axis=2) / official.head_size[:, None]
  near = ~official.missing & (err < 0.5)
  near[:, 8:10] = False                       # neck and head top have fractional gt
  scale = np.broadcast_to(official.head_size[:, None], near.shape)[near]
  design = np.stack([np.ones_like(scale), scale], axis=1)
  for axis in range(2):
    coef = np.linalg.lstsq(design, (pred - official.joints)[near][:, axis], rcond=None)[0]
    # The bias grows with the person (heatmap quantisation) but vanishes for a tiny one;
    # 0-based predictions read as 1-based would leave an intercept near −1 in both axes.
    assert abs(coef[0]) < 0.5, coef


def test_transposed_wrong_n_and_wrong_k_are_one_line_errors(files, h5py, tmp_path):
  official, _, pred = files
  cases = {"t.h5": (pred.transpose(1, 2, 0), "transposed, \\(16, 2, N\\)"),
           "n.h5": (pred[:-1], "expected \\(2958, 16, 2\\)"),
           "k.h5": (pred[:, :14], "16 MPII joints"),
           "axes.h5": (pred.transpose(0, 2, 1), "another order")}
  for name, (array, message) in cases.items():
    with h5py.File(tmp_path / name, "w") as f:
      f["preds"] = array
    shape = re.escape(str(array.shape))
    with pytest.raises(ValueError, match=f"{name}: preds has shape {shape}.*{message}"):
      mpii_files.read_predictions(tmp_path / name, official)
  scipy.io.savemat(str(tmp_path / "p.mat"), {"pos_pred_src": pred})   # (N, 16, 2)
  with pytest.raises(ValueError, match="pos_pred_src .* transposed, \\(N, 16, 2\\)"):
    mpii_files.read_predictions(tmp_path / "p.mat", official)


def test_submission_mat_round_trip(tmp_path):
  gt = small_gt()
  preds0 = gt.joints - 1.0 + np.random.default_rng(1).normal(0, 0.3, gt.joints.shape)
  path = mpii_files.write_submission_mat(tmp_path / "sub.mat", preds0)
  raw = scipy.io.loadmat(str(path))["pos_pred_src"]
  assert raw.shape == (16, 2, 3)
  np.testing.assert_allclose(raw[:, :, 1], preds0[1] + 1)                # 1-based, (16, 2, N)
  np.testing.assert_allclose(mpii_files.read_predictions(path, gt), preds0 + 1)
  with pytest.raises(ValueError, match="transposed"):
    mpii_files.write_submission_mat(tmp_path / "bad.mat", preds0.transpose(1, 2, 0))


def test_submission_of_newell_scores_the_same(files, tmp_path):
  official, _, pred = files
  path = mpii_files.write_submission_mat(tmp_path / "sub.mat", pred - 1.0)   # as 0-based
  again = mpii_files.read_predictions(path, official)
  np.testing.assert_allclose(again, pred)
  args = (official.joints, official.missing, official.head_size)
  assert mpii_protocol.official_pckh(again, *args)["mean"] == pytest.approx(0.88035, abs=1e-5)


def test_our_json_by_image_is_0_based_and_matched_in_gt_order(tmp_path):
  gt = small_gt(3, names=("b.jpg", "a.jpg", "b.jpg"))
  preds0 = gt.joints - 1.0
  doc = {"joint_names": list(mpii_protocol.JOINT_NAMES), "skipped": {},
         "images": {"a.jpg": [{"box": None, "keypoints": preds0[1].tolist(), "scores": []}],
                    "b.jpg": [{"keypoints": preds0[0].tolist()}, {"keypoints": preds0[2].tolist()}],
                    "extra.jpg": []}}
  (tmp_path / "p.json").write_text(json.dumps(doc))
  np.testing.assert_allclose(mpii_files.read_predictions(tmp_path / "p.json", gt), gt.joints)
  doc["images"]["b.jpg"].pop()
  (tmp_path / "q.json").write_text(json.dumps(doc))
  with pytest.raises(ValueError, match="b.jpg has 1 people, gt.h5 has 2"):
    mpii_files.read_predictions(tmp_path / "q.json", gt)
  with pytest.raises(ValueError, match="has no image names: score it against valid.h5"):
    mpii_files.read_predictions(tmp_path / "p.json", small_gt(3))


def test_flat_json_with_its_own_joint_order(tmp_path):
  gt = small_gt()
  perm = list(mpii_protocol.FLIP_PERMUTATION)        # the file lists left joints first
  names = [mpii_protocol.JOINT_NAMES[j] for j in perm]
  doc = {"joint_names": names, "preds": (gt.joints - 1.0)[:, perm].tolist()}
  (tmp_path / "p.json").write_text(json.dumps(doc))
  np.testing.assert_allclose(mpii_files.read_predictions(tmp_path / "p.json", gt), gt.joints)
  (tmp_path / "one.json").write_text(json.dumps({"preds": gt.joints.tolist(), "index_base": 1}))
  np.testing.assert_allclose(mpii_files.read_predictions(tmp_path / "one.json", gt), gt.joints)
  (tmp_path / "bad.json").write_text(json.dumps({"joint_names": ["a"] * 16, "preds": []}))
  with pytest.raises(ValueError, match="bad.json"):
    mpii_files.read_predictions(tmp_path / "bad.json", gt)


def test_unreadable_and_foreign_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="nope.mat"):
    mpii_files.read_ground_truth(tmp_path / "nope.mat")
  (tmp_path / "junk.mat").write_bytes(b"not a mat file at all")
  with pytest.raises(ValueError, match="junk.mat: cannot read"):
    mpii_files.read_ground_truth(tmp_path / "junk.mat")
  scipy.io.savemat(str(tmp_path / "other.mat"), {"preds": np.zeros((3, 16, 2))})
  with pytest.raises(ValueError, match="other.mat: not an official MPII evaluation file"):
    mpii_files.read_ground_truth(tmp_path / "other.mat")
  (tmp_path / "p.txt").write_text("")
  with pytest.raises(ValueError, match="expected a .mat, .h5 or .json"):
    mpii_files.read_predictions(tmp_path / "p.txt", small_gt())


def test_official_file_with_its_joints_in_another_order_is_reordered(tmp_path):
  gt = small_gt(2)
  perm = list(mpii_protocol.FLIP_PERMUTATION)
  names = np.array([mpii_files.OFFICIAL_JOINT_NAMES[j] for j in perm], dtype=object)[None]
  scipy.io.savemat(str(tmp_path / "gt.mat"), {
      "pos_gt_src": gt.joints[:, perm].transpose(1, 2, 0), "dataset_joints": names,
      "jnt_missing": np.zeros((16, 2), np.uint8),
      # (corner, (x, y), person): diagonals (30, 40) and (15, 20).
      "headboxes_src": np.array([[[0, 0], [0, 0]], [[30, 15], [40, 20]]], float)})
  read = mpii_files.read_ground_truth(tmp_path / "gt.mat")
  np.testing.assert_allclose(read.joints, gt.joints)
  np.testing.assert_allclose(read.head_size, [30.0, 15.0])   # 0.6 × ‖(30, 40)‖ = 30
