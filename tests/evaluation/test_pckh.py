"""PCKh on hand-built cases with hand-computed answers."""

import math

import numpy as np
import pytest

from msposejax import skeleton
from msposejax.evaluation.pckh import format_table, head_size_from_box, pckh, torso_size


def people(n):
  gt = np.zeros((n, 16, 2))
  return gt, gt.copy(), np.ones((n, 16), bool), np.full(n, 10.0)


def test_exact_threshold_boundary_counts_as_correct():
  gt, pred, vis, h = people(1)
  pred[0, :, 0] = 5.0                 # error exactly 0.5·h
  pred[0, 0, 0] = 5.0 + 1e-9          # r_ankle just past it
  res = pckh(pred, gt, vis, h, 0.5)
  assert res["joint"]["r_knee"] == 1.0 and res["joint"]["r_ankle"] == 0.0
  assert res["part"]["Ankle"] == 0.5
  assert res["mean"] == pytest.approx(13 / 14)


def test_invisible_joints_do_not_count_and_never_visible_is_nan():
  gt, pred, vis, h = people(2)
  pred[0, 9] = (100, 0)               # person 0 head wrong ...
  vis[0, 9] = False                   # ... but not labelled: ignored
  vis[:, 15] = False                  # l_wrist never labelled anywhere
  pred[1, 10] = (100, 0)              # person 1 r_wrist wrong
  res = pckh(pred, gt, vis, h)
  assert res["count"]["head_top"] == 1 and res["joint"]["head_top"] == 1.0
  assert math.isnan(res["joint"]["l_wrist"]) and res["count"]["l_wrist"] == 0
  assert res["part"]["Wrist"] == 0.5  # 1 correct of 2 labelled r_wrists, l_wrist absent
  assert res["mean"] == pytest.approx(24 / 25)  # 2·14 − 1 head − 2 l_wrist = 25 labelled


def test_pelvis_and_thorax_are_excluded_from_the_mean():
  gt, pred, vis, h = people(1)
  pred[0, 6] = pred[0, 7] = (50, 50)  # both wrong
  res = pckh(pred, gt, vis, h)
  assert res["mean"] == 1.0
  assert res["joint"]["pelvis"] == 0.0 and res["joint"]["thorax"] == 0.0


def test_per_part_weights_by_joint_counts():
  gt, pred, vis, h = people(3)
  vis[0:2, skeleton.JOINT_INDEX["l_knee"]] = False  # 3 r_knee, 1 l_knee labelled
  pred[:, skeleton.JOINT_INDEX["r_knee"]] = (100, 0)
  res = pckh(pred, gt, vis, h)
  assert res["part"]["Knee"] == pytest.approx(1 / 4)  # not the 0.5 of averaging joints


def test_threshold_and_head_size_scale():
  gt, pred, vis, _ = people(1)
  pred[0, :, 1] = 3.0
  head = head_size_from_box(np.array([[0, 0, 30, 40]]))  # 0.6·50 = 30
  assert head.tolist() == [30.0]
  assert pckh(pred, gt, vis, head, 0.1)["mean"] == 1.0    # 3 ≤ 0.1·30
  assert pckh(pred, gt, vis, head / 2, 0.1)["mean"] == 0.0


def test_bad_input_is_rejected():
  gt, pred, vis, h = people(2)
  with pytest.raises(ValueError, match="head_size"):
    pckh(pred, gt, vis, np.array([10.0, 0.0]))
  with pytest.raises(ValueError, match="needs K=16"):
    pckh(pred[:, :15], gt[:, :15], vis[:, :15], h)
  pred[0, 3] = np.nan
  with pytest.raises(ValueError, match="non-finite"):
    pckh(pred, gt, vis, h)


def test_format_table_prints_percentages():
  gt, pred, vis, h = people(1)
  table = format_table([pckh(pred, gt, vis, h, 0.5), pckh(pred, gt, vis, h, 0.1)])
  assert "Shoulder" in table and "Mean" in table and table.count("100.00") == 16


def eval_pose_pck(pred, gt, threshold=0.2):
  """Independent reference: Yang et al.'s eval_pose `eval_pck.m` (MPII benchmark's LSP code),
  written in NumPy from the MATLAB: refDist = ‖gt(:,10) − gt(:,3)‖ (1-based: l_shoulder,
  r_hip), per-joint PCK, then symmetric joints averaged (Head = neck & head top), Mean over
  all 14 joints. Every joint of every person counts (LSP labels all joints)."""
  ref = np.sqrt(((gt[:, 9] - gt[:, 2]) ** 2).sum(-1))
  dist = np.sqrt(((pred - gt) ** 2).sum(-1)) / ref[:, None]
  per_joint = 100 * (dist <= threshold).mean(0)
  sym = [5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 13, 12]
  pair = (per_joint + per_joint[sym]) / 2
  # joint_name order of eval_pose: Ankle, Knee, Hip, Wrist, Elbow, Shoulder, Head.
  parts = {"Ankle": pair[0], "Knee": pair[1], "Hip": pair[2], "Wrist": pair[6],
           "Elbow": pair[7], "Shoulder": pair[8], "Head": pair[12]}
  return parts, 100 * (dist <= threshold).mean()


def test_lsp_pck_matches_the_eval_pose_computation():
  rng = np.random.default_rng(7)
  gt = rng.uniform(0, 200, (50, 14, 2))
  pred = gt + rng.normal(0, 12, gt.shape)
  vis = np.ones((50, 14), bool)
  torso = torso_size(gt, vis, skeleton.LSP)
  for t in (0.2, 0.1):
    ours = pckh(pred, gt, vis, torso, t, skeleton.LSP)
    parts, mean = eval_pose_pck(pred, gt, t)
    assert abs(100 * ours["mean"] - mean) < 1e-9
    for name, value in parts.items():
      assert abs(100 * ours["part"][name] - value) < 1e-9, name
  assert "Mean" in format_table([pckh(pred, gt, vis, torso, 0.2, skeleton.LSP)], "PCK")


def test_torso_size_is_nan_without_both_torso_joints():
  gt = np.zeros((2, 14, 2))
  gt[:, 9] = (30, 0)     # l_shoulder
  gt[:, 2] = (0, 40)     # r_hip
  vis = np.ones((2, 14), bool)
  vis[1, 2] = False
  size = torso_size(gt, vis, skeleton.LSP)
  assert size[0] == 50.0 and np.isnan(size[1])
  with pytest.raises(ValueError, match="no torso pair"):
    torso_size(np.zeros((1, 16, 2)), np.ones((1, 16), bool), skeleton.MPII)
