"""The official MPII protocol: hand-built cases, and the 8-stack hourglass's published
validation predictions against an independent few-line implementation of the MATLAB eval."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from msposejax import score_command
from msposejax.evaluation import mpii_files, mpii_protocol

# Module-scoped fixtures: its tests stay in one xdist test process (`-n auto --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("mpii_protocol")

# CI has the shared data beside the repository, at ../shared/data.
MPII_VAL = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mpii_val"
needs_data = pytest.mark.skipif(not (MPII_VAL / "detections_our_format.mat").is_file(),
                                reason=f"the MPII validation files are not in {MPII_VAL}")


# 200 real validation people in the official format, in the repository (runs everywhere):
# tests/fixtures/mpii_val_subset/ORIGIN.md.
SUBSET = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "mpii_val_subset" / \
    "detections_our_format.mat"


def independent_official_eval(preds_nk2: np.ndarray, threshold: float = 0.5,
                              path: pathlib.Path = MPII_VAL / "detections_our_format.mat") -> dict:
  """The MATLAB evaluatePCKh as bearpaw/pytorch-pose's eval_PCKh.py computes it, percent."""
  d = scipy.io.loadmat(str(path))
  pos_pred_src = np.transpose(preds_nk2, [1, 2, 0])
  jnt_visible = 1 - d["jnt_missing"]
  uv_error = pos_pred_src - d["pos_gt_src"]
  uv_err = np.linalg.norm(uv_error, axis=1)
  headsizes = np.linalg.norm(d["headboxes_src"][1] - d["headboxes_src"][0], axis=0) * 0.6
  scaled_uv_err = uv_err / headsizes[None, :]
  jnt_count = jnt_visible.sum(axis=1)
  less_than_thr = (scaled_uv_err < threshold) * jnt_visible
  pckh = 100 * less_than_thr.sum(axis=1) / jnt_count
  mask = np.ones(16, bool)
  mask[[6, 7]] = False
  ratio = jnt_count[mask] / jnt_count[mask].sum()
  pair = lambda a, b: 0.5 * (pckh[a] + pckh[b])
  return {"Head": pckh[9], "Shoulder": pair(12, 13), "Elbow": pair(11, 14),
          "Wrist": pair(10, 15), "Hip": pair(2, 3), "Knee": pair(1, 4), "Ankle": pair(0, 5),
          "Mean": float(np.sum(pckh[mask] * ratio))}


@pytest.fixture(scope="module")
def newell():
  import h5py  # noqa: F401  (a core dependency: no skip)
  if not (MPII_VAL / "hourglass8_newell_valid_preds.h5").is_file():
    pytest.skip(f"hourglass8_newell_valid_preds.h5 is not in {MPII_VAL}")
  gt = mpii_files.read_ground_truth(MPII_VAL / "detections_our_format.mat")
  pred = mpii_files.read_predictions(MPII_VAL / "hourglass8_newell_valid_preds.h5", gt)
  return gt, pred


def people(n):
  gt = np.zeros((n, 16, 2))
  return gt.copy(), gt, np.zeros((n, 16), bool), np.full(n, 10.0)


def test_threshold_is_strict_and_missing_joints_do_not_count():
  pred, gt, missing, h = people(2)
  pred[0, :, 0] = 4.999            # just inside 0.5·h = 5
  pred[0, 0, 0] = 5.0              # r_ankle exactly at it: a miss under the official `<`
  pred[1, 9] = (100, 0)            # person 1's head is wrong ...
  missing[1, 9] = True             # ... but not labelled: ignored
  res = mpii_protocol.official_pckh(pred, gt, missing, h, 0.5)
  assert res["joint"]["r_ankle"] == 0.5 and res["joint"]["r_knee"] == 1.0
  assert res["joint"]["head_top"] == 1.0 and res["count"]["head_top"] == 1
  assert res["part"]["Ankle"] == pytest.approx(0.75)   # (0.5 + 1) / 2
  assert res["mean"] == pytest.approx(26 / 27)  # 14 joints × 2 people less 1 missing; 1 miss


def test_parts_average_left_and_right_mean_is_count_weighted():
  pred, gt, missing, h = people(4)
  missing[1:, 0] = True            # r_ankle labelled once (and wrong), l_ankle four times
  pred[0, 0] = (50, 0)
  pred[:, 6:8] = (50, 0)           # pelvis and thorax wrong: outside the Mean
  res = mpii_protocol.official_pckh(pred, gt, missing, h, 0.5)
  assert res["part"]["Ankle"] == pytest.approx(0.5)     # (0 + 1) / 2, not 4 / 5
  assert res["mean"] == pytest.approx(1 - 1 / (13 * 4 + 1))


def test_non_finite_predictions_are_misses_and_bad_head_sizes_are_errors():
  pred, gt, missing, h = people(1)
  pred[0, 3] = np.nan
  assert mpii_protocol.official_pckh(pred, gt, missing, h)["joint"]["l_hip"] == 0.0
  with pytest.raises(ValueError, match="head sizes"):
    mpii_protocol.official_pckh(pred, gt, missing, np.zeros(1))
  with pytest.raises(ValueError, match=r"\(N, 16, 2\)"):
    mpii_protocol.official_pckh(pred[:, :14], gt[:, :14], missing[:, :14], h)


def test_head_sizes_are_06_times_the_diagonal():
  boxes = np.array([[[10, 20], [13, 24]]], float)     # corners (x, y): diagonal 5
  np.testing.assert_allclose(mpii_protocol.head_sizes(boxes), [3.0])


def test_official_protocol_on_real_annotations_matches_the_independent_eval():
  """The official protocol on 200 real validation people (with the 10 whose labelled joints
  have a 0 coordinate, and their missing joints and head boxes), with predictions erring by
  0 to ~1 head size, against the few-line MATLAB port: runs where ../shared/data is absent."""
  gt = mpii_files.read_ground_truth(SUBSET)
  n = len(gt.head_size)
  assert n == 200 and gt.missing.sum() > 100
  rng = np.random.default_rng(0)
  spread = gt.head_size[:, None, None] * rng.uniform(0.0, 0.6, (n, 16, 1))
  pred = gt.joints + spread * rng.normal(size=gt.joints.shape)
  pred[3, 5] = np.nan                       # a missing prediction is a miss
  for t in (0.5, 0.2):
    ours = mpii_protocol.official_pckh(pred, gt.joints, gt.missing, gt.head_size, t)
    ref = independent_official_eval(pred, t, SUBSET)
    assert 0.2 < ours["mean"] < 0.95
    assert 100 * ours["mean"] == pytest.approx(ref["Mean"], abs=1e-9)
    for part in mpii_protocol.PARTS:
      assert 100 * ours["part"][part] == pytest.approx(ref[part], abs=1e-9), part
  # Labelled joints with a 0 coordinate count, as in the official file.
  d = scipy.io.loadmat(str(SUBSET))
  counts = (1 - d["jnt_missing"]).sum(axis=1)
  assert [ours["count"][name] for name in mpii_protocol.JOINT_NAMES] == counts.tolist()


@needs_data
def test_newell_8_stack_scores_88_0_like_the_independent_eval(newell):
  gt, pred = newell
  ours = mpii_protocol.official_pckh(pred, gt.joints, gt.missing, gt.head_size, 0.5)
  ref = independent_official_eval(pred)
  assert ref["Mean"] == pytest.approx(88.04, abs=0.01)
  assert round(100 * ours["mean"], 1) == 88.0
  assert 100 * ours["mean"] == pytest.approx(ref["Mean"], abs=0.05)
  for part in mpii_protocol.PARTS:
    assert 100 * ours["part"][part] == pytest.approx(ref[part], abs=0.05), part
  at_02 = mpii_protocol.official_pckh(pred, gt.joints, gt.missing, gt.head_size, 0.2)
  assert 100 * at_02["mean"] == pytest.approx(independent_official_eval(pred, 0.2)["Mean"],
                                              abs=0.05)


@needs_data
def test_swapped_or_reordered_joints_are_flagged(newell):
  gt, pred = newell
  args = (gt.joints, gt.missing, gt.head_size)
  means = mpii_protocol.check_joint_order(pred, *args, source="good.h5")
  assert means["as given"] > 0.85 and means["left-right swapped"] < 0.5
  swapped = pred[:, list(mpii_protocol.FLIP_PERMUTATION)]
  with pytest.raises(ValueError, match="swapped.h5: the joints look left-right swapped"):
    mpii_protocol.check_joint_order(swapped, *args, source="swapped.h5")
  lsp = np.empty_like(pred)
  lsp[:, list(mpii_protocol.LSP_ORDER_PERMUTATION)] = pred   # written in LSP order
  with pytest.raises(ValueError, match="LSP joint order"):
    mpii_protocol.check_joint_order(lsp, *args, source="lsp.h5")
  with pytest.raises(ValueError, match=r"\(y, x\) instead of \(x, y\)"):
    mpii_protocol.check_joint_order(pred[..., ::-1], *args, source="yx.h5")


def test_a_weak_model_is_not_mistaken_for_a_wrong_order():
  rng = np.random.default_rng(0)
  gt = rng.uniform(0, 200, (50, 16, 2))
  pred = gt + rng.normal(0, 60, gt.shape)          # poor but in the right order
  means = mpii_protocol.check_joint_order(pred, gt, np.zeros((50, 16), bool),
                                          np.full(50, 30.0))
  assert means["as given"] < 0.5


@needs_data
def test_score_command_prints_the_table_and_writes_json(newell, tmp_path, capsys):
  out = tmp_path / "score.json"
  code = score_command.run(str(MPII_VAL / "hourglass8_newell_valid_preds.h5"),
                           str(MPII_VAL / "detections_our_format.mat"), str(out))
  text = capsys.readouterr().out
  assert code == 0 and "@0.5" in text and "@0.2" in text and "88.04" in text
  assert "@0.1:" in text
  report = json.loads(out.read_text())
  assert report["pckh@0.5"]["mean"] == pytest.approx(0.8804, abs=5e-5)
  assert report["num_people"] == 2958 and set(report["mean_by_threshold"]) >= {"0.1", "0.5"}


def test_score_command_bad_file_is_one_line_and_exit_code_2(tmp_path, capsys):
  scipy.io.savemat(str(tmp_path / "gt.mat"), {"something": np.zeros(3)})
  code = score_command.run(str(tmp_path / "p.h5"), str(tmp_path / "gt.mat"), None)
  err = capsys.readouterr().err
  assert code == 2 and err.count("\n") == 1 and "not an official MPII evaluation file" in err


@needs_data
def test_msposejax_score_command_line(tmp_path):
  """The console command, as a user types it (--ground-truth with a hyphen)."""
  proc = subprocess.run(
      [sys.executable, "-m", "msposejax.main", "score",
       "--predictions", str(MPII_VAL / "hourglass8_newell_valid_preds.h5"),
       "--ground-truth", str(MPII_VAL / "valid.h5"), "--json", str(tmp_path / "s.json")],
      capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "88.04" in proc.stdout
  missing = subprocess.run([sys.executable, "-m", "msposejax.main", "score",
                            "--predictions", str(tmp_path / "nothing.h5"),
                            "--ground-truth", str(MPII_VAL / "valid.h5")],
                           capture_output=True, text=True, timeout=300)
  assert missing.returncode == 2 and "nothing.h5" in missing.stderr
  assert len(missing.stderr.strip().splitlines()) == 1
