"""The evaluation report's subsets and counts, on people whose PCKh is known by hand."""

import numpy as np

from msposejax import skeleton
from msposejax.evaluation.report import pckh_report


def test_report_by_hand():
  k = 16
  rng = np.random.default_rng(0)
  joints = rng.uniform(0, 200, (3, k, 2)).astype(np.float32)
  pred = joints.copy()
  pred[1] += 100.0  # person 1 misses every joint; person 0 hits every one
  results = {"pred": pred, "joints": joints, "visible": np.ones((3, k), bool),
             "normaliser": np.array([10.0, 10.0, np.nan], np.float32),  # person 2: no size
             "joint_occluded": np.zeros((3, k), bool), "valid": np.ones(3, bool),
             "occluded": np.array([False, True, False]), "crowded": np.zeros(3, bool),
             "scale_small": np.array([True, False, False])}
  report = pckh_report(results, skeleton.MPII)
  assert report["num_people"] == 2 and report["num_without_normaliser"] == 1
  assert report["pckh@0.5"]["mean"] == 0.5  # half the people hit every joint
  assert report["occluded/pckh@0.5"]["mean"] == 0.0
  assert report["scale_small/pckh@0.5"]["mean"] == 1.0
  assert not any(key.startswith(("crowded/", "occluded_joints/")) for key in report)  # empty
